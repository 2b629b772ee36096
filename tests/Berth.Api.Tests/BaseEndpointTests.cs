using System.Net;
using Berth.Testing;

namespace Berth.Api.Tests;

/// <summary>end-1: GET /v2/ tells a client the registry implements the distribution spec.</summary>
public sealed class BaseEndpointTests : RegistryTest
{
    [Fact]
    public async Task GetV2_OpenRegistry_Returns200WithApiVersionHeader()
    {
        using var response = await Client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task GetV2_WithoutTrailingSlash_Returns200()
    {
        using var response = await Client.GetAsync("/v2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task HeadV2_Returns200WithApiVersionHeader()
    {
        using var response = await Client.SendAsync(HttpMethod.Head, "/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("registry/2.0", response.Header("Docker-Distribution-API-Version"));
    }

    [Theory]
    [InlineData("DELETE", "/v2/")]
    [InlineData("POST", "/v2/")]
    [InlineData("PUT", "/v2/")]
    [InlineData("PATCH", "/v2")]
    public async Task WrongMethodOnBase_Returns405UnsupportedWithOciBody(string method, string path)
    {
        using var response = await Client.SendAsync(new HttpMethod(method), path);

        await OciAssert.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
        Assert.Equal("GET, HEAD", response.Header("Allow"));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("DELETE")]
    [InlineData("PUT")]
    public async Task WrongMethodOnCatalog_Returns405UnsupportedWithOciBody(string method)
    {
        using var response = await Client.SendAsync(new HttpMethod(method), "/v2/_catalog");

        await OciAssert.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
        Assert.Equal("GET, HEAD", response.Header("Allow"));
    }

    [Fact]
    public async Task HeadCatalog_Returns200WithoutBody()
    {
        using var response = await Client.SendAsync(HttpMethod.Head, "/v2/_catalog");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("/v2/repo/unknown-resource")]
    [InlineData("/v2/repo")]
    [InlineData("/v2/repo/tags/other")]
    public async Task UnknownV2Path_Returns404OciErrorNot500(string path)
    {
        using var response = await Client.GetAsync(path);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "UNSUPPORTED");
        Assert.Contains("no API endpoint", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/v2/repo/manifests/latest", "GET, HEAD, PUT, DELETE")]
    [InlineData("PATCH", "/v2/repo/blobs/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "GET, HEAD, DELETE")]
    [InlineData("GET", "/v2/repo/blobs/uploads/", "POST")]
    [InlineData("DELETE", "/v2/repo/tags/list", "GET")]
    [InlineData("POST", "/v2/repo/referrers/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "GET")]
    public async Task WrongMethod_Returns405UnsupportedWithAllowHeader(string method, string path, string allow)
    {
        using var response = await Client.SendAsync(new HttpMethod(method), path);

        await OciAssert.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
        Assert.Equal(allow, response.Header("Allow"));
    }
}
