using System.Net;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// A chunked upload survives the server being killed (SIGKILL) between chunks and in the middle of a chunk: after a
/// restart on the same data folder the client learns the offset from GET, resumes, and the committed blob is intact;
/// the blob is never served before the upload completes.
/// </summary>
public sealed class UploadRestartTests
{
    private const int Chunk = 1024 * 1024;
    private const string Repository = "e2e/restart/blob";

    [Fact]
    public async Task ChunkedUpload_ServerKilledBetweenAndDuringChunks_ResumesAtReportedOffsetAndCommitsIntactBlob()
    {
        await using var server = await BerthProcess.StartAsync();
        try
        {
            await KillRestartAndResumeAsync(server);
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException || server.UnexpectedExit is not null)
        {
            throw new InvalidOperationException($"{ex.Message}\nServer log:\n{server.LogTail(60)}", ex);
        }
    }

    private static async Task KillRestartAndResumeAsync(BerthProcess server)
    {
        var blob = DeterministicRandom.Bytes(7, "restart-blob", 6 * Chunk + 12345);
        var digest = Sha256Digest.Of(blob);
        Uri upload;
        long offset;

        // 1. Two chunks acknowledged, a third in flight (half sent, then the client stalls) when the server is killed.
        using (var http = new RegistryHttp(server.BaseAddress))
        {
            upload = await http.StartUploadAsync(Repository);
            await AssertBlobNotServedAsync(http, digest);
            upload = await http.PatchAsync(upload, blob.AsMemory(0, Chunk), 0);
            upload = await http.PatchAsync(upload, blob.AsMemory(Chunk, Chunk), Chunk);
            await AssertBlobNotServedAsync(http, digest);

            using var stalling = new StallingContent(blob.AsMemory(2 * Chunk, Chunk), 2 * Chunk, sendBeforeStall: Chunk / 2);
            using var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = stalling };
            var inFlight = http.Client.SendAsync(request);
            await stalling.Stalled.WaitAsync(TimeSpan.FromSeconds(30));
            await WaitUntilStoredAsync(server, upload, moreThan: 2 * Chunk, TimeSpan.FromSeconds(10));
            Assert.False(inFlight.IsCompleted, "the stalled chunk should still be in flight when the server is killed");

            server.Kill();
            stalling.Abort();
            await Assert.ThrowsAnyAsync<Exception>(() => inFlight);
        }

        // 2. Restart: the upload reports how much survived (at least what was acknowledged, at most what was sent).
        await server.RestartAsync();
        using (var http = new RegistryHttp(server.BaseAddress))
        {
            await AssertBlobNotServedAsync(http, digest);
            offset = await GetOffsetAsync(http, upload);
            Assert.InRange(offset, 2 * Chunk, 2 * Chunk + Chunk / 2);

            // A chunk at a stale offset is refused with 416, and the answer says where the upload really stands.
            using (var stale = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = RegistryHttp.Chunk(blob.AsMemory(0, Chunk), 0) })
            using (var refused = await http.Client.SendAsync(stale))
            {
                Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, refused.StatusCode);
                Assert.Equal($"0-{offset - 1}", RegistryHttp.RangeHeader(refused));
            }

            // Resume exactly there, up to 4 MiB.
            upload = await http.PatchAsync(upload, blob.AsMemory((int)offset, (int)(4 * Chunk - offset)), offset);
            await AssertBlobNotServedAsync(http, digest);
        }

        // 3. Killed again between chunks: everything acknowledged is still there, byte for byte.
        await server.RestartAsync();
        using (var http = new RegistryHttp(server.BaseAddress))
        {
            offset = await GetOffsetAsync(http, upload);
            Assert.Equal(4 * Chunk, offset);
            await AssertBlobNotServedAsync(http, digest);

            upload = await http.PatchAsync(upload, blob.AsMemory(4 * Chunk, Chunk), 4 * Chunk);
            await http.CompleteAsync(upload, digest, blob.AsMemory(5 * Chunk), 5 * Chunk);

            using var response = await http.Client.GetAsync($"/v2/{Repository}/blobs/{digest}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(digest, response.Headers.GetValues("Docker-Content-Digest").Single());
            var served = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(blob.Length, served.Length);
            Assert.Equal(digest, Sha256Digest.Of(served));
            Assert.True(served.AsSpan().SequenceEqual(blob), "the served blob differs from the uploaded bytes");

            using var finished = await http.Client.GetAsync(upload);
            Assert.Equal(HttpStatusCode.NotFound, finished.StatusCode);
        }

        // 4. And after one more restart the committed blob is still served intact.
        await server.RestartAsync();
        using (var http = new RegistryHttp(server.BaseAddress))
        {
            var again = await http.Client.GetByteArrayAsync($"/v2/{Repository}/blobs/{digest}");
            Assert.Equal(digest, Sha256Digest.Of(again));
        }
    }

    private static async Task AssertBlobNotServedAsync(RegistryHttp http, string digest)
    {
        using var get = await http.Client.GetAsync($"/v2/{Repository}/blobs/{digest}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.False(await http.BlobExistsAsync(Repository, digest), "HEAD found the blob before its upload completed");
    }

    /// <summary>GET on the upload URL: 204 with <c>Range: 0-LAST</c>; returns LAST + 1, the offset to resume at.</summary>
    private static async Task<long> GetOffsetAsync(RegistryHttp http, Uri upload)
    {
        using var response = await http.Client.GetAsync(upload);
        await RegistryHttp.ExpectAsync(response, HttpStatusCode.NoContent, "upload status");
        var range = RegistryHttp.RangeHeader(response);
        Assert.StartsWith("0-", range, StringComparison.Ordinal);
        return long.Parse(range[2..], System.Globalization.CultureInfo.InvariantCulture) + 1;
    }

    /// <summary>Polls the upload status (on a separate connection) until it holds more than <paramref name="moreThan"/> bytes, or gives up quietly.</summary>
    private static async Task WaitUntilStoredAsync(BerthProcess server, Uri upload, long moreThan, TimeSpan timeout)
    {
        using var http = new RegistryHttp(server.BaseAddress);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await GetOffsetAsync(http, upload) > moreThan)
            {
                return;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A chunk body that sends its first part, then stalls until aborted: a chunk still in flight.</summary>
    internal sealed class StallingContent : HttpContent
    {
        private readonly ReadOnlyMemory<byte> _chunk;
        private readonly int _sendBeforeStall;
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _abort = new();

        public StallingContent(ReadOnlyMemory<byte> chunk, long offset, int sendBeforeStall)
        {
            _chunk = chunk;
            _sendBeforeStall = sendBeforeStall;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + chunk.Length - 1}");
        }

        public Task Stalled => _stalled.Task;

        public void Abort() => _abort.Cancel();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(_chunk[.._sendBeforeStall]);
            await stream.FlushAsync();
            _stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, _abort.Token);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _chunk.Length;
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _abort.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
