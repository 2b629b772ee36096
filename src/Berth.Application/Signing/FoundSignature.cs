using Berth.Oci;
using Berth.Signing;
using Berth.Signing.Verification;

namespace Berth.Application.Signing;

/// <summary>One signature manifest found for a digest: its digest, format, where it was found and its verdict against the project's trust.</summary>
public sealed record FoundSignature(Digest Digest, SignatureFormat Format, SignatureLocation Location, SignatureVerdict Verdict);
