using Berth.Api.Access;
using Berth.Application.Access;
using Berth.Application.Scanning;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Distribution;

/// <summary>GET/HEAD/PUT/DELETE /v2/&lt;name&gt;/manifests/&lt;reference&gt;.</summary>
internal static class ManifestEndpoints
{
    /// <summary>
    /// The manifest, once the project's pull policies (signed-only, then vulnerabilities) let it through (<see cref="PullPolicyGate"/>, for GET
    /// and HEAD alike); only a served GET counts as a pull.
    /// </summary>
    public static async Task<IResult> GetAsync(HttpContext context, RepositoryName repository, Reference reference, ManifestService manifests, PullPolicyGate gate)
    {
        var isHead = HttpMethods.IsHead(context.Request.Method);
        var result = await manifests.GetAsync(repository, reference, countAsPull: false, context.RequestAborted);
        if (!result.IsSuccess)
        {
            return Http.Error(result.Error!);
        }

        var manifest = result.Value!;
        var caller = context.GetCaller() ?? Caller.Anonymous(context.Connection.RemoteIpAddress);
        if (await gate.CheckAsync(caller, repository, reference, manifest, context.RequestAborted) is { } refused)
        {
            return Http.Error(refused);
        }

        if (!isHead)
        {
            await manifests.RecordPullAsync(repository, reference, manifest);
        }

        var response = context.Response;
        response.Headers[Http.ContentDigest] = manifest.Digest.ToString();
        response.Headers.ETag = $"\"{manifest.Digest}\"";
        response.ContentType = manifest.MediaType;
        response.ContentLength = manifest.Body.Length;
        if (isHead)
        {
            return Results.Empty;
        }

        return Results.Bytes(manifest.Body, manifest.MediaType);
    }

    public static async Task<IResult> PutAsync(HttpContext context, RepositoryName repository, Reference reference, ManifestService manifests)
    {
        var request = context.Request;
        var limit = manifests.MaxManifestBytes;
        Hosting.RequestBodyLimits.Set(context, limit);
        if (request.ContentLength > limit)
        {
            return Http.Error(OciErrorCode.ManifestTooLarge, $"manifest is {request.ContentLength} bytes; the limit is {limit} bytes");
        }

        // Manifests are small documents (at most the limit above), so reading one whole is bounded.
        var body = await ReadLimitedAsync(request.Body, limit, context.RequestAborted);
        if (body is null)
        {
            return Http.Error(OciErrorCode.ManifestTooLarge, $"manifest exceeds the limit of {limit} bytes");
        }

        var result = await manifests.PutAsync(repository, reference, request.ContentType, body.Value, context.RequestAborted);
        if (!result.IsSuccess)
        {
            return Http.Error(result.Error!);
        }

        var stored = result.Value!;
        var response = context.Response;
        response.Headers.Location = $"/v2/{repository}/manifests/{stored.Digest}";
        response.Headers[Http.ContentDigest] = stored.Digest.ToString();
        if (stored.Subject is { } subject)
        {
            response.Headers["OCI-Subject"] = subject.ToString();
        }

        response.ContentLength = 0;
        return Results.StatusCode(StatusCodes.Status201Created);
    }

    public static async Task<IResult> DeleteAsync(HttpContext context, RepositoryName repository, Reference reference, ManifestService manifests)
    {
        var result = await manifests.DeleteAsync(repository, reference, context.RequestAborted);
        if (!result.IsSuccess)
        {
            return Http.Error(result.Error!);
        }

        return Results.Accepted();
    }

    /// <summary>The manifest named by a reference that no manifest can have (not a valid tag or digest).</summary>
    public static IResult Unknown(RepositoryName repository, string reference) =>
        Http.Error(OciErrorCode.ManifestUnknown, $"manifest '{reference}' is not in repository {repository}: it is not a valid tag or digest",
            new { repository = repository.Value, reference });

    /// <summary>The body, or null when it is longer than <paramref name="limit"/>.</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadLimitedAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            int read;
            try
            {
                read = await body.ReadAsync(chunk, cancellationToken);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return null; // the server's own count of the limit set above
            }

            if (read == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }
    }
}
