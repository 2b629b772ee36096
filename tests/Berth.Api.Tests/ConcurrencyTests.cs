using System.Net;
using Berth.Core.Registry;
using Berth.Oci;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Tests;

/// <summary>Requests that race each other: the outcome is the same whichever wins.</summary>
public sealed class ConcurrencyTests : RegistryTest
{
    private const string Repository = "project/app";

    [Fact]
    public async Task TwoPatchesOfTheSameRange_ExactlyOneIsAcceptedAndTheOtherGets416()
    {
        var location = await Client.StartUploadAsync(Repository);
        var chunk = TestImages.Bytes(1000, 1);

        var responses = await Task.WhenAll(
            Client.SendAsync(HttpMethod.Patch, location, chunk, ("Content-Range", "0-999")),
            Client.SendAsync(HttpMethod.Patch, location, chunk, ("Content-Range", "0-999")));

        try
        {
            Assert.Equal(
                [HttpStatusCode.Accepted, HttpStatusCode.RequestedRangeNotSatisfiable],
                responses.Select(r => r.StatusCode).Order());
            Assert.All(responses, r => Assert.Equal("0-999", r.Header("Range")));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        using var put = await Client.PutAsync($"{location}?digest={TestImages.Sha256(chunk)}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task CancelWhileAnAppendStreams_AppendEndsWithBlobUploadUnknownAndNothingIsLeft()
    {
        // Issue 10, item 10: DELETE of an upload while a PATCH to it streamed did not take the upload's lock; the PATCH
        // then hashed into a disposed hash (ObjectDisposedException, a 500). The body here stalls after 2 MiB, as a
        // slow client's does; the in-memory HTTP transport cannot stall a body half-way, so the service is driven directly.
        var uploads = App.Services.GetRequiredService<UploadService>();
        var repository = RepositoryName.Parse(Repository);
        var upload = await uploads.StartAsync(repository, CancellationToken.None);
        var body = new StallingStream(TestImages.Bytes(2 * 1024 * 1024, 9));
        var append = uploads.AppendAsync(repository, upload.Id, body, null, null, CancellationToken.None);
        await body.Stalled; // the append has written what came and waits for more

        var cancelled = await uploads.CancelAsync(repository, upload.Id, CancellationToken.None);
        body.Resume(); // what the old code then hashed into a disposed hash
        var appended = await append;

        Assert.True(cancelled.IsSuccess, cancelled.Error?.Message);
        Assert.Equal(OciErrorCode.BlobUploadUnknown, appended.Error?.Code);
        Assert.Equal(OciErrorCode.BlobUploadUnknown, (await uploads.GetStatusAsync(repository, upload.Id, CancellationToken.None)).Error?.Code);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(App.DataPath, "uploads")));
        using var status = await Client.GetAsync($"/v2/{Repository}/blobs/uploads/{upload.Id}");
        await OciAssert.ErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task CancelWhileAnAppendStreamsAndAnotherWaits_BothGetBlobUploadUnknown()
    {
        var uploads = App.Services.GetRequiredService<UploadService>();
        var repository = RepositoryName.Parse(Repository);
        var upload = await uploads.StartAsync(repository, CancellationToken.None);
        var body = new StallingStream(TestImages.Bytes(1024 * 1024, 10));
        var streaming = uploads.AppendAsync(repository, upload.Id, body, null, null, CancellationToken.None);
        await body.Stalled;
        var waiting = uploads.AppendAsync(repository, upload.Id, new MemoryStream(TestImages.Bytes(10, 11)), null, null, CancellationToken.None);

        var cancelled = await uploads.CancelAsync(repository, upload.Id, CancellationToken.None);
        body.Resume();

        Assert.True(cancelled.IsSuccess, cancelled.Error?.Message);
        Assert.Equal(OciErrorCode.BlobUploadUnknown, (await streaming).Error?.Code);
        Assert.Equal(OciErrorCode.BlobUploadUnknown, (await waiting).Error?.Code);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(App.DataPath, "uploads")));
    }

    [Fact]
    public async Task CancelAfterTheUploadCompleted_IsBlobUploadUnknownAndTheBlobStays()
    {
        var location = await Client.StartUploadAsync(Repository);
        var blob = TestImages.Bytes(100, 12);
        using var put = await Client.PutAsync($"{location}?digest={TestImages.Sha256(blob)}", new ByteArrayContent(blob));
        await OciAssert.StatusAsync(put, HttpStatusCode.Created);

        using var cancel = await Client.DeleteAsync(location);

        await OciAssert.ErrorAsync(cancel, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.True(await Client.BlobExistsAsync(Repository, TestImages.Sha256(blob)));
    }

    /// <summary>
    /// A body that gives its first part, then stalls (as a client that stopped sending) until <see cref="Resume"/>, then
    /// gives 1 KiB more and ends. A stalled read ends early when its token is cancelled.
    /// </summary>
    private sealed class StallingStream(byte[] firstPart) : Stream
    {
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _position;
        private bool _resumed;

        public Task Stalled => _stalled.Task;

        public void Resume() => _resume.TrySetResult();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < firstPart.Length)
            {
                var count = Math.Min(buffer.Length, Math.Min(64 * 1024, firstPart.Length - _position));
                firstPart.AsMemory(_position, count).CopyTo(buffer);
                _position += count;
                return count;
            }

            if (_resumed)
            {
                return 0;
            }

            _stalled.TrySetResult();
            await _resume.Task.WaitAsync(cancellationToken);
            _resumed = true;
            var more = Math.Min(buffer.Length, 1024);
            buffer.Span[..more].Fill(1);
            return more;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task SameBlobPushedManyTimesAtOnce_AllSucceedAndOneCopyIsStored()
    {
        var content = TestImages.Bytes(100_000, 2);
        var digest = TestImages.Sha256(content);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Client.PostAsync($"/v2/{Repository}{i % 2}/blobs/uploads/?digest={digest}", new ByteArrayContent(content))));

        try
        {
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        Assert.Single(Directory.EnumerateFiles(Path.Combine(App.DataPath, "blobs"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(App.DataPath, "uploads")));
        Assert.True(await Client.BlobExistsAsync(Repository + "0", digest));
        Assert.True(await Client.BlobExistsAsync(Repository + "1", digest));
    }

    [Fact]
    public async Task ManifestsPushedToTheSameTagAtOnce_AllSucceedAndTheTagPointsAtOneOfThem()
    {
        var images = Enumerable.Range(0, 6).Select(i => TestImages.OciImage(100 + i)).ToList();
        foreach (var image in images)
        {
            await Client.PushManifestAsync(Repository, image);
        }

        var responses = await Task.WhenAll(images.Select(image => Client.PutManifestAsync(Repository, "latest", image.Body, image.MediaType)));

        try
        {
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        using var head = await Client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/manifests/latest");
        Assert.Contains(head.Header("Docker-Content-Digest"), images.Select(i => i.Digest));
        Assert.Equal(["latest"], await Client.GetTagsAsync(Repository));
    }

    [Fact]
    public async Task ManyUploadsInParallel_EachCompletesWithItsOwnContent()
    {
        var contents = Enumerable.Range(0, 10).Select(i => TestImages.Bytes(5000 + i, 10 + i)).ToList();

        var digests = await Task.WhenAll(contents.Select(async content =>
        {
            var location = await Client.StartUploadAsync(Repository);
            using (var patch = await Client.SendAsync(HttpMethod.Patch, location, content[..2500], ("Content-Range", "0-2499")))
            {
                Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            }

            var digest = TestImages.Sha256(content);
            using var put = await Client.SendAsync(HttpMethod.Put, $"{location}?digest={digest}", content[2500..], ("Content-Range", $"2500-{content.Length - 1}"));
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            return digest;
        }));

        for (var i = 0; i < contents.Count; i++)
        {
            using var get = await Client.GetAsync($"/v2/{Repository}/blobs/{digests[i]}");
            Assert.Equal(contents[i], await get.Content.ReadAsByteArrayAsync());
        }
    }
}
