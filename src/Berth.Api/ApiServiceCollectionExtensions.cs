using Berth.Api.Distribution;
using Berth.Api.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Api;

public static class ApiServiceCollectionExtensions
{
    /// <summary>Registers the HTTP layer. Without another <see cref="IRegistryAuthorizer"/>, the registry is open.</summary>
    public static IServiceCollection AddBerthApi(this IServiceCollection services)
    {
        services.TryAddSingleton<IRegistryAuthorizer, OpenAccessAuthorizer>();
        return services;
    }

    /// <summary>Adds request logging and error handling, then maps every API.</summary>
    public static WebApplication UseBerthApi(this WebApplication app)
    {
        app.UseMiddleware<RequestLoggingMiddleware>();
        app.UseRouting();
        app.MapDistributionApi();
        return app;
    }
}
