using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Immutability;
using Berth.Core.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>
/// <c>/api/v1/projects/{project}/immutability</c>: the project's tag immutability rules. Members list them (pull);
/// maintainers, owners and administrators add and remove them (<see cref="ProjectPermissions.ManagePolicies"/>). Every
/// pattern is validated (<see cref="GlobPattern.TryParse"/>: 400 naming the field and the pattern), a list holds at
/// most <see cref="ImmutabilityPolicy.MaxPatternsPerList"/> patterns and a project at most
/// <see cref="ImmutabilityPolicy.MaxRulesPerProject"/> rules (409). Changes are audited.
/// </summary>
internal static class ImmutabilityEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var rules = api.MapGroup("/projects/{project}/immutability").WithTags("immutability");
        rules.MapGet("/", ListAsync).WithName("ListImmutabilityRules")
            .WithSummary("The project's tag immutability rules (members)")
            .RequireProject(ProjectPermissions.Pull).AllowAccessTokens();
        rules.MapPost("/", AddAsync).WithName("AddImmutabilityRule")
            .WithSummary("Add a tag immutability rule (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().AcceptsJson<ImmutabilityRuleRequest>()
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        rules.MapDelete("/{id:long}", RemoveAsync).WithName("RemoveImmutabilityRule")
            .WithSummary("Remove a tag immutability rule (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<PageResponse<ImmutabilityRuleResponse>>> ListAsync(
        string project, [FromServices] IImmutabilityRuleStore store, HttpContext context, CancellationToken cancellationToken)
    {
        var rules = await store.ListAsync(context.GetProject().Name, cancellationToken);
        return TypedResults.Ok(new PageResponse<ImmutabilityRuleResponse>(rules.Select(ImmutabilityRuleResponse.From).ToList(), null));
    }

    private static async Task<Results<Created<ImmutabilityRuleResponse>, ValidationProblem, ProblemHttpResult>> AddAsync(
        string project, [FromServices] IImmutabilityRuleStore store, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<ImmutabilityRuleRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var validation = new Validation();
        var tags = Filter(request.Tags, "tags", validation);
        var repositories = Filter(request.Repositories, "repositories", validation);
        if (tags is { IsEmpty: true })
        {
            validation.Add("tags", "needs at least one pattern in matching or excluding (for example matching [\"v*\"])");
        }

        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var name = context.GetProject().Name;
        var result = await store.AddAsync(name, repositories!, tags!, ImmutabilityPolicy.MaxRulesPerProject, cancellationToken);
        switch (result.Status)
        {
            case ImmutabilityRuleAddStatus.ProjectNotFound:
                return Problems.ProjectNotFound(project);
            case ImmutabilityRuleAddStatus.LimitReached:
                return Problems.Conflict($"project '{name}' already has {ImmutabilityPolicy.MaxRulesPerProject} immutability rules, the most it may have: remove one first");
        }

        var rule = result.Rule!;
        await services.Audit.RecordAsync(context.Caller(), AuditActions.ImmutabilityRuleAdd, name, detail: Detail(rule));
        return TypedResults.Created($"/api/v1/projects/{name}/immutability/{rule.Id}", ImmutabilityRuleResponse.From(rule));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveAsync(
        string project, long id, [FromServices] IImmutabilityRuleStore store, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var name = context.GetProject().Name;
        var rule = (await store.ListAsync(name, cancellationToken)).FirstOrDefault(r => r.Id == id);
        if (rule is null || await store.RemoveAsync(name, id, cancellationToken) == DeleteResult.NotFound)
        {
            return Problems.NotFound($"no immutability rule {id} in project '{name}'");
        }

        await services.Audit.RecordAsync(context.Caller(), AuditActions.ImmutabilityRuleRemove, name, detail: Detail(rule));
        return TypedResults.NoContent();
    }

    private static object Detail(ImmutabilityRule rule) => new { id = rule.Id, rule = rule.Describe() };

    private static PatternFilter? Filter(PatternFilterRequest? request, string field, Validation validation)
    {
        if (request is null)
        {
            return PatternFilter.All;
        }

        var ok = true;
        foreach (var (list, part) in new[] { (request.Matching, "matching"), (request.Excluding, "excluding") })
        {
            if (list is { Count: > ImmutabilityPolicy.MaxPatternsPerList })
            {
                validation.Add($"{field}.{part}", $"must hold at most {ImmutabilityPolicy.MaxPatternsPerList} patterns");
                ok = false;
                continue;
            }

            foreach (var text in list ?? [])
            {
                if (!GlobPattern.TryParse(text, out _, out var error))
                {
                    validation.Add($"{field}.{part}", error);
                    ok = false;
                    break;
                }
            }
        }

        return ok ? PatternFilter.TryParse(request.Matching, request.Excluding, out _) : null;
    }
}

/// <summary>A filter over names: patterns a name must match (any; none given: every name) and patterns it must not match.</summary>
public sealed record PatternFilterRequest
{
    public IReadOnlyList<string>? Matching { get; init; }

    public IReadOnlyList<string>? Excluding { get; init; }
}

/// <summary>A new immutability rule: <see cref="Tags"/> is required; <see cref="Repositories"/> defaults to every repository of the project.</summary>
public sealed record ImmutabilityRuleRequest
{
    public PatternFilterRequest? Tags { get; init; }

    /// <summary>Repository paths relative to the project (<c>api</c> for <c>shop/api</c>).</summary>
    public PatternFilterRequest? Repositories { get; init; }
}

public sealed record PatternFilterResponse(IReadOnlyList<string> Matching, IReadOnlyList<string> Excluding)
{
    public static PatternFilterResponse From(PatternFilter filter) =>
        new(filter.Matching.Select(p => p.Text).ToList(), filter.Excluding.Select(p => p.Text).ToList());
}

/// <summary>A rule with its id (what removing it takes) and a one-line description, as refusals quote it.</summary>
public sealed record ImmutabilityRuleResponse(long Id, PatternFilterResponse Tags, PatternFilterResponse Repositories, string Description, string CreatedAt)
{
    public static ImmutabilityRuleResponse From(ImmutabilityRule rule) =>
        new(rule.Id, PatternFilterResponse.From(rule.Tags), PatternFilterResponse.From(rule.Repositories), rule.Describe(), Wire.Time(rule.CreatedAt));
}
