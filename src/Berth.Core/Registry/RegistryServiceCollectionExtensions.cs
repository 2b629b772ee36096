using Berth.Core.Events;
using Berth.Core.Jobs;
using Berth.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Core.Registry;

public static class RegistryServiceCollectionExtensions
{
    /// <summary>Registers the registry services. A blob store, an upload store and a metadata store must be added separately.</summary>
    public static IServiceCollection AddBerthCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RegistryOptions>().Bind(configuration.GetSection(RegistryOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddRegistryEvents();
        services.TryAddSingleton<StoreUnavailableClassifier>();
        services.TryAddSingleton<Storage.StorageFullClassifier>();
        services.TryAddSingleton<Quotas.QuotaGuard>();
        services.AddSingleton<UploadService>();
        services.AddSingleton<BlobService>();
        services.AddSingleton<ManifestCache>();
        services.AddSingleton<ManifestService>();
        services.AddPeriodicJob<PullRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<PullRecorder>()); // the last flush at shutdown
        services.AddPeriodicJob<UploadSweeper>();
        services.AddSingleton<Gc.GarbageCollector>();
        return services;
    }
}
