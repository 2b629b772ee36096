using Berth.Api.Distribution;
using Berth.Auth;
using Berth.Core.Events;
using Berth.Auth.Network;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Berth.Api.Access;

public static class AccessServiceCollectionExtensions
{
    /// <summary>
    /// Access control for every API: Berth.Auth's building blocks, the authenticator, the /v2 authorizer, the
    /// token service's helpers, the audit recorder and the first-administrator bootstrap. Settings from section
    /// <c>Berth</c> (<see cref="AccessSettings"/>) and <c>Berth:Auth:*</c>.
    /// </summary>
    public static IServiceCollection AddBerthAccess(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddBerthAuth(configuration);
        services.AddOptions<AccessSettings>().Bind(configuration.GetSection("Berth"));
        services.TryAddSingleton(sp => new ClientAddressResolver(
            IPNetworkListParser.Parse(sp.GetRequiredService<IOptions<AccessSettings>>().Value.TrustedProxies)));
        services.TryAddSingleton<ProjectDirectory>();
        services.TryAddSingleton<IpAllowRules>();
        services.TryAddSingleton<KnownNetworks>();
        services.TryAddSingleton<Authenticator>();
        services.TryAddSingleton<TokenSubjects>();
        services.TryAddSingleton<ProjectProvisioner>();
        services.TryAddSingleton<AuditRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditRecorder>());
        services.AddRegistryEventSubscriber<RegistryAuditSubscriber>(); // pushes, pulls and deletes, from /v2 or from jobs
        services.AddHostedService<AdminBootstrap>();
        services.AddHostedService<SigningKeyReloader>();
        services.TryAddSingleton<AuditPruner>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditPruner>());
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
