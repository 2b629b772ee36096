using System.Text.Json;
using Berth.Core;
using Berth.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Hosting;

/// <summary>
/// Runs every provider's <see cref="IProviderProbe"/> for <c>/readyz</c>, each bounded by <see cref="ProbeTimeout"/>,
/// all at once, and keeps the answer for <see cref="CacheFor"/> so a load balancer polling every node often costs one
/// round of probes per second at most.
/// </summary>
public sealed class ReadinessMonitor(IEnumerable<IProviderProbe> probes, TimeProvider clock)
{
    /// <summary>How long one probe may take before it counts as failed.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long an answer is reused.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    private readonly IProviderProbe[] _probes = probes.ToArray();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (Readiness Answer, DateTimeOffset At)? _last;

    /// <summary>One probe's answer: the setting it checks and why it failed (null when it is ready).</summary>
    public readonly record struct Check(string Setting, string? Failure);

    /// <summary>Every probe's answer; ready when none failed.</summary>
    public sealed record Readiness(IReadOnlyList<Check> Checks)
    {
        public bool Ready => Checks.All(c => c.Failure is null);
    }

    public async Task<Readiness> CheckAsync(CancellationToken cancellationToken)
    {
        if (_last is { } cached && clock.GetUtcNow() - cached.At < CacheFor)
        {
            return cached.Answer;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_last is { } again && clock.GetUtcNow() - again.At < CacheFor)
            {
                return again.Answer;
            }

            var checks = await Task.WhenAll(_probes.Select(ProbeAsync));
            var answer = new Readiness(checks);
            _last = (answer, clock.GetUtcNow());
            return answer;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task<Check> ProbeAsync(IProviderProbe probe)
    {
        using var timeout = new CancellationTokenSource(ProbeTimeout);
        try
        {
            return new Check(probe.Setting, await probe.ProbeAsync(timeout.Token).WaitAsync(timeout.Token));
        }
        catch (OperationCanceledException)
        {
            return new Check(probe.Setting, $"no answer within {ProbeTimeout.TotalSeconds:0} s");
        }
#pragma warning disable CA1031 // A probe that throws is a failed probe, reported, never a 500 from /readyz.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return new Check(probe.Setting, ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" "));
        }
    }
}

/// <summary>
/// <c>/healthz</c> (the process answers: 200 always) and <c>/readyz</c> (200 when every store answers, 503 with the
/// failing ones otherwise), for load balancers and orchestrators. <c>/readyz</c> also reports the free space of a store
/// that has one (<see cref="IStorageSpace"/>, <c>"storage"</c>) without changing its status: a node whose disk is full
/// still serves pulls and deletes, so a load balancer must not drop it. No authentication: they reveal which settings fail
/// and why in one line each, never a secret.
/// </summary>
public static class HealthEndpoints
{
    public const string HealthPath = "/healthz";
    public const string ReadyPath = "/readyz";

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(HealthPath, ["GET", "HEAD"], (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Text("{\"status\":\"ok\"}", "application/json");
        });
        endpoints.MapMethods(ReadyPath, ["GET", "HEAD"], async (HttpContext context, ReadinessMonitor monitor) =>
        {
            var readiness = await monitor.CheckAsync(context.RequestAborted);
            context.Response.Headers.CacheControl = "no-store";
            context.Response.StatusCode = readiness.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "application/json";
            if (HttpMethods.IsHead(context.Request.Method))
            {
                return;
            }

            await using var json = new Utf8JsonWriter(context.Response.Body);
            json.WriteStartObject();
            json.WriteString("status", readiness.Ready ? "ready" : "unavailable");
            json.WriteStartArray("checks");
            foreach (var check in readiness.Checks)
            {
                json.WriteStartObject();
                json.WriteString("setting", check.Setting);
                json.WriteString("status", check.Failure is null ? "ok" : "failed");
                if (check.Failure is not null)
                {
                    json.WriteString("reason", check.Failure);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (context.RequestServices.GetService<IStorageSpace>() is { } space)
            {
                // Free space is reported, never a reason to answer 503: a full store still serves every pull.
                var report = space.Report();
                json.WriteStartObject("storage");
                json.WriteNumber("totalBytes", report.TotalBytes);
                json.WriteNumber("freeBytes", report.FreeBytes);
                json.WriteNumber("reserveBytes", report.ReserveBytes);
                json.WriteBoolean("reserveReached", report.ReserveReached);
                json.WriteString("uploads", report.ReserveReached ? "refused" : "accepted");
                json.WriteEndObject();
            }

            json.WriteEndObject();
            await json.FlushAsync(context.RequestAborted);
        });
        return endpoints;
    }

    /// <summary>Registers the <see cref="ReadinessMonitor"/>.</summary>
    public static IServiceCollection AddHealthEndpoints(this IServiceCollection services)
    {
        services.AddSingleton<ReadinessMonitor>();
        return services;
    }
}
