using Berth.Api.Hosting;
using Berth.Application.Signing;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Management;

/// <summary>
/// Signature trust (issue 15 item 2): the public keys and root certificates that verify signatures for the signed-only
/// pull policy and the signature state of artifacts. Server-wide (<c>/api/v1/trust</c>: every signed-in caller reads,
/// public keys being public; administrators change) and per project (<c>/projects/{project}/trust</c>: members read;
/// maintainers, owners and administrators change, as the other policies). Keys and certificates are parsed before
/// they are stored; every change is audited and in force at once on this node, within 3 s on the others.
/// </summary>
internal static class TrustEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var server = api.MapGroup("/trust").WithTags("signing");
        server.MapGet("/", (ITrustStore store, CancellationToken ct) => ListAsync(null, store, ct)).WithName("ListServerTrust")
            .WithSummary("The server-wide trusted keys and roots (signed-in callers)").RequireAuthenticated().AllowAccessTokens();
        server.MapPost("/", (ITrustStore store, TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken ct) =>
                AddAsync(null, store, clock, services, context, ct)).WithName("AddServerTrust")
            .WithSummary("Trust a public key or root certificate on every project (administrators)").RequireAdministrator().AcceptsJson<TrustRequest>()
            .ProducesProblems(StatusCodes.Status409Conflict);
        server.MapDelete("/{name}", (string name, ITrustStore store, ManagementServices services, HttpContext context, CancellationToken ct) =>
                RemoveAsync(null, name, store, services, context, ct)).WithName("RemoveServerTrust")
            .WithSummary("Stop trusting a server-wide key or root (administrators)").RequireAdministrator().ProducesProblems(StatusCodes.Status404NotFound);

        var project = api.MapGroup("/projects/{project}/trust").WithTags("signing");
        project.MapGet("/", (string project, ITrustStore store, HttpContext context, CancellationToken ct) =>
                ListAsync(context.GetProject().Name, store, ct)).WithName("ListProjectTrust")
            .WithSummary("The project's trusted keys and roots (members)").RequireProject(ProjectPermissions.Pull).AllowAccessTokens();
        project.MapPost("/", (string project, ITrustStore store, TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken ct) =>
                AddAsync(context.GetProject().Name, store, clock, services, context, ct)).WithName("AddProjectTrust")
            .WithSummary("Trust a public key or root certificate in the project (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().AcceptsJson<TrustRequest>().ProducesProblems(StatusCodes.Status409Conflict);
        project.MapDelete("/{name}", (string project, string name, ITrustStore store, ManagementServices services, HttpContext context, CancellationToken ct) =>
                RemoveAsync(context.GetProject().Name, name, store, services, context, ct)).WithName("RemoveProjectTrust")
            .WithSummary("Stop trusting a project key or root (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<PageResponse<TrustResponse>>> ListAsync(ProjectName? project, ITrustStore store, CancellationToken cancellationToken)
    {
        var entries = await store.ListAsync(project, cancellationToken);
        return TypedResults.Ok(new PageResponse<TrustResponse>(entries.Select(TrustResponse.From).ToList(), null));
    }

    private static async Task<Results<Created<TrustResponse>, ValidationProblem, ProblemHttpResult>> AddAsync(
        ProjectName? project, ITrustStore store, TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<TrustRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var validation = new Validation();
        var name = request.Name?.Trim();
        if (!TrustLimits.IsValidName(name))
        {
            validation.Add("name", $"a name of 1 to {TrustLimits.MaxNameLength} letters, digits and -_. (starting with a letter or digit) is required");
        }

        var now = clock.GetUtcNow();
        var material = TrustMaterial.TryRead(request.Pem, request.Identities, now, out var field, out var error);
        if (material is null)
        {
            validation.Add(field, error);
        }

        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var caller = context.Caller();
        TrustAddResult result;
        try
        {
            result = await store.AddAsync(new TrustEntry(0, project, name!, material!.Kind, material.Pem, material.Identities, material.Fingerprint, caller.Name, now), cancellationToken);
        }
        catch (InvalidOperationException)
        {
            return Problems.Conflict($"{Scope(project)} already holds {TrustLimits.MaxEntriesPerScope} trusted keys and roots: remove one first");
        }

        switch (result.Status)
        {
            case TrustAddStatus.Exists:
                return Problems.Conflict($"{Scope(project)} already trusts a key or root named '{result.Entry?.Name ?? name}'; remove it first to replace it");
            case TrustAddStatus.ProjectNotFound:
                return Problems.ProjectNotFound(project?.Value);
        }

        var entry = result.Entry!;
        TrustChanged(context, project);
        await services.Audit.RecordAsync(caller, TrustAuditActions.TrustAdd, project, detail: new
        {
            name = entry.Name, kind = entry.Kind == TrustKind.Root ? "root" : "key", fingerprint = entry.Fingerprint, identities = entry.Identities,
        });
        var location = project is { } scope ? $"/api/v1/projects/{scope}/trust" : "/api/v1/trust";
        return TypedResults.Created(location, TrustResponse.From(entry));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveAsync(
        ProjectName? project, string name, ITrustStore store, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        if (!TrustLimits.IsValidName(name) || await store.RemoveAsync(project, name, cancellationToken) == DeleteResult.NotFound)
        {
            return Problems.NotFound($"{Scope(project)} trusts nothing named '{(name.Length <= 64 ? name : name[..64] + "…")}'");
        }

        TrustChanged(context, project);
        await services.Audit.RecordAsync(context.Caller(), TrustAuditActions.TrustRemove, project, detail: new { name });
        return TypedResults.NoContent();
    }

    private static string Scope(ProjectName? project) => project is { } p ? $"project '{p}'" : "the server-wide trust";

    /// <summary>In force at once on this node: the signed-only gate forgets the trust and verdicts it cached.</summary>
    private static void TrustChanged(HttpContext context, ProjectName? project) =>
        context.RequestServices.GetRequiredService<SignaturePolicyGate>().Invalidate(project);
}
