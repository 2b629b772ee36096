using Berth.Application.Retention;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Immutability;
using Berth.Core.Metadata;
using Berth.Core.Retention;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>
/// <c>/api/v1/projects/{project}/retention</c>: the project's retention policy, runs and history. Members read the
/// policy and the history (pull, as Harbor shows tag retention to every member); maintainers, owners and
/// administrators set, remove and run it (<see cref="ProjectPermissions.ManagePolicies"/>). Bodies are validated hard
/// (unknown members, bad globs, counts and durations out of range, too many rules, a bad cron expression: 400 naming the
/// member). Setting, removing and every run are audited.
/// </summary>
internal static class RetentionEndpoints
{
    /// <summary>How many items one answer lists at most (more: <c>itemsNext</c>, then <c>GET …/runs/{id}?after=</c>).</summary>
    public const int MaxItemsPerAnswer = 1000;

    public static void Map(RouteGroupBuilder api)
    {
        var retention = api.MapGroup("/projects/{project}/retention").WithTags("retention");
        retention.MapGet("/", GetAsync).WithName("GetRetentionPolicy")
            .WithSummary("The project's retention policy (members)")
            .RequireProject(ProjectPermissions.Pull).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);
        retention.MapPut("/", SetAsync).WithName("SetRetentionPolicy")
            .WithSummary("Set the project's retention policy: a preset or explicit rules, and a schedule (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().AcceptsJson<RetentionPolicyRequest>()
            .ProducesProblems(StatusCodes.Status404NotFound);
        retention.MapDelete("/", DeleteAsync).WithName("DeleteRetentionPolicy")
            .WithSummary("Remove the project's retention policy; its history stays (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);
        retention.MapPost("/runs", RunAsync).WithName("RunRetention")
            .WithSummary("Run the policy now, or with dryRun list what it would delete (maintainers, owners, administrators)")
            .RequireProject(ProjectPermissions.ManagePolicies).AllowAccessTokens().AcceptsJson<RetentionRunRequest>()
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        retention.MapGet("/runs", ListRunsAsync).WithName("ListRetentionRuns")
            .WithSummary("The project's retention runs, newest first (members)")
            .RequireProject(ProjectPermissions.Pull).AllowAccessTokens();
        retention.MapGet("/runs/{id:long}", GetRunAsync).WithName("GetRetentionRun")
            .WithSummary("One run with the artifacts it deleted or would delete (members)")
            .RequireProject(ProjectPermissions.Pull).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok<RetentionPolicyResponse>, ProblemHttpResult>> GetAsync(
        string project, [FromServices] IRetentionStore store, [FromServices] Microsoft.Extensions.Options.IOptions<RetentionOptions> options, HttpContext context, CancellationToken cancellationToken)
    {
        var name = context.GetProject().Name;
        var settings = await store.GetAsync(name, cancellationToken);
        return settings is null
            ? Problems.NotFound($"project '{name}' has no retention policy")
            : TypedResults.Ok(RetentionPolicyResponse.From(settings, options.Value.UntaggedGrace));
    }

    private static async Task<Results<Ok<RetentionPolicyResponse>, ValidationProblem, ProblemHttpResult>> SetAsync(
        string project, [FromServices] IRetentionStore store, [FromServices] Microsoft.Extensions.Options.IOptions<RetentionOptions> options,
        [FromServices] TimeProvider clock, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<RetentionPolicyRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var validation = new Validation();
        string? preset = null;
        var rules = new List<RetentionRule>();
        if (request.Preset is not null && request.Rules is not null)
        {
            validation.Add("preset", "give either a preset or rules, not both");
        }
        else if (request.Preset is not null)
        {
            if (request.Preset != RetentionLimits.LabPreset)
            {
                validation.Add("preset", $"unknown preset '{Cut(request.Preset)}': the one preset is '{RetentionLimits.LabPreset}'");
            }

            preset = RetentionLimits.LabPreset;
        }
        else if (request.Rules is null)
        {
            validation.Add("rules", $"needs a preset (\"{RetentionLimits.LabPreset}\") or at least one rule");
        }
        else if (request.Rules.Count is 0 or > RetentionLimits.MaxRules)
        {
            validation.Add("rules", $"must hold from 1 to {RetentionLimits.MaxRules} rules");
        }
        else
        {
            for (var i = 0; i < request.Rules.Count; i++)
            {
                if (Rule(request.Rules[i], $"rules[{i}]", validation) is { } rule)
                {
                    rules.Add(rule);
                }
            }
        }

        var schedule = request.Schedule ?? RetentionLimits.DefaultSchedule;
        if (!RetentionSchedule.TryParse(schedule, out _, out var scheduleError))
        {
            validation.Add("schedule", scheduleError);
        }

        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var name = context.GetProject().Name;
        var settings = new RetentionSettings(preset, rules, schedule.Trim(), request.Enabled ?? true, clock.GetUtcNow());
        if (!await store.SetAsync(name, settings, cancellationToken))
        {
            return Problems.ProjectNotFound(project);
        }

        var response = RetentionPolicyResponse.From(settings, options.Value.UntaggedGrace);
        await services.Audit.RecordAsync(context.Caller(), AuditActions.RetentionSet, name,
            detail: new { preset, schedule = settings.Schedule, enabled = settings.Enabled, rules = response.Rules.Select(r => r.Description).ToList() });
        return TypedResults.Ok(response);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string project, [FromServices] IRetentionStore store, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var name = context.GetProject().Name;
        if (await store.DeleteAsync(name, cancellationToken) == DeleteResult.NotFound)
        {
            return Problems.NotFound($"project '{name}' has no retention policy");
        }

        await services.Audit.RecordAsync(context.Caller(), AuditActions.RetentionDelete, name);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Created<RetentionRunResponse>, ValidationProblem, ProblemHttpResult>> RunAsync(
        string project, [FromServices] RetentionRunner runner, [FromServices] IRetentionStore store,
        [FromServices] Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<RetentionRunRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        if (request.DryRun is not { } dryRun)
        {
            return Problems.InvalidProblem("dryRun", "is required: true lists what would be deleted, false deletes it");
        }

        var name = context.GetProject().Name;
        // A client that stops waiting (a timeout, Ctrl-C) does not stop the run halfway: it ends, or the server stops it.
        var outcome = await runner.RunAsync(name, RetentionTrigger.Manual, dryRun, context.Caller(), lifetime.ApplicationStopping);
        switch (outcome.Refusal)
        {
            case RetentionRunRefusal.NoPolicy:
                return Problems.NotFound($"project '{name}' has no retention policy: set one first");
            case RetentionRunRefusal.ProjectNotFound:
                return Problems.ProjectNotFound(project);
            case RetentionRunRefusal.Busy:
                return Problems.Conflict($"a retention run of project '{name}' is in progress: try again when it has ended");
        }

        var run = outcome.Run!;
        var items = await store.ListItemsAsync(name, run.Id, null, MaxItemsPerAnswer, cancellationToken);
        return TypedResults.Created($"/api/v1/projects/{name}/retention/runs/{run.Id}", RetentionRunResponse.From(run, items));
    }

    private static async Task<Results<Ok<PageResponse<RetentionRunResponse>>, ValidationProblem>> ListRunsAsync(
        string project, [AsParameters] PageQuery query, [FromServices] IRetentionStore store, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(query.Limit, query.After, context, out var paging, out var error))
        {
            return error!;
        }

        if (!Cursor.TryId(paging.After, out var before))
        {
            return Problems.InvalidProblem("after", "is not a cursor from a previous page's 'next'");
        }

        var page = await store.ListRunsAsync(context.GetProject().Name, before, paging.Limit, cancellationToken);
        var next = page.HasMore && page.Runs.Count > 0 ? Cursor.Encode(page.Runs[^1].Id) : null;
        return TypedResults.Ok(new PageResponse<RetentionRunResponse>(page.Runs.Select(r => RetentionRunResponse.From(r, null)).ToList(), next));
    }

    private static async Task<Results<Ok<RetentionRunResponse>, ValidationProblem, ProblemHttpResult>> GetRunAsync(
        string project, long id, [AsParameters] PageQuery query, [FromServices] IRetentionStore store, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(query.Limit, query.After, context, out var paging, out var error))
        {
            return error!;
        }

        if (!Cursor.TryId(paging.After, out var after))
        {
            return Problems.InvalidProblem("after", "is not a cursor from a previous answer's 'itemsNext'");
        }

        var name = context.GetProject().Name;
        var run = await store.GetRunAsync(name, id, cancellationToken);
        if (run is null)
        {
            return Problems.NotFound($"no retention run {id} in project '{name}'");
        }

        var limit = string.IsNullOrEmpty(query.Limit) ? MaxItemsPerAnswer : Math.Min(paging.Limit, MaxItemsPerAnswer);
        var items = await store.ListItemsAsync(name, id, after, limit, cancellationToken);
        return TypedResults.Ok(RetentionRunResponse.From(run, items));
    }

    private static RetentionRule? Rule(RetentionRuleRequest request, string field, Validation validation)
    {
        if (request is null)
        {
            validation.Add(field, "is null: give a rule object");
            return null;
        }

        var ok = true;
        var repositories = Filter(request.Repositories, $"{field}.repositories", validation);
        var tags = Filter(request.Tags, $"{field}.tags", validation);
        var untagged = request.Untagged ?? false;
        if (untagged && request.Tags is not null)
        {
            validation.Add($"{field}.tags", "an untagged rule selects artifacts without tags: give no tag filter");
            ok = false;
        }

        var conditions = new List<RetentionCondition>();
        if (request.Always == true)
        {
            conditions.Add(new RetentionCondition.Always());
        }

        foreach (var (count, part, make) in new (int?, string, Func<int, RetentionCondition>)[]
        {
            (request.LatestPushed, "latestPushed", n => new RetentionCondition.LatestPushed(n)),
            (request.LatestPulled, "latestPulled", n => new RetentionCondition.LatestUsed(n)),
        })
        {
            if (count is not { } n)
            {
                continue;
            }

            if (n < 1 || n > RetentionLimits.MaxCount)
            {
                validation.Add($"{field}.{part}", $"must be a whole number from 1 to {RetentionLimits.MaxCount}");
                ok = false;
                continue;
            }

            conditions.Add(make(n));
        }

        foreach (var (text, part, make) in new (string?, string, Func<TimeSpan, RetentionCondition>)[]
        {
            (request.PushedWithin, "pushedWithin", d => new RetentionCondition.PushedWithin(d)),
            (request.PulledWithin, "pulledWithin", d => new RetentionCondition.UsedWithin(d)),
        })
        {
            if (text is null)
            {
                continue;
            }

            if (!RetentionDuration.TryParse(text, out var duration, out var error))
            {
                validation.Add($"{field}.{part}", error);
                ok = false;
                continue;
            }

            conditions.Add(make(duration));
        }

        if (request.Always == true && conditions.Count > 1)
        {
            validation.Add($"{field}.always", "keeps everything the rule selects: give no other condition with it");
            ok = false;
        }
        else if (ok && conditions.Count == 0)
        {
            validation.Add(field, "needs a condition: always, latestPushed, latestPulled, pushedWithin or pulledWithin");
            ok = false;
        }

        return ok && repositories is not null && tags is not null ? new RetentionRule(repositories, tags, untagged, conditions) : null;
    }

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

    private static string Cut(string text) => text.Length <= 32 ? text : text[..32] + "…";
}

/// <summary>
/// A retention policy: either <see cref="Preset"/> (<c>lab</c>) or <see cref="Rules"/> (1 to 20, OR'ed);
/// <see cref="Schedule"/> a five-field cron expression in UTC (default <c>0 3 * * *</c>); <see cref="Enabled"/> whether
/// scheduled runs happen (default true; runs started by hand happen either way).
/// </summary>
public sealed record RetentionPolicyRequest
{
    public string? Preset { get; init; }

    public IReadOnlyList<RetentionRuleRequest>? Rules { get; init; }

    public string? Schedule { get; init; }

    public bool? Enabled { get; init; }
}

/// <summary>
/// A keep rule: what it selects (<see cref="Repositories"/> relative to the project, <see cref="Tags"/>, or with
/// <see cref="Untagged"/> the artifacts without tags) and its conditions, AND'ed: <see cref="Always"/>, the
/// <see cref="LatestPushed"/> / <see cref="LatestPulled"/> most recent, pushed or pulled (else pushed) within a duration
/// (<c>30d</c>, <c>12h</c>, <c>90m</c>, <c>45s</c>).
/// </summary>
public sealed record RetentionRuleRequest
{
    public PatternFilterRequest? Repositories { get; init; }

    public PatternFilterRequest? Tags { get; init; }

    public bool? Untagged { get; init; }

    public bool? Always { get; init; }

    public int? LatestPushed { get; init; }

    public int? LatestPulled { get; init; }

    public string? PushedWithin { get; init; }

    public string? PulledWithin { get; init; }
}

/// <summary>Starts a run: <see cref="DryRun"/> (required) true lists what would be deleted and deletes nothing.</summary>
public sealed record RetentionRunRequest
{
    public bool? DryRun { get; init; }
}

public sealed record RetentionRuleResponse(PatternFilterResponse Repositories, PatternFilterResponse Tags, bool Untagged, bool Always,
    int? LatestPushed, int? LatestPulled, string? PushedWithin, string? PulledWithin, string Description)
{
    public static RetentionRuleResponse From(RetentionRule rule)
    {
        var c = rule.Conditions;
        return new(PatternFilterResponse.From(rule.Repositories), PatternFilterResponse.From(rule.Tags), rule.Untagged,
            c.OfType<RetentionCondition.Always>().Any(),
            c.OfType<RetentionCondition.LatestPushed>().FirstOrDefault()?.Count,
            c.OfType<RetentionCondition.LatestUsed>().FirstOrDefault()?.Count,
            c.OfType<RetentionCondition.PushedWithin>().FirstOrDefault() is { } pushed ? RetentionDuration.Format(pushed.Age) : null,
            c.OfType<RetentionCondition.UsedWithin>().FirstOrDefault() is { } used ? RetentionDuration.Format(used.Age) : null,
            rule.Describe());
    }
}

/// <summary>A policy as stored; for a preset, <see cref="Rules"/> are the rules it stands for on this server.</summary>
public sealed record RetentionPolicyResponse(string? Preset, IReadOnlyList<RetentionRuleResponse> Rules, string Schedule, bool Enabled, string UpdatedAt, string? NextRunAt)
{
    public static RetentionPolicyResponse From(RetentionSettings settings, TimeSpan untaggedGrace)
    {
        var policy = RetentionPresets.Resolve(settings, untaggedGrace);
        var next = settings.Enabled && RetentionSchedule.TryParse(settings.Schedule, out var cron, out _)
            ? RetentionSchedule.Next(cron, settings.LastScheduledAt ?? settings.UpdatedAt)
            : null;
        return new(settings.Preset, policy.Rules.Select(RetentionRuleResponse.From).ToList(), settings.Schedule, settings.Enabled, Wire.Time(settings.UpdatedAt), Wire.Time(next));
    }
}

/// <summary>An artifact a run deleted (<c>deleted</c>), would delete (<c>would_delete</c>) or could not delete (<c>skipped</c>), and why.</summary>
public sealed record RetentionRunItemResponse(string Repository, string Digest, IReadOnlyList<string> Tags, long Size, string Outcome, string Reason);

/// <summary>
/// A run: totals, and (for one run) its items in the order they were recorded, at most 1000 per answer:
/// <see cref="ItemsNext"/> is the <c>after</c> of the next page of <c>GET …/runs/{id}</c>, null when none is left.
/// </summary>
public sealed record RetentionRunResponse(long Id, string Project, string Trigger, bool DryRun, string Actor, string StartedAt, string? FinishedAt, string Status,
    long ArtifactsDeleted, long Skipped, long BytesFreed, string? Error, IReadOnlyList<RetentionRunItemResponse>? Items, string? ItemsNext)
{
    public static RetentionRunResponse From(RetentionRun run, RetentionRunItemPage? items) =>
        new(run.Id, run.Project.Value, RetentionWords.Of(run.Trigger), run.DryRun, run.Actor, Wire.Time(run.StartedAt), Wire.Time(run.FinishedAt),
            RetentionWords.Of(run.Status), run.ArtifactsDeleted, run.Skipped, run.BytesFreed, run.Error,
            items?.Items.Select(i => new RetentionRunItemResponse(i.Repository.Value, i.Digest.ToString(), i.Tags.Select(t => t.Value).ToList(), i.Size,
                RetentionWords.Of(i.Outcome), i.Reason)).ToList(),
            items is { HasMore: true, Items.Count: > 0 } ? Cursor.Encode(items.Items[^1].Id) : null);
}
