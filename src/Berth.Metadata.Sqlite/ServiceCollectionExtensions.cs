using Berth.Core.Access;
using Berth.Core.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Metadata.Sqlite;

public static class ServiceCollectionExtensions
{
    /// <summary>Keeps all metadata in one SQLite database file (WAL mode).</summary>
    public static IServiceCollection AddSqliteMetadata(this IServiceCollection services, Action<SqliteMetadataOptions> configure)
    {
        services.AddOptions<SqliteMetadataOptions>().Configure(configure);
        services.AddSingleton<IMetadataMigrator, SqliteMigrator>();
        services.AddSingleton<SqliteDatabase>();
        services.AddSingleton<SqliteMetadataStore>();
        services.AddSingleton<IRepositoryIndex>(sp => sp.GetRequiredService<SqliteMetadataStore>());
        services.AddSingleton<IBlobIndex>(sp => sp.GetRequiredService<SqliteMetadataStore>());
        services.AddSingleton<IManifestIndex>(sp => sp.GetRequiredService<SqliteMetadataStore>());
        services.AddSingleton<IUploadSessionStore>(sp => sp.GetRequiredService<SqliteMetadataStore>());
        services.AddSingleton<SqliteAccessStore>();
        services.AddSingleton<IProjectStore>(sp => sp.GetRequiredService<SqliteAccessStore>());
        services.AddSingleton<IUserStore>(sp => sp.GetRequiredService<SqliteAccessStore>());
        services.AddSingleton<IMembershipStore>(sp => sp.GetRequiredService<SqliteAccessStore>());
        services.AddSingleton<IRobotAccountStore>(sp => sp.GetRequiredService<SqliteAccessStore>());
        services.AddSingleton<IAccessTokenStore>(sp => sp.GetRequiredService<SqliteAccessStore>());
        services.AddSingleton<IIpAllowRuleStore>(sp => sp.GetRequiredService<SqliteAccessStore>());
        services.AddSingleton<IAuditLog>(sp => sp.GetRequiredService<SqliteAccessStore>());
        services.AddSingleton<IKnownNetworkStore>(sp => sp.GetRequiredService<SqliteAccessStore>());
        return services;
    }
}
