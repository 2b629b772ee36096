using System.Text.Json;
using Berth.Api.Access;
using Berth.Auth.Cursors;
using Berth.Core;
using Berth.Core.Metadata;
using Berth.Oci;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Berth.Api.Distribution;

/// <summary>Tags list, catalog and referrers: keyset-paginated listings served from the metadata store.</summary>
internal static class ListingEndpoints
{
    /// <summary>Page size when the client gives no <c>n</c>.</summary>
    private const int DefaultPageSize = 1000;

    public static async Task<IResult> TagsAsync(HttpContext context, RepositoryName repository, IManifestIndex index, IOptions<RegistryOptions> options)
    {
        if (!Http.TryGetPageSize(context.Request, out var n))
        {
            return Http.Error(OciErrorCode.PaginationNumberInvalid, "n must be a non-negative integer");
        }

        var last = context.Request.Query["last"].ToString();
        var limit = Math.Min(n ?? DefaultPageSize, options.Value.MaxPageSize);
        var page = await index.ListTagsAsync(repository, last, limit, context.RequestAborted);
        if (page is null)
        {
            return Http.Error(OciErrorCode.NameUnknown, $"repository {repository} is not known to the registry", new { name = repository.Value });
        }

        if (page.HasMore && page.Names.Count > 0)
        {
            AddNextLink(context, $"/v2/{repository}/tags/list", limit, page.Names[^1]);
        }

        return Json(context, JsonSerializer.SerializeToUtf8Bytes(new TagListResponse(repository.Value, page.Names), RegistryJsonContext.Default.TagListResponse));
    }

    /// <summary>
    /// The catalog, filtered to the repositories the caller may pull. Filtering reads further pages until the page is
    /// full, but never more than <see cref="MaxCatalogScan"/> names per request: a caller who may see few of many
    /// repositories gets a short page with a <c>Link</c> to continue, as the specification allows. That link must not
    /// name the last repository examined, which the caller may not see: its <c>last</c> is then a sealed cursor
    /// (<see cref="SealedPrefix"/> and <see cref="CursorProtector"/> text, for this caller only). A full page's link
    /// names its last repository, and <c>last</c> takes any repository name, as the specification says.
    /// </summary>
    public static async Task<IResult> CatalogAsync(HttpContext context, IRepositoryIndex index, IOptions<RegistryOptions> options, IRegistryAuthorizer authorizer)
    {
        if (!Http.TryGetPageSize(context.Request, out var n))
        {
            return Http.Error(OciErrorCode.PaginationNumberInvalid, "n must be a non-negative integer");
        }

        var protector = context.RequestServices.GetRequiredService<CursorProtector>();
        var audience = CursorAudience.Of(context.GetCaller());
        var last = context.Request.Query["last"].ToString();
        if (last.StartsWith(SealedPrefix, StringComparison.Ordinal))
        {
            // '~' never starts a repository name, so a sealed cursor is never taken for one.
            if (!protector.TryUnprotect(CatalogListing, audience, last[SealedPrefix.Length..], out var position))
            {
                return Http.Error(OciErrorCode.PaginationNumberInvalid,
                    "last is neither a repository name nor a cursor from a Link header this registry gave you (they last a day): start again without last");
            }

            last = position!;
        }

        var limit = Math.Min(n ?? DefaultPageSize, options.Value.MaxPageSize);
        var names = new List<string>(Math.Min(limit, 1000));
        var visible = new Dictionary<string, bool>(StringComparer.Ordinal);
        var scanned = 0;
        var cursor = last;
        var more = false;
        while (names.Count < limit)
        {
            var page = await index.ListAsync(cursor, limit - names.Count, context.RequestAborted);
            foreach (var name in page.Names)
            {
                if (!RepositoryName.TryParse(name, out var repository))
                {
                    continue;
                }

                if (!visible.TryGetValue(repository.Project, out var allowed))
                {
                    allowed = (await authorizer.GetAllowedActionsAsync(context, repository) & Core.Registry.RegistryActions.Pull) != 0;
                    visible[repository.Project] = allowed;
                }

                if (allowed)
                {
                    names.Add(name);
                }
            }

            scanned += page.Names.Count;
            more = page.HasMore;
            if (page.Names.Count > 0)
            {
                cursor = page.Names[^1];
            }

            if (!page.HasMore || page.Names.Count == 0 || scanned >= MaxCatalogScan)
            {
                break;
            }
        }

        if (more && limit > 0) // n=0 asks for an empty page and gets no Link
        {
            AddNextLink(context, "/v2/_catalog", limit, names.Count == limit ? names[^1] : SealedPrefix + protector.Protect(CatalogListing, audience, cursor));
        }

        return Json(context, JsonSerializer.SerializeToUtf8Bytes(new CatalogResponse(names), RegistryJsonContext.Default.CatalogResponse));
    }

    /// <summary>Most repository names one catalog request reads while filtering.</summary>
    private const int MaxCatalogScan = 10_000;

    /// <summary>Starts the <c>last</c> of a catalog link that holds a sealed cursor rather than a repository name.</summary>
    public const string SealedPrefix = "~";

    private const string CatalogListing = "catalog";


    public static async Task<IResult> ReferrersAsync(HttpContext context, RepositoryName repository, Digest subject, IManifestIndex index)
    {
        var artifactType = context.Request.Query["artifactType"].ToString();
        var filter = artifactType.Length > 0 ? artifactType : null;
        var referrers = await index.ListReferrersAsync(repository, subject, filter, context.RequestAborted);
        if (filter is not null)
        {
            context.Response.Headers["OCI-Filters-Applied"] = "artifactType";
        }

        return Json(context, writer =>
        {
            writer.WriteNumber("schemaVersion", 2);
            writer.WriteString("mediaType", MediaTypes.OciIndex);
            writer.WriteStartArray("manifests");
            foreach (var referrer in referrers)
            {
                writer.WriteStartObject();
                writer.WriteString("mediaType", referrer.MediaType);
                writer.WriteString("digest", referrer.Digest.ToString());
                writer.WriteNumber("size", referrer.Size);
                if (referrer.ArtifactType is not null)
                {
                    writer.WriteString("artifactType", referrer.ArtifactType);
                }

                if (referrer.AnnotationsJson is not null)
                {
                    writer.WritePropertyName("annotations");
                    writer.WriteRawValue(referrer.AnnotationsJson, skipInputValidation: true);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }, MediaTypes.OciIndex);
    }

    private static void AddNextLink(HttpContext context, string path, int limit, string last) =>
        context.Response.Headers.Link = $"<{path}?n={limit}&last={Uri.EscapeDataString(last)}>; rel=\"next\"";

    private static IResult Json(HttpContext context, byte[] body)
    {
        context.Response.ContentLength = body.Length;
        return Results.Bytes(body, "application/json");
    }

    private static IResult Json(HttpContext context, Action<Utf8JsonWriter> writeBody, string contentType = "application/json")
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeBody(writer);
            writer.WriteEndObject();
        }

        context.Response.ContentLength = buffer.WrittenCount;
        return Results.Bytes(buffer.WrittenMemory.ToArray(), contentType);
    }
}
