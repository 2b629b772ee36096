using System.Net;
using Berth.Api.Access;
using Berth.Core.Registry;
using Berth.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Api.Tests;

/// <summary>
/// Every /v2 request asks <see cref="IRegistryAuthorizer"/> for exactly the permissions it needs, and a refusal is an OCI
/// error (401 UNAUTHORIZED, 403 DENIED) that changes nothing.
/// </summary>
public sealed class AuthorizationTests : IDisposable
{
    private const string Repository = "project/app";
    private const string Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private const string Upload = "0123456789abcdef0123456789abcdef";

    private readonly RecordingAuthorizer _authorizer = new();
    private readonly BerthApplication _app;
    private readonly HttpClient _client;

    public AuthorizationTests()
    {
        _app = new BerthApplication
        {
            ConfigureTestServices = services =>
            {
                services.RemoveAll<IRegistryAuthorizer>();
                services.AddSingleton<IRegistryAuthorizer>(_authorizer);
            },
        };
        _client = _app.CreateClient();
    }

    public void Dispose()
    {
        _client.Dispose();
        _app.Dispose();
    }

    [Theory]
    [InlineData("GET", "/v2/", "")]
    [InlineData("GET", "/v2/_catalog", "catalog:Pull")]
    [InlineData("GET", "/v2/" + Repository + "/manifests/v1", Repository + ":Pull")]
    [InlineData("HEAD", "/v2/" + Repository + "/manifests/" + Digest, Repository + ":Pull")]
    [InlineData("PUT", "/v2/" + Repository + "/manifests/v1", Repository + ":Push")]
    [InlineData("DELETE", "/v2/" + Repository + "/manifests/v1", Repository + ":Delete")]
    [InlineData("GET", "/v2/" + Repository + "/manifests/.INVALID_MANIFEST_NAME", Repository + ":Pull")]
    [InlineData("HEAD", "/v2/" + Repository + "/manifests/sha256:abc", Repository + ":Pull")]
    [InlineData("DELETE", "/v2/" + Repository + "/manifests/-bad", Repository + ":Delete")]
    [InlineData("GET", "/v2/" + Repository + "/blobs/" + Digest, Repository + ":Pull")]
    [InlineData("HEAD", "/v2/" + Repository + "/blobs/" + Digest, Repository + ":Pull")]
    [InlineData("DELETE", "/v2/" + Repository + "/blobs/" + Digest, Repository + ":Delete")]
    [InlineData("POST", "/v2/" + Repository + "/blobs/uploads/", Repository + ":Pull, Push")]
    [InlineData("POST", "/v2/" + Repository + "/blobs/uploads/?digest=" + Digest, Repository + ":Pull, Push")]
    [InlineData("POST", "/v2/" + Repository + "/blobs/uploads/?mount=" + Digest + "&from=other/repo", Repository + ":Pull, Push")]
    [InlineData("POST", "/v2/" + Repository + "/blobs/uploads/?mount=" + Digest, Repository + ":Pull, Push")]
    [InlineData("PATCH", "/v2/" + Repository + "/blobs/uploads/" + Upload, Repository + ":Pull, Push")]
    [InlineData("PUT", "/v2/" + Repository + "/blobs/uploads/" + Upload + "?digest=" + Digest, Repository + ":Pull, Push")]
    [InlineData("GET", "/v2/" + Repository + "/blobs/uploads/" + Upload, Repository + ":Pull, Push")]
    [InlineData("DELETE", "/v2/" + Repository + "/blobs/uploads/" + Upload, Repository + ":Pull, Push")]
    [InlineData("GET", "/v2/" + Repository + "/tags/list", Repository + ":Pull")]
    [InlineData("GET", "/v2/" + Repository + "/referrers/" + Digest, Repository + ":Pull")]
    public async Task EveryEndpoint_AsksForExactlyTheAccessItNeeds(string method, string path, string expected)
    {
        using var response = await _client.SendAsync(new HttpMethod(method), path, method is "PUT" or "POST" or "PATCH" ? [] : null);

        Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(expected, Assert.Single(_authorizer.Calls));
    }

    [Theory]
    [InlineData("GET", "/v2/Bad/manifests/v1")]
    [InlineData("PUT", "/v2/" + Repository + "/manifests/-bad")]
    [InlineData("PUT", "/v2/" + Repository + "/manifests/sha256:abc")]
    [InlineData("GET", "/v2/" + Repository + "/blobs/sha256:abc")]
    [InlineData("GET", "/v2/" + Repository + "/unknown")]
    public async Task MalformedRequest_IsRefusedBeforeAuthorization(string method, string path)
    {
        using var response = await _client.SendAsync(new HttpMethod(method), path);

        Assert.True((int)response.StatusCode is >= 400 and < 500);
        Assert.Empty(_authorizer.Calls);
    }

    [Theory]
    [InlineData(AuthorizationOutcome.Unauthenticated, HttpStatusCode.Unauthorized, "UNAUTHORIZED")]
    [InlineData(AuthorizationOutcome.Denied, HttpStatusCode.Forbidden, "DENIED")]
    public async Task Refused_ReturnsOciErrorAndChangesNothing(AuthorizationOutcome outcome, HttpStatusCode status, string code)
    {
        var image = TestImages.OciImage(1);
        await new AccessSetup(_app).ProjectAsync("project"); // the stand-in authorizer creates no project on push
        await _client.PushManifestAsync(Repository, image, "v1");
        var before = await RegistrySnapshot.TakeAsync(_app, _client);
        var other = TestImages.OciImage(2);
        var blob = TestImages.Bytes(10, 3);
        _authorizer.Outcome = outcome;

        (string Method, string Path, byte[]? Body)[] requests =
        [
            ("GET", "/v2/", null),
            ("GET", "/v2/_catalog", null),
            ("GET", $"/v2/{Repository}/manifests/v1", null),
            ("PUT", $"/v2/{Repository}/manifests/v1", other.Body),
            ("DELETE", $"/v2/{Repository}/manifests/v1", null),
            ("DELETE", $"/v2/{Repository}/manifests/{image.Digest}", null),
            ("GET", $"/v2/{Repository}/blobs/{TestImages.Sha256(image.Blobs[0])}", null),
            ("DELETE", $"/v2/{Repository}/blobs/{TestImages.Sha256(image.Blobs[0])}", null),
            ("POST", $"/v2/{Repository}/blobs/uploads/", []),
            ("POST", $"/v2/{Repository}/blobs/uploads/?digest={TestImages.Sha256(blob)}", blob),
            ("POST", $"/v2/other/blobs/uploads/?mount={TestImages.Sha256(image.Blobs[0])}&from={Repository}", []),
            ("GET", $"/v2/{Repository}/tags/list", null),
            ("GET", $"/v2/{Repository}/referrers/{image.Digest}", null),
        ];
        foreach (var (method, path, body) in requests)
        {
            using var response = await _client.SendAsync(new HttpMethod(method), path, body, body is null || method != "PUT" ? [] : [("Content-Type", TestImages.OciManifest)]);
            await OciAssert.ErrorAsync(response, status, code);
        }

        _authorizer.Outcome = AuthorizationOutcome.Allowed;
        Assert.Equal(before, await RegistrySnapshot.TakeAsync(_app, _client));
    }

    private sealed class RecordingAuthorizer : IRegistryAuthorizer
    {
        private readonly List<string> _calls = [];

        public AuthorizationOutcome Outcome { get; set; } = AuthorizationOutcome.Allowed;

        public IReadOnlyList<string> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls];
                }
            }
        }

        public List<string> QuietChecks { get; } = [];

        public ValueTask<AuthorizationResult> AuthorizeAsync(HttpContext context, IReadOnlyList<RegistryPermission> needed)
        {
            if (Outcome == AuthorizationOutcome.Allowed)
            {
                lock (_calls)
                {
                    _calls.Add(string.Join(';', needed.Select(a => $"{a.Repository?.Value ?? "catalog"}:{a.Actions}")));
                }
            }

            return ValueTask.FromResult(new AuthorizationResult(Outcome));
        }

        public ValueTask<RegistryActions> GetAllowedActionsAsync(HttpContext context, Berth.Oci.RepositoryName repository)
        {
            lock (_calls)
            {
                QuietChecks.Add(repository.Value);
            }

            return ValueTask.FromResult(Outcome == AuthorizationOutcome.Allowed ? RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete : RegistryActions.None);
        }
    }
}
