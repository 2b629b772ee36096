using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Application.Projects;
using Berth.Auth;
using Berth.Core.Events;
using Berth.Core.Jobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Application;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers what the HTTP layer and background jobs share: Berth.Auth's building blocks, the caches of project
    /// settings, IP allow lists and known sign-in networks, the audit recorder and pruner, project provisioning and
    /// deletion, the first-administrator bootstrap, the signing-key reloader and the scanner runtime (<see cref="Scanning.ScanningOptions"/>, section <c>Berth:Scanning</c>). Settings from section <c>Berth</c>
    /// (<see cref="AccessSettings"/>) and <c>Berth:Auth:*</c>. Needs Berth.Core's services and a metadata store.
    /// </summary>
    public static IServiceCollection AddBerthApplication(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddBerthAuth(configuration);
        services.AddOptions<AccessSettings>().Bind(configuration.GetSection("Berth"));
        services.TryAddSingleton<ProjectDirectory>();
        services.TryAddSingleton<IpAllowRules>();
        services.TryAddSingleton<KnownNetworks>();
        services.TryAddSingleton<ProjectProvisioner>();
        services.TryAddSingleton<ProjectDeleter>();
        services.TryAddSingleton<Repositories.RepositoryDeleter>();
        services.TryAddSingleton<Core.Lifecycle.ImmutableTags>();
        services.TryAddSingleton<Scanning.PullPolicyGate>();
        // The signed-only pull policy (issue 15): trust per project, signatures found and verified, evaluations cached.
        services.TryAddSingleton<Signing.ProjectTrustCache>();
        services.TryAddSingleton<Signing.SignatureFinder>();
        services.TryAddSingleton<Signing.SignaturePolicyGate>();
        services.AddRegistryEventSubscriber<Signing.SignatureCacheSubscriber>();
        services.TryAddSingleton<AuditRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditRecorder>());
        services.AddRegistryEventSubscriber<RegistryAuditSubscriber>(); // pushes, pulls and deletes, from /v2 or from jobs
        services.AddHostedService<AdminBootstrap>();
        services.AddPeriodicJob<SigningKeyReloader>();
        services.AddPeriodicJob<AuditPruner>();
        // The lab preset keeps an untagged artifact for exactly the garbage collection grace window (--gc-grace).
        services.AddOptions<Retention.RetentionOptions>()
            .Configure<Microsoft.Extensions.Options.IOptions<Berth.Core.RegistryOptions>>((retention, registry) => retention.UntaggedGrace = registry.Value.EffectiveGcGrace);
        services.TryAddSingleton<Retention.RetentionRunner>();
        services.AddPeriodicJob<Retention.RetentionScheduler>();
        services.AddPeriodicJob<Storage.GarbageCollection>();
        // The scanner runtime (issue 14): scan on push, the queue on every node, re-matching after advisory imports.
        services.AddOptions<Scanning.ScanningOptions>().Bind(configuration.GetSection(Scanning.ScanningOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<Scanning.ScanningOptions>, Scanning.ScanningOptionsValidator>());
        services.TryAddSingleton<Scanning.ScanRunner>();
        services.AddRegistryEventSubscriber<Scanning.ScanOnPushSubscriber>();
        services.AddPeriodicJob<Scanning.ScanQueueJob>();
        services.AddPeriodicJob<Scanning.RescanAfterImportJob>();
        // SBOM at push: the pushes waiting for their scan's inventory (this node's), attached by a job on every node.
        services.TryAddSingleton<Scanning.SbomOnPush>();
        services.AddRegistryEventSubscriber<Scanning.SbomOnPushSubscriber>();
        services.AddPeriodicJob<Scanning.SbomOnPushJob>();
        return services;
    }
}
