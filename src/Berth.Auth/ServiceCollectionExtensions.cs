using System.Security.Cryptography;
using Berth.Auth.Jwt;
using Berth.Auth.Passwords;
using Berth.Auth.Throttling;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Auth;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the access-control building blocks as singletons, with their options bound from the
    /// <c>Berth:Auth:*</c> sections: <see cref="PasswordHasher"/>, <see cref="AccessTokenService"/>,
    /// <see cref="LoginThrottle"/>, <see cref="SigningKeyRing"/> (from <see cref="RegistryTokenOptions.KeyFolder"/>,
    /// in memory when unset), <see cref="RegistryTokenService"/> and <see cref="Cursors.CursorProtector"/>. Adds <see cref="TimeProvider.System"/> and a
    /// system <see cref="RandomNumberGenerator"/> unless already registered. Maps no endpoint and replaces no authorizer.
    /// </summary>
    public static IServiceCollection AddBerthAuth(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<PasswordHasherOptions>().Bind(configuration.GetSection(PasswordHasherOptions.Section));
        services.AddOptions<AccessTokenOptions>().Bind(configuration.GetSection(AccessTokenOptions.Section));
        services.AddOptions<RegistryTokenOptions>().Bind(configuration.GetSection(RegistryTokenOptions.Section));
        services.AddOptions<LoginThrottleOptions>().Bind(configuration.GetSection(LoginThrottleOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => RandomNumberGenerator.Create());
        services.TryAddSingleton<PasswordHasher>();
        services.TryAddSingleton<AccessTokenService>();
        services.TryAddSingleton<ILoginFailureStore, MemoryLoginFailureStore>();
        services.TryAddSingleton<LoginThrottle>();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<RegistryTokenOptions>>().Value.KeyFolder is { Length: > 0 } folder
            ? SigningKeyRing.LoadOrCreate(folder)
            : SigningKeyRing.CreateEphemeral());
        services.TryAddSingleton<RegistryTokenService>();
        services.TryAddSingleton<Cursors.CursorProtector>();
        return services;
    }
}
