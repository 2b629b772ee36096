using Berth.Core.Access;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// <c>skopeo login</c> and <c>podman login</c> against the real server with users' passwords and access tokens: what
/// they store lets them push and pull; logging out, expired and revoked tokens, and a password reset by
/// <c>berth admin reset-password</c> take that away. Each client has an auth file of its own (<see cref="ClientAuth"/>).
/// </summary>
public sealed class LoginTests : IClassFixture<AccessServerFixture>
{
    private const int LayerBytes = 256 * 1024;
    private readonly BerthProcess _server;

    public LoginTests(AccessServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task SkopeoAndPodmanLogin_PasswordAndAccessToken_PushAndPull_LogoutEndsAccess()
    {
        using var work = new TempDirectory("login-user");
        string token;
        await using (var setup = ServerSetup.Open(_server))
        {
            var alice = await setup.Access.UserAsync("alice", "alice-password-1");
            await setup.Access.ProjectAsync("login-team");
            await setup.Access.MemberAsync("login-team", alice, ProjectRole.Developer);
            token = (await setup.Access.TokenAsync(alice, AccessTokenScope.PullPush)).Secret;
        }

        // skopeo, signed in with the password: push, then pull back byte-identical.
        using var skopeo = new ClientAuth();
        ClientAssert.Succeeded(await skopeo.SkopeoLoginAsync(_server.Host, "alice", "alice-password-1"));
        Assert.Equal(new[] { _server.Host }, skopeo.Hosts);
        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 2, bytesPerLayer: LayerBytes, seed: 101);
        ClientAssert.Succeeded(await skopeo.PushAsync(image, $"{_server.Host}/login-team/app:v1"));
        ClientAssert.Succeeded(await skopeo.PullAsync($"{_server.Host}/login-team/app:v1", work.Sub("pulled"), "v1"));
        ImageAssert.PulledIdentical(image, work.Sub("pulled"), "v1");

        // podman, signed in with the password through its own auth file: pull what skopeo pushed, push it elsewhere.
        using var podmanAuth = new ClientAuth();
        using (var podman = podmanAuth.Podman())
        {
            await podman.RunAsync("login", "--tls-verify=false", "--username", "alice", "--password", "alice-password-1", _server.Host);
            Assert.Equal(new[] { _server.Host }, podmanAuth.Hosts);
            Assert.Equal(image.Images.Single().Config.Digest, "sha256:" + await podman.PullAsync($"{_server.Host}/login-team/app:v1"));
            var pushed = await podman.PushAsync($"{_server.Host}/login-team/app:v1", $"{_server.Host}/login-team/from-podman:v1");
            Assert.Equal(pushed, Sha256Digest.Of(await Skopeo.InspectRawAsync($"{_server.Host}/login-team/from-podman:v1")));
        }

        // A personal access token as the password, with the owner's name: push and pull.
        using var withToken = new ClientAuth();
        ClientAssert.Succeeded(await withToken.SkopeoLoginAsync(_server.Host, "alice", token));
        var second = OciLayoutBuilder.RandomImage(work.Sub("second"), "v2", layers: 1, bytesPerLayer: LayerBytes, seed: 102);
        ClientAssert.Succeeded(await withToken.PushAsync(second, $"{_server.Host}/login-team/app:v2"));
        ClientAssert.Succeeded(await withToken.PullAsync($"{_server.Host}/login-team/app:v2", work.Sub("pulled-token"), "v2"));
        ImageAssert.PulledIdentical(second, work.Sub("pulled-token"), "v2");

        // The token is the owner's: under another user name it does not sign in.
        using var wrongOwner = new ClientAuth();
        ClientAssert.Refused(await wrongOwner.SkopeoLoginAsync(_server.Host, "admin", token), "invalid username/password", "unauthorized");

        // After logout the client is anonymous again, and the private project refuses it.
        ClientAssert.Succeeded(await withToken.SkopeoLogoutAsync(_server.Host));
        Assert.Empty(withToken.Hosts);
        ClientAssert.Refused(await withToken.PullAsync($"{_server.Host}/login-team/app:v2", work.Sub("after-logout"), "v2"), "unauthorized", "denied");
    }

    [Fact]
    public async Task RevokedAndExpiredTokens_LoginAndPullAreRefused()
    {
        using var work = new TempDirectory("login-tokens");
        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 1, bytesPerLayer: LayerBytes, seed: 111);
        var reference = $"{_server.Host}/login-tokens/app:v1";
        await Skopeo.PushAsync(image, reference); // as the administrator; creates the (private) project

        AccessToken revocable;
        string revocableSecret, expiringSecret;
        DateTimeOffset expiresAt;
        await using (var setup = ServerSetup.Open(_server))
        {
            // Two users, so that the failed sign-ins below stay under the per-user throttling limit (5).
            var carol = await setup.Access.UserAsync("carol", "carol-password-1");
            var chuck = await setup.Access.UserAsync("chuck", "chuck-password-1");
            await setup.Access.MemberAsync("login-tokens", carol, ProjectRole.Reader);
            await setup.Access.MemberAsync("login-tokens", chuck, ProjectRole.Reader);
            (revocable, revocableSecret) = await setup.Access.TokenAsync(carol, AccessTokenScope.Pull);
            expiresAt = DateTimeOffset.UtcNow.AddSeconds(8);
            expiringSecret = (await setup.Access.TokenAsync(chuck, AccessTokenScope.Pull, expiresAt: expiresAt)).Secret;
        }

        // Both work while they are valid.
        using var expiring = new ClientAuth();
        ClientAssert.Succeeded(await expiring.SkopeoLoginAsync(_server.Host, "chuck", expiringSecret));
        ClientAssert.Succeeded(await expiring.PullAsync(reference, work.Sub("before-expiry"), "v1"));
        using var revoked = new ClientAuth();
        ClientAssert.Succeeded(await revoked.SkopeoLoginAsync(_server.Host, "carol", revocableSecret));
        ClientAssert.Succeeded(await revoked.PullAsync(reference, work.Sub("before-revoke"), "v1"));
        ImageAssert.PulledIdentical(image, work.Sub("before-revoke"), "v1");

        // Revoked: the stored credentials no longer pull, and a new login is refused.
        await using (var setup = ServerSetup.Open(_server))
        {
            await setup.Access.RevokeAsync(revocable);
        }

        // The revoke is another process's write, as another node's would be: a Basic sign-in the server made is
        // reused for up to TokenSubjects.Lifetime, so the token is refused once that has passed.
        await Task.Delay(Berth.Api.Access.TokenSubjects.Lifetime);

        ClientAssert.Refused(await revoked.PullAsync(reference, work.Sub("after-revoke"), "v1"), "unauthorized", "invalid username/password");
        using var again = new ClientAuth();
        ClientAssert.Refused(await again.SkopeoLoginAsync(_server.Host, "carol", revocableSecret), "invalid username/password", "unauthorized");
        Assert.Empty(again.Hosts);

        // Expired: the same, once its expiry has passed.
        var wait = expiresAt - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        ClientAssert.Refused(await expiring.PullAsync(reference, work.Sub("after-expiry"), "v1"), "unauthorized", "invalid username/password");
        using var late = new ClientAuth();
        ClientAssert.Refused(await late.SkopeoLoginAsync(_server.Host, "chuck", expiringSecret), "invalid username/password", "unauthorized");

        // The owners' passwords still work: only the tokens were refused.
        foreach (var (user, secret) in new[] { ("carol", "carol-password-1"), ("chuck", "chuck-password-1") })
        {
            using var password = new ClientAuth();
            ClientAssert.Succeeded(await password.SkopeoLoginAsync(_server.Host, user, secret));
            ClientAssert.Succeeded(await password.PullAsync(reference, work.Sub("with-password-" + user), "v1"));
        }
    }

    [Fact]
    public async Task AdminResetPassword_WhileServerRuns_NewPasswordSignsInAndOldOneIsRefused()
    {
        await using var server = await BerthProcess.StartAsync();
        using var work = new TempDirectory("login-reset");
        using var before = new ClientAuth();
        ClientAssert.Succeeded(await before.SkopeoLoginAsync(server.Host, BerthProcess.AdminUser, BerthProcess.AdminPassword));

        var reset = await ProcessRunner.RunAsync(BerthProcess.DotnetHost(),
            [BerthProcess.ServerAssemblyPath(), "admin", "reset-password", "--data", server.DataPath, "--password-stdin"],
            standardInput: "the-new-admin-password\n");
        Assert.True(reset.ExitCode == 0, reset.Describe());
        Assert.Contains("was reset", reset.StandardOutputText, StringComparison.Ordinal);
        // The reset is another process's write, as another node's would be: the server reuses a Basic sign-in it made
        // for up to TokenSubjects.Lifetime, so the old password is refused once that has passed.
        await Task.Delay(Berth.Api.Access.TokenSubjects.Lifetime);

        using var withNew = new ClientAuth();
        ClientAssert.Succeeded(await withNew.SkopeoLoginAsync(server.Host, BerthProcess.AdminUser, "the-new-admin-password"));
        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 1, bytesPerLayer: LayerBytes, seed: 121);
        ClientAssert.Succeeded(await withNew.PushAsync(image, $"{server.Host}/reset/app:v1"));

        using var withOld = new ClientAuth();
        ClientAssert.Refused(await withOld.SkopeoLoginAsync(server.Host, BerthProcess.AdminUser, BerthProcess.AdminPassword), "invalid username/password", "unauthorized");
        // The client that signed in before the reset holds the old password: it is refused too.
        ClientAssert.Refused(await before.PullAsync($"{server.Host}/reset/app:v1", work.Sub("old"), "v1"), "unauthorized", "invalid username/password");
        Assert.True(server.IsRunning, server.LogTail());
    }
    [Fact]
    public async Task WrongPasswordsFromAnotherAddress_DoNotLockTheAdministratorOutOfSkopeoLogin()
    {
        // Issue 10 item 5: six wrong passwords for admin from 127.0.0.2 made the right one fail from 127.0.0.1 with 429.
        await using var server = await BerthProcess.StartAsync();
        await using var relay = new SourceAddressRelay(server.Port, System.Net.IPAddress.Parse("127.0.0.2"));
        using var attacker = new ClientAuth();
        for (var i = 0; i < 6; i++)
        {
            ClientAssert.Refused(await attacker.SkopeoLoginAsync(relay.Host, BerthProcess.AdminUser, "guess-" + i), "unauthorized", "invalid", "429", "too many");
        }

        // The control: the guesses did lock admin at 127.0.0.2. The lock after six failures lasts 2 s, which a loaded
        // machine can spend in one skopeo start; each further failure doubles it, so a few more guesses meet it.
        var locked = false;
        for (var i = 6; i < 14 && !locked; i++)
        {
            var guess = await attacker.SkopeoLoginAsync(relay.Host, BerthProcess.AdminUser, "guess-" + i);
            ClientAssert.Refused(guess, "unauthorized", "invalid", "429", "too many");
            var said = guess.StandardError + guess.StandardOutputText;
            locked = said.Contains("429", StringComparison.Ordinal) || said.Contains("too many", StringComparison.OrdinalIgnoreCase);
        }

        Assert.True(locked, "the guesses from 127.0.0.2 never met a lockout");

        using var owner = new ClientAuth();
        ClientAssert.Succeeded(await owner.SkopeoLoginAsync(server.Host, BerthProcess.AdminUser, BerthProcess.AdminPassword));
        Assert.True(server.IsRunning, server.LogTail());
    }
}
