using System.Net;
using System.Text;
using Berth.Api.Hosting;
using Berth.Testing;

namespace Berth.Management.Tests;

/// <summary>
/// Management bodies: read only after the server's IP allow list, the credentials and the endpoint's requirement
/// passed; at most 64 KiB (413 problem details); a member given twice is refused rather than the last one winning.
/// </summary>
public sealed class RequestBodyTests : IDisposable
{
    private const long Huge = 64L * 1024 * 1024;
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    private static HttpRequestMessage Post(string path, HttpContent content, string probe)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TransferEncodingChunked = content.Headers.ContentLength is null;
        request.Headers.Add(BerthApplication.BodyProbeHeader, probe);
        return request;
    }

    private static LargeBodyContent HugeJson(bool declareLength) =>
        new(Huge, """{"name":"p","description":" """u8.ToArray(), declareLength: declareLength, contentType: "application/json");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Post_BodyOverLimit_Returns413ProblemAfterAtMostTheLimit(bool declareLength)
    {
        var probe = Guid.NewGuid().ToString("N");

        using var response = await _app.Admin.SendAsync(Post("/api/v1/projects", HugeJson(declareLength), probe));

        var problem = await Expect.ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("65536", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.InRange(_app.App.BodyBytesRead(probe), 0, RequestBodyLimits.DefaultMaxBytes + (64 * 1024));
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Post_FromAddressTheAllowListRefuses_Returns403WithoutReadingTheBody()
    {
        await new AccessSetup(_app.App).AllowAsync("10.0.0.0/8");
        using var remote = _app.NewClient(_app.Admin.DefaultRequestHeaders.Authorization, peer: "192.0.2.9");
        var probe = Guid.NewGuid().ToString("N");

        using var response = await remote.SendAsync(Post("/api/v1/projects", HugeJson(declareLength: false), probe));

        var problem = await Expect.ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("192.0.2.9", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _app.App.BodyBytesRead(probe));
    }

    [Theory]
    [InlineData("/api/v1/projects")]
    [InlineData("/api/v1/users")]
    [InlineData("/api/v1/tokens")]
    [InlineData("/api/v1/ip-allow")]
    public async Task Post_WithoutCredentials_Returns401WithoutReadingTheBody(string path)
    {
        var probe = Guid.NewGuid().ToString("N");

        using var response = await _app.Anonymous.SendAsync(Post(path, HugeJson(declareLength: false), probe));

        await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal(0, _app.App.BodyBytesRead(probe));
    }

    [Fact]
    public async Task Post_ByCallerTheRequirementRefuses_Returns403WithoutReadingTheBody()
    {
        await _app.CreateUserAsync("mallory");
        var probe = Guid.NewGuid().ToString("N");

        using var response = await _app.As("mallory").SendAsync(Post("/api/v1/users", HugeJson(declareLength: true), probe));

        await Expect.ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal(0, _app.App.BodyBytesRead(probe));
    }

    [Theory]
    [InlineData("""{"\ud800":1}""")]
    [InlineData("""{"name":"a","\ud800":1,"\ud800":2}""")]
    [InlineData("""{"name":"\udc00"}""")]
    public async Task Body_WithAnEscapedLoneSurrogate_Returns400(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await _app.Admin.PostAsync("/api/v1/projects", content);

        await Expect.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects")).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("POST", "/api/v1/projects", """{"name":"a","name":"b"}""", "name")]
    [InlineData("POST", "/api/v1/projects", """{"name":"a","Name":"b"}""", "Name")]
    [InlineData("POST", "/api/v1/projects", """{"name":"a","n\u0061me":"b"}""", "name")]
    [InlineData("POST", "/api/v1/projects", """{"name":"a","public":false,"public":true}""", "public")]
    [InlineData("POST", "/api/v1/users", """{"name":"eve","password":"user-password-1","administrator":false,"administrator":true}""", "administrator")]
    [InlineData("POST", "/api/v1/tokens", """{"name":"t","scope":"pull","scope":"pull,push,delete"}""", "scope")]
    [InlineData("PUT", "/api/v1/me/password", """{"currentPassword":"admin-password-1","newPassword":"another-password-1","newPassword":"third-password-1"}""", "newPassword")]
    public async Task Body_WithAMemberGivenTwice_Returns400NamingIt(string method, string path, string body, string member)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await _app.Admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = content });

        var problem = await Expect.ValidationAsync(response, member);
        Assert.Contains("more than once", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects")).GetProperty("items").EnumerateArray());
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/tokens")).GetProperty("items").EnumerateArray());
        Assert.Single((await _app.Admin.GetJsonAsync("/api/v1/users")).GetProperty("items").EnumerateArray());
    }
}
