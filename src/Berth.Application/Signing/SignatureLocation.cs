namespace Berth.Application.Signing;

/// <summary>Where a signature manifest was found for a digest.</summary>
public enum SignatureLocation
{
    /// <summary>Under cosign's tag <c>sha256-&lt;hex&gt;.sig</c> in the same repository.</summary>
    Tag,

    /// <summary>An OCI 1.1 referrer (its <c>subject</c> is the digest) in the same repository.</summary>
    Referrer,
}
