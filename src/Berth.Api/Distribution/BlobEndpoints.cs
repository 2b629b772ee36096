using Berth.Core.Registry;
using Berth.Core.Storage;
using Berth.Oci;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Berth.Api.Distribution;

/// <summary>GET/HEAD/DELETE /v2/&lt;name&gt;/blobs/&lt;digest&gt;.</summary>
internal static class BlobEndpoints
{
    private const string OctetStream = "application/octet-stream";

    /// <summary>
    /// Serves the blob, or the single byte range a <c>Range</c> header asks for (206 with <c>Content-Range</c>; 416 with
    /// <c>Content-Range: bytes */size</c> when it selects nothing). A header that is not one bytes range (several ranges,
    /// another unit, text that is not a range) is ignored and the whole blob served, as is one whose <c>If-Range</c>
    /// does not name the digest's ETag. <c>If-None-Match</c> on the ETag answers 304, a failed <c>If-Match</c> 412.
    /// HEAD answers the same status and headers without a body and without opening the blob.
    /// </summary>
    public static async Task<IResult> GetAsync(HttpContext context, RepositoryName repository, Digest digest, BlobService blobs)
    {
        var request = context.Request;
        var etag = new EntityTagHeaderValue($"\"{digest}\"");
        ByteRange? range = ByteRange.TryParseHeader(request.Headers.Range.Count == 0 ? null : request.Headers.Range.ToString(), out var asked) &&
                           IfRangeHolds(request.Headers.IfRange, etag)
            ? asked
            : null;

        if (HttpMethods.IsHead(request.Method))
        {
            var found = await blobs.FindAsync(repository, digest, context.RequestAborted);
            if (!found.IsSuccess)
            {
                return Http.Error(found.Error!);
            }

            var size = found.Value!.Size;
            var head = range is not { } r ? new BlobRead.LocalFile(string.Empty, 0, size, size)
                : r.TryResolve(size, out var offset, out var length) ? new BlobRead.LocalFile(string.Empty, offset, length, size)
                : (BlobRead)new BlobRead.RangeNotSatisfiable(size);
            return Answer(context, digest, etag, range is not null, head, headOnly: true);
        }

        var opened = await blobs.OpenAsync(repository, digest, range, new BlobReadOptions(AllowRedirect: true), context.RequestAborted);
        if (!opened.IsSuccess)
        {
            return Http.Error(opened.Error!);
        }

        if (opened.Value is BlobRead.Streamed streamed)
        {
            context.Response.RegisterForDisposeAsync(streamed.Content); // whatever the answer turns out to be
        }

        return Answer(context, digest, etag, range is not null, opened.Value!, headOnly: false);
    }

    /// <summary>The one switch over what the store answered (or, for HEAD, what it would).</summary>
    private static IResult Answer(HttpContext context, Digest digest, EntityTagHeaderValue etag, bool ranged, BlobRead read, bool headOnly)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers[Http.ContentDigest] = digest.ToString();
        response.Headers.ETag = etag.ToString();
        response.Headers.AcceptRanges = "bytes";
        if (request.Headers.IfMatch.Count > 0 && !Matches(request.Headers.IfMatch, etag, strong: true))
        {
            return Results.StatusCode(StatusCodes.Status412PreconditionFailed);
        }

        if (request.Headers.IfNoneMatch.Count > 0 && Matches(request.Headers.IfNoneMatch, etag, strong: false))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        switch (read)
        {
            case BlobRead.RangeNotSatisfiable unsatisfiable:
                response.Headers.ContentRange = $"bytes */{unsatisfiable.TotalSize}";
                return Results.StatusCode(StatusCodes.Status416RangeNotSatisfiable);

            case BlobRead.Redirect redirect:
                response.Headers.Remove(HeaderNames.AcceptRanges);
                return Results.Redirect(redirect.Location.AbsoluteUri, permanent: false, preserveMethod: true);

            case BlobRead.LocalFile file:
                SetContentHeaders(response, ranged, file.Offset, file.Length, file.TotalSize);
                return headOnly ? Results.Empty : new LocalBlobResult(file.Path, file.Offset, file.Length);

            case BlobRead.Streamed stream:
                SetContentHeaders(response, ranged, stream.Offset, stream.Length, stream.TotalSize);
                return new StreamedBlobResult(stream.Content, stream.Length);

            default: // NotFound never reaches here: BlobService answers BLOB_UNKNOWN for it
                return Http.Error(OciErrorCode.BlobUnknown, $"blob {digest} is not available", new { digest = digest.ToString() });
        }
    }

    private static void SetContentHeaders(HttpResponse response, bool ranged, long offset, long length, long totalSize)
    {
        response.StatusCode = ranged ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        response.ContentType = OctetStream;
        response.ContentLength = length;
        if (ranged)
        {
            response.Headers.ContentRange = $"bytes {offset}-{offset + length - 1}/{totalSize}";
        }
    }

    /// <summary>
    /// True when a Range may be honoured: no <c>If-Range</c>, or one naming this ETag (strongly). A date cannot match,
    /// since blobs are served without <c>Last-Modified</c>.
    /// </summary>
    private static bool IfRangeHolds(StringValues ifRange, EntityTagHeaderValue etag) =>
        ifRange.Count == 0 ||
        (EntityTagHeaderValue.TryParse(ifRange.ToString(), out var tag) && tag.Compare(etag, useStrongComparison: true));

    private static bool Matches(StringValues header, EntityTagHeaderValue etag, bool strong)
    {
        if (!EntityTagHeaderValue.TryParseList(header, out var tags))
        {
            return false;
        }

        foreach (var tag in tags)
        {
            if (tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(etag, strong))
            {
                return true;
            }
        }

        return false;
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
