using Berth.Core;
using Berth.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Storage.S3;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The S3 provider as the server composes it: options bound from <see cref="S3StorageOptions.Section"/>, then the
    /// storage URI (<c>--storage s3://BUCKET/PREFIX?endpoint=URL&amp;region=R&amp;path-style=true</c>) applied over them
    /// and the environment's credentials and region under them (see <see cref="S3StorageOptions"/>), validated at
    /// start-up (one line naming <c>--storage</c>); a probe checks the bucket at start-up and for <c>/readyz</c>.
    /// </summary>
    public static IServiceCollection AddS3Storage(this IServiceCollection services, IConfiguration configuration, Uri? location) =>
        services.AddS3Storage(configuration, location, Environment.GetEnvironmentVariable);

    internal static IServiceCollection AddS3Storage(this IServiceCollection services, IConfiguration configuration, Uri? location, Func<string, string?> environment)
    {
        services.AddOptions<S3StorageOptions>()
            .Bind(configuration.GetSection(S3StorageOptions.Section))
            .PostConfigure(options => S3Location.Apply(options, location, environment))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<S3StorageOptions>, S3StorageOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStoreUnavailableDetector, S3Unavailable>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<S3Bucket>();
        services.AddSingleton(sp => new S3BlobStore(sp.GetRequiredService<S3Bucket>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<S3BlobStore>>()));
        services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<S3BlobStore>());
        services.AddSingleton<IUploadStore>(sp => sp.GetRequiredService<S3BlobStore>());
        services.AddSingleton<IProviderProbe, S3StorageProbe>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStorageFullDetector, S3StorageFull>());
        return services;
    }
}
