using Berth.Application;
using Berth.Application.Access;
using Berth.Auth.Network;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Api.Access;

public static class AccessServiceCollectionExtensions
{
    /// <summary>
    /// Access control for every API: the application services (<see cref="Application.ServiceCollectionExtensions.AddBerthApplication"/>),
    /// the client address resolver, the authenticator, the /v2 authorizer and the token service's helpers. Settings
    /// from section <c>Berth</c> (<see cref="AccessSettings"/>) and <c>Berth:Auth:*</c>.
    /// </summary>
    public static IServiceCollection AddBerthAccess(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddBerthApplication(configuration);
        services.TryAddSingleton(sp => new ClientAddressResolver(
            IPNetworkListParser.Parse(sp.GetRequiredService<IOptions<AccessSettings>>().Value.TrustedProxies)));
        services.TryAddSingleton<Authenticator>();
        services.AddBerthAuthentication();
        services.TryAddSingleton<TokenSubjects>();
        services.TryAddSingleton<RegistryAuthorizer>();
        services.TryAddSingleton<IRegistryAuthorizer>(sp => sp.GetRequiredService<RegistryAuthorizer>());
        return services;
    }

    private static class IPNetworkListParser
    {
        public static IPNetworkList Parse(string? text) =>
            string.IsNullOrWhiteSpace(text) ? IPNetworkList.Empty : IPNetworkList.Parse(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
