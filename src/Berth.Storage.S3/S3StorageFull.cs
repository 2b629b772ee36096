using System.Net;
using Amazon.S3;
using Berth.Core.Storage;

namespace Berth.Storage.S3;

/// <summary>
/// An S3 server that refuses a write for lack of room: Ceph radosgw's bucket or user quota (<c>QuotaExceeded</c>, 403),
/// MinIO's full drives (<c>XMinioStorageFull</c>, 507) and bucket quota (<c>XMinioAdminBucketQuotaExceeded</c>), and
/// any answer with status 507 Insufficient Storage. Answered as the registry's storage being full (507).
/// </summary>
public sealed class S3StorageFull : IStorageFullDetector
{
    /// <summary>The error codes that mean "no room", as the servers send them.</summary>
    public static readonly IReadOnlySet<string> ErrorCodes = new HashSet<string>(StringComparer.Ordinal)
    {
        "QuotaExceeded",
        "XMinioStorageFull",
        "XMinioAdminBucketQuotaExceeded",
    };

    public bool IsStorageFull(Exception exception) => exception is AmazonS3Exception s3
        && (s3.StatusCode == HttpStatusCode.InsufficientStorage || (s3.ErrorCode is { } code && ErrorCodes.Contains(code)));
}
