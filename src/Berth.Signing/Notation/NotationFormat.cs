namespace Berth.Signing.Notation;

/// <summary>The names notation signatures use.</summary>
public static class NotationFormat
{
    /// <summary>Artifact type of a notation signature manifest (a referrer of the signed manifest).</summary>
    public const string ArtifactType = "application/vnd.cncf.notary.signature";

    /// <summary>The JWS envelope layer.</summary>
    public const string JwsMediaType = "application/jose+json";

    /// <summary>The COSE envelope layer (not read: refused as malformed).</summary>
    public const string CoseMediaType = "application/cose";

    public const string PayloadContentType = "application/vnd.cncf.notary.payload.v1+json";
}
