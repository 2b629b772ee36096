using System.Net;
using Berth.Testing;

namespace Berth.Api.Tests;

/// <summary>Pulling and deleting blobs: GET/HEAD/DELETE /v2/&lt;name&gt;/blobs/&lt;digest&gt;.</summary>
public sealed class BlobTests : RegistryTest
{
    private const string Repository = "project/app";

    [Fact]
    public async Task GetBlob_Existing_Returns200WithContentAndDockerContentDigest()
    {
        var content = TestImages.Bytes(1000, 1);
        var digest = await Client.PushBlobAsync(Repository, content);

        using var response = await Client.GetAsync($"/v2/{Repository}/blobs/{digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.Equal(1000, response.Content.Headers.ContentLength);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task HeadBlob_Existing_Returns200WithLengthAndDigestAndNoBody()
    {
        var content = TestImages.Bytes(321, 2);
        var digest = await Client.PushBlobAsync(Repository, content);

        using var response = await Client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/blobs/{digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(321, response.Content.Headers.ContentLength);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetBlob_WithRange_Returns206WithContentRangeAndThoseBytes()
    {
        var content = TestImages.Bytes(100, 3);
        var digest = await Client.PushBlobAsync(Repository, content);

        using var response = await Client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, ("Range", "bytes=10-19"));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("bytes 10-19/100", response.Header("Content-Range"));
        Assert.Equal(content[10..20], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
    }

    [Fact]
    public async Task GetBlob_WithSuffixRange_Returns206WithTheLastBytes()
    {
        var content = TestImages.Bytes(100, 4);
        var digest = await Client.PushBlobAsync(Repository, content);

        using var response = await Client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, ("Range", "bytes=-5"));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("bytes 95-99/100", response.Header("Content-Range"));
        Assert.Equal(content[95..], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetBlob_WithOpenEndedRange_Returns206ToTheEnd()
    {
        var content = TestImages.Bytes(50, 5);
        var digest = await Client.PushBlobAsync(Repository, content);

        using var response = await Client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, ("Range", "bytes=40-"));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("bytes 40-49/50", response.Header("Content-Range"));
        Assert.Equal(content[40..], await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("bytes=100-200")]
    [InlineData("bytes=500-")]
    public async Task GetBlob_WithUnsatisfiableRange_Returns416WithContentRangeOfSize(string range)
    {
        var content = TestImages.Bytes(100, 6);
        var digest = await Client.PushBlobAsync(Repository, content);

        using var response = await Client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, ("Range", range));

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */100", response.Header("Content-Range"));
        Assert.True(await Client.BlobExistsAsync(Repository, digest));
    }

    [Theory]
    [InlineData("bytes=abc")]
    [InlineData("bytes=5-2")]
    [InlineData("bytes=")]
    public async Task GetBlob_WithMalformedRange_IgnoresItAndReturnsWholeBlob(string range)
    {
        var content = TestImages.Bytes(64, 7);
        var digest = await Client.PushBlobAsync(Repository, content);

        using var response = await Client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, ("Range", range));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetBlob_IfNoneMatchTheDigestETag_Returns304()
    {
        var digest = await Client.PushBlobAsync(Repository, TestImages.Bytes(64, 18));
        using (var first = await Client.GetAsync($"/v2/{Repository}/blobs/{digest}"))
        {
            Assert.Equal($"\"{digest}\"", first.Headers.ETag?.Tag);
        }

        using var response = await Client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, ("If-None-Match", $"\"{digest}\""));

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetBlob_Unknown_Returns404BlobUnknown()
    {
        var digest = TestImages.Sha256(TestImages.Bytes(10, 8));

        using var response = await Client.GetAsync($"/v2/{Repository}/blobs/{digest}");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        Assert.Equal(digest, error.Detail.GetProperty("digest").GetString());
    }

    [Fact]
    public async Task HeadBlob_Unknown_Returns404WithoutBody()
    {
        var digest = TestImages.Sha256(TestImages.Bytes(10, 9));

        using var response = await Client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/blobs/{digest}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetBlob_LinkedOnlyInAnotherRepository_Returns404BlobUnknown()
    {
        var digest = await Client.PushBlobAsync("other/repo", TestImages.Bytes(10, 10));

        using var response = await Client.GetAsync($"/v2/{Repository}/blobs/{digest}");

        await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task GetBlob_Sha512Digest_ServesContent()
    {
        var content = TestImages.Bytes(200, 11);
        var digest = TestImages.Sha512(content);
        using (var push = await Client.PostAsync($"/v2/{Repository}/blobs/uploads/?digest={digest}", new ByteArrayContent(content)))
        {
            await OciAssert.StatusAsync(push, HttpStatusCode.Created);
            Assert.Equal(digest, push.Header("Docker-Content-Digest"));
        }

        using var response = await Client.GetAsync($"/v2/{Repository}/blobs/{digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.False(await Client.BlobExistsAsync(Repository, TestImages.Sha256(content)));
    }

    [Fact]
    public async Task GetBlob_EmptyBlob_Returns200WithNoContent()
    {
        var digest = await Client.PushBlobAsync(Repository, []);

        using var response = await Client.GetAsync($"/v2/{Repository}/blobs/{digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, response.Content.Headers.ContentLength);
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", digest);
    }

    [Fact]
    public async Task PushBlob_SameContentTwice_BothSucceedAndOneCopyIsStored()
    {
        var content = TestImages.Bytes(500, 12);
        await Client.PushBlobAsync(Repository, content);
        await Client.PushBlobAsync("second/repo", content);

        var files = Directory.EnumerateFiles(Path.Combine(App.DataPath, "blobs"), "*", SearchOption.AllDirectories).ToList();
        Assert.Single(files);
        Assert.True(await Client.BlobExistsAsync(Repository, TestImages.Sha256(content)));
        Assert.True(await Client.BlobExistsAsync("second/repo", TestImages.Sha256(content)));
    }

    [Fact]
    public async Task GetBlob_LinkedButBytesGoneFromStorage_Returns404BlobUnknownNot500()
    {
        var digest = await Client.PushBlobAsync(Repository, TestImages.Bytes(10, 17));
        var file = Assert.Single(Directory.EnumerateFiles(Path.Combine(App.DataPath, "blobs"), "*", SearchOption.AllDirectories));
        File.Delete(file);

        using var get = await Client.GetAsync($"/v2/{Repository}/blobs/{digest}");
        using var head = await Client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/blobs/{digest}");

        await OciAssert.ErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Fact]
    public async Task DeleteBlob_Existing_Returns202ThenGetReturns404BlobUnknown()
    {
        var digest = await Client.PushBlobAsync(Repository, TestImages.Bytes(10, 13));

        using (var delete = await Client.DeleteAsync($"/v2/{Repository}/blobs/{digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }

        using var get = await Client.GetAsync($"/v2/{Repository}/blobs/{digest}");
        await OciAssert.ErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task DeleteBlob_Twice_SecondReturns404BlobUnknown()
    {
        var digest = await Client.PushBlobAsync(Repository, TestImages.Bytes(10, 14));
        (await Client.DeleteAsync($"/v2/{Repository}/blobs/{digest}")).Dispose();

        using var second = await Client.DeleteAsync($"/v2/{Repository}/blobs/{digest}");

        await OciAssert.ErrorAsync(second, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task DeleteBlob_Unknown_Returns404BlobUnknown()
    {
        var digest = TestImages.Sha256(TestImages.Bytes(10, 15));

        using var response = await Client.DeleteAsync($"/v2/{Repository}/blobs/{digest}");

        await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task DeleteBlob_InOneRepository_LeavesItInOthers()
    {
        var content = TestImages.Bytes(10, 16);
        var digest = await Client.PushBlobAsync(Repository, content);
        await Client.PushBlobAsync("other/repo", content);

        using (var delete = await Client.DeleteAsync($"/v2/{Repository}/blobs/{digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }

        Assert.False(await Client.BlobExistsAsync(Repository, digest));
        using var get = await Client.GetAsync($"/v2/other/repo/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(content, await get.Content.ReadAsByteArrayAsync());
    }
}
