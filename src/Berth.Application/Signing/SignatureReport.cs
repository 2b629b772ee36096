using Berth.Oci;
using Berth.Signing.Verification;

namespace Berth.Application.Signing;

/// <summary>
/// The signatures of <see cref="Subject"/> in one repository: each one found (<see cref="Signatures"/>, the tag's first)
/// and their combination (<see cref="Verdict"/>: valid when any is, <see cref="SignatureFailure.NoSignature"/> when none was found).
/// </summary>
public sealed record SignatureReport(Digest Subject, SignatureVerdict Verdict, IReadOnlyList<FoundSignature> Signatures);
