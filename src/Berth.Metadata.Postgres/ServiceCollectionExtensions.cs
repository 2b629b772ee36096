using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Jobs;
using Berth.Core.Metadata;
using Berth.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Metadata.Postgres;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The PostgreSQL provider as the server composes it, from <c>--metadata postgres://…</c> (<paramref name="location"/>)
    /// or an Npgsql connection string (<paramref name="connectionString"/>) or the section's <c>ConnectionString</c>;
    /// validated at start-up.
    /// </summary>
    public static IServiceCollection AddPostgresMetadata(this IServiceCollection services, IConfiguration configuration, Uri? location, string? connectionString = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddOptions<PostgresMetadataOptions>().Bind(configuration.GetSection(PostgresMetadataOptions.Section));
        if (location is not null)
        {
            string fromUri;
            try
            {
                fromUri = PostgresConnectionStrings.FromUri(location);
            }
            catch (ArgumentException ex)
            {
                throw new StartupException("--metadata: " + ex.Message, ex);
            }

            builder.Configure(o => o.ConnectionString = fromUri);
        }
        else if (!string.IsNullOrWhiteSpace(connectionString))
        {
            builder.Configure(o => o.ConnectionString = connectionString);
        }

        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresMetadataOptions>, PostgresMetadataOptionsValidator>());
        return services.AddPostgresMetadata(_ => { });
    }

    /// <summary>Keeps all metadata in PostgreSQL (several nodes may share it).</summary>
    public static IServiceCollection AddPostgresMetadata(this IServiceCollection services, Action<PostgresMetadataOptions> configure)
    {
        services.AddOptions<PostgresMetadataOptions>().Configure(configure);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PostgresMetadataOptions>>().Value;
            return new PostgresDatabase(PostgresConnectionStrings.Complete(options.ConnectionString, options, Environment.GetEnvironmentVariable));
        });
        services.AddSingleton<IMetadataMigrator, PostgresMigrator>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProviderProbe, PostgresProbe>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStoreUnavailableDetector, PostgresUnavailable>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Berth.Core.Storage.IStorageFullDetector, PostgresStorageFull>());
        // Leases across nodes: the job host runs each job on one node at a time.
        services.Replace(ServiceDescriptor.Singleton<ILeaseStore, PostgresLeaseStore>());
        // The stores (one class per contract, as the SQLite provider) are registered below as they land.
        // Registry metadata: the four role interfaces over one store.
        services.AddSingleton<PostgresMetadataStore>();
        services.AddSingleton<IRepositoryIndex>(sp => sp.GetRequiredService<PostgresMetadataStore>());
        services.AddSingleton<IBlobIndex>(sp => sp.GetRequiredService<PostgresMetadataStore>());
        services.AddSingleton<IManifestIndex>(sp => sp.GetRequiredService<PostgresMetadataStore>());
        services.AddSingleton<IUploadSessionStore>(sp => sp.GetRequiredService<PostgresMetadataStore>());
        services.AddSingleton<IBlobCollectionIndex>(sp => sp.GetRequiredService<PostgresMetadataStore>());
        services.AddSingleton<IRepositoryBrowser, PostgresRepositoryBrowser>();

        // Access control: one class per contract, all over the one PostgresDatabase (mirroring Berth.Metadata.Sqlite).
        services.AddSingleton<IProjectStore, PostgresProjectStore>();
        services.AddSingleton<IUserStore, PostgresUserStore>();
        services.AddSingleton<IMembershipStore, PostgresMembershipStore>();
        services.AddSingleton<IRobotAccountStore, PostgresRobotAccountStore>();
        services.AddSingleton<IAccessTokenStore, PostgresAccessTokenStore>();
        services.AddSingleton<IIpAllowRuleStore, PostgresIpAllowRuleStore>();
        services.AddSingleton<IImmutabilityRuleStore, PostgresImmutabilityRuleStore>();
        services.AddSingleton<Core.Retention.IRetentionStore, PostgresRetentionStore>();
        services.AddSingleton<Core.Scanning.IAdvisoryStore, PostgresAdvisoryStore>();
        services.AddSingleton<Core.Scanning.IScanResultStore, PostgresScanResultStore>();
        services.AddSingleton<Core.Scanning.IScanPolicyStore, PostgresScanPolicyStore>();
        services.AddSingleton<Core.Signing.ITrustStore, PostgresTrustStore>();
        services.AddSingleton<Berth.Core.Quotas.IProjectQuotaStore, PostgresProjectQuotaStore>();
        services.AddSingleton<IAuditLog, PostgresAuditLog>();
        services.AddSingleton<IKnownNetworkStore, PostgresKnownNetworkStore>();
        services.AddSingleton<ILoginFailureStore, PostgresLoginFailureStore>();
        return services;
    }
}
