using Berth.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The file-system provider as the server composes it: options bound from <see cref="FileSystemStorageOptions.Section"/>
    /// (after whatever defaults were configured before this call) and validated at start-up.
    /// </summary>
    public static IServiceCollection AddFileSystemStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FileSystemStorageOptions>().Bind(configuration.GetSection(FileSystemStorageOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FileSystemStorageOptions>, FileSystemStorageOptionsValidator>());
        return services.AddFileSystemBlobStore(_ => { });
    }

    /// <summary>Stores blobs and uploads in files below <see cref="FileSystemStorageOptions.RootPath"/>.</summary>
    public static IServiceCollection AddFileSystemBlobStore(this IServiceCollection services, Action<FileSystemStorageOptions> configure)
    {
        services.AddOptions<FileSystemStorageOptions>().Configure(configure);
        services.TryAddSingleton<FileSystemSpace>();
        services.TryAddSingleton<IStorageSpace>(sp => sp.GetRequiredService<FileSystemSpace>());
        services.AddSingleton<FileSystemBlobStore>();
        services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<FileSystemBlobStore>());
        services.AddSingleton<IUploadStore>(sp => sp.GetRequiredService<FileSystemBlobStore>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Berth.Core.IProviderProbe, FileSystemProbe>());
        return services;
    }
}
