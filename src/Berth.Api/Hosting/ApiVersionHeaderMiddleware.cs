using Microsoft.AspNetCore.Http;

namespace Berth.Api.Hosting;

/// <summary>
/// Sets <c>Docker-Distribution-API-Version: registry/2.0</c> on every <c>/v2</c> response, which clients read to know
/// they talk to a registry (docker checks it on <c>GET /v2/</c>). Set before the endpoint runs, so handlers and
/// authorization refusals carry it; a 500 written after the response was cleared does not.
/// </summary>
public sealed class ApiVersionHeaderMiddleware
{
    public const string HeaderName = "Docker-Distribution-API-Version";
    public const string HeaderValue = "registry/2.0";

    private readonly RequestDelegate _next;

    public ApiVersionHeaderMiddleware(RequestDelegate next) => _next = next;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments(ApiSurfaces.RegistryPrefix, StringComparison.Ordinal))
        {
            context.Response.Headers[HeaderName] = HeaderValue;
        }

        return _next(context);
    }
}
