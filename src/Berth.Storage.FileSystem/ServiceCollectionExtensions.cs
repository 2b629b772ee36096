using Berth.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Storage.FileSystem;

public static class ServiceCollectionExtensions
{
    /// <summary>Stores blobs and uploads in files below <see cref="FileSystemStorageOptions.RootPath"/>.</summary>
    public static IServiceCollection AddFileSystemBlobStore(this IServiceCollection services, Action<FileSystemStorageOptions> configure)
    {
        services.AddOptions<FileSystemStorageOptions>().Configure(configure);
        services.AddSingleton<FileSystemBlobStore>();
        services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<FileSystemBlobStore>());
        services.AddSingleton<IUploadStore>(sp => sp.GetRequiredService<FileSystemBlobStore>());
        return services;
    }
}
