using Berth.Application.Projects;
using Berth.Auth.Permissions;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Quotas;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Berth.Api.Management;

/// <summary><c>/api/v1/projects</c>: list, create, read, change and delete projects.</summary>
internal static class ProjectEndpoints
{
    public const int MaxDescriptionLength = 1000;

    public static void Map(RouteGroupBuilder api)
    {
        var projects = api.MapGroup("/projects").WithTags("projects");
        projects.MapGet("/", ListAsync).WithName("ListProjects").WithSummary("Projects the caller may see (anonymous callers: public ones)")
            .AllowAnyone().AllowAccessTokens();
        projects.MapPost("/", CreateAsync).WithName("CreateProject").WithSummary("Create a project (server administrators)")
            .RequireAdministrator().AcceptsJson<ProjectCreateRequest>().ProducesProblems(StatusCodes.Status409Conflict);
        projects.MapGet("/{project}", GetAsync).WithName("GetProject").WithSummary("A project the caller may pull from")
            .RequireProject(ProjectPermissions.Pull).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);
        projects.MapPatch("/{project}", UpdateAsync).WithName("UpdateProject").WithSummary("Change a project's description or visibility (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageSettings).AcceptsJson<ProjectUpdateRequest>().ProducesProblems(StatusCodes.Status404NotFound);
        projects.MapDelete("/{project}", DeleteAsync).WithName("DeleteProject").WithSummary("Delete a project and everything in it; refused while it has repositories unless force=true (administrators)")
            .RequireProjectAdministrator().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
    }

    /// <summary>The listing name sealed cursors of <see cref="ListAsync"/> are bound to.</summary>
    internal const string Listing = "projects";

    /// <summary>
    /// The projects the caller may pull in and whose IP allow list admits the caller's address (as the catalog lists
    /// repositories). The scan that fills a page may stop on a project the caller may not see, so <c>next</c> is a
    /// sealed cursor (<see cref="Cursor.Seal"/>): it names nothing to the caller, and opens only for them.
    /// </summary>
    private static async Task<Results<Ok<PageResponse<ProjectResponse>>, ValidationProblem>> ListAsync(
        [AsParameters] PageQuery query, ManagementServices services, [FromServices] IProjectQuotaStore quotas, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(query.Limit, query.After, context, out var paging, out var error, Listing))
        {
            return error!;
        }

        ProjectName? cursor = null;
        if (paging.After is not null)
        {
            if (!ProjectName.TryParse(paging.After, out var after))
            {
                return Problems.Invalid("after", "is not a cursor from a previous page's 'next'");
            }

            cursor = after;
        }

        var caller = context.Caller();
        var principal = caller.Principal!;
        var administrator = AccessPolicy.IsServerAdministrator(principal);
        var items = new List<ProjectResponse>(Math.Min(paging.Limit, 100));
        var scanLimit = Math.Max(paging.Limit * 10, PageSize.Max); // bounds the work of one page for callers who see few projects
        var scanned = 0;
        string? next = null;
        while (true)
        {
            var page = await services.Projects.ListAsync(cursor, paging.Limit, cancellationToken);
            foreach (var project in page.Items)
            {
                if (items.Count == paging.Limit)
                {
                    next = items[^1].Name;
                    break;
                }

                scanned++;
                cursor = project.Name;
                if ((administrator || (AccessPolicy.GetPermissions(principal, new ProjectInfo(project.Name.Value, project.Visibility)) & ProjectPermissions.Pull) != 0)
                    && await services.IpAllow.AllowsProjectAsync(project.Name.Value, caller.Address, cancellationToken))
                {
                    items.Add(ProjectResponse.From(project));
                }
            }

            if (next is not null || !page.HasMore)
            {
                break;
            }

            if (items.Count == paging.Limit || scanned >= scanLimit)
            {
                next = cursor!.Value.Value; // more may follow; the next page goes on after what was examined
                break;
            }
        }

        for (var i = 0; i < items.Count; i++)
        {
            items[i] = items[i].With(await quotas.GetUsageAsync(items[i].Name, cancellationToken));
        }

        return TypedResults.Ok(new PageResponse<ProjectResponse>(items, next is null ? null : Cursor.Seal(context, Listing, next)));
    }

    private static async Task<Results<Created<ProjectResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        ManagementServices services, [FromServices] IProjectQuotaStore quotas, [FromServices] IOptions<RegistryOptions> options,
        HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<ProjectCreateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var validation = new Validation();
        ProjectName name = default;
        if (request.Name is null)
        {
            validation.Add("name", "is required");
        }
        else if (!ProjectName.TryParse(request.Name, out name))
        {
            validation.Add("name", "must be lower-case letters and digits, separated by '.', '_', '__' or '-' (no '/')");
        }

        CheckDescription(request.Description, validation);
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var visibility = request.Public == true ? ProjectVisibility.Public : ProjectVisibility.Private;
        var result = await services.Projects.CreateAsync(name, request.Description ?? string.Empty, visibility, cancellationToken);
        services.Directory.Invalidate(name.Value);
        if (result.Status == ProjectCreateStatus.Duplicate || result.Project is null)
        {
            return Problems.Conflict($"project '{name}' exists");
        }

        // A new project gets the server's default quota (--default-quota), if any.
        long? quota = options.Value.DefaultQuotaBytes > 0 ? options.Value.DefaultQuotaBytes : null;
        if (quota is not null)
        {
            await quotas.SetQuotaAsync(name.Value, quota, cancellationToken);
        }

        await services.Audit.RecordAsync(context.Caller(), AuditActions.ProjectCreate, name, detail: new { visibility = Wire.Visibility(visibility), quotaBytes = quota });
        return TypedResults.Created($"/api/v1/projects/{name}", ProjectResponse.From(result.Project) with { QuotaBytes = quota });
    }

    private static async Task<Results<Ok<ProjectResponse>, ProblemHttpResult>> GetAsync(
        string project, ManagementServices services, [FromServices] IProjectQuotaStore quotas, HttpContext context, CancellationToken cancellationToken)
    {
        var stored = await services.Projects.GetAsync(context.GetProject().Name, cancellationToken);
        return stored is null
            ? Problems.ProjectNotFound(project)
            : TypedResults.Ok(ProjectResponse.From(stored).With(await quotas.GetUsageAsync(stored.Name.Value, cancellationToken)));
    }

    private static async Task<Results<Ok<ProjectResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        string project, ManagementServices services, [FromServices] IProjectQuotaStore quotas, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<ProjectUpdateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var validation = new Validation();
        CheckDescription(request.Description, validation);
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var name = context.GetProject().Name;
        var visibility = request.Public is { } isPublic ? isPublic ? ProjectVisibility.Public : ProjectVisibility.Private : (ProjectVisibility?)null;
        var result = await services.Projects.UpdateAsync(name, new ProjectChanges(request.Description, visibility), cancellationToken);
        services.Directory.Invalidate(name.Value);
        var stored = await services.Projects.GetAsync(name, cancellationToken);
        if (result == UpdateResult.NotFound || stored is null)
        {
            return Problems.ProjectNotFound(project);
        }

        services.AccessChanged();
        await services.Audit.RecordAsync(context.Caller(), AuditActions.ProjectUpdate, name,
            detail: new { description = request.Description, visibility = visibility is { } v ? Wire.Visibility(v) : null });
        return TypedResults.Ok(ProjectResponse.From(stored).With(await quotas.GetUsageAsync(name.Value, cancellationToken)));
    }

    /// <param name="forceText"><c>?force=</c> as text, so that a malformed one is a 400 naming it.</param>
    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteAsync(
        string project, [FromQuery(Name = "force")] string? forceText, [FromQuery(Name = "force-immutable")] string? forceImmutableText,
        ManagementServices services, [FromServices] ProjectDeleter deleter, HttpContext context, CancellationToken cancellationToken)
    {
        var force = false;
        if (!string.IsNullOrEmpty(forceText) && !bool.TryParse(forceText, out force))
        {
            return Problems.Invalid("force", "must be true or false");
        }

        if (!ImmutabilityOverride.TryRead(forceImmutableText, context, out var forceImmutable, out var invalidOverride, out var refusedOverride))
        {
            return invalidOverride is not null ? invalidOverride : refusedOverride!;
        }

        var name = context.GetProject().Name;
        var deletion = await deleter.DeleteAsync(name, force, forceImmutable, cancellationToken);
        if (deletion.Refused)
        {
            return Problems.Forbidden($"project '{name}' holds an immutable tag in repository '{deletion.Immutable!.Repository}': {deletion.Immutable.Message}; " +
                $"only a server administrator may delete it (berth project delete {name} --force --force-immutable; in the API, ?force=true&force-immutable=true)");
        }

        var result = deletion.Result!;
        if (result.Status == ProjectDeleteStatus.Deleted && deletion.Immutable is { } overridden)
        {
            await services.Audit.RecordAsync(context.Caller(), AuditActions.ImmutabilityOverride, name, repository: overridden.Repository,
                detail: new { delete = "project", tag = overridden.Tag.Value, rule = overridden.Rule.Id });
        }

        switch (result.Status)
        {
            case ProjectDeleteStatus.HasRepositories:
                // Said for both kinds of caller: the CLI's flag and the API's query parameter.
                return Problems.Conflict(
                    $"project '{name}' has repositories: delete them first, or delete the project with everything in it " +
                    $"(berth project delete {name} --force; in the API, DELETE /api/v1/projects/{name}?force=true)");
            case ProjectDeleteStatus.NotFound:
                return Problems.ProjectNotFound(project);
            default:
                services.AccessChanged();
                var deleted = result.Deleted!;
                await services.Audit.RecordAsync(context.Caller(), AuditActions.ProjectDelete, name, detail: new
                {
                    force,
                    repositories = deleted.Repositories.Count,
                    manifests = deleted.Manifests,
                    tags = deleted.Tags,
                    blobLinks = deleted.BlobLinks,
                    uploads = deleted.Uploads.Count,
                    members = deleted.Members,
                    robots = deleted.Robots,
                    ipRules = deleted.IpRules,
                    tokensNarrowed = deleted.TokensNarrowed,
                    tokensRevoked = deleted.TokensRevoked,
                });
                return TypedResults.NoContent();
        }
    }

    private static void CheckDescription(string? description, Validation validation)
    {
        if (description is { Length: > MaxDescriptionLength })
        {
            validation.Add("description", $"must be at most {MaxDescriptionLength} characters");
        }
        else if (description is not null && description.Any(c => char.IsControl(c) && c is not ('\n' or '\t')))
        {
            validation.Add("description", "must not contain control characters");
        }
    }
}
