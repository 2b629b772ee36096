using Berth.Core.Storage;
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
