using Berth.Core;
using Berth.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Storage.Azure;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The Azure Blob provider as the server composes it: options bound from <see cref="AzureStorageOptions.Section"/>,
    /// container and prefix from <paramref name="location"/> (<c>azure://CONTAINER/PREFIX</c>) when given, the connection
    /// string from <see cref="AzureStorageOptions.ConnectionStringVariable"/> when the configuration has none; validated
    /// at start-up (one line), and probed at start-up and by <c>/readyz</c> (<see cref="IProviderProbe"/>).
    /// </summary>
    public static IServiceCollection AddAzureBlobStorage(this IServiceCollection services, IConfiguration configuration, Uri? location)
    {
        services.AddOptions<AzureStorageOptions>()
            .Bind(configuration.GetSection(AzureStorageOptions.Section))
            .PostConfigure(options =>
            {
                if (location is not null)
                {
                    options.ApplyLocation(location);
                }

                if (string.IsNullOrWhiteSpace(options.ConnectionString))
                {
                    options.ConnectionString = Environment.GetEnvironmentVariable(AzureStorageOptions.ConnectionStringVariable);
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AzureStorageOptions>, AzureStorageOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStoreUnavailableDetector, AzureUnavailable>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<AzureBlobStore>();
        services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<AzureBlobStore>());
        services.AddSingleton<IUploadStore>(sp => sp.GetRequiredService<AzureBlobStore>());
        services.AddSingleton<IProviderProbe, AzureStorageProbe>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStorageFullDetector, AzureStorageFull>());
        return services;
    }
}
