using Berth.Api.Hosting;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Distribution;

/// <summary>Small helpers shared by the /v2 handlers.</summary>
internal static class Http
{
    public const string ContentDigest = "Docker-Content-Digest";
    public const string UploadUuid = "Docker-Upload-UUID";

    public static IResult Error(RegistryError error) => new OciErrorResult(error);

    public static IResult Error(OciErrorCode code, string? message = null, object? detail = null) => OciErrorResult.Of(code, message, detail);

    /// <summary>True when the request carries a body (a positive Content-Length, or chunked transfer encoding).</summary>
    public static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 ||
        (request.ContentLength is null && request.Headers.TransferEncoding.ToString().Contains("chunked", StringComparison.OrdinalIgnoreCase));

    public static string UploadLocation(RepositoryName repository, string id) => $"/v2/{repository}/blobs/uploads/{id}";

    public static string BlobLocation(RepositoryName repository, Digest digest) => $"/v2/{repository}/blobs/{digest}";

    /// <summary>The <c>Range</c> an upload reports: inclusive end offset of what was received (<c>0-0</c> when empty, as distribution does).</summary>
    public static string UploadRange(long length) => $"0-{Math.Max(0, length - 1)}";

    public static void SetUploadHeaders(HttpResponse response, RepositoryName repository, string id, long length)
    {
        response.Headers.Location = UploadLocation(repository, id);
        response.Headers.Range = UploadRange(length);
        response.Headers[UploadUuid] = id;
    }

    /// <summary>Parses the optional <c>n</c> pagination parameter; null means "not given".</summary>
    public static bool TryGetPageSize(HttpRequest request, out int? n)
    {
        n = null;
        var text = request.Query["n"].ToString();
        if (text.Length == 0)
        {
            return true;
        }

        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            n = value;
            return true;
        }

        return false;
    }
}
