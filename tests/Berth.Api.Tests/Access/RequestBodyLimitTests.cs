using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Api.Access;
using Berth.Api.Hosting;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// Request bodies are small unless their route says otherwise, and nothing reads a body before the cheap checks: the
/// token endpoint's form (64 KiB, form limits, a bound on scopes), blob uploads (no limit, once authorized), manifests
/// (their own limit). Refusals come in the shape of the API: OAuth2 errors on POST /token, OCI errors on /v2.
/// </summary>
public sealed class RequestBodyLimitTests : AccessTest
{
    private const long Huge = 64L * 1024 * 1024;

    /// <summary>What a read that crosses a limit may take beyond it: one buffer.</summary>
    private const long OneRead = 64 * 1024;

    private static readonly string FormType = "application/x-www-form-urlencoded";

    public RequestBodyLimitTests() => Setup.ProjectAsync("proj").GetAwaiter().GetResult();

    private static async Task<(HttpStatusCode Status, string Error, string Description)> OAuthAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        return (response.StatusCode, json.RootElement.GetProperty("error").GetString()!, json.RootElement.GetProperty("error_description").GetString()!);
    }

    private async Task<HttpResponseMessage> PostTokenAsync(HttpContent content, string? address = null, string? probe = null)
    {
        using var client = AccessClient.Basic(App, null, address);
        using var request = Request(HttpMethod.Post, "/token", content, probe);
        return await client.SendAsync(request);
    }

    /// <summary>A request with the body; sent chunked when the body has no length; its reads counted under <paramref name="probe"/>.</summary>
    private static HttpRequestMessage Request(HttpMethod method, string path, HttpContent content, string? probe = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.TransferEncodingChunked = content.Headers.ContentLength is null;
        if (probe is not null)
        {
            request.Headers.Add(BerthApplication.BodyProbeHeader, probe);
        }

        return request;
    }

    private static string NewProbe() => Guid.NewGuid().ToString("N");

    private static StringContent Form(string text) => new(text, Encoding.ASCII, FormType);

    [Fact]
    public async Task PostToken_DeclaredBodyOverLimit_Returns413OAuthErrorWithoutReadingIt()
    {
        var content = new LargeBodyContent(Huge, "grant_type=password&username=admin&scope="u8.ToArray(), contentType: FormType);
        var probe = NewProbe();

        using var response = await PostTokenAsync(content, probe: probe);

        var (status, error, description) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("invalid_request", error);
        Assert.Contains(RequestBodyLimits.DefaultMaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), description, StringComparison.Ordinal);
        Assert.Equal(0, App.BodyBytesRead(probe));
    }

    [Fact]
    public async Task PostToken_ChunkedBodyOverLimit_Returns413OAuthErrorAfterTheLimit()
    {
        var content = new LargeBodyContent(Huge, "grant_type=password&username=admin&scope="u8.ToArray(), declareLength: false, contentType: FormType);
        var probe = NewProbe();

        using var response = await PostTokenAsync(content, probe: probe);

        var (status, error, _) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("invalid_request", error);
        Assert.InRange(App.BodyBytesRead(probe), RequestBodyLimits.DefaultMaxBytes, RequestBodyLimits.DefaultMaxBytes + OneRead);
    }

    [Fact]
    public async Task PostToken_OneFieldOver4MiB_Returns413OAuthError()
    {
        // Issue 10, item 10: one form field over 4 MiB (the framework's value limit) was an InvalidDataException, a 500.
        var field = "grant_type=password&username=admin&password=" + new string('p', (4 * 1024 * 1024) + 10);

        using var response = await PostTokenAsync(Form(field));

        var (status, error, _) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("invalid_request", error);
    }

    [Theory]
    [InlineData("a=b&%00=1")]
    [InlineData("grant_type=password&username=%00&password=x")]
    public async Task PostToken_FormThatIsNotAForm_Returns400OAuthError(string text)
    {
        using var response = await PostTokenAsync(Form(text));

        var (status, error, _) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request", error);
    }

    [Fact]
    public async Task PostToken_LongFieldName_Returns400OAuthError()
    {
        using var response = await PostTokenAsync(Form(new string('k', 3000) + "=1&grant_type=password"));

        var (status, error, _) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request", error);
    }

    [Fact]
    public async Task PostToken_TooManyFields_Returns400OAuthError()
    {
        var fields = string.Join('&', Enumerable.Range(0, 500).Select(i => $"f{i}=1"));

        using var response = await PostTokenAsync(Form("grant_type=password&" + fields));

        var (status, error, _) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request", error);
    }

    [Fact]
    public async Task PostToken_MultipartBody_Returns400OAuthError()
    {
        // A multipart body with a broken boundary was an IOException (500); only url-encoded forms are OAuth2 requests.
        var content = new StringContent("--xx\r\ngarbage", Encoding.ASCII);
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=xx");

        using var response = await PostTokenAsync(content);

        var (status, error, _) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request", error);
    }

    [Theory]
    [InlineData("grant_type=password&grant_type=refresh_token", "grant_type")]
    [InlineData("grant_type=password&username=admin&username=eve&password=x", "username")]
    public async Task PostToken_ParameterGivenTwice_Returns400NamingIt(string text, string name)
    {
        using var response = await PostTokenAsync(Form(text));

        var (status, error, description) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request", error);
        Assert.Contains($"'{name}'", description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostToken_FromRefusedAddress_Returns403BeforeReadingTheBody()
    {
        await Setup.AllowAsync("10.0.0.0/8");
        var content = new LargeBodyContent(Huge, "grant_type=password&username=admin&scope="u8.ToArray(), declareLength: false, contentType: FormType);
        var probe = NewProbe();

        using var response = await PostTokenAsync(content, "192.0.2.7", probe);

        var (status, error, description) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("access_denied", error);
        Assert.Contains("192.0.2.7", description, StringComparison.Ordinal);
        Assert.Equal(0, App.BodyBytesRead(probe));
    }

    [Fact]
    public async Task PostToken_MaxScopesSpaceSeparatedInOneValue_IsAccepted()
    {
        // containerd sends its scopes space-separated in one value.
        var scopes = string.Join(' ', Enumerable.Range(0, TokenEndpoints.MaxScopes).Select(i => $"repository:proj/app{i}:pull"));
        var form = new FormUrlEncodedContent([
            KeyValuePair.Create("grant_type", "password"), KeyValuePair.Create("username", BerthApplication.AdminUser),
            KeyValuePair.Create("password", BerthApplication.AdminPassword), KeyValuePair.Create("scope", scopes)]);

        using var response = await PostTokenAsync(form);

        await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(TokenEndpoints.MaxScopes, AccessClient.AccessOf(json.RootElement.GetProperty("token").GetString()!).Count);
    }

    [Fact]
    public async Task PostToken_OneScopeTooMany_Returns400InvalidScope()
    {
        var form = new List<KeyValuePair<string, string>>
        {
            KeyValuePair.Create("grant_type", "password"), KeyValuePair.Create("username", BerthApplication.AdminUser),
            KeyValuePair.Create("password", BerthApplication.AdminPassword),
        };
        form.AddRange(Enumerable.Range(0, TokenEndpoints.MaxScopes + 1).Select(i => KeyValuePair.Create("scope", $"repository:proj/app{i}:pull")));

        using var response = await PostTokenAsync(new FormUrlEncodedContent(form));

        var (status, error, description) = await OAuthAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_scope", error);
        Assert.Contains(TokenEndpoints.MaxScopes.ToString(System.Globalization.CultureInfo.InvariantCulture), description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetToken_OneScopeTooMany_Returns400BeforeCheckingCredentials()
    {
        var scopes = Enumerable.Range(0, TokenEndpoints.MaxScopes + 1).Select(i => $"repository:proj/app{i}:pull").ToArray();
        using var wrongPassword = AccessClient.Basic(App, new Credentials(BerthApplication.AdminUser, "wrong"));

        using var response = await wrongPassword.GetAsync(AccessClient.TokenPath(scopes));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("errors")[0];
        Assert.Equal("UNSUPPORTED", error.GetProperty("code").GetString());
        Assert.Contains(TokenEndpoints.MaxScopes.ToString(System.Globalization.CultureInfo.InvariantCulture), error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(await Setup.AuditAsync(new Core.Access.AuditQuery(Action: Core.Access.AuditActions.LoginFailure)));
    }

    [Fact]
    public async Task GetToken_MaxScopes_IsAccepted()
    {
        var scopes = Enumerable.Range(0, TokenEndpoints.MaxScopes).Select(i => $"repository:proj/app{i}:pull").ToArray();

        var token = await AccessClient.GetTokenAsync(App, new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword), scopes);

        Assert.Equal(TokenEndpoints.MaxScopes, AccessClient.AccessOf(token).Count);
    }

    // ---------------------------------------------------------------- /v2

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task UploadChunk_LargerThanTheDefaultLimit_IsAccepted(bool declareLength)
    {
        var blob = TestImages.Bytes(1024 * 1024, 7);
        var location = await Admin.StartUploadAsync("proj/app");
        using var patch = Request(HttpMethod.Patch, location, declareLength ? new ByteArrayContent(blob) : new StreamedContent(blob));

        using var patched = await Admin.SendAsync(patch);
        await OciAssert.StatusAsync(patched, HttpStatusCode.Accepted);
        using var put = await Admin.PutAsync($"{location}?digest={TestImages.Sha256(blob)}", null);

        await OciAssert.StatusAsync(put, HttpStatusCode.Created);
        Assert.True(await Admin.BlobExistsAsync("proj/app", TestImages.Sha256(blob)));
    }

    [Fact]
    public async Task MonolithicUpload_LargerThanTheDefaultLimit_IsAccepted()
    {
        var blob = TestImages.Bytes(512 * 1024, 8);

        var digest = await Admin.PushBlobAsync("proj/app", blob);

        Assert.True(await Admin.BlobExistsAsync("proj/app", digest));
    }

    [Theory]
    [InlineData("PATCH", "/v2/proj/app/blobs/uploads/0123456789abcdef0123456789abcdef")]
    [InlineData("PUT", "/v2/proj/app/blobs/uploads/0123456789abcdef0123456789abcdef?digest=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("POST", "/v2/proj/app/blobs/uploads/?digest=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("PUT", "/v2/proj/app/manifests/v1")]
    public async Task Upload_Anonymous_Returns401WithoutReadingTheBody(string method, string path)
    {
        var content = new LargeBodyContent(Huge, declareLength: false);
        using var anonymous = App.CreateAnonymousClient();
        var probe = NewProbe();
        using var request = Request(new HttpMethod(method), path, content, probe);

        using var response = await anonymous.SendAsync(request);

        await OciAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(0, App.BodyBytesRead(probe));
    }

    [Fact]
    public async Task Manifest_LargerThanTheDefaultLimitWithinItsOwn_IsAccepted()
    {
        var image = TestImages.OciImage(3);
        foreach (var blob in image.Blobs)
        {
            await Admin.PushBlobAsync("proj/app", blob);
        }

        // Whitespace after the document is still the same JSON: a 100 KiB manifest.
        var body = image.Body.Concat(Enumerable.Repeat((byte)' ', 100 * 1024)).ToArray();
        var content = new StreamedContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", TestImages.OciManifest);
        using var put = Request(HttpMethod.Put, "/v2/proj/app/manifests/big", content);

        using var stored = await Admin.SendAsync(put);

        await OciAssert.StatusAsync(stored, HttpStatusCode.Created);
        Assert.Equal(TestImages.Sha256(body), stored.Header("Docker-Content-Digest"));
    }

    [Fact]
    public async Task Manifest_ChunkedOverItsLimit_Returns413ManifestInvalid()
    {
        var content = new LargeBodyContent(Huge, "{\"schemaVersion\":2,"u8.ToArray(), fill: (byte)' ', declareLength: false, contentType: TestImages.OciManifest);
        var probe = NewProbe();
        using var request = Request(HttpMethod.Put, "/v2/proj/app/manifests/v1", content, probe);

        using var response = await Admin.SendAsync(request);

        await OciAssert.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "MANIFEST_INVALID");
        Assert.InRange(App.BodyBytesRead(probe), 4 * 1024 * 1024, (4 * 1024 * 1024) + OneRead);
    }

    [Fact]
    public async Task BodyOnARouteThatTakesNone_IsNotRead()
    {
        var probe = NewProbe();
        using var request = Request(HttpMethod.Get, "/v2/", new LargeBodyContent(Huge), probe);

        using var response = await Admin.SendAsync(request);

        await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        Assert.Equal(0, App.BodyBytesRead(probe));
    }
}
