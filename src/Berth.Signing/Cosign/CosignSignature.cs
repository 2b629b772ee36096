namespace Berth.Signing.Cosign;

/// <summary>One cosign signature: the payload (a layer blob), its base64 signature, and optional certificate and chain PEM.</summary>
public sealed record CosignSignature(byte[] Payload, string SignatureBase64, string? CertificatePem = null, string? ChainPem = null);
