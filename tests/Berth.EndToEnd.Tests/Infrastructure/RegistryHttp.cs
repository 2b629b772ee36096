using System.Net;
using System.Net.Http.Headers;
using Berth.EndToEnd.Tests.Images;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>A minimal OCI distribution client over HttpClient: blob uploads (monolithic and chunked), manifest put, reads.</summary>
public sealed class RegistryHttp : IDisposable
{
    /// <summary>A client signed in with Basic auth (the test server's administrator unless told otherwise).</summary>
    public RegistryHttp(Uri baseAddress, string user = BerthProcess.AdminUser, string secret = BerthProcess.AdminPassword)
    {
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        Client.DefaultRequestHeaders.Authorization = RegistryAuth.Basic(user, secret);
    }

    public HttpClient Client { get; }

    /// <summary>POST /v2/REPO/blobs/uploads/; returns the absolute upload URL from Location.</summary>
    public async Task<Uri> StartUploadAsync(string repository)
    {
        using var response = await Client.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        await ExpectAsync(response, HttpStatusCode.Accepted, "start upload");
        return UploadUrl(response);
    }

    /// <summary>PATCH one chunk at <paramref name="offset"/> with its Content-Range; returns the next upload URL.</summary>
    public async Task<Uri> PatchAsync(Uri upload, ReadOnlyMemory<byte> chunk, long offset)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = Chunk(chunk, offset) };
        using var response = await Client.SendAsync(request);
        await ExpectAsync(response, HttpStatusCode.Accepted, $"PATCH {offset}-{offset + chunk.Length - 1}");
        Assert.Equal($"0-{offset + chunk.Length - 1}", RangeHeader(response));
        return UploadUrl(response);
    }

    /// <summary>PUT ?digest= to complete an upload, optionally with a last chunk.</summary>
    public async Task CompleteAsync(Uri upload, string digest, ReadOnlyMemory<byte> lastChunk = default, long offset = 0)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, WithDigest(upload, digest))
        {
            Content = lastChunk.IsEmpty ? new ByteArrayContent([]) : Chunk(lastChunk, offset),
        };
        using var response = await Client.SendAsync(request);
        await ExpectAsync(response, HttpStatusCode.Created, "complete upload");
        Assert.Equal(digest, response.Headers.GetValues("Docker-Content-Digest").Single());
    }

    /// <summary>Uploads a blob in one request (POST ?digest=).</summary>
    public async Task PushBlobMonolithicAsync(string repository, byte[] content)
    {
        var digest = Sha256Digest.Of(content);
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await Client.PostAsync($"/v2/{repository}/blobs/uploads/?digest={digest}", body);
        await ExpectAsync(response, HttpStatusCode.Created, $"monolithic upload of {digest}");
    }

    /// <summary>Uploads a blob as POST, PATCH chunks of <paramref name="chunkSize"/>, PUT ?digest=.</summary>
    public async Task PushBlobChunkedAsync(string repository, byte[] content, int chunkSize)
    {
        var upload = await StartUploadAsync(repository);
        var offset = 0;
        while (content.Length - offset > chunkSize)
        {
            upload = await PatchAsync(upload, content.AsMemory(offset, chunkSize), offset);
            offset += chunkSize;
        }

        await CompleteAsync(upload, Sha256Digest.Of(content), content.AsMemory(offset), offset);
    }

    /// <summary>HEAD the blob; true when the repository has it.</summary>
    public async Task<bool> BlobExistsAsync(string repository, string digest)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}");
        using var response = await Client.SendAsync(request);
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>PUT a manifest by tag; returns the Docker-Content-Digest the registry answers.</summary>
    public async Task<string> PutManifestAsync(string repository, string reference, byte[] manifest, string mediaType)
    {
        using var body = new ByteArrayContent(manifest);
        body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await Client.PutAsync($"/v2/{repository}/manifests/{reference}", body);
        await ExpectAsync(response, HttpStatusCode.Created, $"PUT manifest {repository}:{reference}");
        return response.Headers.GetValues("Docker-Content-Digest").Single();
    }

    /// <summary>
    /// Pushes every blob of <paramref name="image"/> (config and layers), then its manifest under <paramref name="tag"/>;
    /// chunked: in PATCHes of <paramref name="chunkSize"/> bytes (256 KiB unless told).
    /// </summary>
    public async Task<string> PushImageAsync(TestImage image, string repository, string tag, bool chunked, int chunkSize = 256 * 1024)
    {
        var built = image.Images.Single();
        foreach (var blob in built.Layers.Select(l => l.Descriptor).Append(built.Config))
        {
            var content = await File.ReadAllBytesAsync(image.BlobPath(blob.Digest));
            if (chunked)
            {
                await PushBlobChunkedAsync(repository, content, chunkSize);
            }
            else
            {
                await PushBlobMonolithicAsync(repository, content);
            }
        }

        return await PutManifestAsync(repository, tag, await File.ReadAllBytesAsync(image.BlobPath(built.Manifest.Digest)), built.Manifest.MediaType);
    }

    public static string RangeHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Range", out var values) ? values.Single() : throw new InvalidOperationException("no Range header in the response");

    public static Uri WithDigest(Uri upload, string digest) =>
        new(upload + (string.IsNullOrEmpty(upload.Query) ? "?" : "&") + "digest=" + Uri.EscapeDataString(digest));

    public static ByteArrayContent Chunk(ReadOnlyMemory<byte> chunk, long offset)
    {
        var content = new ByteArrayContent(chunk.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + chunk.Length - 1}");
        return content;
    }

    public static async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Fail($"{what}: expected {(int)expected} {expected}, got {(int)response.StatusCode} {response.StatusCode}: {body}");
        }
    }

    public void Dispose() => Client.Dispose();

    private Uri UploadUrl(HttpResponseMessage response) =>
        new(Client.BaseAddress!, response.Headers.Location ?? throw new InvalidOperationException("no Location header in the upload response"));
}
