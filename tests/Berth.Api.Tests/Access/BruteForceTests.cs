using System.Net;
using System.Reflection;
using Berth.Auth.Passwords;
using Berth.Auth.Throttling;
using Berth.Core.Access;
using Berth.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Api.Tests.Access;

/// <summary>
/// Failed sign-ins are throttled per user and address, per address, and per account from unknown addresses; valid
/// access tokens never are; unknown users and wrong passwords look and cost the same.
/// </summary>
public sealed class BruteForceTests : AccessTest
{
    private long IterationsRun() =>
        (long)typeof(PasswordHasher).GetProperty("IterationsRun", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(Service<PasswordHasher>())!;

    private async Task<HttpStatusCode> SignInAsync(string user, string secret, string address, string path = "/v2/")
    {
        using var client = AccessClient.Basic(App, new Credentials(user, secret), address);
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    [Fact]
    public async Task FailedLogins_FromOneAddress_AreThrottledThereWithRetryAfter()
    {
        await UserAsync("victim");
        for (var i = 1; i <= 5; i++)
        {
            using var guess = AccessClient.Basic(App, new Credentials("victim", "guess-" + i), "10.0.0.1");
            using var failed = await guess.GetAsync("/v2/");
            await OciAssert.ErrorAsync(failed, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        using var right = AccessClient.Basic(App, new Credentials("victim", "victim-password"), "10.0.0.1");
        using var throttled = await right.GetAsync("/v2/");
        await OciAssert.ErrorAsync(throttled, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
        Assert.Equal("1", throttled.Header("Retry-After"));
        using var token = await right.GetAsync(AccessClient.TokenPath());
        Assert.Equal(HttpStatusCode.TooManyRequests, token.StatusCode);
        Assert.NotNull(token.Header("Retry-After"));

        App.Clock.Advance(TimeSpan.FromSeconds(2));
        using var later = await right.GetAsync("/v2/");
        await OciAssert.StatusAsync(later, HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/v2/")]
    [InlineData("/token?service=berth&scope=repository:proj/app:pull")]
    [InlineData("/api/v1/me")]
    public async Task FailedLogins_FromAnotherAddress_DoNotLockTheOwnerOut(string path)
    {
        // Issue 10 item 5: six wrong passwords for admin from 127.0.0.2 made the right one fail from 127.0.0.1.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync("admin", "guess-" + i, "127.0.0.2", path));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await SignInAsync("admin", "guess-6", "127.0.0.2", path));
        Assert.Equal(HttpStatusCode.TooManyRequests, await SignInAsync("admin", BerthApplication.AdminPassword, "127.0.0.2", path));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("admin", BerthApplication.AdminPassword, "127.0.0.1", path));
    }

    [Fact]
    public async Task FailedLogins_OneGuessEveryQuarterHour_NeverLockTheOwnerOut()
    {
        await UserAsync("victim");
        for (var i = 0; i < 12; i++)
        {
            await SignInAsync("victim", "guess-" + i, "10.9.9.9");
            App.Clock.Advance(TimeSpan.FromMinutes(15));
            Assert.Equal(HttpStatusCode.OK, await SignInAsync("victim", "victim-password", "10.0.0.1"));
        }
    }

    [Fact]
    public async Task FailedLogins_SpreadOverManyAddresses_LockNewAddressesButNotKnownOnes()
    {
        await UserAsync("victim");
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("victim", "victim-password", "10.0.0.1")); // the owner's usual address

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync("victim", "guess-" + i, $"192.0.2.{i + 1}"));
        }

        // The account is locked for addresses it has not signed in from, whatever the password...
        Assert.Equal(HttpStatusCode.TooManyRequests, await SignInAsync("victim", "victim-password", "198.51.100.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await SignInAsync("victim", "guess-x", "198.51.100.2"));

        // ...but not for the owner's known address, nor for other accounts.
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("victim", "victim-password", "10.0.0.1"));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("admin", BerthApplication.AdminPassword, "198.51.100.1"));
    }

    [Fact]
    public async Task KnownAddress_IsRememberedInTheStore_AndForgottenAfterThirtyDays()
    {
        var (victim, _) = await UserAsync("victim");
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("victim", "victim-password", "2001:db8:1:2::10"));
        for (var i = 0; i < 10; i++)
        {
            await SignInAsync("victim", "guess-" + i, $"192.0.2.{i + 1}");
        }

        // Kept in the metadata store under the address's /64, so a restarted server (a new KnownNetworks) knows it.
        var store = Service<IKnownNetworkStore>();
        Assert.Equal(App.Clock.GetUtcNow(), await store.GetLastSignInAsync(victim.Id, "2001:db8:1:2::/64", CancellationToken.None));
        var restarted = new Berth.Application.Access.KnownNetworks(store, Service<LoginThrottle>(), App.Clock, NullLogger<Berth.Application.Access.KnownNetworks>.Instance);
        Assert.True(await restarted.IsKnownAsync(victim, System.Net.IPAddress.Parse("2001:db8:1:2:ffff::1"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("victim", "victim-password", "2001:db8:1:2::99"));

        App.Clock.Advance(TimeSpan.FromDays(31));
        Assert.False(await restarted.IsKnownAsync(victim, System.Net.IPAddress.Parse("2001:db8:1:2::10"), CancellationToken.None));
    }

    [Fact]
    public async Task ValidAccessToken_IsNotThrottledByThePasswordLockout()
    {
        // Issue 10 item 14: after five wrong passwords for alice, her CI's valid access token also got 429.
        await Setup.ProjectAsync("proj");
        var (alice, _) = await UserAsync("alice", "proj");
        var (_, secret) = await Setup.TokenAsync(alice, AccessTokenScope.PullPush);
        for (var i = 0; i < 8; i++)
        {
            await SignInAsync("alice", "guess-" + i, "10.0.0.7");
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await SignInAsync("alice", "alice-password", "10.0.0.7"));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("alice", secret, "10.0.0.7"));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("alice", secret, "10.0.0.7", AccessClient.TokenPath("repository:proj/app:pull")));
        using var bearer = App.CreateAnonymousClient();
        bearer.DefaultRequestHeaders.Add(BerthApplication.ClientAddressHeader, "10.0.0.7");
        bearer.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
        using var me = await bearer.GetAsync("/api/v1/me");
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
    }

    [Fact]
    public async Task WrongAccessTokens_CountAgainstTheAddressOnly()
    {
        await Setup.ProjectAsync("proj");
        var (alice, _) = await UserAsync("alice", "proj");
        var (_, secret) = await Setup.TokenAsync(alice, AccessTokenScope.Pull);
        var wrong = secret[..^4] + (secret.EndsWith("aaaa", StringComparison.Ordinal) ? "bbbb" : "aaaa");
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync("alice", wrong, "10.0.0.8"));
        }

        // The address is slowed for passwords and further wrong tokens; alice's password elsewhere and her valid token are not.
        Assert.Equal(HttpStatusCode.TooManyRequests, await SignInAsync("admin", BerthApplication.AdminPassword, "10.0.0.8"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await SignInAsync("alice", wrong, "10.0.0.8"));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("alice", "alice-password", "10.0.0.1"));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("alice", secret, "10.0.0.8"));
    }

    [Theory]
    [InlineData("/v2/")]
    [InlineData("/v2/proj/app/manifests/v1")]
    [InlineData("/token?service=berth&scope=repository:proj/app:pull")]
    public async Task UnknownUserAndWrongPassword_LookAndCostTheSame(string path)
    {
        await UserAsync("known");
        var (disabledAccount, _) = await UserAsync("disabled");
        await Service<Berth.Core.Access.IUserStore>().SetDisabledAsync(disabledAccount.Id, true, CancellationToken.None);
        var before = IterationsRun();
        using var wrongPassword = AccessClient.Basic(App, new Credentials("known", "wrong"), "10.0.0.1");
        using var wrong = await wrongPassword.GetAsync(path);
        var afterWrong = IterationsRun();
        using var unknownUser = AccessClient.Basic(App, new Credentials("unknown", "wrong"), "10.0.0.2");
        using var unknown = await unknownUser.GetAsync(path);
        var afterUnknown = IterationsRun();
        using var disabledUser = AccessClient.Basic(App, new Credentials("disabled", "disabled-password"), "10.0.0.3");
        using var disabled = await disabledUser.GetAsync(path);
        var afterDisabled = IterationsRun();

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(wrong.StatusCode, unknown.StatusCode);
        Assert.Equal(wrong.StatusCode, disabled.StatusCode);
        Assert.Equal(await wrong.Content.ReadAsStringAsync(), await unknown.Content.ReadAsStringAsync());
        Assert.Equal(await wrong.Content.ReadAsStringAsync(), await disabled.Content.ReadAsStringAsync());
        Assert.Equal(wrong.Header("WWW-Authenticate"), unknown.Header("WWW-Authenticate"));
        Assert.Equal(wrong.Header("WWW-Authenticate"), disabled.Header("WWW-Authenticate"));
        Assert.True(afterWrong - before > 0, "a wrong password ran no PBKDF2");
        Assert.Equal(afterWrong - before, afterUnknown - afterWrong);
        Assert.Equal(afterWrong - before, afterDisabled - afterUnknown);
    }
}
