using Berth.Core.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Testing;

/// <summary>For tests that compose the server without starting it through <c>berth serve</c> or <c>berth admin</c>.</summary>
public static class MigratedServer
{
    /// <summary>
    /// <see cref="BerthServer.Build"/>, then what start-up does before any store is opened: migrate the metadata store
    /// (the stores refuse a database that is not migrated).
    /// </summary>
    public static WebApplication Build(IDictionary<string, string?> settings)
    {
        var app = BerthServer.Build(settings);
        app.Services.GetRequiredService<IMetadataMigrator>().Migrate();
        return app;
    }
}
