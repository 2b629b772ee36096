using Berth.Application.Repositories;
using Berth.Auth.Permissions;
using Berth.Core.Events;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>
/// Endpoint metadata: the project of this route is that of the repository named by <c>?repository=</c> (names contain
/// <c>/</c>, so they travel as a query value rather than a route segment). Authorization answers 400 for a missing or
/// malformed one, before anything else about the project.
/// </summary>
public sealed record RepositoryQueryRoute
{
    public const string Parameter = "repository";

    /// <summary>The repository of the request's query; false when missing or not a repository name.</summary>
    public static bool TryRead(HttpContext context, out RepositoryName repository) =>
        RepositoryName.TryParse(context.Request.Query[Parameter].Count == 1 ? context.Request.Query[Parameter][0] : null, out repository);
}

/// <summary>
/// Repositories and tags: <c>GET /projects/{project}/repositories</c>, <c>GET /repositories/tags?repository=</c>,
/// <c>DELETE /repositories/tags?repository=&amp;tag=</c> and <c>DELETE /repositories?repository=</c>. Readers (pull) list;
/// deleting needs the project's delete permission, as a <c>/v2</c> DELETE does (maintainers and above, robots with delete).
/// Deletes go through <see cref="ManifestService"/> and <see cref="RepositoryDeleter"/>, which keep the manifest cache
/// right and raise the registry events the audit log records.
/// </summary>
internal static class RepositoryEndpoints
{
    /// <summary>Listings filter nothing they read, so their cursors are plain (the last name of the previous page, which the caller saw).</summary>
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{project}/repositories", ListRepositoriesAsync).WithTags("repositories").WithName("ListRepositories")
            .WithSummary("Repositories of a project with tag and manifest counts, size (distinct blobs) and last push and pull")
            .RequireProject(ProjectPermissions.Pull).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);

        var repositories = api.MapGroup("/repositories").WithTags("repositories");
        repositories.MapGet("/tags", ListTagsAsync).WithName("ListTags")
            .WithSummary("Tags of ?repository= with the digest, media type and size of the image each points at")
            .RequireProject(ProjectPermissions.Pull).WithMetadata(new RepositoryQueryRoute()).AllowAccessTokens()
            .ProducesProblems(StatusCodes.Status404NotFound);
        repositories.MapDelete("/tags", DeleteTagAsync).WithName("DeleteTag")
            .WithSummary("Delete ?tag= of ?repository=; the manifest stays, reachable by digest")
            .RequireProject(ProjectPermissions.Delete).WithMetadata(new RepositoryQueryRoute()).AllowAccessTokens()
            .ProducesProblems(StatusCodes.Status404NotFound);
        repositories.MapDelete("/", DeleteRepositoryAsync).WithName("DeleteRepository")
            .WithSummary("Delete ?repository= with its manifests, tags and links; blobs are left for garbage collection")
            .RequireProject(ProjectPermissions.Delete).WithMetadata(new RepositoryQueryRoute()).AllowAccessTokens()
            .ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok<PageResponse<RepositoryResponse>>, ValidationProblem>> ListRepositoriesAsync(
        string project, [AsParameters] PageQuery query, [FromServices] IRepositoryBrowser browser, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(query.Limit, query.After, context, out var paging, out var error))
        {
            return error!;
        }

        var name = context.GetProject().Name.Value;
        var page = await browser.ListRepositoriesAsync(name, paging.After, paging.Limit, cancellationToken);
        var items = page.Repositories.Select(RepositoryResponse.From).ToList();
        return TypedResults.Ok(new PageResponse<RepositoryResponse>(items,
            page.HasMore && items.Count > 0 ? Cursor.Encode(items[^1].Name) : null));
    }

    private static async Task<Results<Ok<PageResponse<TagResponse>>, ValidationProblem, ProblemHttpResult>> ListTagsAsync(
        [AsParameters] PageQuery query, [FromServices] IRepositoryBrowser browser, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(query.Limit, query.After, context, out var paging, out var error))
        {
            return error!;
        }

        RepositoryQueryRoute.TryRead(context, out var repository); // authorization refused a missing or malformed one
        var page = await browser.ListTagDetailsAsync(repository, paging.After, paging.Limit, cancellationToken);
        if (page is null)
        {
            return RepositoryNotFound(repository);
        }

        var items = page.Tags.Select(TagResponse.From).ToList();
        return TypedResults.Ok(new PageResponse<TagResponse>(items, page.HasMore && items.Count > 0 ? Cursor.Encode(items[^1].Name) : null));
    }

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteTagAsync(
        [FromQuery(Name = "tag")] string? tagText, [FromServices] ManifestService manifests, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Tag.TryParse(tagText, out var tag))
        {
            return Problems.Invalid("tag", "is required and must be a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})");
        }

        RepositoryQueryRoute.TryRead(context, out var repository);
        using var actor = BeginActor(context);
        var result = await manifests.DeleteAsync(repository, Reference.Of(tag), cancellationToken);
        return result.IsSuccess ? TypedResults.NoContent()
            : result.Error is { Code: OciErrorCode.Denied } denied ? Problems.Forbidden(denied.Message!)
            : Problems.NotFound($"tag '{tag}' is not in repository '{repository}'");
    }

    /// <param name="forceImmutableText"><c>?force-immutable=</c>: a server administrator deletes a repository holding immutable tags.</param>
    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteRepositoryAsync(
        [FromQuery(Name = "force-immutable")] string? forceImmutableText, [FromServices] RepositoryDeleter deleter, ManagementServices services,
        HttpContext context, CancellationToken cancellationToken)
    {
        if (!ImmutabilityOverride.TryRead(forceImmutableText, context, out var forceImmutable, out var invalidOverride, out var refusedOverride))
        {
            return invalidOverride is not null ? invalidOverride : refusedOverride!;
        }

        RepositoryQueryRoute.TryRead(context, out var repository);
        using var actor = BeginActor(context);
        var deletion = await deleter.DeleteAsync(repository, forceImmutable, cancellationToken);
        if (deletion.Refused)
        {
            return Problems.Forbidden($"repository '{repository}' holds an immutable tag: {deletion.Immutable!.Message}; " +
                $"only a server administrator may delete it (berth repo delete {repository} --force-immutable; in the API, ?force-immutable=true)");
        }

        if (deletion.Result.Status != DeleteResult.Deleted)
        {
            return RepositoryNotFound(repository);
        }

        if (deletion.Immutable is { } overridden)
        {
            await services.Audit.RecordAsync(context.Caller(), Core.Access.AuditActions.ImmutabilityOverride, Core.Access.ProjectName.Of(repository),
                repository: repository, detail: new { delete = "repository", tag = overridden.Tag.Value, rule = overridden.Rule.Id });
        }

        return TypedResults.NoContent();
    }

    /// <summary>Registry events raised by the delete are the caller's, as for a <c>/v2</c> DELETE.</summary>
    private static EventActorContext.Scope BeginActor(HttpContext context) =>
        EventActorContext.Begin(Application.Access.CallerEvents.ToEventActor(context.Caller()));

    private static ProblemHttpResult RepositoryNotFound(RepositoryName repository) =>
        Problems.NotFound($"repository '{repository}' not found");
}
