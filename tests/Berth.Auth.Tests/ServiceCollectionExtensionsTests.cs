using Berth.Auth.Jwt;
using Berth.Auth.Passwords;
using Berth.Auth.Throttling;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Auth.Tests;

public sealed class ServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddBerthAuth_WithConfiguration_ResolvesEveryServiceWithBoundOptions()
    {
        using var temp = new TempFolder();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Berth:Auth:Passwords:Iterations"] = "1000",
            ["Berth:Auth:Tokens:MaxLifetime"] = "30.00:00:00",
            ["Berth:Auth:Tokens:DefaultLifetime"] = "7.00:00:00",
            ["Berth:Auth:RegistryTokens:Service"] = "registry.test",
            ["Berth:Auth:RegistryTokens:KeyFolder"] = temp.Path,
            ["Berth:Auth:LoginThrottle:UserFreeFailures"] = "3",
        }).Build();
        var clock = new FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection().AddSingleton<TimeProvider>(clock).AddBerthAuth(configuration);

        using var provider = services.BuildServiceProvider();

        Assert.Equal(1000, provider.GetRequiredService<PasswordHasher>().Iterations);
        var created = provider.GetRequiredService<AccessTokenService>().Create(new AccessTokenRequest("ci", TokenOwner.User(1, "alice"), AccessTokenScope.Pull));
        Assert.Equal(clock.GetUtcNow().AddDays(7), created.Created!.Token.ExpiresAt);
        Assert.Equal(temp.Path, provider.GetRequiredService<SigningKeyRing>().Folder);
        Assert.Single(Directory.GetFiles(temp.Path));
        var tokens = provider.GetRequiredService<RegistryTokenService>();
        Assert.Equal("registry.test", tokens.Validate(tokens.Issue("alice", []).Token).Claims!.Audience);
        var throttle = provider.GetRequiredService<LoginThrottle>();
        for (var i = 0; i < 3; i++)
        {
            await throttle.RecordFailureAsync("alice", null);
        }

        Assert.NotNull(await throttle.GetLockoutAsync("alice", null));
        Assert.False(throttle.Shared);
    }

    [Fact]
    public void AddBerthAuth_NoKeyFolder_UsesEphemeralRing()
    {
        using var provider = new ServiceCollection().AddBerthAuth(new ConfigurationBuilder().Build()).BuildServiceProvider();

        Assert.Null(provider.GetRequiredService<SigningKeyRing>().Folder);
        Assert.Equal(PasswordHasherOptions.DefaultIterations, provider.GetRequiredService<PasswordHasher>().Iterations);
    }
}
