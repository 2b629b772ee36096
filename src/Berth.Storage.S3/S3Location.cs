namespace Berth.Storage.S3;

/// <summary>
/// Applies a storage URI (<c>s3://BUCKET/PREFIX?endpoint=URL&amp;region=R&amp;path-style=true&amp;redirect=true</c>) and
/// the environment to <see cref="S3StorageOptions"/>, as <see cref="S3StorageOptions"/> documents: the URI wins for what
/// it states; credentials and the region fall back to the environment. A mistake in the URI is not thrown: it is kept
/// in <see cref="S3StorageOptions.LocationError"/> for the validator, so start-up reports it as one line.
/// </summary>
internal static class S3Location
{
    public static void Apply(S3StorageOptions options, Uri? location, Func<string, string?> environment)
    {
        if (location is not null)
        {
            options.LocationError = ApplyUri(options, location);
        }

        if (string.IsNullOrEmpty(options.AccessKeyId) && string.IsNullOrEmpty(options.SecretAccessKey))
        {
            options.AccessKeyId = NullIfEmpty(environment("AWS_ACCESS_KEY_ID"));
            options.SecretAccessKey = NullIfEmpty(environment("AWS_SECRET_ACCESS_KEY"));
            options.SessionToken ??= NullIfEmpty(environment("AWS_SESSION_TOKEN"));
        }

        if (string.IsNullOrEmpty(options.Region))
        {
            options.Region = NullIfEmpty(environment("AWS_REGION")) ?? NullIfEmpty(environment("AWS_DEFAULT_REGION"));
        }
    }

    private static string? ApplyUri(S3StorageOptions options, Uri location)
    {
        // Read from the text as given: Uri lower-cases the host and may reject or rewrite parts of it.
        var text = location.OriginalString.Trim();
        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0 || !string.Equals(text[..schemeEnd], "s3", StringComparison.OrdinalIgnoreCase))
        {
            return "the URI must start with s3:// (s3://BUCKET/PREFIX?endpoint=URL&region=R&path-style=true)";
        }

        var rest = text[(schemeEnd + 3)..];
        var fragment = rest.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            return "the URI has a #fragment; remove it";
        }

        var query = string.Empty;
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        if (question >= 0)
        {
            query = rest[(question + 1)..];
            rest = rest[..question];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash >= 0 ? rest[..slash] : rest;
        var prefix = slash >= 0 ? Uri.UnescapeDataString(rest[(slash + 1)..]).Trim('/') : string.Empty;
        if (bucket.Contains('@', StringComparison.Ordinal))
        {
            return "the URI holds credentials; give them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or in Berth:Storage:S3 instead";
        }

        if (bucket.Length == 0)
        {
            return "the URI names no bucket (s3://BUCKET/PREFIX)";
        }

        options.Bucket = bucket;
        options.Prefix = prefix;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals >= 0 ? pair[..equals] : pair);
            var value = equals >= 0 ? Uri.UnescapeDataString(pair[(equals + 1)..]) : string.Empty;
            switch (key.ToLowerInvariant())
            {
                case "endpoint":
                    options.Endpoint = value;
                    break;
                case "region":
                    options.Region = value;
                    break;
                case "path-style":
                    if (!TryParseBool(value, out var pathStyle))
                    {
                        return $"path-style={Shown(value)} is not true or false";
                    }

                    options.PathStyle = pathStyle;
                    break;
                case "redirect":
                    if (!TryParseBool(value, out var redirect))
                    {
                        return $"redirect={Shown(value)} is not true or false";
                    }

                    options.Redirect = redirect;
                    break;
                default:
                    return $"unknown query key '{Shown(key)}' (known: endpoint, region, path-style, redirect)";
            }
        }

        return null;
    }

    private static bool TryParseBool(string value, out bool result)
    {
        // "path-style" alone means true, as a flag would.
        if (value.Length == 0)
        {
            result = true;
            return true;
        }

        return bool.TryParse(value, out result);
    }

    /// <summary>Echoed text with control characters replaced, so the error stays one line.</summary>
    internal static string Shown(string value) => string.Concat(value.Select(c => char.IsControl(c) ? '?' : c));

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
