using System.Net;
using Berth.Testing;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Berth.Api.Tests;

/// <summary>
/// Blob GET/HEAD over every kind of answer a blob store gives: a local file (the file store) and a stream (an object
/// store's GET) are served identically, ranges included; a redirect (a presigning store) is a 307.
/// </summary>
public sealed class BlobRangeTests
{
    private const string Repository = "project/ranges";
    private const int Size = 1000;

    public static TheoryData<string, string?, int, string?, int, int> Ranges()
    {
        // store, Range header, status, Content-Range, first byte served, bytes served (of a 1000-byte blob)
        var cases = new (string?, int, string?, int, int)[]
        {
            (null, 200, null, 0, Size),
            ("bytes=0-9", 206, "bytes 0-9/1000", 0, 10),
            ("bytes=10-19", 206, "bytes 10-19/1000", 10, 10),
            ("bytes=990-", 206, "bytes 990-999/1000", 990, 10),
            ("bytes=-5", 206, "bytes 995-999/1000", 995, 5),
            ("bytes=-5000", 206, "bytes 0-999/1000", 0, Size),
            ("bytes=0-99999999999999999999", 206, "bytes 0-999/1000", 0, Size),
            ("bytes=999-999", 206, "bytes 999-999/1000", 999, 1),
            ("bytes=999999-", 416, "bytes */1000", 0, 0),
            ("bytes=1000-1000", 416, "bytes */1000", 0, 0),
            ("bytes=-0", 416, "bytes */1000", 0, 0),
            ("bytes=99999999999999999999-", 416, "bytes */1000", 0, 0),
            ("bytes=5-2", 200, null, 0, Size),
            ("bytes=0-1,4-5", 200, null, 0, Size),
            ("bytes=0-1, 990-", 200, null, 0, Size),
            ("garbage", 200, null, 0, Size),
            ("bytes=abc-def", 200, null, 0, Size),
            ("bytes=--5", 200, null, 0, Size),
            ("bytes=1-2-3", 200, null, 0, Size),
            ("bytes=+1-2", 200, null, 0, Size),
            ("items=0-5", 200, null, 0, Size),
            ("bytes=", 200, null, 0, Size),
        };
        var data = new TheoryData<string, string?, int, string?, int, int>();
        foreach (var store in new[] { "file", "stream" })
        {
            foreach (var (range, status, contentRange, first, count) in cases)
            {
                data.Add(store, range, status, contentRange, first, count);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Ranges))]
    public async Task GetBlob_RangeHeader_SameAnswerFromLocalFileAndStream(string store, string? range, int status, string? contentRange, int first, int count)
    {
        using var app = CreateApp(store);
        using var client = app.CreateClient();
        var content = TestImages.Bytes(Size, 40);
        var digest = await client.PushBlobAsync(Repository, content);
        var headers = range is null ? [] : new[] { ("Range", range) };

        using var response = await client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, headers);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(contentRange, response.Header("Content-Range"));
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        var body = await response.Content.ReadAsByteArrayAsync();
        if (status == 416)
        {
            Assert.Empty(body); // no error document: Content-Range says all there is to say
            Assert.Equal(0, response.Content.Headers.ContentLength ?? 0);
            Assert.Null(response.Content.Headers.ContentType);
        }
        else
        {
            Assert.Equal(content.AsSpan(first, count).ToArray(), body);
            Assert.Equal(count, response.Content.Headers.ContentLength);
            Assert.Equal("bytes", response.Header("Accept-Ranges"));
            Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Theory]
    [InlineData("file")]
    [InlineData("stream")]
    public async Task HeadBlob_WithAndWithoutRange_AnswersHeadersLikeGetWithoutBody(string store)
    {
        using var app = CreateApp(store);
        using var client = app.CreateClient();
        var digest = await client.PushBlobAsync(Repository, TestImages.Bytes(Size, 41));

        using var whole = await client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/blobs/{digest}");
        using var part = await client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/blobs/{digest}", null, ("Range", "bytes=100-"));
        using var beyond = await client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/blobs/{digest}", null, ("Range", "bytes=5000-"));

        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(Size, whole.Content.Headers.ContentLength);
        Assert.Equal("bytes", whole.Header("Accept-Ranges"));
        Assert.Equal(digest, whole.Header("Docker-Content-Digest"));
        Assert.Empty(await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(900, part.Content.Headers.ContentLength);
        Assert.Equal("bytes 100-999/1000", part.Header("Content-Range"));
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, beyond.StatusCode);
        Assert.Equal("bytes */1000", beyond.Header("Content-Range"));
    }

    [Theory]
    [InlineData("file")]
    [InlineData("stream")]
    public async Task GetBlob_ConditionalHeaders_HonouredForEveryAnswer(string store)
    {
        using var app = CreateApp(store);
        using var client = app.CreateClient();
        var content = TestImages.Bytes(Size, 42);
        var digest = await client.PushBlobAsync(Repository, content);
        var uri = $"/v2/{Repository}/blobs/{digest}";

        using var notModified = await client.SendAsync(HttpMethod.Get, uri, null, ("If-None-Match", $"\"other\", \"{digest}\""));
        using var modified = await client.SendAsync(HttpMethod.Get, uri, null, ("If-None-Match", "\"other\""));
        using var failed = await client.SendAsync(HttpMethod.Get, uri, null, ("If-Match", "\"other\""));
        using var staleRange = await client.SendAsync(HttpMethod.Get, uri, null, ("Range", "bytes=0-9"), ("If-Range", "\"other\""));
        using var freshRange = await client.SendAsync(HttpMethod.Get, uri, null, ("Range", "bytes=0-9"), ("If-Range", $"\"{digest}\""));

        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, modified.StatusCode);
        Assert.Equal(content, await modified.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.PreconditionFailed, failed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, staleRange.StatusCode);
        Assert.Equal(content, await staleRange.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.PartialContent, freshRange.StatusCode);
        Assert.Equal(content[..10], await freshRange.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("file")]
    [InlineData("stream")]
    [InlineData("redirect")]
    public async Task GetBlob_LinkedButBytesGone_Returns404BlobUnknownForEveryStore(string store)
    {
        using var app = CreateApp(store);
        using var client = app.CreateClient();
        var digest = await client.PushBlobAsync(Repository, TestImages.Bytes(Size, 43));
        File.Delete(Assert.Single(Directory.EnumerateFiles(Path.Combine(app.DataPath, "blobs"), "*", SearchOption.AllDirectories)));

        using var response = await client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, ("Range", "bytes=0-9"));

        await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Theory]
    [InlineData(null, 0L)]
    [InlineData(null, 999L)]
    [InlineData("bytes=100-899", 300L)]
    public async Task GetBlob_StoreStreamEndsEarly_AbortsTheConnectionInsteadOfSendingAShortBody(string? range, long endAfter)
    {
        using var app = new BerthApplication { ConfigureTestServices = TestBlobStores.UseStreamingThatEndsAfter(endAfter) };
        using var client = app.CreateClient();
        var digest = await client.PushBlobAsync(Repository, TestImages.Bytes(Size, 47));
        var headers = range is null ? [] : new[] { ("Range", range) };

        // A short body under a full Content-Length would be taken for the whole blob by a client that does not check
        // the length; the aborted response is an error for every client, which then retries.
        var error = await Record.ExceptionAsync(async () =>
        {
            using var response = await client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, headers);
            await response.Content.ReadAsByteArrayAsync();
        });

        // The test server reports an abort before the response started as a cancellation (the client cancelled
        // nothing), and one after it as a failed read of the body.
        Assert.True(error is HttpRequestException or IOException or OperationCanceledException, error?.ToString() ?? "the response completed");
    }

    [Fact]
    public async Task GetBlob_StoreStreamEndsEarly_LaterRequestsAreServed()
    {
        using var app = new BerthApplication { ConfigureTestServices = TestBlobStores.UseStreamingThatEndsAfter(Size / 2) };
        using var client = app.CreateClient();
        var digest = await client.PushBlobAsync(Repository, TestImages.Bytes(Size, 48));
        await Record.ExceptionAsync(() => client.GetAsync($"/v2/{Repository}/blobs/{digest}"));

        using var part = await client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, ("Range", "bytes=0-9"));

        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(TestImages.Bytes(Size, 48)[..10], await part.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetBlob_StoreAnswersRedirect_Returns307ToItsUrlWithTheDigest()
    {
        using var app = CreateApp("redirect");
        using var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var digest = await client.PushBlobAsync(Repository, TestImages.Bytes(Size, 44));

        using var response = await client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/blobs/{digest}", null, ("Range", "bytes=0-9"));

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal(new Uri($"https://objects.example/bucket/sha256/{digest[7..]}"), response.Headers.Location);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadBlob_StoreThatRedirects_AnswersLengthWithoutRedirecting()
    {
        using var app = CreateApp("redirect");
        using var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var digest = await client.PushBlobAsync(Repository, TestImages.Bytes(Size, 45));

        using var response = await client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/blobs/{digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Size, response.Content.Headers.ContentLength);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task GetBlob_StoreThatRedirects_UnlinkedDigestIs404NotARedirect()
    {
        using var app = CreateApp("redirect");
        using var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var digest = await client.PushBlobAsync("other/repo", TestImages.Bytes(Size, 46));

        using var response = await client.GetAsync($"/v2/{Repository}/blobs/{digest}");

        await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    private static readonly Uri RedirectBase = new("https://objects.example/bucket/");

    private static BerthApplication CreateApp(string store) => new()
    {
        ConfigureTestServices = store switch
        {
            "file" => null,
            "stream" => TestBlobStores.UseStreaming,
            "redirect" => TestBlobStores.UseRedirecting(RedirectBase, new DateTimeOffset(2026, 1, 1, 0, 20, 0, TimeSpan.Zero)),
            _ => throw new ArgumentOutOfRangeException(nameof(store)),
        },
    };
}
