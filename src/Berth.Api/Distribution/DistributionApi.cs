using Berth.Api.Access;
using Berth.Api.Hosting;
using Berth.Application.Access;
using Berth.Core;
using Berth.Core.Events;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Berth.Api.Distribution;

/// <summary>
/// The OCI distribution API under /v2. One dispatcher parses the path, validates the name and reference, asks
/// <see cref="IRegistryAuthorizer"/> for exactly the permissions the request needs, then calls a thin handler.
/// </summary>
public static class DistributionApi
{
    public const string ApiVersionHeader = ApiVersionHeaderMiddleware.HeaderName;

    public static IEndpointRouteBuilder MapDistributionApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/v2", [HttpMethods.Get, HttpMethods.Head], BaseAsync);
        endpoints.MapMethods("/v2/_catalog", [HttpMethods.Get, HttpMethods.Head], CatalogAsync);
        endpoints.Map("/v2/{**path}", DispatchAsync).WithOrder(1);
        return endpoints;
    }

    private static async Task<IResult> BaseAsync(HttpContext context, IRegistryAuthorizer authorizer)
    {
        var denied = await AuthorizeAsync(context, authorizer, []);
        return denied ?? Results.Json(new { });
    }

    private static async Task<IResult> CatalogAsync(HttpContext context, IRegistryAuthorizer authorizer, IRepositoryIndex index, IOptions<RegistryOptions> options)
    {
        var denied = await AuthorizeAsync(context, authorizer, [RegistryPermission.Catalog]);
        return denied ?? await ListingEndpoints.CatalogAsync(context, index, options, authorizer);
    }

    private static async Task<IResult> DispatchAsync(HttpContext context, string? path)
    {
        // Registry events raised below are the caller's, known once the request is authorized (resolved when raised).
        using var actor = EventActorContext.Begin(() =>
            context.GetCaller()?.ToEventActor() ?? EventActor.Anonymous(context.Connection.RemoteIpAddress));
        if (string.IsNullOrEmpty(path))
        {
            return MethodNotAllowed(context, "GET, HEAD"); // /v2/ itself; GET and HEAD are mapped above
        }

        if (path.TrimEnd('/') == "_catalog")
        {
            return MethodNotAllowed(context, "GET, HEAD"); // GET and HEAD are mapped above
        }

        var route = DistributionRoute.Parse(path);
        if (route.Kind == RouteKind.Unknown)
        {
            return new OciErrorResult(new RegistryError(OciErrorCode.Unsupported, $"no API endpoint at /v2/{path}"), StatusCodes.Status404NotFound);
        }

        if (!RepositoryName.TryParse(route.Repository, out var repository))
        {
            return Http.Error(OciErrorCode.NameInvalid, $"'{route.Repository}' is not a valid repository name: lower-case letters, digits and separators (. _ __ -), components joined by '/', at most {RepositoryName.MaxLength} characters",
                new { name = route.Repository });
        }

        var method = context.Request.Method;
        var services = context.RequestServices;
        var authorizer = services.GetRequiredService<IRegistryAuthorizer>();
        switch (route.Kind)
        {
            case RouteKind.Manifest:
            {
                var manifests = services.GetRequiredService<ManifestService>();
                var valid = Reference.TryParse(route.Argument, out var reference);
                if (HttpMethods.IsPut(method))
                {
                    // A malformed reference cannot be written: say why before anything else.
                    if (!valid)
                    {
                        return route.Argument.Contains(':', StringComparison.Ordinal)
                            ? Http.Error(OciErrorCode.DigestInvalid, $"'{route.Argument}' is not a valid sha256 or sha512 digest")
                            : Http.Error(OciErrorCode.TagInvalid, $"'{route.Argument}' is not a valid tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}");
                    }

                    return await AuthorizeAsync(context, authorizer, [new(repository, RegistryActions.Push)]) ?? await ManifestEndpoints.PutAsync(context, repository, reference, manifests);
                }

                // Reading or deleting by a reference no manifest can have is asking for a manifest that is not there
                // (404 MANIFEST_UNKNOWN, as the conformance suite and the reference registry answer), once authorized.
                return method switch
                {
                    _ when HttpMethods.IsGet(method) || HttpMethods.IsHead(method) =>
                        await AuthorizeAsync(context, authorizer, [new(repository, RegistryActions.Pull)])
                            ?? (valid ? await ManifestEndpoints.GetAsync(context, repository, reference, manifests, services.GetRequiredService<Application.Scanning.PullPolicyGate>()) : ManifestEndpoints.Unknown(repository, route.Argument)),
                    _ when HttpMethods.IsDelete(method) =>
                        await AuthorizeAsync(context, authorizer, [new(repository, RegistryActions.Delete)])
                            ?? (valid ? await ManifestEndpoints.DeleteAsync(context, repository, reference, manifests) : ManifestEndpoints.Unknown(repository, route.Argument)),
                    _ => MethodNotAllowed(context, "GET, HEAD, PUT, DELETE"),
                };
            }

            case RouteKind.Blob:
            {
                if (!Digest.TryParse(route.Argument, out var digest))
                {
                    return Http.Error(OciErrorCode.DigestInvalid, $"'{route.Argument}' is not a valid sha256 or sha512 digest");
                }

                var blobs = services.GetRequiredService<BlobService>();
                return method switch
                {
                    _ when HttpMethods.IsGet(method) || HttpMethods.IsHead(method) =>
                        await AuthorizeAsync(context, authorizer, [new(repository, RegistryActions.Pull)]) ?? await BlobEndpoints.GetAsync(context, repository, digest, blobs),
                    _ when HttpMethods.IsDelete(method) =>
                        await AuthorizeAsync(context, authorizer, [new(repository, RegistryActions.Delete)]) ?? await BlobEndpoints.DeleteAsync(context, repository, digest, blobs),
                    _ => MethodNotAllowed(context, "GET, HEAD, DELETE"),
                };
            }

            case RouteKind.UploadStart:
            {
                if (!HttpMethods.IsPost(method))
                {
                    return MethodNotAllowed(context, "POST");
                }

                var denied = await AuthorizeAsync(context, authorizer, [new(repository, RegistryActions.Push | RegistryActions.Pull)]);
                if (denied is not null)
                {
                    return denied;
                }

                if (context.Request.Query.ContainsKey("digest"))
                {
                    RequestBodyLimits.Set(context, null); // a monolithic upload: the blob is the body
                }

                // A mount needs pull on the source too; without it the request becomes a plain upload, not a refusal.
                RepositoryName? mountFrom = null;
                if (context.Request.Query.ContainsKey("mount") && RepositoryName.TryParse(context.Request.Query["from"].ToString(), out var source)
                    && (await authorizer.GetAllowedActionsAsync(context, source) & RegistryActions.Pull) != 0)
                {
                    mountFrom = source;
                }

                return await UploadEndpoints.StartAsync(context, repository, services.GetRequiredService<UploadService>(), mountFrom);
            }

            case RouteKind.Upload:
            {
                var uploads = services.GetRequiredService<UploadService>();
                var denied = await AuthorizeAsync(context, authorizer, [new(repository, RegistryActions.Push | RegistryActions.Pull)]);
                if (denied is not null)
                {
                    return denied;
                }

                if (HttpMethods.IsPatch(method) || HttpMethods.IsPut(method))
                {
                    RequestBodyLimits.Set(context, null); // chunks of a blob: only --max-blob-size limits them
                }

                return method switch
                {
                    _ when HttpMethods.IsPatch(method) => await UploadEndpoints.PatchAsync(context, repository, route.Argument, uploads),
                    _ when HttpMethods.IsPut(method) => await UploadEndpoints.PutAsync(context, repository, route.Argument, uploads),
                    _ when HttpMethods.IsGet(method) => await UploadEndpoints.GetStatusAsync(context, repository, route.Argument, uploads),
                    _ when HttpMethods.IsDelete(method) => await UploadEndpoints.CancelAsync(context, repository, route.Argument, uploads),
                    _ => MethodNotAllowed(context, "GET, PATCH, PUT, DELETE"),
                };
            }

            case RouteKind.TagsList:
                if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
                {
                    return MethodNotAllowed(context, "GET");
                }

                return await AuthorizeAsync(context, authorizer, [new(repository, RegistryActions.Pull)])
                    ?? await ListingEndpoints.TagsAsync(context, repository, services.GetRequiredService<IManifestIndex>(), services.GetRequiredService<IOptions<RegistryOptions>>());

            case RouteKind.Referrers:
            {
                if (!HttpMethods.IsGet(method))
                {
                    return MethodNotAllowed(context, "GET");
                }

                if (!Digest.TryParse(route.Argument, out var subject))
                {
                    return Http.Error(OciErrorCode.DigestInvalid, $"'{route.Argument}' is not a valid sha256 or sha512 digest");
                }

                return await AuthorizeAsync(context, authorizer, [new(repository, RegistryActions.Pull)])
                    ?? await ListingEndpoints.ReferrersAsync(context, repository, subject, services.GetRequiredService<IManifestIndex>());
            }

            default:
                return new OciErrorResult(new RegistryError(OciErrorCode.Unsupported, $"no API endpoint at /v2/{path}"), StatusCodes.Status404NotFound);
        }
    }

    private static IResult MethodNotAllowed(HttpContext context, string allow)
    {
        context.Response.Headers.Allow = allow;
        return Http.Error(OciErrorCode.Unsupported, $"method {context.Request.Method} is not allowed here; allowed: {allow}");
    }

    /// <summary>Null when allowed; otherwise the error to return.</summary>
    private static async ValueTask<IResult?> AuthorizeAsync(HttpContext context, IRegistryAuthorizer authorizer, IReadOnlyList<RegistryPermission> needed)
    {
        var result = await authorizer.AuthorizeAsync(context, needed);
        switch (result.Outcome)
        {
            case AuthorizationOutcome.Allowed:
                return null;
            case AuthorizationOutcome.Unauthenticated:
                return Http.Error(OciErrorCode.Unauthorized, result.Message ?? "authentication required");
            case AuthorizationOutcome.Throttled:
                context.Response.SetRetryAfter(result.RetryAfter ?? TimeSpan.FromSeconds(1));
                return Http.Error(OciErrorCode.TooManyRequests, result.Message ?? "too many requests");
            default:
                return Http.Error(OciErrorCode.Denied, result.Message ?? "requested access to the resource is denied");
        }
    }
}
