using System.Globalization;
using System.Text.Json;
using Berth.Api.Hosting;
using Berth.Application.Scanning;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Management;

/// <summary>
/// Vulnerability scanning's storage endpoints: the offline advisory database (<c>/api/v1/vulndb</c>: imports by server
/// administrators, status for every signed-in caller: it names sources and counts, nothing private, and CI scripts check
/// its freshness with their tokens), the projects' scanning policies (<c>/projects/{project}/scan-policy</c>: members
/// read, maintainers, owners and administrators set, as retention) and the CVE allowlists (server-wide for
/// administrators, per project for those who manage its policies). Every change is audited.
/// </summary>
internal static class ScanningEndpoints
{
    /// <summary>The largest body of one records call: many records of the largest kind (each at most <see cref="AdvisoryLimits.MaxRecordBytes"/>).</summary>
    public const long MaxRecordsBodyBytes = 16 * 1024 * 1024;

    /// <summary>The most records one call carries (the CLI sends 500).</summary>
    public const int MaxRecordsPerCall = 1000;

    /// <summary>An import with no call for this long is abandoned when another starts (the CLI calls every few seconds).</summary>
    public static readonly TimeSpan ImportStaleAfter = TimeSpan.FromMinutes(15);

    public static void Map(RouteGroupBuilder api)
    {
        var vulndb = api.MapGroup("/vulndb").WithTags("vulndb");
        vulndb.MapGet("/", GetStatusAsync).WithName("GetVulnDbStatus")
            .WithSummary("The advisory database: version, records per source and ecosystem, the running import (signed-in callers)")
            .RequireAuthenticated().AllowAccessTokens();
        vulndb.MapPost("/imports", BeginAsync).WithName("StartVulnDbImport")
            .WithSummary("Start an import of OSV records (administrators); 409 while another runs")
            .RequireAdministrator().AcceptsJson<VulnDbImportRequest>().ProducesProblems(StatusCodes.Status409Conflict);
        vulndb.MapGet("/imports/{id:long}", GetImportAsync).WithName("GetVulnDbImport")
            .WithSummary("One import and its counts (administrators)")
            .RequireAdministrator().ProducesProblems(StatusCodes.Status404NotFound);
        vulndb.MapPost("/imports/{id:long}/records", AddRecordsAsync).WithName("AddVulnDbRecords")
            .WithSummary("Add a JSON array of OSV records (at most 1000, 16 MiB) to a running import (administrators)")
            .RequireAdministrator().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge);
        vulndb.MapPost("/imports/{id:long}/finish", FinishAsync).WithName("FinishVulnDbImport")
            .WithSummary("Finish an import: the database gets a new version (administrators)")
            .RequireAdministrator().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        var policy = api.MapGroup("/projects/{project}/scan-policy").WithTags("scanning");
        policy.MapGet("/", GetPolicyAsync).WithName("GetScanPolicy")
            .WithSummary("The project's scanning policy (members)")
            .RequireProject(ProjectPermissions.Pull).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);
        policy.MapPut("/", SetPolicyAsync).WithName("SetScanPolicy")
            .WithSummary("Change the project's scanning policy; members left out keep their value (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().AcceptsJson<ScanPolicyRequest>().ProducesProblems(StatusCodes.Status404NotFound);

        var server = api.MapGroup("/cve-allowlist").WithTags("scanning");
        server.MapGet("/", (IScanPolicyStore store, TimeProvider clock, CancellationToken ct) => ListAsync(null, store, clock, ct)).WithName("ListServerCveAllowlist")
            .WithSummary("The server-wide CVE allowlist (administrators)").RequireAdministrator();
        server.MapPost("/", (IScanPolicyStore store, TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken ct) =>
                AddAsync(null, store, clock, services, context, ct)).WithName("AddServerCveAllow")
            .WithSummary("Allow a vulnerability on every project (administrators)").RequireAdministrator().AcceptsJson<CveAllowRequest>()
            .ProducesProblems(StatusCodes.Status409Conflict);
        server.MapDelete("/{vulnerability}", (string vulnerability, IScanPolicyStore store, ManagementServices services, HttpContext context, CancellationToken ct) =>
                RemoveAsync(null, vulnerability, store, services, context, ct)).WithName("RemoveServerCveAllow")
            .WithSummary("Remove a server-wide allowlist entry (administrators)").RequireAdministrator().ProducesProblems(StatusCodes.Status404NotFound);

        var project = api.MapGroup("/projects/{project}/cve-allowlist").WithTags("scanning");
        project.MapGet("/", (string project, IScanPolicyStore store, TimeProvider clock, HttpContext context, CancellationToken ct) =>
                ListAsync(context.GetProject().Name, store, clock, ct)).WithName("ListProjectCveAllowlist")
            .WithSummary("The project's CVE allowlist (members)").RequireProject(ProjectPermissions.Pull).AllowAccessTokens();
        project.MapPost("/", (string project, IScanPolicyStore store, TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken ct) =>
                AddAsync(context.GetProject().Name, store, clock, services, context, ct)).WithName("AddProjectCveAllow")
            .WithSummary("Allow a vulnerability in the project (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().AcceptsJson<CveAllowRequest>().ProducesProblems(StatusCodes.Status409Conflict);
        project.MapDelete("/{vulnerability}", (string project, string vulnerability, IScanPolicyStore store, ManagementServices services, HttpContext context, CancellationToken ct) =>
                RemoveAsync(context.GetProject().Name, vulnerability, store, services, context, ct)).WithName("RemoveProjectCveAllow")
            .WithSummary("Remove a project allowlist entry (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);
    }

    // ------------------------------------------------------------------ advisory database

    private static async Task<Ok<VulnDbStatusResponse>> GetStatusAsync([FromServices] IAdvisoryStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(VulnDbStatusResponse.From(await store.GetStatusAsync(cancellationToken)));

    private static async Task<Results<Created<VulnDbImportResponse>, ValidationProblem, ProblemHttpResult>> BeginAsync(
        [FromServices] IAdvisoryStore store, [FromServices] TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<VulnDbImportRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var source = request.Source?.Trim();
        if (string.IsNullOrEmpty(source) || source.Length > AdvisoryLimits.MaxSourceLength || source.Any(char.IsControl))
        {
            return Problems.Invalid("source", $"a label of 1 to {AdvisoryLimits.MaxSourceLength} characters without control characters is required");
        }

        var caller = context.Caller();
        var start = await store.BeginImportAsync(source, caller.Name, clock.GetUtcNow(), ImportStaleAfter, cancellationToken);
        if (start.Status == AdvisoryImportStartStatus.Busy)
        {
            return Problems.Conflict($"import {start.Import.Id} ('{start.Import.Source}', started by {start.Import.Actor} at {Wire.Time(start.Import.StartedAt)}) is running; "
                + $"imports run one at a time (an import idle for {ImportStaleAfter.TotalMinutes:0} minutes is abandoned)");
        }

        await services.Audit.RecordAsync(caller, ScanAuditActions.VulnDbImport, detail: new { id = start.Import.Id, source, phase = "started" });
        return TypedResults.Created($"/api/v1/vulndb/imports/{start.Import.Id}", VulnDbImportResponse.From(start.Import));
    }

    private static async Task<Results<Ok<VulnDbImportResponse>, ProblemHttpResult>> GetImportAsync(long id, [FromServices] IAdvisoryStore store, CancellationToken cancellationToken) =>
        await store.GetImportAsync(id, cancellationToken) is { } import ? TypedResults.Ok(VulnDbImportResponse.From(import)) : Problems.NotFound($"no import {id}");

    private static async Task<Results<Ok<VulnDbImportResponse>, ValidationProblem, ProblemHttpResult>> AddRecordsAsync(
        long id, [FromServices] IAdvisoryStore store, [FromServices] TimeProvider clock, HttpContext context, CancellationToken cancellationToken)
    {
        RequestBodyLimits.Set(context, MaxRecordsBodyBytes);
        if (context.Request.ContentLength > MaxRecordsBodyBytes)
        {
            return Problems.Problem(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {MaxRecordsBodyBytes} bytes: send fewer records per call");
        }

        if (context.Request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Problem(StatusCodes.Status415UnsupportedMediaType, "the body must be JSON (Content-Type: application/json)");
        }

        List<AdvisoryRecord> records;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, cancellationToken);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return Problems.Invalid("body", "a JSON array of OSV records is required");
            }

            var count = document.RootElement.GetArrayLength();
            if (count is 0 or > MaxRecordsPerCall)
            {
                return Problems.Invalid("body", $"send from 1 to {MaxRecordsPerCall} records per call (this one has {count})");
            }

            records = new List<AdvisoryRecord>(count);
            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                try
                {
                    records.Add(AdvisoryRecordReader.Read(element));
                }
                catch (FormatException ex)
                {
                    var named = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String
                        ? $" ({Cut(idElement.GetString()!)})"
                        : "";
                    return Problems.Invalid($"[{index}]", $"record {index}{named}: {ex.Message}");
                }

                index++;
            }
        }
        catch (JsonException ex)
        {
            return Problems.Invalid("body", "not valid JSON: " + ex.Message);
        }
        catch (BadHttpRequestException ex)
        {
            return ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? Problems.Problem(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {MaxRecordsBodyBytes} bytes: send fewer records per call")
                : Problems.Problem(ex.StatusCode, "the request body could not be read: " + ex.Message);
        }

        var step = await store.AddBatchAsync(id, records, clock.GetUtcNow(), cancellationToken);
        return Step(id, step);
    }

    private static async Task<Results<Ok<VulnDbImportResponse>, ValidationProblem, ProblemHttpResult>> FinishAsync(
        long id, [FromServices] IAdvisoryStore store, [FromServices] TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var step = await store.FinishImportAsync(id, clock.GetUtcNow(), cancellationToken);
        if (step is { Status: AdvisoryImportStepStatus.Done, Import: { } import })
        {
            await services.Audit.RecordAsync(context.Caller(), ScanAuditActions.VulnDbImport, detail: new
            {
                id, source = import.Source, phase = "finished", added = import.Added, updated = import.Updated, unchanged = import.Unchanged,
                withdrawn = import.Withdrawn, version = import.Version,
            });
        }

        return Step(id, step);
    }

    private static Results<Ok<VulnDbImportResponse>, ValidationProblem, ProblemHttpResult> Step(long id, AdvisoryImportStep step) => step.Status switch
    {
        AdvisoryImportStepStatus.Done => TypedResults.Ok(VulnDbImportResponse.From(step.Import!)),
        AdvisoryImportStepStatus.NotRunning => Problems.Conflict($"import {id} is {ScanWords.Of(step.Import!.Status)}: it takes no more records; start a new one"),
        _ => Problems.NotFound($"no import {id}"),
    };

    // ------------------------------------------------------------------ policies

    private static async Task<Results<Ok<ScanPolicyResponse>, ProblemHttpResult>> GetPolicyAsync(
        string project, [FromServices] IScanPolicyStore store, HttpContext context, CancellationToken cancellationToken)
    {
        var name = context.GetProject().Name;
        return await store.GetPolicyAsync(name, cancellationToken) is { } policy
            ? TypedResults.Ok(ScanPolicyResponse.From(name.Value, policy))
            : Problems.ProjectNotFound(project);
    }

    private static async Task<Results<Ok<ScanPolicyResponse>, ValidationProblem, ProblemHttpResult>> SetPolicyAsync(
        string project, [FromServices] IScanPolicyStore store, [FromServices] TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<ScanPolicyRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var severity = BlockSeverity.None;
        if (request.BlockSeverity is not null && !ScanWords.TryParseBlockSeverity(request.BlockSeverity, out severity))
        {
            return Problems.Invalid("blockSeverity", $"unknown severity '{Cut(request.BlockSeverity)}': give LOW, MEDIUM, HIGH, CRITICAL or NONE");
        }

        var name = context.GetProject().Name;
        if (await store.GetPolicyAsync(name, cancellationToken) is not { } current)
        {
            return Problems.ProjectNotFound(project);
        }

        var policy = new ScanPolicy(request.ScanOnPush ?? current.ScanOnPush, request.BlockSeverity is null ? current.BlockSeverity : severity,
            request.BlockUnscanned ?? current.BlockUnscanned, request.SbomOnPush ?? current.SbomOnPush, clock.GetUtcNow(), request.SignedOnly ?? current.SignedOnly);
        if (!await store.SetPolicyAsync(name, policy, cancellationToken))
        {
            return Problems.ProjectNotFound(project);
        }

        context.RequestServices.GetRequiredService<PullPolicyGate>().Invalidate(name); // in force at once on this node
        var response = ScanPolicyResponse.From(name.Value, policy);
        await services.Audit.RecordAsync(context.Caller(), ScanAuditActions.ScanPolicySet, name, detail: new
        {
            scanOnPush = policy.ScanOnPush, blockSeverity = response.BlockSeverity, blockUnscanned = policy.BlockUnscanned, sbomOnPush = policy.SbomOnPush, signedOnly = policy.SignedOnly,
        });
        return TypedResults.Ok(response);
    }

    // ------------------------------------------------------------------ allowlists

    private static async Task<Ok<PageResponse<CveAllowResponse>>> ListAsync(ProjectName? project, IScanPolicyStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var entries = await store.ListAllowAsync(project, cancellationToken);
        return TypedResults.Ok(new PageResponse<CveAllowResponse>(entries.Select(e => CveAllowResponse.From(e, now)).ToList(), null));
    }

    private static async Task<Results<Created<CveAllowResponse>, ValidationProblem, ProblemHttpResult>> AddAsync(
        ProjectName? project, IScanPolicyStore store, TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<CveAllowRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var now = clock.GetUtcNow();
        var validation = new Validation();
        var id = request.Vulnerability?.Trim();
        if (!CveAllowLimits.IsValidId(id))
        {
            validation.Add("vulnerability", $"a vulnerability id (CVE-2024-1234, GHSA-…) of 1 to {CveAllowLimits.MaxIdLength} letters, digits and -_.: is required");
        }

        var reason = request.Reason?.Trim() ?? string.Empty;
        if (reason.Length > CveAllowLimits.MaxReasonLength || reason.Any(c => char.IsControl(c) && c is not '\n' and not '\t'))
        {
            validation.Add("reason", $"at most {CveAllowLimits.MaxReasonLength} characters, no control characters");
        }

        DateTimeOffset? expires = null;
        if (request.ExpiresAt is { } text)
        {
            if (!TryParseExpiry(text, out var at))
            {
                validation.Add("expiresAt", "a date (2026-12-31: the end of that day, UTC) or an RFC 3339 time is required");
            }
            else if (at <= now)
            {
                validation.Add("expiresAt", "is in the past");
            }
            else
            {
                expires = at;
            }
        }

        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var caller = context.Caller();
        var result = await store.AddAllowAsync(new CveAllowEntry(0, project, id!, reason, expires, caller.Name, now), cancellationToken);
        switch (result.Status)
        {
            case CveAllowAddStatus.Exists:
                return Problems.Conflict($"{(project is { } p ? $"project '{p}'" : "the server-wide allowlist")} already lists {result.Entry?.VulnerabilityId ?? id}");
            case CveAllowAddStatus.ProjectNotFound:
                return Problems.ProjectNotFound(project?.Value);
        }

        var entry = result.Entry!;
        context.RequestServices.GetRequiredService<PullPolicyGate>().Invalidate(project);
        await services.Audit.RecordAsync(caller, ScanAuditActions.CveAllowAdd, project, detail: new
        {
            vulnerability = entry.VulnerabilityId, reason = entry.Reason, expiresAt = Wire.Time(entry.ExpiresAt),
        });
        var location = project is { } scope ? $"/api/v1/projects/{scope}/cve-allowlist" : "/api/v1/cve-allowlist";
        return TypedResults.Created(location, CveAllowResponse.From(entry, now));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveAsync(
        ProjectName? project, string vulnerability, IScanPolicyStore store, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        if (!CveAllowLimits.IsValidId(vulnerability) || await store.RemoveAllowAsync(project, vulnerability, cancellationToken) == DeleteResult.NotFound)
        {
            return Problems.NotFound($"{(project is { } p ? $"project '{p}'" : "the server-wide allowlist")} does not list {Cut(vulnerability)}");
        }

        context.RequestServices.GetRequiredService<PullPolicyGate>().Invalidate(project);
        await services.Audit.RecordAsync(context.Caller(), ScanAuditActions.CveAllowRemove, project, detail: new { vulnerability });
        return TypedResults.NoContent();
    }

    /// <summary>A date (the entry lasts through that day, UTC) or an RFC 3339 time.</summary>
    internal static bool TryParseExpiry(string text, out DateTimeOffset at)
    {
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            at = new DateTimeOffset(date.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at) && text.Contains('T', StringComparison.Ordinal);
    }

    private static string Cut(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
