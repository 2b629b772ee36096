namespace Berth.Signing.Verification;

/// <summary>Bounds on untrusted input: anything larger is refused as malformed before it is parsed.</summary>
public static class SigningLimits
{
    /// <summary>A signature payload, bundle or envelope (1 MiB; real ones are a few KiB).</summary>
    public const int MaxPayloadBytes = 1024 * 1024;

    /// <summary>Certificates in one chain, leaf included.</summary>
    public const int MaxChainLength = 10;

    /// <summary>Signatures (layers, DSSE signatures) looked at in one signature document.</summary>
    public const int MaxSignaturesPerDocument = 32;
}
