using System.Net;
using System.Text;
using Berth.Testing;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Tests;

/// <summary>A registry with one tagged image, shared by the tests of a class that must not change it.</summary>
public sealed class SeededRegistry : IAsyncLifetime
{
    public const string Repository = "project/app";

    public BerthApplication App { get; } = new();

    public HttpClient Client { get; private set; } = null!;

    public TestManifest Image { get; } = TestImages.OciImage(1000);

    public async Task InitializeAsync()
    {
        Client = App.CreateClient();
        await Client.PushManifestAsync(Repository, Image, "v1");
    }

    public Task DisposeAsync()
    {
        Client.Dispose();
        App.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Malformed names, tags, digests, manifests, ranges and headers: each is refused with the right status and OCI error
/// body <c>{"errors":[{"code","message","detail"}]}</c>, never a 500, and leaves the stored data exactly as it was.
/// </summary>
public sealed class MalformedRequestTests : IClassFixture<SeededRegistry>
{
    private const string Repository = SeededRegistry.Repository;
    private const string Hex64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private const string ValidDigest = "sha256:" + Hex64;
    private const string UnknownUpload = "0123456789abcdef0123456789abcdef";

    private readonly SeededRegistry _registry;

    public MalformedRequestTests(SeededRegistry registry) => _registry = registry;

    private HttpClient Client => _registry.Client;

    // ---------------------------------------------------------------- names

    public static TheoryData<string, string> InvalidNames()
    {
        string[] names =
        [
            "Project/app", "project/App", "a..b", "-a", "a-", "_a", "a.", "a/", "a//b", "a___b", "a._b", "a%20b", "a%0A", "%0Aa",
            "a%09", "%C3%A4", "a%2Fb", "a:b", new string('a', 256), string.Join('/', Enumerable.Repeat("abcdefg", 33)),
        ];
        string[] endpoints =
        [
            "GET /v2/{0}/manifests/v1", "HEAD /v2/{0}/manifests/v1", "PUT /v2/{0}/manifests/v1", "DELETE /v2/{0}/manifests/v1",
            "GET /v2/{0}/blobs/" + ValidDigest, "HEAD /v2/{0}/blobs/" + ValidDigest, "DELETE /v2/{0}/blobs/" + ValidDigest,
            "POST /v2/{0}/blobs/uploads/", "POST /v2/{0}/blobs/uploads/?digest=" + ValidDigest,
            "POST /v2/{0}/blobs/uploads/?mount=" + ValidDigest + "&from=" + Repository,
            "PATCH /v2/{0}/blobs/uploads/" + UnknownUpload, "PUT /v2/{0}/blobs/uploads/" + UnknownUpload + "?digest=" + ValidDigest,
            "GET /v2/{0}/tags/list", "GET /v2/{0}/referrers/" + ValidDigest,
        ];
        var data = new TheoryData<string, string>();
        foreach (var name in names)
        {
            foreach (var endpoint in endpoints)
            {
                var space = endpoint.IndexOf(' ', StringComparison.Ordinal);
                data.Add(endpoint[..space], string.Format(System.Globalization.CultureInfo.InvariantCulture, endpoint[(space + 1)..], name));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public async Task InvalidRepositoryName_Returns400NameInvalid(string method, string path)
    {
        await AssertRefusedAsync(method, path, _registry.Image.Body, HttpStatusCode.BadRequest, "NAME_INVALID");
    }

    [Fact]
    public async Task RepositoryNameOf255Characters_IsAccepted()
    {
        var name = "a" + new string('b', 253) + "c";
        Assert.Equal(255, name.Length);

        var digest = await Client.PushBlobAsync(name, TestImages.Bytes(10, 1));

        Assert.True(await Client.BlobExistsAsync(name, digest));
    }

    [Theory]
    [InlineData("GET", "/v2/a/../b/tags/list")]
    [InlineData("GET", "/v2/project/../app/manifests/v1")]
    [InlineData("PUT", "/v2/project/app/../app/manifests/v1")]
    [InlineData("GET", "/v2/../v2/project/app/tags/list")]
    [InlineData("POST", "/v2/project/app/../evil/blobs/uploads/")]
    [InlineData("GET", "/v2/./project/app/tags/list")]
    [InlineData("GET", "/v2/project/./app/blobs/" + ValidDigest)]
    public async Task NameWithDotSegments_Returns400NameInvalid(string method, string path)
    {
        // Sent straight to the server: an HTTP client would resolve the dot segments before sending.
        var before = await SnapshotAsync();

        var context = await _registry.App.Server.SendAsync(c =>
        {
            c.Request.Method = method;
            c.Request.Path = path;
            if (method == "PUT")
            {
                c.Request.ContentType = TestImages.OciManifest;
                c.Request.Body = new MemoryStream(_registry.Image.Body);
            }
        });

        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
        var body = await new StreamReader(context.Response.Body).ReadToEndAsync();
        Assert.Contains("\"code\":\"NAME_INVALID\"", body, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    // ---------------------------------------------------------------- tags

    public static TheoryData<string, string> InvalidTags()
    {
        string[] tags = ["-v1", ".v1", "v1!", "v1%2B", "v%201", "v1%0A", "%0Av1", "v1%09", "%C3%A4", "v1@x", new string('t', 129)];
        var data = new TheoryData<string, string>();
        foreach (var tag in tags)
        {
            foreach (var method in new[] { "GET", "HEAD", "PUT", "DELETE" })
            {
                data.Add(method, tag);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidTags))]
    public async Task InvalidTag_PutReturns400TagInvalid_ReadAndDeleteReturn404ManifestUnknown(string method, string tag)
    {
        // A malformed reference cannot be written (400); reading or deleting one asks for a manifest no one can have.
        if (method == "PUT")
        {
            await AssertRefusedAsync(method, $"/v2/{Repository}/manifests/{tag}", _registry.Image.Body, HttpStatusCode.BadRequest, "TAG_INVALID");
        }
        else
        {
            await AssertRefusedAsync(method, $"/v2/{Repository}/manifests/{tag}", null, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        }
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public async Task ConformanceInvalidManifestName_Returns404ManifestUnknown(string method)
    {
        // The OCI distribution-spec v1.1.1 conformance suite's "nonexistent manifest" (setup.go: nonexistentManifest).
        using var response = await AssertRefusedAsync(method, $"/v2/{Repository}/manifests/.INVALID_MANIFEST_NAME", null, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task ConformanceTotallyWrongDigestWithBody_Returns404ManifestUnknown()
    {
        // The suite's "400 response body should contain OCI-conforming JSON message": a GET with a body and a digest that
        // is not one; 400 or 404 are both accepted there, and a 404 names no manifest like any missing reference.
        using var response = await Client.SendAsync(HttpMethod.Get, $"/v2/{Repository}/manifests/sha256:totallywrong", "blablabla"u8.ToArray(),
            ("Content-Type", TestImages.OciManifest));

        await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task TagOf128Characters_IsAccepted()
    {
        var tag = "T" + new string('t', 126) + "9";
        Assert.Equal(128, tag.Length);

        using var response = await Client.PutManifestAsync("long/tag", tag, _registry.Image.Body, TestImages.OciManifest);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode); // blobs are not in long/tag yet
        await Client.PushManifestAsync("long/tag", _registry.Image, tag);
        Assert.Equal([tag], await Client.GetTagsAsync("long/tag"));
    }

    // ---------------------------------------------------------------- digests

    public static TheoryData<string, string> InvalidDigests()
    {
        string[] digests =
        [
            "sha256:abc", "sha256:" + Hex64.ToUpperInvariant(), "sha256:" + Hex64[..63], "sha256:" + Hex64 + "0", "sha256:",
            "sha256:" + new string('g', 64), "md5:d41d8cd98f00b204e9800998ecf8427e", "sha384:" + new string('a', 96),
            "sha512:" + Hex64, "SHA256:" + Hex64, ":" + Hex64, "sha256::" + Hex64, "sha256:" + Hex64 + "%0A", "blake3:" + Hex64,
            "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
        ];
        string[] endpoints =
        [
            "GET /v2/{1}/blobs/{0}", "HEAD /v2/{1}/blobs/{0}", "DELETE /v2/{1}/blobs/{0}",
            "GET /v2/{1}/manifests/{0}", "HEAD /v2/{1}/manifests/{0}", "PUT /v2/{1}/manifests/{0}", "DELETE /v2/{1}/manifests/{0}",
            "GET /v2/{1}/referrers/{0}", "POST /v2/{1}/blobs/uploads/?digest={0}", "POST /v2/{1}/blobs/uploads/?mount={0}&from={1}",
        ];
        var data = new TheoryData<string, string>();
        foreach (var digest in digests)
        {
            foreach (var endpoint in endpoints)
            {
                var space = endpoint.IndexOf(' ', StringComparison.Ordinal);
                data.Add(endpoint[..space], string.Format(System.Globalization.CultureInfo.InvariantCulture, endpoint[(space + 1)..], digest, Repository));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidDigests))]
    public async Task InvalidDigest_Returns400DigestInvalid_ManifestReadOrDeleteReturns404ManifestUnknown(string method, string path)
    {
        if (path.Contains("/manifests/", StringComparison.Ordinal) && method != "PUT")
        {
            await AssertRefusedAsync(method, path, null, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        }
        else
        {
            await AssertRefusedAsync(method, path, _registry.Image.Body, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    [InlineData("DELETE")]
    public async Task BlobReferencedByTag_Returns400DigestInvalid(string method)
    {
        await AssertRefusedAsync(method, $"/v2/{Repository}/blobs/v1", null, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("SHA256:" + Hex64)]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    public async Task CompletingUploadWithInvalidDigest_Returns400DigestInvalidAndKeepsUpload(string digest)
    {
        var location = await Client.StartUploadAsync(Repository);
        try
        {
            await AssertRefusedAsync("PUT", $"{location}?digest={digest}", TestImages.Bytes(5, 1), HttpStatusCode.BadRequest, "DIGEST_INVALID");
            using var status = await Client.GetAsync(location);
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            Assert.Equal("0-0", status.Header("Range"));
        }
        finally
        {
            (await Client.DeleteAsync(location)).Dispose();
        }
    }

    // ---------------------------------------------------------------- manifests

    public static TheoryData<string, byte[]> InvalidManifests()
    {
        var config = $$"""{"mediaType":"{{TestImages.OciConfig}}","digest":"{{ValidDigest}}","size":2}""";
        string Image(string fields) => $$"""{"schemaVersion":2,"mediaType":"{{TestImages.OciManifest}}",{{fields}}}""";
        var data = new TheoryData<string, byte[]>
        {
            { "not JSON", Encoding.UTF8.GetBytes("this is not json") },
            { "empty body", [] },
            { "truncated JSON", Encoding.UTF8.GetBytes(Image($"\"config\":{config}")[..40]) },
            { "trailing garbage", Encoding.UTF8.GetBytes(Image($"\"config\":{config}") + " x") },
            { "invalid UTF-8", [(byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)':', (byte)'1', (byte)'}'] },
            { "mediaType of invalid UTF-8", [.. """{"schemaVersion":2,"mediaType":" """.TrimEnd().Select(c => (byte)c), 0xff, 0xfe, (byte)'"', (byte)'}'] },
            { "annotation of invalid UTF-8", [.. Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":[],\"annotations\":{{\"k\":\"")[..^1]), 0xff, .. "\"}}"u8.ToArray()] },
            { "mediaType with a lone surrogate", Encoding.UTF8.GetBytes("""{"schemaVersion":2,"mediaType":"\ud800"}""") },
            { "artifactType with a lone surrogate", Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":[],\"artifactType\":\"\\udc00\"")) },
            { "nested too deep", Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200)) },
            { "array", Encoding.UTF8.GetBytes("[]") },
            { "null", Encoding.UTF8.GetBytes("null") },
            { "string", Encoding.UTF8.GetBytes("\"manifest\"") },
            { "number", Encoding.UTF8.GetBytes("2") },
            { "empty object", Encoding.UTF8.GetBytes("{}") },
            { "schemaVersion missing", Encoding.UTF8.GetBytes($$"""{"mediaType":"{{TestImages.OciManifest}}","config":{{config}},"layers":[]}""") },
            { "schemaVersion string", Encoding.UTF8.GetBytes($$"""{"schemaVersion":"2","mediaType":"{{TestImages.OciManifest}}","config":{{config}},"layers":[]}""") },
            { "schemaVersion 3", Encoding.UTF8.GetBytes($$"""{"schemaVersion":3,"mediaType":"{{TestImages.OciManifest}}","config":{{config}},"layers":[]}""") },
            { "schemaVersion 1", Encoding.UTF8.GetBytes("""{"schemaVersion":1,"name":"project/app","tag":"v1","fsLayers":[],"history":[]}""") },
            { "mediaType number", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":5,"config":{{config}},"layers":[]}""") },
            { "mediaType of a config", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{TestImages.OciConfig}}","config":{{config}},"layers":[]}""") },
            { "mediaType unknown", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"application/vnd.example+json","config":{{config}}}""") },
            { "no mediaType nor structure", Encoding.UTF8.GetBytes("""{"schemaVersion":2,"layers":[]}""") },
            { "config missing", Encoding.UTF8.GetBytes(Image("\"layers\":[]")) },
            { "config null", Encoding.UTF8.GetBytes(Image("\"config\":null,\"layers\":[]")) },
            { "config string", Encoding.UTF8.GetBytes(Image($"\"config\":\"{ValidDigest}\",\"layers\":[]")) },
            { "config array", Encoding.UTF8.GetBytes(Image($"\"config\":[{config}],\"layers\":[]")) },
            { "config mediaType missing", Encoding.UTF8.GetBytes(Image($$"""  "config":{"digest":"{{ValidDigest}}","size":2},"layers":[]""")) },
            { "config mediaType number", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":1,"digest":"{{ValidDigest}}","size":2},"layers":[]""")) },
            { "config digest missing", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","size":2},"layers":[]""")) },
            { "config digest short", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","digest":"sha256:abc","size":2},"layers":[]""")) },
            { "config digest upper case", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","digest":"sha256:{{Hex64.ToUpperInvariant()}}","size":2},"layers":[]""")) },
            { "config digest unknown algorithm", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","digest":"md5:d41d8cd98f00b204e9800998ecf8427e","size":2},"layers":[]""")) },
            { "config size missing", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","digest":"{{ValidDigest}}"},"layers":[]""")) },
            { "config size negative", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","digest":"{{ValidDigest}}","size":-1},"layers":[]""")) },
            { "config size string", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","digest":"{{ValidDigest}}","size":"2"},"layers":[]""")) },
            { "config size fraction", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","digest":"{{ValidDigest}}","size":1.5},"layers":[]""")) },
            { "config size huge", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","digest":"{{ValidDigest}}","size":1e400},"layers":[]""")) },
            { "config annotations array", Encoding.UTF8.GetBytes(Image($$"""  "config":{"mediaType":"{{TestImages.OciConfig}}","digest":"{{ValidDigest}}","size":2,"annotations":[]},"layers":[]""")) },
            { "layers object", Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":{{}}")) },
            { "layers string", Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":\"none\"")) },
            { "layer number", Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":[1]")) },
            { "layer null", Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":[null]")) },
            { "layer digest invalid", Encoding.UTF8.GetBytes(Image($$"""  "config":{{config}},"layers":[{"mediaType":"{{TestImages.OciLayer}}","digest":"sha256:zz","size":1}]""")) },
            { "annotations array", Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":[],\"annotations\":[]")) },
            { "artifactType number", Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":[],\"artifactType\":7")) },
            { "subject string", Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":[],\"subject\":\"{ValidDigest}\"")) },
            { "subject empty", Encoding.UTF8.GetBytes(Image($"\"config\":{config},\"layers\":[],\"subject\":{{}}")) },
            { "index without manifests", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{TestImages.OciIndex}}"}""") },
            { "index manifests null", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{TestImages.OciIndex}}","manifests":null}""") },
            { "index manifests object", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{TestImages.OciIndex}}","manifests":""" + "{}}") },
            { "index manifest entry string", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{TestImages.OciIndex}}","manifests":["{{ValidDigest}}"]}""") },
            { "docker manifest without layers", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{TestImages.DockerManifest}}","config":{{config}},"layers":[]}""") },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidManifests))]
    public async Task InvalidManifest_Returns400ManifestInvalid(string what, byte[] body)
    {
        Assert.NotNull(what);
        await AssertRefusedAsync("PUT", $"/v2/{Repository}/manifests/v1", body, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        await AssertRefusedAsync("PUT", $"/v2/{Repository}/manifests/{TestImages.Sha256(body)}", body, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Theory]
    [InlineData(TestImages.OciIndex)]
    [InlineData(TestImages.DockerManifest)]
    [InlineData(TestImages.DockerManifestList)]
    [InlineData(TestImages.DockerSchema1)]
    [InlineData(TestImages.DockerSchema1Signed)]
    [InlineData("text/plain")]
    [InlineData("application/vnd.oci.image.config.v1+json")]
    public async Task ManifestWithContradictingContentType_Returns400ManifestInvalid(string contentType)
    {
        await AssertRefusedAsync("PUT", $"/v2/{Repository}/manifests/v1", _registry.Image.Body, HttpStatusCode.BadRequest, "MANIFEST_INVALID",
            ("Content-Type", contentType));
    }

    [Fact]
    public async Task ManifestOver4MiB_Returns413ManifestInvalid()
    {
        var body = new byte[(4 * 1024 * 1024) + 1];
        Array.Fill(body, (byte)' ');

        await AssertRefusedAsync("PUT", $"/v2/{Repository}/manifests/v1", body, HttpStatusCode.RequestEntityTooLarge, "MANIFEST_INVALID");
    }

    // ---------------------------------------------------------------- upload ranges and headers

    [Theory]
    [InlineData("PATCH", "garbage", 5)]
    [InlineData("PATCH", "5-9", 5)]
    [InlineData("PATCH", "0-99", 5)]
    [InlineData("PATCH", "1-5", 5)]
    [InlineData("PATCH", "bytes 3-7/*", 5)]
    [InlineData("PATCH", "0-9223372036854775807", 5)]
    [InlineData("PUT", "7-x", 5)]
    [InlineData("PUT", "2-6", 5)]
    public async Task UploadChunkWithBadContentRange_Returns416RangeInvalidWithCurrentRange(string method, string contentRange, int length)
    {
        var location = await Client.StartUploadAsync(Repository);
        try
        {
            var chunk = TestImages.Bytes(length, 2);
            var path = method == "PUT" ? $"{location}?digest={TestImages.Sha256(chunk)}" : location;

            using var response = await AssertRefusedAsync(method, path, chunk, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID",
                ("Content-Range", contentRange));

            Assert.Equal("0-0", response.Header("Range"));
            Assert.Equal(location, response.Headers.Location?.OriginalString);
        }
        finally
        {
            (await Client.DeleteAsync(location)).Dispose();
        }
    }

    [Theory]
    [InlineData("/v2/_catalog?n=-1")]
    [InlineData("/v2/_catalog?n=x")]
    [InlineData("/v2/" + Repository + "/tags/list?n=-5")]
    [InlineData("/v2/" + Repository + "/tags/list?n=1e3")]
    public async Task InvalidPageSize_Returns400PaginationNumberInvalid(string path)
    {
        await AssertRefusedAsync("GET", path, null, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    // ---------------------------------------------------------------- helpers

    private Task<RegistrySnapshot> SnapshotAsync() => RegistrySnapshot.TakeAsync(_registry.App, Client);

    /// <summary>Sends the request and asserts the refusal and that nothing visible changed. Returns the response.</summary>
    private async Task<HttpResponseMessage> AssertRefusedAsync(string method, string path, byte[]? body, HttpStatusCode status, string code,
        params (string Name, string Value)[] headers)
    {
        var before = await SnapshotAsync();
        var sendBody = method is "PUT" or "POST" or "PATCH" ? body ?? [] : null;
        if (method == "PUT" && path.Contains("/manifests/", StringComparison.Ordinal) && headers.All(h => h.Name != "Content-Type"))
        {
            headers = [.. headers, ("Content-Type", TestImages.OciManifest)];
        }

        var response = await Client.SendAsync(new HttpMethod(method), path, sendBody, headers);

        Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
        if (method == "HEAD")
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }
        else
        {
            await OciAssert.ErrorAsync(response, status, code);
        }

        Assert.Equal(before, await SnapshotAsync());
        return response;
    }
}
