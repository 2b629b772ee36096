using System.Net;
using System.Reflection;
using Berth.Auth.Passwords;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>Failed sign-ins are throttled; unknown users and wrong passwords look and cost the same.</summary>
public sealed class BruteForceTests : AccessTest
{
    private long IterationsRun() =>
        (long)typeof(PasswordHasher).GetProperty("IterationsRun", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(Service<PasswordHasher>())!;

    [Fact]
    public async Task FailedLogins_AreThrottledPerUser()
    {
        await UserAsync("victim");
        for (var i = 1; i <= 5; i++)
        {
            using var guess = AccessClient.Basic(App, new Credentials("victim", "guess-" + i), $"10.0.0.{i}");
            using var failed = await guess.GetAsync("/v2/");
            await OciAssert.ErrorAsync(failed, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        using var right = AccessClient.Basic(App, new Credentials("victim", "victim-password"), "10.0.0.9");
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
