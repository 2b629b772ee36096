using Berth.Auth.Network;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>
/// Endpoint metadata of a project route: server administrators pass the project's own IP allow list there, so they
/// can always repair a list that shuts everyone else out (the server-wide list still applies to them).
/// </summary>
public sealed record AdministratorsPassProjectIpAllowList;

/// <summary>
/// <c>/api/v1/ip-allow</c> (server-wide, administrators) and <c>/api/v1/projects/{project}/ip-allow</c> (owners,
/// administrators): networks clients may come from. No rules: every address. A change that would shut out the
/// caller's own address, which the list admitted before, is refused (409): the first rule that does not include it,
/// or the removal of the last rule that does. Administrators manage a project's list from any address.
/// </summary>
internal static class IpAllowEndpoints
{
    public const int MaxNoteLength = 500;

    public static void Map(RouteGroupBuilder api)
    {
        var server = api.MapGroup("/ip-allow").WithTags("ip-allow");
        server.MapGet("/", ListServerAsync).WithName("ListServerIpRules").WithSummary("The server-wide IP allow list (administrators)")
            .RequireAdministrator();
        server.MapPost("/", AddServerAsync).WithName("AddServerIpRule").WithSummary("Allow a network server-wide (administrators)")
            .RequireAdministrator().AcceptsJson<IpRuleCreateRequest>().ProducesProblems(StatusCodes.Status409Conflict);
        server.MapDelete("/{id:long}", RemoveServerAsync).WithName("RemoveServerIpRule").WithSummary("Remove a server-wide rule (administrators)")
            .RequireAdministrator().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        var project = api.MapGroup("/projects/{project}/ip-allow").WithTags("ip-allow");
        project.MapGet("/", ListProjectAsync)
            .WithName("ListProjectIpRules").WithSummary("The project's IP allow list (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageSettings).WithMetadata(new AdministratorsPassProjectIpAllowList());
        project.MapPost("/", AddProjectAsync)
            .WithName("AddProjectIpRule").WithSummary("Allow a network for the project (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageSettings).WithMetadata(new AdministratorsPassProjectIpAllowList())
            .AcceptsJson<IpRuleCreateRequest>().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        project.MapDelete("/{id:long}", RemoveProjectAsync)
            .WithName("RemoveProjectIpRule").WithSummary("Remove a rule of the project (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageSettings).WithMetadata(new AdministratorsPassProjectIpAllowList()).ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
    }

    private static Task<Ok<PageResponse<IpRuleResponse>>> ListServerAsync(ManagementServices services, CancellationToken cancellationToken) =>
        ListAsync(services, null, cancellationToken);

    private static Task<Ok<PageResponse<IpRuleResponse>>> ListProjectAsync(
        string project, ManagementServices services, HttpContext context, CancellationToken cancellationToken) =>
        ListAsync(services, context.GetProject().Name, cancellationToken);

    private static Task<Results<Created<IpRuleResponse>, ValidationProblem, ProblemHttpResult>> AddServerAsync(
        ManagementServices services, HttpContext context, CancellationToken cancellationToken) =>
        AddAsync(services, context, null, cancellationToken);

    private static Task<Results<Created<IpRuleResponse>, ValidationProblem, ProblemHttpResult>> AddProjectAsync(
        string project, ManagementServices services, HttpContext context, CancellationToken cancellationToken) =>
        AddAsync(services, context, context.GetProject().Name, cancellationToken);

    private static Task<Results<NoContent, ProblemHttpResult>> RemoveServerAsync(
        long id, ManagementServices services, HttpContext context, CancellationToken cancellationToken) =>
        RemoveAsync(services, context, null, id, cancellationToken);

    private static Task<Results<NoContent, ProblemHttpResult>> RemoveProjectAsync(
        string project, long id, ManagementServices services, HttpContext context, CancellationToken cancellationToken) =>
        RemoveAsync(services, context, context.GetProject().Name, id, cancellationToken);

    private static async Task<Ok<PageResponse<IpRuleResponse>>> ListAsync(ManagementServices services, ProjectName? project, CancellationToken cancellationToken)
    {
        var rules = await services.IpRules.ListAsync(project, cancellationToken);
        return TypedResults.Ok(new PageResponse<IpRuleResponse>(rules.Select(IpRuleResponse.From).ToList(), null));
    }

    private static async Task<Results<Created<IpRuleResponse>, ValidationProblem, ProblemHttpResult>> AddAsync(
        ManagementServices services, HttpContext context, ProjectName? project, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<IpRuleCreateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var validation = new Validation();
        string? network = null;
        if (string.IsNullOrWhiteSpace(request.Network))
        {
            validation.Add("network", "is required (a CIDR network such as 10.0.0.0/8, or one address)");
        }
        else if (request.Network.Contains(',', StringComparison.Ordinal) || !IPNetworkList.TryParse([request.Network], out var list, out var error))
        {
            validation.Add("network", "is not one CIDR network or address");
        }
        else if (list.Networks.Count != 1)
        {
            validation.Add("network", "is not one CIDR network or address");
        }
        else
        {
            network = list.Networks[0].ToString(); // canonical text, so equal networks are found as duplicates
        }

        if (request.Note is { Length: > MaxNoteLength })
        {
            validation.Add("note", $"must be at most {MaxNoteLength} characters");
        }

        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        // The first rule of a list turns "every address" into "only this network": refuse one that would shut out
        // the caller making the change (later rules only widen the list).
        var caller = context.Caller();
        var before = Networks(await services.IpRules.ListAsync(project, cancellationToken));
        if (ShutsOut(before, [.. before, network!], caller.Address))
        {
            return Problems.Conflict(
                $"{network} would be the first rule {Of(project)} and does not include your own address " +
                $"{caller.Address?.ToString() ?? "(unknown)"}: add a rule for your address first, or you would lock yourself out");
        }

        var result = await services.IpRules.AddAsync(project, network!, string.IsNullOrEmpty(request.Note) ? null : request.Note, cancellationToken);
        services.IpAllow.Invalidate(project?.Value);
        switch (result.Status)
        {
            case IpRuleAddStatus.Duplicate:
                return Problems.Conflict($"{network} is already allowed {(project is { } p ? $"in project '{p}'" : "server-wide")}");
            case IpRuleAddStatus.ProjectNotFound:
                return Problems.ProjectNotFound(project?.Value);
        }

        var rule = result.Rule!;
        await services.Audit.RecordAsync(context.Caller(), AuditActions.IpRuleAdd, project, detail: new { id = rule.Id, network = rule.Network, note = rule.Note });
        var location = project is { } name ? $"/api/v1/projects/{name}/ip-allow/{rule.Id}" : $"/api/v1/ip-allow/{rule.Id}";
        return TypedResults.Created(location, IpRuleResponse.From(rule));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveAsync(
        ManagementServices services, HttpContext context, ProjectName? project, long id, CancellationToken cancellationToken)
    {
        // The store removes by id alone: make sure the rule belongs to this list (server or this project).
        var rules = await services.IpRules.ListAsync(project, cancellationToken);
        var rule = rules.FirstOrDefault(r => r.Id == id);
        if (rule is null)
        {
            return Problems.NotFound($"no IP allow rule {id} {(project is { } p ? $"in project '{p}'" : "server-wide")}");
        }

        // Removing the last rule that admits the caller, while others remain, would shut the caller out for good.
        var caller = context.Caller();
        if (ShutsOut(Networks(rules), Networks(rules.Where(r => r.Id != id)), caller.Address))
        {
            return Problems.Conflict(
                $"removing rule {id} ({rule.Network}) would leave the allow list {Of(project)} without your own address " +
                $"{caller.Address?.ToString() ?? "(unknown)"}: add a rule for your address first, or you would lock yourself out " +
                "(removing every rule allows every address again)");
        }

        if (await services.IpRules.RemoveAsync(id, cancellationToken) == DeleteResult.NotFound)
        {
            return Problems.NotFound($"no IP allow rule {id} {(project is { } p ? $"in project '{p}'" : "server-wide")}");
        }

        services.IpAllow.Invalidate(project?.Value);
        await services.Audit.RecordAsync(caller, AuditActions.IpRuleRemove, project, detail: new { id = rule.Id, network = rule.Network });
        return TypedResults.NoContent();
    }

    private static string Of(ProjectName? project) => project is { } p ? $"of project '{p}'" : "of the server";

    private static List<string> Networks(IEnumerable<IpAllowRule> rules) => rules.Select(r => r.Network).ToList();

    /// <summary>
    /// True when the list admitted <paramref name="address"/> before the change and would not after it: an empty list
    /// admits every address. A caller outside the list already (an administrator on a project's list) shuts out no one
    /// by changing it, so only a change that takes away the caller's own access is refused.
    /// </summary>
    private static bool ShutsOut(IReadOnlyList<string> before, IReadOnlyList<string> after, System.Net.IPAddress? address) =>
        Admits(before, address) && !Admits(after, address);

    /// <summary>As <see cref="Access.IpAllowRules"/> enforces a list: no rules admit every address; a rule that no longer parses admits none.</summary>
    private static bool Admits(IReadOnlyList<string> networks, System.Net.IPAddress? address) =>
        networks.Count == 0 || IPNetworkList.Parse(networks.Where(n => IPNetworkList.TryParse([n], out _, out _))).Contains(address);
}
