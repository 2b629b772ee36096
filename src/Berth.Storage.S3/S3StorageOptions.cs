namespace Berth.Storage.S3;

/// <summary>
/// Where the S3 store keeps blobs and uploads (configuration section <see cref="Section"/>), and how it signs in.
/// <para>
/// The same settings can come from the storage URI (<c>--storage s3://BUCKET/PREFIX?endpoint=URL&amp;region=R&amp;path-style=true&amp;redirect=true</c>):
/// the URI wins for what it states (its bucket and prefix always; <c>endpoint</c>, <c>region</c>, <c>path-style</c> and
/// <c>redirect</c> when present), the section supplies the rest. Any other query key, or a URI with a user name or
/// password in it, is a start-up error. Credentials never come from the URI (it shows in the process list): they are
/// <see cref="AccessKeyId"/> and <see cref="SecretAccessKey"/> from the section, else the environment's
/// <c>AWS_ACCESS_KEY_ID</c> and <c>AWS_SECRET_ACCESS_KEY</c> (with <c>AWS_SESSION_TOKEN</c> when set), else the SDK's
/// default chain (instance or pod role). The region, when neither the URI nor the section names it, is
/// <c>AWS_REGION</c> (or <c>AWS_DEFAULT_REGION</c>).
/// </para>
/// </summary>
public sealed class S3StorageOptions
{
    /// <summary>The configuration section of this provider.</summary>
    public const string Section = "Berth:Storage:S3";

    /// <summary>The bucket (it must exist; the server never creates it).</summary>
    public string? Bucket { get; set; }

    /// <summary>Key prefix below which <c>blobs/</c> and <c>uploads/</c> live; empty for the bucket's root.</summary>
    public string? Prefix { get; set; }

    /// <summary>The S3 endpoint (<c>http://127.0.0.1:7480</c> for radosgw, MinIO…); null for AWS itself (by region).</summary>
    public string? Endpoint { get; set; }

    /// <summary>The region requests are signed for (<c>us-east-1</c> for most S3-compatible servers).</summary>
    public string? Region { get; set; }

    /// <summary>Addresses the bucket in the path (<c>http://host/bucket/key</c>) rather than the host name; what radosgw and MinIO usually need.</summary>
    public bool PathStyle { get; set; }

    public string? AccessKeyId { get; set; }

    public string? SecretAccessKey { get; set; }

    /// <summary>Session token of temporary credentials (from <c>AWS_SESSION_TOKEN</c> when the keys come from the environment).</summary>
    public string? SessionToken { get; set; }

    /// <summary>
    /// Sends registry clients that pull a blob to a presigned URL of the object (HTTP 307) instead of streaming it
    /// through the server. Off by default: the clients must then reach the S3 endpoint themselves.
    /// </summary>
    public bool Redirect { get; set; }

    /// <summary>How long a presigned redirect URL stays valid (1 second to 7 days).</summary>
    public TimeSpan RedirectExpiry { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>
    /// How long an upload's writer lock holds without renewal (2 seconds to 1 hour; default 30 s). A writer renews it
    /// while it writes; a node that dies mid-chunk leaves it behind, and no other node may append to that upload until
    /// it lapses (the client is answered 416 "appended to concurrently" meanwhile and resumes after it).
    /// </summary>
    public TimeSpan UploadLockLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Memory for the bytes of small blobs (up to 1 MiB each; configs, small layers, signatures) read from the bucket,
    /// so a hot small pull costs no S3 request (default 64 MiB; 0 turns it off). Blobs are named by their digest, so
    /// what is cached is never wrong (see <see cref="Berth.Core.Storage.SmallBlobCache"/>).
    /// </summary>
    public long BlobCacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Reads whole blobs from a plain-HTTP endpoint over sockets of their own (default on), so that on Linux the server
    /// passes the bytes from the S3 server's connection to the client's inside the kernel (<c>splice(2)</c>) instead of
    /// reading them into memory and writing them out again. Off: every read goes through the HTTP client.
    /// </summary>
    public bool SocketReads { get; set; } = true;

    /// <summary>What was wrong with the storage URI, reported by the validator as a start-up error; null when it was fine.</summary>
    internal string? LocationError { get; set; }

    /// <summary>The key prefix as keys are built from it: empty, or the prefix with one trailing slash.</summary>
    internal string KeyPrefix => string.IsNullOrEmpty(Prefix) ? string.Empty : Prefix.Trim('/') + "/";
}
