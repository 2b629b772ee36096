namespace Berth.Api.Distribution;

/// <summary>Which /v2 resource a path names.</summary>
public enum RouteKind
{
    Unknown,
    Manifest,
    Blob,
    UploadStart,
    Upload,
    TagsList,
    Referrers,
}

/// <summary>
/// Splits a /v2 path into repository name and resource. Repository names contain slashes, so the resource is
/// recognised from the end of the path (ASP.NET routing cannot express a catch-all in the middle).
/// </summary>
public readonly record struct DistributionRoute(RouteKind Kind, string Repository, string Argument)
{
    /// <summary>Parses the part of the path after <c>/v2/</c>.</summary>
    public static DistributionRoute Parse(string path)
    {
        var segments = path.Split('/');
        var n = segments.Length;
        if (n >= 4 && segments[n - 3] == "blobs" && segments[n - 2] == "uploads")
        {
            return Make(RouteKind.Upload, segments, n - 3, segments[n - 1]) is var r && r.Argument.Length == 0
                ? r with { Kind = RouteKind.UploadStart }
                : r;
        }

        if (n >= 3)
        {
            var resource = segments[n - 2];
            var last = segments[n - 1];
            switch (resource)
            {
                case "blobs" when last == "uploads":
                    return Make(RouteKind.UploadStart, segments, n - 2, string.Empty);
                case "blobs":
                    return Make(RouteKind.Blob, segments, n - 2, last);
                case "manifests":
                    return Make(RouteKind.Manifest, segments, n - 2, last);
                case "tags" when last == "list":
                    return Make(RouteKind.TagsList, segments, n - 2, string.Empty);
                case "referrers":
                    return Make(RouteKind.Referrers, segments, n - 2, last);
            }
        }

        return new DistributionRoute(RouteKind.Unknown, string.Empty, string.Empty);
    }

    private static DistributionRoute Make(RouteKind kind, string[] segments, int repositoryEnd, string argument) =>
        new(kind, string.Join('/', segments, 0, repositoryEnd), argument);
}
