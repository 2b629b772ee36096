namespace Berth.Api.Management;

/// <summary>
/// One signature manifest of an artifact: its digest, <see cref="Format"/> (<c>cosign</c>, <c>sigstore-bundle</c>,
/// <c>notation</c>), <see cref="Location"/> (<c>tag</c>: cosign's <c>sha256-&lt;hex&gt;.sig</c>; <c>referrer</c>), whether
/// it verifies against the project's trust (<see cref="TrustedBy"/>: the trusted key or root that verified it), or why
/// not (<see cref="Failure"/>: the reason in words, as a refusal names it) and the verifier's one-line <see cref="Detail"/>.
/// </summary>
public sealed record SignatureResponse(string Digest, string Format, string Location, bool Valid, string? TrustedBy, string? Failure, string Detail);

/// <summary>
/// The signature state of one artifact against its project's trust (whether or not the project is signed-only).
/// <see cref="Signed"/>: a valid signature vouches for it, its own (<see cref="SignedVia"/> <c>self</c>) or, for a platform
/// manifest, an index's of the repository that lists it (<c>index sha256:…</c>); <see cref="TrustedBy"/> names the key
/// or root. Otherwise <see cref="Reason"/> says why (<c>no signature</c>, <c>signature from an untrusted key</c>,
/// <c>signature is for another digest</c>, <c>bad signature</c>, …). <see cref="Exempt"/>: a signature, attestation or
/// SBOM, pullable under a signed-only policy without a signature. <see cref="Signatures"/> are its own signature manifests.
/// </summary>
public sealed record ArtifactSignatureResponse(string Digest, string MediaType, bool Signed, bool Exempt, string? TrustedBy, string? Reason, string? SignedVia,
    IReadOnlyList<SignatureResponse> Signatures);

/// <summary>
/// <c>GET /api/v1/repositories/signature</c>: the manifest the reference names and its signature state (the fields of
/// <see cref="ArtifactSignatureResponse"/> for it), with <see cref="SignedOnly"/> the project's policy and, for an index,
/// <see cref="Platforms"/>: the same for each manifest it lists (at most 64).
/// </summary>
public sealed record RepositorySignatureResponse(string Repository, string Reference, string Digest, string MediaType, bool SignedOnly, bool Signed, bool Exempt,
    string? TrustedBy, string? Reason, string? SignedVia, IReadOnlyList<SignatureResponse> Signatures, IReadOnlyList<PlatformSignatureResponse>? Platforms);

/// <summary>One manifest an index lists: its platform (as the index names it) and its signature state.</summary>
public sealed record PlatformSignatureResponse(string? Os, string? Architecture, string? Variant, ArtifactSignatureResponse Signature);
