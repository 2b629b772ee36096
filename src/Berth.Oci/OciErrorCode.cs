namespace Berth.Oci;

/// <summary>The error codes of the OCI distribution spec (plus the few distribution adds), each with its HTTP status.</summary>
public enum OciErrorCode
{
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    TagInvalid,
    RangeInvalid,
    PaginationNumberInvalid,
    ManifestTooLarge,

    /// <summary>A store the registry needs cannot be reached now (distribution's <c>UNAVAILABLE</c>): 503, try again.</summary>
    Unavailable,
    /// <summary>
    /// The registry's storage is full: 507 with the wire code <c>DENIED</c>, which clients do not retry (docker retries
    /// most other codes several times) and print with its message.
    /// </summary>
    StorageFull,

    /// <summary>The server failed (an unhandled exception): 500, nothing about the cause on the wire.</summary>
    Unknown,
}

/// <summary>The one table that maps an <see cref="OciErrorCode"/> to its wire code, status and default message.</summary>
public static class OciErrors
{
    public static (string Code, int Status, string Message) Describe(OciErrorCode code) => code switch
    {
        OciErrorCode.BlobUnknown => ("BLOB_UNKNOWN", 404, "blob unknown to registry"),
        OciErrorCode.BlobUploadInvalid => ("BLOB_UPLOAD_INVALID", 400, "blob upload invalid"),
        OciErrorCode.BlobUploadUnknown => ("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"),
        OciErrorCode.DigestInvalid => ("DIGEST_INVALID", 400, "provided digest did not match uploaded content"),
        OciErrorCode.ManifestBlobUnknown => ("MANIFEST_BLOB_UNKNOWN", 400, "manifest references a manifest or blob unknown to registry"),
        OciErrorCode.ManifestInvalid => ("MANIFEST_INVALID", 400, "manifest invalid"),
        OciErrorCode.ManifestUnknown => ("MANIFEST_UNKNOWN", 404, "manifest unknown to registry"),
        OciErrorCode.NameInvalid => ("NAME_INVALID", 400, "invalid repository name"),
        OciErrorCode.NameUnknown => ("NAME_UNKNOWN", 404, "repository name not known to registry"),
        OciErrorCode.SizeInvalid => ("SIZE_INVALID", 400, "provided length did not match content length"),
        OciErrorCode.Unauthorized => ("UNAUTHORIZED", 401, "authentication required"),
        OciErrorCode.Denied => ("DENIED", 403, "requested access to the resource is denied"),
        OciErrorCode.Unsupported => ("UNSUPPORTED", 405, "the operation is unsupported"),
        OciErrorCode.TooManyRequests => ("TOOMANYREQUESTS", 429, "too many requests"),
        OciErrorCode.TagInvalid => ("TAG_INVALID", 400, "manifest tag did not match URI"),
        OciErrorCode.RangeInvalid => ("RANGE_INVALID", 416, "invalid content range"),
        OciErrorCode.PaginationNumberInvalid => ("PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested"),
        OciErrorCode.ManifestTooLarge => ("MANIFEST_INVALID", 413, "manifest too large"),
        OciErrorCode.Unavailable => ("UNAVAILABLE", 503, "service unavailable"),
        OciErrorCode.StorageFull => ("DENIED", 507, "the registry's storage is full"),
        OciErrorCode.Unknown => ("UNKNOWN", 500, "internal server error"),
        _ => ("UNKNOWN", 500, "unknown error"),
    };
}
