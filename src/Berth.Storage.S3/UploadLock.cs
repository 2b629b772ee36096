using System.Globalization;
using System.Net;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;

namespace Berth.Storage.S3;

/// <summary>
/// Makes one writer (or the final commit) the only one on an upload, across processes and nodes: the lock object
/// <c>uploads/&lt;id&gt;/lock</c> is created with <c>If-None-Match: *</c>, so of two creators exactly one succeeds. It
/// holds a lease (its expiry in the body) that the holder renews while it writes; a lock left by a process that died
/// is taken over once its lease has run out, by a put conditional on the stale lock's ETag, so of two nodes taking it
/// over only one wins. The lock only keeps writers apart: what belongs to the upload is decided by the caller's
/// compare-and-set of the store state, so a lease that lapses while a writer stalls costs no correctness.
/// </summary>
internal sealed partial class UploadLock
{
    private readonly S3Bucket _bucket;
    private readonly string _key;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _lease;
    private readonly ILogger _logger;
    private readonly string _owner = UploadSegments.NewToken();
    private string? _etag;
    private DateTimeOffset _renewedAt;

    private UploadLock(S3Bucket bucket, string key, TimeProvider clock, TimeSpan lease, ILogger logger)
    {
        (_bucket, _key, _clock, _lease, _logger) = (bucket, key, clock, lease, logger);
    }

    /// <summary>
    /// The lock of an upload only one request knows (<see cref="S3BlobStore.CreatePrivateAsync"/>): nothing to keep
    /// apart, so nothing is stored, renewed or released.
    /// </summary>
    public static UploadLock Unshared(S3Bucket bucket, string uploadId, TimeProvider clock, ILogger logger) =>
        new(bucket, bucket.LockKey(uploadId), clock, TimeSpan.Zero, logger);

    /// <summary>Takes the upload's lock; null when another holder's lease is current.</summary>
    public static async Task<UploadLock?> TryTakeAsync(S3Bucket bucket, string uploadId, TimeProvider clock, TimeSpan lease, ILogger logger, CancellationToken cancellationToken)
    {
        var held = new UploadLock(bucket, bucket.LockKey(uploadId), clock, lease, logger);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (await held.PutAsync(ifNoneMatch: true, ifMatch: null, cancellationToken).ConfigureAwait(false))
            {
                return held;
            }

            // Held, or left behind: a lease that has run out may be taken over, conditionally on the object we read.
            GetObjectResponse current;
            try
            {
                current = await bucket.Client.GetObjectAsync(new GetObjectRequest { BucketName = bucket.Name, Key = held._key }, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
                continue; // released meanwhile: try to create it again
            }

            string body;
            using (current)
            {
                using var reader = new StreamReader(current.ResponseStream, Encoding.UTF8);
                body = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            }

            var space = body.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && long.TryParse(body.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var expiresMs)
                && DateTimeOffset.FromUnixTimeMilliseconds(expiresMs) > clock.GetUtcNow())
            {
                return null;
            }

            if (await held.PutAsync(ifNoneMatch: false, ifMatch: current.ETag, cancellationToken).ConfigureAwait(false))
            {
                LogTakenOver(logger, uploadId);
                return held;
            }

            return null;
        }

        return null;
    }

    /// <summary>Extends the lease when a third of it has passed since it was last written; a lost lock is left lost.</summary>
    public async Task RenewIfDueAsync(CancellationToken cancellationToken)
    {
        if (_etag is null || _clock.GetUtcNow() - _renewedAt < _lease / 3)
        {
            return;
        }

        if (!await PutAsync(ifNoneMatch: false, ifMatch: _etag, cancellationToken).ConfigureAwait(false))
        {
            _etag = null; // taken over after our lease ran out: the compare-and-set still decides whose chunk counts
        }
    }

    /// <summary>Removes the lock object (best effort: a lock that cannot be removed lapses with its lease).</summary>
    public async Task ReleaseAsync()
    {
        if (_etag is null)
        {
            return;
        }

        _etag = null;
        try
        {
            await _bucket.Client.DeleteObjectAsync(_bucket.Name, _key, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException)
        {
            LogReleaseFailed(_logger, _key, ex.Message);
        }
    }

    private async Task<bool> PutAsync(bool ifNoneMatch, string? ifMatch, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var body = (now + _lease).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + " " + _owner;

        // radosgw (16.x) compares If-Match with the ETag without its quotes, S3 with them: a tag that fails in one form is
        // tried in the other. Either form matches only the object we read, so this can never take a lock someone renewed.
        string?[] tags = ifMatch is null ? [null] : [ifMatch, ifMatch.Trim('"')];
        foreach (var tag in tags.Distinct())
        {
            var request = new PutObjectRequest { BucketName = _bucket.Name, Key = _key, ContentBody = body, ContentType = "text/plain" };
            if (ifNoneMatch)
            {
                request.IfNoneMatch = "*";
            }

            if (tag is not null)
            {
                request.IfMatch = tag;
            }

            try
            {
                var response = await _bucket.Client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
                _etag = response.ETag;
                _renewedAt = now;
                return true;
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
            {
                // 412: the condition did not hold; 409: S3's answer to a conditional write racing another.
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 1701, Level = LogLevel.Warning, Message = "Upload {UploadId}: took over the S3 lock of a writer whose lease ran out (a process that died or stalled)")]
    private static partial void LogTakenOver(ILogger logger, string uploadId);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "Could not remove the S3 upload lock {Key} ({Reason}); it lapses with its lease")]
    private static partial void LogReleaseFailed(ILogger logger, string key, string reason);
}
