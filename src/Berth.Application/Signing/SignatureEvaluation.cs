using Berth.Oci;
using Berth.Signing.Verification;

namespace Berth.Application.Signing;

/// <summary>
/// What the signed-only policy sees for one manifest in one repository. <see cref="Exempt"/>: a signature, attestation or
/// SBOM (no image layers), always pullable. Otherwise <see cref="Verdict"/> is valid when the manifest is signed by the
/// project's trust, or (a platform manifest) an index of the repository that lists it is; <see cref="SignedVia"/> is the
/// digest whose signature counted (the manifest's own, or that index). <see cref="Own"/> lists the manifest's own signatures.
/// </summary>
public sealed record SignatureEvaluation(bool Exempt, SignatureVerdict Verdict, Digest? SignedVia, SignatureReport? Own)
{
    /// <summary>True when the signed-only policy serves the manifest.</summary>
    public bool Allowed => Exempt || Verdict.IsValid;
}
