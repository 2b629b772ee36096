using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Berth.Api.Distribution;

/// <summary>GET/HEAD/DELETE /v2/&lt;name&gt;/blobs/&lt;digest&gt;.</summary>
internal static class BlobEndpoints
{
    public static async Task<IResult> GetAsync(HttpContext context, RepositoryName repository, Digest digest, BlobService blobs)
    {
        var found = await blobs.FindAsync(repository, digest, context.RequestAborted);
        if (!found.IsSuccess)
        {
            return Http.Error(found.Error!);
        }

        var blob = found.Value!;
        context.Response.Headers[Http.ContentDigest] = digest.ToString();
        var etag = new EntityTagHeaderValue($"\"{digest}\"");
        if (blob.LocalPath is not null && HttpMethods.IsGet(context.Request.Method) && IsPlainGet(context.Request))
        {
            return new LocalBlobResult(blob.LocalPath, blob.Size, etag.ToString());
        }

        if (blob.LocalPath is not null)
        {
            // The file result sends the file with the server's zero-copy path where it can, and handles
            // Range (206), unsatisfiable ranges (416), conditional requests and HEAD.
            return Results.File(blob.LocalPath, "application/octet-stream", enableRangeProcessing: true, entityTag: etag);
        }

        var stream = await blobs.OpenReadAsync(digest, context.RequestAborted);
        return stream is null
            ? Http.Error(OciErrorCode.BlobUnknown, $"blob {digest} is not in repository {repository}")
            : Results.Stream(stream, "application/octet-stream", enableRangeProcessing: stream.CanSeek, entityTag: etag);
    }

    private static bool IsPlainGet(HttpRequest request)
    {
        var headers = request.Headers;
        return headers.Range.Count == 0 && headers.IfNoneMatch.Count == 0 && headers.IfMatch.Count == 0 &&
               headers.IfModifiedSince.Count == 0 && headers.IfUnmodifiedSince.Count == 0;
    }

    public static async Task<IResult> DeleteAsync(HttpContext context, RepositoryName repository, Digest digest, BlobService blobs)
    {
        var result = await blobs.DeleteAsync(repository, digest, context.RequestAborted);
        if (!result.IsSuccess)
        {
            return Http.Error(result.Error!);
        }

        context.Response.Headers[Http.ContentDigest] = digest.ToString();
        return Results.Accepted();
    }
}
