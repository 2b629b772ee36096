using Berth.Api.Access;
using Berth.Api.Distribution;
using Berth.Api.Hosting;
using Berth.Api.Management;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api;

public static class ApiServiceCollectionExtensions
{
    /// <summary>Registers the HTTP layer with access control (see <see cref="AccessServiceCollectionExtensions.AddBerthAccess"/>) and the management API.</summary>
    public static IServiceCollection AddBerthApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddBerthAccess(configuration);
        services.AddManagementApi();
        services.AddHealthEndpoints();

        // /token bodies from source-generated metadata (OAuth2 errors are written with these options' escaping).
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, TokenJsonContext.Default));
        return services;
    }

    /// <summary>
    /// Adds the middleware, outermost first: the request log line (so it shows the status a failure became), exception
    /// handling in each API's error shape, the registry's API version header, and the request body limit; then maps
    /// every API.
    /// </summary>
    public static WebApplication UseBerthApi(this WebApplication app)
    {
        app.UseMiddleware<RequestLoggingMiddleware>();
        app.UseMiddleware<ExceptionHandlingMiddleware>();
        app.UseMiddleware<ApiVersionHeaderMiddleware>();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        app.UseRouting();
        app.MapTokenEndpoints();
        app.MapDistributionApi();
        app.MapManagementApi();
        app.MapHealthEndpoints();
        return app;
    }
}
