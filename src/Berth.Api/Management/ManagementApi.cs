using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.OpenApi;

namespace Berth.Api.Management;

/// <summary>
/// The management REST API under <c>/api/v1</c>, as docs/management-api.md defines it. Every endpoint runs behind
/// <see cref="ManagementAuthorizationFilter"/> and declares its requirement (<see cref="ManagementRequirements"/>).
/// </summary>
public static class ManagementApi
{
    public const string Prefix = "/api/v1";
    public const string OpenApiPath = Prefix + "/openapi.json";

    /// <summary>Services of the management API: authorization, ProblemDetails and the OpenAPI document (only /api/v1 routes).</summary>
    public static IServiceCollection AddManagementApi(this IServiceCollection services)
    {
        services.AddProblemDetails();

        // Bodies of /api/v1 from source-generated metadata, ahead of the reflection resolver, with these options'
        // naming and null handling: the same wire as before.
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, ManagementJsonContext.Default));
        services.TryAddSingleton<ManagementAuthorization>();
        services.TryAddSingleton<ManagementServices>();
        services.TryAddSingleton<AdvisoryVersionCache>();
        services.AddOpenApi("v1", options =>
        {
            options.ShouldInclude = description => description.RelativePath?.StartsWith("api/v1/", StringComparison.Ordinal) == true;
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Berth management API",
                    Version = "v1",
                    Description = "Projects, members, robot accounts, access tokens, users, IP allow lists and the audit log. "
                        + "Authenticate with Basic (user and password or access token) or Bearer berth_pat_/berth_robot_ tokens. "
                        + "Errors are RFC 9457 problem details.",
                };
                return Task.CompletedTask;
            });
        });
        return services;
    }

    public static IEndpointRouteBuilder MapManagementApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(Prefix);
        api.AddEndpointFilter<ManagementAuthorizationFilter>();

        // What ManagementAuthorizationFilter may answer on any route (credentials, IP allow lists, requirements).
        api.ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        api.DisableAntiforgery();

        MeEndpoints.Map(api);
        ProjectEndpoints.Map(api);
        MemberEndpoints.Map(api);
        RobotEndpoints.Map(api);
        IpAllowEndpoints.Map(api);
        AccessTokenEndpoints.Map(api);
        UserEndpoints.Map(api);
        AuditEndpoints.Map(api);
        RepositoryEndpoints.Map(api);
        SystemEndpoints.Map(api);
        ImmutabilityEndpoints.Map(api);
        RetentionEndpoints.Map(api);
        QuotaEndpoints.Map(api);
        ScanningEndpoints.Map(api);
        ScanResultEndpoints.Map(api);
        TrustEndpoints.Map(api);
        SignatureStateEndpoints.Map(api);

        api.MapOpenApi("/openapi.json").AllowAnyone().WithName("GetOpenApiDocument").WithSummary("This API's OpenAPI document");

        // Anything else under /api/v1 is a ProblemDetails 404 rather than an empty answer.
        api.Map("/{**rest}", () => Problems.NotFound("no such management API route")).AllowAnyone().ExcludeFromDescription();
        return endpoints;
    }
}
