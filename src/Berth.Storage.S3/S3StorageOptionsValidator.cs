using Microsoft.Extensions.Options;

namespace Berth.Storage.S3;

/// <summary>
/// Checks <see cref="S3StorageOptions"/> at start-up for mistakes of form, each one line naming <c>--storage</c>: a
/// bad storage URI, no bucket or a malformed one, an endpoint that is not an http(s) URL, no region, only one of the
/// two keys, a redirect expiry out of range. Whether the endpoint answers, the bucket exists and the keys are accepted
/// is the probe's (<see cref="S3StorageProbe"/>). Never echoes a secret.
/// </summary>
internal sealed class S3StorageOptionsValidator : IValidateOptions<S3StorageOptions>
{
    private const string Where = "storage: s3: --storage";

    public ValidateOptionsResult Validate(string? name, S3StorageOptions options)
    {
        var error = Check(options);
        return error is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail($"{Where}: {error}");
    }

    private static string? Check(S3StorageOptions options)
    {
        if (options.LocationError is { } location)
        {
            return location;
        }

        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            return $"no bucket (s3://BUCKET/PREFIX, or {S3StorageOptions.Section}:Bucket)";
        }

        if (!IsBucketName(options.Bucket))
        {
            return $"'{S3Location.Shown(options.Bucket)}' is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens)";
        }

        if (options.Prefix is { } prefix && (prefix.Length > 512 || prefix.Any(char.IsControl) || prefix.Split('/').Any(s => s is "." or "..")))
        {
            return $"prefix '{S3Location.Shown(prefix)}' is not usable (at most 512 characters, no control characters, no . or .. segments)";
        }

        if (!string.IsNullOrEmpty(options.Endpoint))
        {
            if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint)
                || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)
                || string.IsNullOrEmpty(endpoint.Host) || !string.IsNullOrEmpty(endpoint.UserInfo)
                || endpoint.AbsolutePath != "/" || !string.IsNullOrEmpty(endpoint.Query) || !string.IsNullOrEmpty(endpoint.Fragment))
            {
                return $"endpoint '{S3Location.Shown(options.Endpoint)}' is not an http:// or https:// URL of a server (scheme, host and port only)";
            }
        }

        if (string.IsNullOrWhiteSpace(options.Region))
        {
            return $"no region (region=R in the URI, {S3StorageOptions.Section}:Region, or AWS_REGION; us-east-1 for most S3-compatible servers)";
        }

        if (options.Region.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-'))
        {
            return $"region '{S3Location.Shown(options.Region)}' is not a region name";
        }

        if (string.IsNullOrEmpty(options.AccessKeyId) != string.IsNullOrEmpty(options.SecretAccessKey))
        {
            return string.IsNullOrEmpty(options.AccessKeyId)
                ? "a secret access key without an access key id (set both, or neither: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
                : "an access key id without a secret access key (set both, or neither: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)";
        }

        if (options.RedirectExpiry < TimeSpan.FromSeconds(1) || options.RedirectExpiry > TimeSpan.FromDays(7))
        {
            return $"redirect expiry {options.RedirectExpiry} is out of range (1 second to 7 days, what S3 signs)";
        }

        if (options.BlobCacheBytes < 0 || options.BlobCacheBytes > 64L * 1024 * 1024 * 1024)
        {
            return $"blob cache of {options.BlobCacheBytes} bytes is out of range (0 to 64 GiB)";
        }

        if (options.UploadLockLease < TimeSpan.FromSeconds(2) || options.UploadLockLease > TimeSpan.FromHours(1))
        {
            return $"upload lock lease {options.UploadLockLease} is out of range (2 seconds to 1 hour)";
        }

        return null;
    }

    private static bool IsBucketName(string name) =>
        name.Length is >= 3 and <= 63
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-')
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1]);
}
