using Berth.Core.Access;
using Berth.Core.Metadata;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Metadata.Sqlite;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The SQLite provider as the server composes it: options bound from <see cref="SqliteMetadataOptions.Section"/>
    /// (after whatever defaults were configured before this call) and validated at start-up.
    /// </summary>
    public static IServiceCollection AddSqliteMetadata(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SqliteMetadataOptions>().Bind(configuration.GetSection(SqliteMetadataOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteMetadataOptions>, SqliteMetadataOptionsValidator>());
        return services.AddSqliteMetadata(_ => { });
    }

    /// <summary>Keeps all metadata in one SQLite database file (WAL mode).</summary>
    public static IServiceCollection AddSqliteMetadata(this IServiceCollection services, Action<SqliteMetadataOptions> configure)
    {
        services.AddOptions<SqliteMetadataOptions>().Configure(configure);
        services.AddSingleton<IMetadataMigrator, SqliteMigrator>();
        services.AddSingleton<SqliteDatabase>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Berth.Core.IProviderProbe, SqliteProbe>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Berth.Core.Storage.IStorageFullDetector, SqliteStorageFull>());
        services.AddSingleton<SqliteMetadataStore>();
        services.AddSingleton<IRepositoryIndex>(sp => sp.GetRequiredService<SqliteMetadataStore>());
        services.AddSingleton<IBlobIndex>(sp => sp.GetRequiredService<SqliteMetadataStore>());
        services.AddSingleton<IManifestIndex>(sp => sp.GetRequiredService<SqliteMetadataStore>());
        services.AddSingleton<IUploadSessionStore>(sp => sp.GetRequiredService<SqliteMetadataStore>());
        services.AddSingleton<IBlobCollectionIndex>(sp => sp.GetRequiredService<SqliteMetadataStore>());
        services.AddSingleton<IRepositoryBrowser, SqliteRepositoryBrowser>();
        services.AddSingleton<Berth.Core.Quotas.IProjectQuotaStore, SqliteProjectQuotaStore>();
        // One class per access contract, all over the one SqliteDatabase (a second provider mirrors them file by file).
        services.AddSingleton<IProjectStore, SqliteProjectStore>();
        services.AddSingleton<IUserStore, SqliteUserStore>();
        services.AddSingleton<IMembershipStore, SqliteMembershipStore>();
        services.AddSingleton<IRobotAccountStore, SqliteRobotAccountStore>();
        services.AddSingleton<IAccessTokenStore, SqliteAccessTokenStore>();
        services.AddSingleton<IIpAllowRuleStore, SqliteIpAllowRuleStore>();
        services.AddSingleton<IImmutabilityRuleStore, SqliteImmutabilityRuleStore>();
        services.AddSingleton<Core.Retention.IRetentionStore, SqliteRetentionStore>();
        services.AddSingleton<Core.Scanning.IAdvisoryStore, SqliteAdvisoryStore>();
        services.AddSingleton<Core.Scanning.IScanResultStore, SqliteScanResultStore>();
        services.AddSingleton<Core.Scanning.IScanPolicyStore, SqliteScanPolicyStore>();
        services.AddSingleton<Core.Signing.ITrustStore, SqliteTrustStore>();
        services.AddSingleton<IAuditLog, SqliteAuditLog>();
        services.AddSingleton<IKnownNetworkStore, SqliteKnownNetworkStore>();
        return services;
    }
}
