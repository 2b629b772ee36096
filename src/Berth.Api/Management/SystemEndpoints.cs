using Berth.Application.Storage;
using Berth.Core;
using Berth.Core.Gc;
using Berth.Core.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>
/// The free space of the blob store, with its reserve: <c>{"totalBytes", "freeBytes", "reserveBytes", "reserveReached",
/// "uploads"}</c> for the file store (<see cref="IStorageSpace"/>); an object store has no figure of its own
/// (<c>"measured": false</c>; its quota, when it has one, shows as 507 answers).
/// </summary>
/// <param name="Storage"><c>filesystem</c> (measured) or <c>objectstore</c> (S3, Azure Blob: not measured).</param>
/// <param name="Measured">Whether the figures below exist (the file store).</param>
/// <param name="Path">The folder measured (administrators only see this endpoint).</param>
/// <param name="TotalBytes">Size of its file system.</param>
/// <param name="FreeBytes">Bytes available.</param>
/// <param name="ReserveBytes">Free space kept for deletes and metadata (<c>--storage-reserve</c>); 0: none.</param>
/// <param name="ReserveReached">Whether free space is below the reserve.</param>
/// <param name="Uploads"><c>accepted</c>, or <c>refused</c> while the reserve is reached.</param>
public sealed record StorageResponse(string Storage, bool Measured, string? Path, long? TotalBytes, long? FreeBytes, long? ReserveBytes, bool ReserveReached, string Uploads);

/// <summary><c>/api/v1/system/…</c>: the state of the server, for server administrators.</summary>
internal static class SystemEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/system/storage", GetStorage).WithTags("system").WithName("GetStorage")
            .WithSummary("Free space of the blob store and its reserve (administrators)")
            .RequireAdministrator();
        api.MapGet("/system/gc", GetGc).WithTags("system").WithName("GetGarbageCollection")
            .WithSummary("Garbage collection: settings, the run in progress with its counters, the last runs of this node (administrators)")
            .RequireAdministrator();
        api.MapGet("/system/gc/{id}", GetGcRun).WithTags("system").WithName("GetGarbageCollectionRun")
            .WithSummary("One garbage collection run with the blobs it collected (or would collect: dry run), at most 1000 named (administrators)")
            .RequireAdministrator().ProducesProblems(StatusCodes.Status404NotFound);
        api.MapPost("/system/gc", StartGcAsync).WithTags("system").WithName("StartGarbageCollection")
            .WithSummary("Start a garbage collection run now, {\"dryRun\": true} to only list what would go (administrators); 409 while one runs")
            .RequireAdministrator().AcceptsJson<GcRunRequest>().ProducesProblems(StatusCodes.Status409Conflict);
    }

    private static Ok<GcStatusResponse> GetGc([FromServices] GarbageCollector collector, [FromServices] IOptions<RegistryOptions> options)
    {
        var interval = options.Value.GcInterval;
        var current = collector.Current;
        return TypedResults.Ok(new GcStatusResponse(
            (long)collector.Grace.TotalSeconds,
            interval > TimeSpan.Zero ? (long)interval.TotalSeconds : null,
            current is null ? null : GcRunResponse.From(current.Report(withBlobs: false), withBlobs: false),
            collector.History.Select(r => GcRunResponse.From(r.Report(withBlobs: false), withBlobs: false)).ToList()));
    }

    private static Results<Ok<GcRunResponse>, ProblemHttpResult> GetGcRun(string id, [FromServices] GarbageCollector collector) =>
        collector.Find(id) is { } run
            ? TypedResults.Ok(GcRunResponse.From(run.Report(), withBlobs: true))
            : Problems.NotFound($"no garbage collection run '{id}' on this node (a node keeps its last {GarbageCollector.HistorySize})");

    private static async Task<Results<Accepted<GcRunResponse>, ValidationProblem, ProblemHttpResult>> StartGcAsync(
        [FromServices] GarbageCollection collection, HttpContext context, CancellationToken cancellationToken)
    {
        var request = new GcRunRequest();
        if (context.Request.ContentLength is not 0)
        {
            var body = await RequestBody.ReadAsync<GcRunRequest>(context);
            if (body.Value is not { } read)
            {
                return body.Invalid is { } invalid ? invalid : body.Refused!;
            }

            request = read;
        }

        var run = await collection.StartAsync(request.DryRun, context.Caller(), cancellationToken);
        if (run is null)
        {
            return Problems.Conflict("a garbage collection run is in progress (on this node or another); see GET /api/v1/system/gc");
        }

        return TypedResults.Accepted($"/api/v1/system/gc/{run.Id}", GcRunResponse.From(run.Report(withBlobs: false), withBlobs: false));
    }

    private static Ok<StorageResponse> GetStorage(HttpContext context)
    {
        var storage = context.RequestServices.GetService(typeof(IStorageSpace)) is IStorageSpace space ? space : null;
        if (storage is null)
        {
            return TypedResults.Ok(new StorageResponse("objectstore", false, null, null, null, null, false, "accepted"));
        }

        var report = storage.Report();
        return TypedResults.Ok(new StorageResponse("filesystem", true, report.Location, report.TotalBytes, report.FreeBytes, report.ReserveBytes,
            report.ReserveReached, report.ReserveReached ? "refused" : "accepted"));
    }
}

/// <summary>The body of <c>POST /api/v1/system/gc</c> (optional: no body is a real run).</summary>
public sealed record GcRunRequest
{
    /// <summary>Only list what would be collected; nothing is deleted.</summary>
    public bool DryRun { get; init; }
}

/// <summary>A blob a run collected or would collect.</summary>
public sealed record GcBlobResponse(string Digest, long Size);

/// <summary>
/// A garbage collection run: <c>state</c> running, succeeded or failed; the counters move while it runs. <c>blobs</c>
/// (only on <c>GET /system/gc/{id}</c>) names at most 1000 of the <c>blobsCollected</c>; <c>blobsTruncated</c> when there are more.
/// </summary>
public sealed record GcRunResponse(
    string Id, bool DryRun, string Trigger, string State, string StartedAt, string? FinishedAt, double? Seconds, long GraceSeconds,
    long BlobsExamined, long BlobsCollected, long BytesFreed, IReadOnlyList<GcBlobResponse>? Blobs, bool BlobsTruncated, string? Error)
{
    public static GcRunResponse From(GcRunReport report, bool withBlobs)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new(report.Id, report.DryRun, report.Trigger, report.State.ToString().ToLowerInvariant(), Wire.Time(report.StartedAt),
            report.FinishedAt is { } end ? Wire.Time(end) : null,
            report.FinishedAt is { } finished ? Math.Round((finished - report.StartedAt).TotalSeconds, 3) : null,
            (long)report.Grace.TotalSeconds, report.BlobsExamined, report.BlobsCollected, report.BytesFreed,
            withBlobs ? report.Blobs.Select(b => new GcBlobResponse(b.Digest.ToString(), b.Size)).ToList() : null, report.BlobsTruncated, report.Error);
    }
}

/// <summary>Garbage collection's settings (<c>intervalSeconds</c> null: scheduled runs off), the run in progress on this node, and this node's last runs, newest first.</summary>
public sealed record GcStatusResponse(long GraceSeconds, long? IntervalSeconds, GcRunResponse? Current, IReadOnlyList<GcRunResponse> Runs);
