using System.Net;
using Berth.Core.Access;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>Pushes, pulls, deletes and sign-ins at /token land in the audit log with who, where and from which address.</summary>
public sealed class AuditTests : AccessTest
{
    [Fact]
    public async Task RegistryActions_AreRecorded()
    {
        await Setup.ProjectAsync("proj");
        var (_, developer) = await UserAsync("dev", "proj");
        var (_, maintainer) = await UserAsync("keeper", "proj", ProjectRole.Maintainer);
        var robot = await Setup.RobotAsync("proj", "ci", Core.Registry.RegistryActions.Pull);
        var (_, robotSecret) = await Setup.RobotTokenAsync(robot, AccessTokenScope.Pull);
        var image = TestImages.OciImage(1);
        var loose = TestImages.Bytes(30, 9);

        using (var push = AccessClient.Basic(App, developer, "10.0.0.1"))
        {
            await push.PushManifestAsync("proj/app", image, "v1");
            await push.PushBlobAsync("proj/app", loose);
        }

        using (var pull = AccessClient.Bearer(App, await AccessClient.GetTokenAsync(App, new Credentials(robot.FullName, robotSecret), "repository:proj/app:pull"), "10.0.0.2"))
        {
            Assert.True(await pull.ManifestExistsAsync("proj/app", "v1")); // HEAD: not a pull
            using var get = await pull.GetAsync("/v2/proj/app/manifests/v1");
            await OciAssert.StatusAsync(get, HttpStatusCode.OK);
        }

        using (var delete = AccessClient.Basic(App, maintainer, "10.0.0.3"))
        {
            using var manifest = await delete.DeleteAsync($"/v2/proj/app/manifests/{image.Digest}");
            await OciAssert.StatusAsync(manifest, HttpStatusCode.Accepted);
            using var blob = await delete.DeleteAsync($"/v2/proj/app/blobs/{TestImages.Sha256(loose)}");
            await OciAssert.StatusAsync(blob, HttpStatusCode.Accepted);
        }

        var entries = (await Setup.AuditAsync()).Where(e => e.Action is AuditActions.Push or AuditActions.Pull or AuditActions.Delete).OrderBy(e => e.Id).ToList();
        Assert.Equal(
            [
                "push User dev proj proj/app 10.0.0.1",
                "pull Robot proj+ci proj proj/app 10.0.0.2",
                "delete User keeper proj proj/app 10.0.0.3",
                "delete User keeper proj proj/app 10.0.0.3",
            ],
            entries.Select(e => $"{e.Action} {e.ActorKind} {e.ActorName} {e.Project} {e.Repository} {e.ClientAddress}"));
        Assert.Contains(image.Digest, entries[0].Detail);
        Assert.Contains(image.Digest, entries[2].Detail);
        Assert.Contains(TestImages.Sha256(loose), entries[3].Detail);
    }

    [Fact]
    public async Task ManifestAndBlobDelete_ThroughTheServicesAsTheSystem_AreAuditedAsTheSystem()
    {
        // What a background job (garbage collection, retention) does: the services, no HTTP request, a system actor.
        var image = TestImages.OciImage(1);
        await Admin.PushManifestAsync("proj/app", image, "v1");
        var repository = Oci.RepositoryName.Parse("proj/app");
        using (Core.Events.EventActorContext.Begin(Core.Events.EventActor.System("retention")))
        {
            Assert.True((await Service<Core.Registry.ManifestService>().DeleteAsync(repository, Oci.Reference.Of(Oci.Tag.Parse("v1")), CancellationToken.None)).IsSuccess);
            Assert.True((await Service<Core.Registry.ManifestService>().DeleteAsync(repository, Oci.Reference.Of(Oci.Digest.Parse(image.Digest)), CancellationToken.None)).IsSuccess);
            Assert.True((await Service<Core.Registry.BlobService>().DeleteAsync(repository, Oci.Digest.Parse(TestImages.Sha256(image.Blobs[0])), CancellationToken.None)).IsSuccess);
        }

        // Outside any scope (a job that names nothing) it is still the system, never a user.
        Assert.True((await Service<Core.Registry.BlobService>().DeleteAsync(repository, Oci.Digest.Parse(TestImages.Sha256(image.Blobs[1])), CancellationToken.None)).IsSuccess);

        var deletes = (await Setup.AuditAsync(new AuditQuery(Action: AuditActions.Delete))).OrderBy(e => e.Id).ToList();
        Assert.Equal(
            [
                "delete System retention proj proj/app  {\"reference\":\"v1\"}",
                $"delete System retention proj proj/app  {{\"reference\":\"{image.Digest}\"}}",
                $"delete System retention proj proj/app  {{\"blob\":\"{TestImages.Sha256(image.Blobs[0])}\"}}",
                $"delete System berth proj proj/app  {{\"blob\":\"{TestImages.Sha256(image.Blobs[1])}\"}}",
            ],
            deletes.Select(e => $"{e.Action} {e.ActorKind} {e.ActorName} {e.Project} {e.Repository} {e.ClientAddress} {e.Detail}"));
    }

    [Fact]
    public async Task RegistryActions_DetailsAreThoseOfTheRequest()
    {
        await Setup.ProjectAsync("proj");
        var (user, _) = await UserAsync("dev", "proj", ProjectRole.Maintainer);
        var (_, secret) = await Setup.TokenAsync(user, AccessTokenScope.PullPushDelete); // a personal access token: audited as its user
        var image = TestImages.OciImage(1);

        using (var client = AccessClient.Basic(App, new Credentials("dev", secret), "10.0.0.7"))
        {
            await client.PushManifestAsync("proj/app", image, "v1");
            await client.PushManifestAsync("proj/app", image); // by digest
            using (var get = await client.GetAsync($"/v2/proj/app/manifests/{image.Digest}"))
            {
                await OciAssert.StatusAsync(get, HttpStatusCode.OK);
            }

            using var untag = await client.DeleteAsync("/v2/proj/app/manifests/v1");
            await OciAssert.StatusAsync(untag, HttpStatusCode.Accepted);
            using var missing = await client.DeleteAsync("/v2/proj/app/manifests/v1"); // not there any more: no entry
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        var entries = (await Setup.AuditAsync()).Where(e => e.Action is AuditActions.Push or AuditActions.Pull or AuditActions.Delete).OrderBy(e => e.Id).ToList();
        Assert.Equal(
            [
                $"push User dev 10.0.0.7 {{\"reference\":\"v1\",\"digest\":\"{image.Digest}\"}}",
                $"push User dev 10.0.0.7 {{\"reference\":\"{image.Digest}\",\"digest\":\"{image.Digest}\"}}",
                $"pull User dev 10.0.0.7 {{\"reference\":\"{image.Digest}\",\"digest\":\"{image.Digest}\"}}",
                "delete User dev 10.0.0.7 {\"reference\":\"v1\"}",
            ],
            entries.Select(e => $"{e.Action} {e.ActorKind} {e.ActorName} {e.ClientAddress} {e.Detail}"));
    }

    [Fact]
    public async Task SignInsAtTheTokenEndpoint_AreRecorded()
    {
        var (_, developer) = await UserAsync("dev");
        using (var good = AccessClient.Basic(App, developer, "10.0.0.4"))
        using (var ok = await good.GetAsync(AccessClient.TokenPath()))
        {
            await OciAssert.StatusAsync(ok, HttpStatusCode.OK);
        }

        using (var bad = AccessClient.Basic(App, new Credentials("dev", "wrong"), "10.0.0.5"))
        using (var refused = await bad.GetAsync(AccessClient.TokenPath()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var entries = (await Setup.AuditAsync()).Where(e => e.Action.StartsWith("login.", StringComparison.Ordinal)).OrderBy(e => e.Id).ToList();
        Assert.Equal(
            ["login.success User dev 10.0.0.4", "login.failure Anonymous  10.0.0.5"],
            entries.Select(e => $"{e.Action} {e.ActorKind} {e.ActorName} {e.ClientAddress}"));
        Assert.Contains("\"dev\"", entries[1].Detail);
    }
    [Fact]
    public async Task FailedBasicSignInsOnTheRegistry_AreRecordedOncePerUserAndAddressPerQuietPeriod()
    {
        // Issue 10 item 9: 240 failed /v2/_catalog attempts left no entry.
        await UserAsync("dev");
        for (var i = 0; i < 240; i++)
        {
            using var client = AccessClient.Basic(App, new Credentials("dev", "guess-" + i), "10.0.0.6");
            using var response = await client.GetAsync("/v2/_catalog");
            Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, $"attempt {i}: {response.StatusCode}");
        }

        var failures = await Setup.AuditAsync(new AuditQuery(Action: AuditActions.LoginFailure, Limit: 1000));
        var failure = Assert.Single(failures);
        Assert.Equal(AuditActorKind.Anonymous, failure.ActorKind);
        Assert.Equal("10.0.0.6", failure.ClientAddress?.ToString());
        Assert.Contains("\"user\":\"dev\"", failure.Detail);
        Assert.Contains("\"endpoint\":\"registry\"", failure.Detail);
        Assert.DoesNotContain("guess", failure.Detail);

        App.Clock.Advance(TimeSpan.FromMinutes(16)); // past the quiet period and the lock-out
        using (var again = AccessClient.Basic(App, new Credentials("DEV", "guess-again"), "10.0.0.6"))
        using (var response = await again.GetAsync("/v2/"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.Equal(2, (await Setup.AuditAsync(new AuditQuery(Action: AuditActions.LoginFailure))).Count);
    }

    [Fact]
    public async Task FailedSignIns_OtherUsersAndAddresses_AreRecordedSeparately()
    {
        await UserAsync("dev");
        string[][] attempts = [["dev", "10.0.0.1"], ["dev", "10.0.0.2"], ["nobody", "10.0.0.1"], ["dev", "10.0.0.1"]];
        foreach (var attempt in attempts)
        {
            using var client = AccessClient.Basic(App, new Credentials(attempt[0], "wrong"), attempt[1]);
            using var response = await client.GetAsync("/v2/");
        }

        var failures = (await Setup.AuditAsync(new AuditQuery(Action: AuditActions.LoginFailure))).OrderBy(e => e.Id).ToList();
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.1"], failures.Select(e => e.ClientAddress?.ToString()));
        Assert.Contains("\"nobody\"", failures[2].Detail);
    }

    [Fact]
    public async Task FailedSignIn_HugeClaimedUserName_IsCutInTheLog()
    {
        var name = new string('x', 5000);
        using var client = AccessClient.Basic(App, new Credentials(name, "wrong"), "10.0.0.3");
        using var response = await client.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        var failure = Assert.Single(await Setup.AuditAsync(new AuditQuery(Action: AuditActions.LoginFailure)));
        Assert.True(failure.Detail!.Length < 400, failure.Detail);
        Assert.Contains(new string('x', 128), failure.Detail);
        Assert.DoesNotContain(new string('x', 129), failure.Detail);
    }

    [Fact]
    public async Task FailedSignInsWithAccessTokens_AreRecordedWithoutTheSecret()
    {
        var (user, _) = await UserAsync("dev");
        var (token, secret) = await Setup.TokenAsync(user, AccessTokenScope.Pull);
        await Setup.RevokeAsync(token);

        using (var basic = AccessClient.Basic(App, new Credentials("dev", secret), "10.0.0.4"))
        using (var refused = await basic.GetAsync("/v2/"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var failure = Assert.Single(await Setup.AuditAsync(new AuditQuery(Action: AuditActions.LoginFailure)));
        Assert.Contains("\"via\":\"token\"", failure.Detail);
        Assert.DoesNotContain(secret[10..], failure.Detail);
    }

    [Fact]
    public async Task SuccessfulBasicSignInsOnTheRegistry_AreRecordedOncePerQuietPeriod()
    {
        var (_, dev) = await UserAsync("dev");
        for (var i = 0; i < 5; i++)
        {
            using var client = AccessClient.Basic(App, dev, "10.0.0.5");
            using var response = await client.GetAsync("/v2/");
            await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        }

        var success = Assert.Single(await Setup.AuditAsync(new AuditQuery(Action: AuditActions.LoginSuccess, ActorName: "dev")));
        Assert.Contains("\"endpoint\":\"registry\"", success.Detail);
    }

    [Fact]
    public async Task FailedRefreshGrant_IsRecorded()
    {
        var (user, dev) = await UserAsync("dev");
        using var client = App.CreateAnonymousClient();
        using var grant = await client.PostAsync("/token", new FormUrlEncodedContent([
            KeyValuePair.Create("grant_type", "password"), KeyValuePair.Create("username", "dev"),
            KeyValuePair.Create("password", dev.Secret), KeyValuePair.Create("access_type", "offline")]));
        using var json = System.Text.Json.JsonDocument.Parse(await grant.Content.ReadAsStringAsync());
        var refresh = json.RootElement.GetProperty("refresh_token").GetString()!;
        await Service<IUserStore>().RotateSecurityStampAsync(user.Id, CancellationToken.None);

        using var refused = await client.PostAsync("/token", new FormUrlEncodedContent([
            KeyValuePair.Create("grant_type", "refresh_token"), KeyValuePair.Create("refresh_token", refresh)]));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var failure = Assert.Single(await Setup.AuditAsync(new AuditQuery(Action: AuditActions.LoginFailure)));
        Assert.Contains("\"via\":\"refresh_token\"", failure.Detail);
        Assert.Contains("\"user\":\"dev\"", failure.Detail);
    }
}
