using Microsoft.AspNetCore.Http;

namespace Berth.Api.Hosting;

/// <summary>The three HTTP surfaces, each with its own error shape.</summary>
public enum ApiSurface
{
    /// <summary><c>/v2</c>: OCI error bodies (<see cref="OciErrorResult"/>).</summary>
    Registry,

    /// <summary><c>/token</c>: OCI error bodies for <c>GET</c>, RFC 6749 <c>{"error","error_description"}</c> for a refused <c>POST</c>.</summary>
    Token,

    /// <summary><c>/api</c>: RFC 9457 problem details.</summary>
    Management,

    /// <summary>Anything else (no such route): answered like the registry.</summary>
    Other,
}

/// <summary>Which surface a request is for, by the first segment of its path.</summary>
public static class ApiSurfaces
{
    public const string RegistryPrefix = "/v2";
    public const string TokenPath = "/token";
    public const string ManagementPrefix = "/api";

    public static ApiSurface Of(HttpRequest request)
    {
        var path = request.Path;
        if (path.StartsWithSegments(RegistryPrefix, StringComparison.Ordinal))
        {
            return ApiSurface.Registry;
        }

        if (path.StartsWithSegments(ManagementPrefix, StringComparison.Ordinal))
        {
            return ApiSurface.Management;
        }

        return path.StartsWithSegments(TokenPath, StringComparison.Ordinal) ? ApiSurface.Token : ApiSurface.Other;
    }
}
