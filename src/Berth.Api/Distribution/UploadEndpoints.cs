using Berth.Api.Hosting;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Distribution;

/// <summary>POST /blobs/uploads/ (start, monolithic, mount), PATCH/PUT/GET/DELETE /blobs/uploads/&lt;id&gt;.</summary>
internal static class UploadEndpoints
{
    /// <param name="mountFrom">
    /// The source of a cross-repository mount the caller may pull from; null when the request asks for no mount,
    /// names no source, or the caller may not read the source: then a mount request starts a plain upload (202),
    /// as the specification allows, and never reveals whether the blob exists elsewhere.
    /// </param>
    public static async Task<IResult> StartAsync(HttpContext context, RepositoryName repository, UploadService uploads, RepositoryName? mountFrom)
    {
        var query = context.Request.Query;
        var ct = context.RequestAborted;

        if (query.TryGetValue("mount", out var mountText))
        {
            if (!Digest.TryParse(mountText.ToString(), out var mount))
            {
                return Http.Error(OciErrorCode.DigestInvalid, $"mount digest '{mountText}' is not a valid sha256 or sha512 digest");
            }

            if (query.TryGetValue("from", out var fromText) && fromText.ToString().Length > 0 && !RepositoryName.TryParse(fromText.ToString(), out _))
            {
                return Http.Error(OciErrorCode.NameInvalid, $"'from' repository '{fromText}' is not a valid repository name");
            }

            if (mountFrom is null)
            {
                return Accepted(context, repository, await uploads.StartAsync(repository, ct));
            }

            var outcome = await uploads.MountAsync(repository, mount, mountFrom, ct);
            if (outcome.Mounted is { } mounted)
            {
                return Created(context, repository, mounted.Digest);
            }

            return Accepted(context, repository, outcome.Upload!);
        }

        if (query.TryGetValue("digest", out var digestText))
        {
            if (!Digest.TryParse(digestText.ToString(), out var digest))
            {
                return Http.Error(OciErrorCode.DigestInvalid, $"digest '{digestText}' is not a valid sha256 or sha512 digest");
            }

            var committed = await uploads.UploadMonolithicAsync(repository, digest, context.Request.Body, context.Request.ContentLength, ct);
            return committed.IsSuccess ? Created(context, repository, digest) : Http.Error(committed.Error!);
        }

        var upload = await uploads.StartAsync(repository, ct);
        return Accepted(context, repository, upload);
    }

    public static async Task<IResult> PatchAsync(HttpContext context, RepositoryName repository, string id, UploadService uploads)
    {
        var request = context.Request;
        ContentRange? range = null;
        var rangeText = request.Headers.ContentRange.ToString();
        if (rangeText.Length > 0)
        {
            if (!ContentRange.TryParse(rangeText, out var parsed))
            {
                return await RangeErrorAsync(context, repository, id, uploads, $"Content-Range '{rangeText}' is not of the form <start>-<end>");
            }

            range = parsed;
        }

        var result = await uploads.AppendAsync(repository, id, request.Body, range, request.ContentLength, context.RequestAborted);
        if (!result.IsSuccess)
        {
            return result.Error!.Code == OciErrorCode.RangeInvalid
                ? await RangeErrorAsync(context, repository, id, uploads, result.Error.Message)
                : Http.Error(result.Error);
        }

        return Accepted(context, repository, result.Value!);
    }

    public static async Task<IResult> PutAsync(HttpContext context, RepositoryName repository, string id, UploadService uploads)
    {
        var request = context.Request;
        var digestText = request.Query["digest"].ToString();
        if (digestText.Length == 0)
        {
            return Http.Error(OciErrorCode.DigestInvalid, "the digest query parameter is required to complete an upload");
        }

        if (!Digest.TryParse(digestText, out var digest))
        {
            return Http.Error(OciErrorCode.DigestInvalid, $"digest '{digestText}' is not a valid sha256 or sha512 digest");
        }

        ContentRange? range = null;
        var rangeText = request.Headers.ContentRange.ToString();
        if (rangeText.Length > 0)
        {
            if (!ContentRange.TryParse(rangeText, out var parsed))
            {
                return await RangeErrorAsync(context, repository, id, uploads, $"Content-Range '{rangeText}' is not of the form <start>-<end>");
            }

            range = parsed;
        }

        var body = Http.HasBody(request) ? request.Body : null;
        var result = await uploads.CompleteAsync(repository, id, digest, body, range, request.ContentLength, context.RequestAborted);
        if (!result.IsSuccess)
        {
            return result.Error!.Code == OciErrorCode.RangeInvalid
                ? await RangeErrorAsync(context, repository, id, uploads, result.Error.Message)
                : Http.Error(result.Error);
        }

        return Created(context, repository, digest);
    }

    public static async Task<IResult> GetStatusAsync(HttpContext context, RepositoryName repository, string id, UploadService uploads)
    {
        var status = await uploads.GetStatusAsync(repository, id, context.RequestAborted);
        if (!status.IsSuccess)
        {
            return Http.Error(status.Error!);
        }

        Http.SetUploadHeaders(context.Response, repository, id, status.Value!.Length);
        return Results.NoContent();
    }

    public static async Task<IResult> CancelAsync(HttpContext context, RepositoryName repository, string id, UploadService uploads)
    {
        var result = await uploads.CancelAsync(repository, id, context.RequestAborted);
        return result.IsSuccess ? Results.NoContent() : Http.Error(result.Error!);
    }

    private static async Task<IResult> RangeErrorAsync(HttpContext context, RepositoryName repository, string id, UploadService uploads, string? message)
    {
        // 416 tells the client where the upload really stands, so it can resume from there.
        var status = await uploads.GetStatusAsync(repository, id, CancellationToken.None);
        if (!status.IsSuccess)
        {
            return Http.Error(status.Error!);
        }

        Http.SetUploadHeaders(context.Response, repository, id, status.Value!.Length);
        return new OciErrorResult(new RegistryError(OciErrorCode.RangeInvalid, message, new { uploaded = status.Value.Length }), StatusCodes.Status416RangeNotSatisfiable);
    }

    private static IResult Accepted(HttpContext context, RepositoryName repository, UploadStatus upload)
    {
        Http.SetUploadHeaders(context.Response, repository, upload.Id, upload.Length);
        context.Response.ContentLength = 0;
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static IResult Created(HttpContext context, RepositoryName repository, Digest digest)
    {
        context.Response.Headers.Location = Http.BlobLocation(repository, digest);
        context.Response.Headers[Http.ContentDigest] = digest.ToString();
        context.Response.ContentLength = 0;
        return Results.StatusCode(StatusCodes.Status201Created);
    }
}
