using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Signing;
using Berth.Oci;
using Berth.Signing.Cosign;
using Berth.Signing.Keys;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Testing;

/// <summary>
/// Cosign signatures of test images made with Berth.Signing (<see cref="CosignSigner"/>), as manifests to push through
/// <c>/v2</c>: under the tag scheme (<c>sha256-&lt;hex&gt;.sig</c>) or as an OCI 1.1 referrer; and trust entries written
/// straight into the server's <see cref="ITrustStore"/>.
/// </summary>
public static class TestSignatures
{
    /// <summary>cosign's signature tag of <paramref name="digest"/>.</summary>
    public static string SignatureTag(string digest) => CosignFormat.SignatureTag(Digest.Parse(digest));

    /// <summary>A cosign signature manifest of <paramref name="signedDigest"/> by <paramref name="key"/> (a referrer of <paramref name="subject"/> when given).</summary>
    public static TestManifest Cosign(SigningPrivateKey key, string repository, string signedDigest, TestManifest? subject = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        var signature = CosignSigner.Sign(key, repository, Digest.Parse(signedDigest));
        return ToTest(CosignSigner.BuildManifest([signature], subject is null ? null : new Descriptor(subject.MediaType, Digest.Parse(subject.Digest), subject.Body.LongLength)));
    }

    /// <summary>A cosign signature manifest whose one payload is <paramref name="payload"/> with <paramref name="signatureBase64"/> (for forged or garbage signatures).</summary>
    public static TestManifest CosignRaw(byte[] payload, string signatureBase64, TestManifest? subject = null) =>
        ToTest(CosignSigner.BuildManifest([new CosignSignature(payload, signatureBase64)],
            subject is null ? null : new Descriptor(subject.MediaType, Digest.Parse(subject.Digest), subject.Body.LongLength)));

    /// <summary>Adds <paramref name="key"/>'s public key as a trusted key named <paramref name="name"/> of <paramref name="project"/> (null: server-wide).</summary>
    public static async Task TrustAsync(BerthApplication app, string? project, string name, SigningPrivateKey key)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(key);
        var store = app.Services.GetRequiredService<ITrustStore>();
        var scope = project is null ? (ProjectName?)null : ProjectName.Parse(project);
        var result = await store.AddAsync(new TrustEntry(0, scope, name, TrustKind.Key, key.PublicKey.ToPem(), [], key.PublicKey.KeyId, "admin", app.Clock.GetUtcNow()),
            CancellationToken.None);
        if (result.Status != TrustAddStatus.Added)
        {
            throw new InvalidOperationException($"trust entry {name} not added: {result.Status}");
        }
    }

    /// <summary>Removes the trusted entry <paramref name="name"/> from the store (what a trust API would do before invalidating the node's caches).</summary>
    public static Task<DeleteResult> UntrustAsync(BerthApplication app, string? project, string name)
    {
        ArgumentNullException.ThrowIfNull(app);
        var scope = project is null ? (ProjectName?)null : ProjectName.Parse(project);
        return app.Services.GetRequiredService<ITrustStore>().RemoveAsync(scope, name, CancellationToken.None);
    }

    private static TestManifest ToTest(SignatureArtifact artifact) =>
        new(artifact.MediaType, artifact.Manifest, [.. artifact.Blobs.Select(b => b.Content)], []);
}
