using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// What skopeo and podman may do with limited credentials against the real server: a pull-only token, a robot
/// account's token, no credentials at all, and a client outside a project's IP allow list.
/// </summary>
public sealed partial class AccessControlTests : IClassFixture<AccessServerFixture>
{
    private const int LayerBytes = 256 * 1024;
    private readonly BerthProcess _server;

    public AccessControlTests(AccessServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task PullOnlyToken_PullsButPushIsRefusedAndStoresNothing()
    {
        using var work = new TempDirectory("pull-only");
        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 1, bytesPerLayer: LayerBytes, seed: 201);
        await Skopeo.PushAsync(image, $"{_server.Host}/pull-only/base:v1"); // as the administrator; creates the project
        string token;
        await using (var setup = ServerSetup.Open(_server))
        {
            // The owner may push (Developer); the token may not.
            var bob = await setup.Access.UserAsync("bob", "bob-password-1");
            await setup.Access.MemberAsync("pull-only", bob, ProjectRole.Developer);
            token = (await setup.Access.TokenAsync(bob, AccessTokenScope.Pull)).Secret;
        }

        using var client = new ClientAuth();
        ClientAssert.Succeeded(await client.SkopeoLoginAsync(_server.Host, "bob", token));
        ClientAssert.Succeeded(await client.PullAsync($"{_server.Host}/pull-only/base:v1", work.Sub("pulled"), "v1"));
        ImageAssert.PulledIdentical(image, work.Sub("pulled"), "v1");

        var other = OciLayoutBuilder.RandomImage(work.Sub("other"), "v1", layers: 1, bytesPerLayer: LayerBytes, seed: 202);
        ClientAssert.Refused(await client.PushAsync(other, $"{_server.Host}/pull-only/new:v1"), "unauthorized", "denied");
        ClientAssert.Refused(await client.PushAsync(other, $"{_server.Host}/pull-only/base:v2"), "unauthorized", "denied");

        // Nothing of it was stored: no repository, no new tag, no blob.
        using var admin = new RegistryHttp(_server.BaseAddress);
        Assert.DoesNotContain("pull-only/new", await CatalogAsync(admin));
        using (var tags = await admin.Client.GetAsync("/v2/pull-only/new/tags/list"))
        {
            Assert.Equal(HttpStatusCode.NotFound, tags.StatusCode);
        }

        Assert.Equal(["v1"], await TagsAsync(admin, "pull-only/base"));
        var built = other.Images.Single();
        foreach (var blob in built.Layers.Select(l => l.Descriptor.Digest).Append(built.Config.Digest))
        {
            Assert.False(await admin.BlobExistsAsync("pull-only/base", blob), $"{blob} was stored");
            Assert.False(File.Exists(Path.Combine(_server.DataPath, "blobs", "sha256", blob[7..9], blob[7..])), $"{blob} is on disk");
        }
    }

    [Fact]
    public async Task RobotToken_PushesIntoItsProjectOnly()
    {
        using var work = new TempDirectory("robot");
        string robotName, token;
        await using (var setup = ServerSetup.Open(_server))
        {
            await setup.Access.ProjectAsync("robot-home");
            await setup.Access.ProjectAsync("robot-other");
            var robot = await setup.Access.RobotAsync("robot-home", "ci", RegistryActions.Pull | RegistryActions.Push);
            robotName = robot.FullName;
            token = (await setup.Access.RobotTokenAsync(robot, AccessTokenScope.PullPush)).Secret;
        }

        Assert.Equal("robot-home+ci", robotName);
        using var client = new ClientAuth();
        ClientAssert.Succeeded(await client.SkopeoLoginAsync(_server.Host, robotName, token));
        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 2, bytesPerLayer: LayerBytes, seed: 211);
        ClientAssert.Succeeded(await client.PushAsync(image, $"{_server.Host}/robot-home/app:v1"));
        ClientAssert.Succeeded(await client.PullAsync($"{_server.Host}/robot-home/app:v1", work.Sub("pulled"), "v1"));
        ImageAssert.PulledIdentical(image, work.Sub("pulled"), "v1");

        ClientAssert.Refused(await client.PushAsync(image, $"{_server.Host}/robot-other/app:v1"), "unauthorized", "denied");
        using var admin = new RegistryHttp(_server.BaseAddress);
        using var tags = await admin.Client.GetAsync("/v2/robot-other/app/tags/list");
        Assert.Equal(HttpStatusCode.NotFound, tags.StatusCode);
    }

    [Fact]
    public async Task Anonymous_PullsFromPublicProject_PrivateProjectRefusedLikeMissingOne()
    {
        using var work = new TempDirectory("anonymous");
        await using (var setup = ServerSetup.Open(_server))
        {
            await setup.Access.ProjectAsync("anon-public", isPublic: true);
            await setup.Access.ProjectAsync("anon-private");
        }

        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 2, bytesPerLayer: LayerBytes, seed: 221);
        await Skopeo.PushAsync(image, $"{_server.Host}/anon-public/app:v1");
        await Skopeo.PushAsync(image, $"{_server.Host}/anon-private/app:v1");

        using var anonymous = new ClientAuth(); // an empty auth file: no credentials at all
        ClientAssert.Succeeded(await anonymous.PullAsync($"{_server.Host}/anon-public/app:v1", work.Sub("public"), "v1"));
        ImageAssert.PulledIdentical(image, work.Sub("public"), "v1");
        using var podman = anonymous.Podman();
        Assert.Equal(image.Images.Single().Config.Digest, "sha256:" + await podman.PullAsync($"{_server.Host}/anon-public/app:v1"));

        // A private repository, a missing repository in the private project and a repository of a project that does
        // not exist: the same refusal, word for word once the names are replaced.
        var skopeoErrors = new List<string>();
        var podmanErrors = new List<string>();
        foreach (var repository in new[] { "anon-private/app", "anon-private/nothing", "anon-missing/app" })
        {
            var pulled = await anonymous.PullAsync($"{_server.Host}/{repository}:v1", work.Sub("refused-" + repository.Replace('/', '-')), "v1");
            ClientAssert.Refused(pulled, "unauthorized", "denied");
            skopeoErrors.Add(Normalize(pulled.StandardError, repository));
            var podmanPull = await podman.TryRunAsync("pull", "--quiet", "--tls-verify=false", $"{_server.Host}/{repository}:v1");
            ClientAssert.Refused(podmanPull, "unauthorized", "denied");
            podmanErrors.Add(Normalize(podmanPull.StandardError, repository));
        }

        Assert.All(skopeoErrors, e => Assert.Equal(skopeoErrors[0], e));
        Assert.All(podmanErrors, e => Assert.Equal(podmanErrors[0], e));
        Assert.DoesNotContain("anon-private", string.Join('\n', skopeoErrors.Concat(podmanErrors)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProjectIpAllowList_ClientFromOtherAddressIsDenied_LocalClientPulls()
    {
        using var work = new TempDirectory("ip-project");
        await using (var setup = ServerSetup.Open(_server))
        {
            var dave = await setup.Access.UserAsync("dave", "dave-password-1");
            foreach (var project in new[] { "ip-local", "ip-open" })
            {
                await setup.Access.ProjectAsync(project);
                await setup.Access.MemberAsync(project, dave, ProjectRole.Developer);
            }

            await setup.Access.AllowAsync("127.0.0.1/32", project: "ip-local");
        }

        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 1, bytesPerLayer: LayerBytes, seed: 231);
        await Skopeo.PushAsync(image, $"{_server.Host}/ip-local/app:v1");
        await Skopeo.PushAsync(image, $"{_server.Host}/ip-open/app:v1");

        // From 127.0.0.1: the project's allow list lets the member in.
        using var local = new ClientAuth();
        ClientAssert.Succeeded(await local.SkopeoLoginAsync(_server.Host, "dave", "dave-password-1"));
        ClientAssert.Succeeded(await local.PullAsync($"{_server.Host}/ip-local/app:v1", work.Sub("local"), "v1"));
        ImageAssert.PulledIdentical(image, work.Sub("local"), "v1");

        // From 127.0.0.2 the same member signs in and pulls from the other project, but this one is denied.
        await using var relay = new SourceAddressRelay(_server.Port, IPAddress.Parse("127.0.0.2"));
        using var remote = new ClientAuth();
        ClientAssert.Succeeded(await remote.SkopeoLoginAsync(relay.Host, "dave", "dave-password-1"));
        ClientAssert.Succeeded(await remote.PullAsync($"{relay.Host}/ip-open/app:v1", work.Sub("remote-open"), "v1"));
        var denied = await remote.PullAsync($"{relay.Host}/ip-local/app:v1", work.Sub("remote-local"), "v1");
        ClientAssert.Refused(denied, "denied");
        Assert.Contains("127.0.0.2", denied.StandardError, StringComparison.Ordinal);
        // A push fails at its first request (skopeo then shows only the status: HEAD answers carry no error body).
        ClientAssert.Refused(await remote.PushAsync(image, $"{relay.Host}/ip-local/app:v2"), "denied", "403 (Forbidden)");
        await IpDenied.AssertAsync(relay, "/v2/ip-local/app/manifests/v1", "dave", "dave-password-1");
    }

    [Theory]
    [InlineData("api")]
    [InlineData("store")]
    public async Task RegistryTokenOfRemovedMember_SkopeoPushWithItIsRefused_PullStillWorks(string removal)
    {
        // Issue 10 item 8: a registry token kept pushing for 5 minutes after the member was removed.
        using var work = new TempDirectory("removed-" + removal);
        var project = "revoke-" + removal;
        User carol;
        await using (var setup = ServerSetup.Open(_server))
        {
            await setup.Access.ProjectAsync(project);
            carol = await setup.Access.UserAsync("carol-" + removal, "carol-password-1");
            await setup.Access.MemberAsync(project, carol, ProjectRole.Developer);
        }

        // The registry token a client holds during a push (5 minutes), granted while carol was a member.
        var token = await RegistryTokenAsync(carol.Name.Value, "carol-password-1", $"repository:{project}/app:pull,push");
        using var client = new ClientAuth(); // no saved credentials: the token is all skopeo has
        var first = OciLayoutBuilder.RandomImage(work.Sub("first"), "v1", layers: 1, bytesPerLayer: LayerBytes, seed: 241);
        ClientAssert.Succeeded(await client.SkopeoAsync("copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
            "--dest-registry-token", token, first.OciReference, $"docker://{_server.Host}/{project}/app:v1"));

        if (removal == "api")
        {
            // What `berth member remove` does: this server checks the token against the change at once.
            using var admin = new RegistryHttp(_server.BaseAddress);
            using var removed = await admin.Client.DeleteAsync($"/api/v1/projects/{project}/members/{carol.Name.Value}");
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }
        else
        {
            // Straight in the database, as another node would: this server sees it within its 2 s cache lifetime.
            await using (var setup = ServerSetup.Open(_server))
            {
                await setup.Access.RemoveMemberAsync(project, carol);
            }

            await Task.Delay(Berth.Api.Access.TokenSubjects.Lifetime);
        }

        var second = OciLayoutBuilder.RandomImage(work.Sub("second"), "v2", layers: 1, bytesPerLayer: LayerBytes, seed: 242);
        var refused = await client.SkopeoAsync("copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
            "--dest-registry-token", token, second.OciReference, $"docker://{_server.Host}/{project}/app:v2");
        ClientAssert.Refused(refused, "denied", "403");
        using (var admin = new RegistryHttp(_server.BaseAddress))
        {
            Assert.Equal(["v1"], await TagsAsync(admin, $"{project}/app"));
            Assert.False(await admin.BlobExistsAsync($"{project}/app", second.Images.Single().Layers.Single().Descriptor.Digest));
        }

        // What remains until the token expires (README): reads with it still work.
        ClientAssert.Succeeded(await client.SkopeoAsync("copy", "--quiet", "--preserve-digests", "--src-tls-verify=false",
            "--src-registry-token", token, $"docker://{_server.Host}/{project}/app:v1", $"oci:{work.Sub("pulled")}:v1"));
        ImageAssert.PulledIdentical(first, work.Sub("pulled"), "v1");
    }

    /// <summary>GET /token with Basic credentials, as a client does at the start of a push; the registry token.</summary>
    private async Task<string> RegistryTokenAsync(string user, string password, string scope)
    {
        using var http = new HttpClient { BaseAddress = _server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = RegistryAuth.Basic(user, password);
        using var response = await http.GetAsync($"/token?service=berth&scope={Uri.EscapeDataString(scope)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("token").GetString()!;
    }

    private static async Task<List<string>> CatalogAsync(RegistryHttp admin)
    {
        using var response = await admin.Client.GetAsync("/v2/_catalog?n=1000");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("repositories").EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    private static async Task<List<string>> TagsAsync(RegistryHttp admin, string repository)
    {
        using var response = await admin.Client.GetAsync($"/v2/{repository}/tags/list");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("tags").EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    /// <summary>The error without timestamps, with the repository and its project replaced by placeholders.</summary>
    private static string Normalize(string error, string repository) =>
        LogTimestamp().Replace(error, string.Empty)
            .Replace(repository, "PROJECT/REPOSITORY", StringComparison.Ordinal)
            .Replace($"'{repository[..repository.IndexOf('/', StringComparison.Ordinal)]}'", "'PROJECT'", StringComparison.Ordinal);

    [GeneratedRegex("time=\"[^\"]*\" ")]
    private static partial Regex LogTimestamp();
}

/// <summary>A server-wide IP allow list against clients at two loopback addresses (its own server: the rule covers every test).</summary>
public sealed class IpAllowListTests
{
    [Fact]
    public async Task ServerIpAllowList_OnlyLocalhost_ClientFrom127002IsDenied_ClientFrom127001Works()
    {
        await using var server = await BerthProcess.StartAsync(ServerSetup.CacheArgument);
        using var work = new TempDirectory("ip-server");
        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 1, bytesPerLayer: 256 * 1024, seed: 241);
        await Skopeo.PushAsync(image, $"{server.Host}/ip/app:v1");
        await using (var setup = ServerSetup.Open(server))
        {
            var erin = await setup.Access.UserAsync("erin", "erin-password-1");
            await setup.Access.MemberAsync("ip", erin, ProjectRole.Developer);
            await setup.Access.AllowAsync("127.0.0.1/32");
        }

        await ServerSetup.WaitForServerCachesAsync(); // the server read the (empty) server-wide list when it started

        await using var relay = new SourceAddressRelay(server.Port, IPAddress.Parse("127.0.0.2"));
        using var remote = new ClientAuth();
        // skopeo stops at its first request, GET /v2/, and shows only the status (it does not print the error body).
        ClientAssert.Refused(await remote.SkopeoLoginAsync(relay.Host, "erin", "erin-password-1"), "denied", "403 (Forbidden)");
        Assert.Empty(remote.Hosts);
        remote.Write(relay.Host, "erin", "erin-password-1");
        ClientAssert.Refused(await remote.PullAsync($"{relay.Host}/ip/app:v1", work.Sub("remote"), "v1"), "denied", "403 (Forbidden)");
        using var anonymous = new ClientAuth();
        ClientAssert.Refused(await anonymous.PullAsync($"{relay.Host}/ip/app:v1", work.Sub("remote-anonymous"), "v1"), "denied", "403 (Forbidden)");
        // The error body says DENIED, for the registry and for the token endpoint.
        await IpDenied.AssertAsync(relay, "/v2/", "erin", "erin-password-1");
        await IpDenied.AssertAsync(relay, "/v2/ip/app/manifests/v1", "erin", "erin-password-1");
        await IpDenied.AssertAsync(relay, "/token?service=berth&scope=repository:ip/app:pull", "erin", "erin-password-1");

        using var local = new ClientAuth();
        ClientAssert.Succeeded(await local.SkopeoLoginAsync(server.Host, "erin", "erin-password-1"));
        ClientAssert.Succeeded(await local.PullAsync($"{server.Host}/ip/app:v1", work.Sub("local"), "v1"));
        ImageAssert.PulledIdentical(image, work.Sub("local"), "v1");
    }
}

/// <summary>What skopeo does not print: the status and error code of a request refused by an IP allow list.</summary>
internal static class IpDenied
{
    public static async Task AssertAsync(SourceAddressRelay relay, string path, string user, string secret)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://{relay.Host}/") };
        client.DefaultRequestHeaders.Authorization = RegistryAuth.Basic(user, secret);
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"GET {path} from 127.0.0.2: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("errors")[0];
        Assert.Equal("DENIED", error.GetProperty("code").GetString());
        Assert.Contains("127.0.0.2", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
