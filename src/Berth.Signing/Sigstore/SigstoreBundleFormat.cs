namespace Berth.Signing.Sigstore;

/// <summary>The media types of sigstore bundles read.</summary>
public static class SigstoreBundleFormat
{
    public const string V03MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";
    public const string V02MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.2";
    public const string V01MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1";

    /// <summary>The DSSE payload type of an in-toto statement.</summary>
    public const string InTotoPayloadType = "application/vnd.in-toto+json";

    public static bool IsBundleMediaType(string? mediaType) => mediaType is V03MediaType or V02MediaType or V01MediaType
        || (mediaType?.StartsWith("application/vnd.dev.sigstore.bundle", StringComparison.Ordinal) ?? false);
}
