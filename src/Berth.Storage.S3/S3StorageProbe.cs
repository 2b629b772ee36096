using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Berth.Core;

namespace Berth.Storage.S3;

/// <summary>
/// The S3 store's start-up and <c>/readyz</c> check: the endpoint answers, the bucket exists and the credentials are
/// accepted (a HEAD of the bucket each time), and, once per process, that they may write below the prefix (a tiny
/// object put and deleted). Each failure is one line naming the bucket and the endpoint, never a key or a stack trace.
/// </summary>
internal sealed class S3StorageProbe(S3Bucket bucket) : IProviderProbe
{
    private volatile bool _wrote;

    public string Setting => "--storage";

    public async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await bucket.Client.HeadBucketAsync(new HeadBucketRequest { BucketName = bucket.Name }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested || ex is not OperationCanceledException)
        {
            return Describe(ex, "read");
        }

        if (_wrote)
        {
            return null;
        }

        var key = bucket.KeyPrefix + ".berth-probe-" + UploadSegments.NewToken();
        try
        {
            await bucket.Client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Name, Key = key, ContentBody = "berth" }, cancellationToken).ConfigureAwait(false);
            await bucket.Client.DeleteObjectAsync(bucket.Name, key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested || ex is not OperationCanceledException)
        {
            return Describe(ex, "write");
        }

        _wrote = true;
        return null;
    }

    private string Describe(Exception ex, string what)
    {
        var where = $"bucket '{bucket.Name}' at {bucket.Endpoint}";
        if (ex is AmazonServiceException service && service.StatusCode != 0)
        {
            return service.StatusCode switch
            {
                HttpStatusCode.NotFound => $"{where} does not exist",
                HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized when what == "write" && service.ErrorCode is "AccessDenied" or "Forbidden" or null or "" =>
                    $"the credentials may not write to {where} under prefix '{bucket.KeyPrefix}'",
                HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized =>
                    $"the credentials are refused by {where}{(string.IsNullOrEmpty(service.ErrorCode) ? string.Empty : $" ({service.ErrorCode})")}",
                HttpStatusCode.MovedPermanently or HttpStatusCode.Redirect or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect =>
                    $"{where} answers from another region or address ({(int)service.StatusCode}); check the region and the endpoint",
                _ => $"{where} answered {(int)service.StatusCode} {service.ErrorCode} to a {what}".TrimEnd(),
            };
        }

        // Unreachable: the innermost message says why (connection refused, name not known, timed out).
        var inner = ex;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        var reason = inner is OperationCanceledException or TimeoutException ? "timed out" : OneLine(inner.Message);
        return $"the S3 endpoint {bucket.Endpoint} does not answer ({reason})";
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
