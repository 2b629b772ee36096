using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Signing;
using Berth.Signing.Cosign;
using Berth.Signing.Trust;
using Berth.Signing.Verification;
using Microsoft.Extensions.Logging;

namespace Berth.Application.Signing;

/// <summary>
/// Finds and verifies the signatures of a digest in one repository, in both places they are stored: the manifest under
/// cosign's tag <c>sha256-&lt;hex&gt;.sig</c> and the digest's referrers. Only manifests that
/// <see cref="SignatureVerifier.Classify"/> recognises by content count (an image under a <c>.sig</c> tag is no
/// signature). Reading is bounded: at most <see cref="MaxSignatureManifests"/> manifests of at most
/// <see cref="SigningLimits.MaxPayloadBytes"/> each, and of each only the blobs <see cref="SignatureVerifier.BlobsToFetch"/>
/// names (each at most 1 MiB, read with that limit, linked to the repository). Missing, oversized or malformed data
/// is a verdict (<see cref="SignatureFailure.Malformed"/>, …), never an exception; an unavailable store still throws.
/// </summary>
public sealed partial class SignatureFinder(IManifestIndex manifests, BlobService blobs, TimeProvider clock, ILogger<SignatureFinder> logger)
{
    /// <summary>The most signature manifests (tag and referrers) read for one digest.</summary>
    public const int MaxSignatureManifests = 32;

    /// <summary>The signatures of <paramref name="subject"/> in <paramref name="repository"/>, verified against <paramref name="trust"/> now.</summary>
    public async Task<SignatureReport> InspectAsync(RepositoryName repository, Digest subject, SignatureTrust trust, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trust);
        var found = new List<FoundSignature>();
        var seen = new HashSet<Digest>();
        if (Tag.TryParse(CosignFormat.SignatureTag(subject), out var tag)
            && await manifests.GetAsync(repository, Reference.Of(tag), cancellationToken).ConfigureAwait(false) is { } tagged)
        {
            seen.Add(tagged.Digest);
            if (await VerifyAsync(repository, tagged, SignatureLocation.Tag, subject, trust, cancellationToken).ConfigureAwait(false) is { } signature)
            {
                found.Add(signature);
            }
        }

        // Referrers whose artifact type says signature are read first, so other attachments (SBOMs, attestations) cannot
        // crowd them out of the bound; the decision is still made by content.
        var referrers = await manifests.ListReferrersAsync(repository, subject, null, cancellationToken).ConfigureAwait(false);
        foreach (var referrer in referrers.OrderBy(r => LooksLikeSignature(r.ArtifactType) ? 0 : 1))
        {
            if (seen.Count >= MaxSignatureManifests)
            {
                LogTooMany(logger, repository.Value, subject.ToString(), MaxSignatureManifests);
                break;
            }

            if (!seen.Add(referrer.Digest) || referrer.Size > SigningLimits.MaxPayloadBytes)
            {
                continue; // the tag's manifest again, or larger than any signature manifest may be
            }

            if (await manifests.GetAsync(repository, Reference.Of(referrer.Digest), cancellationToken).ConfigureAwait(false) is { } record
                && await VerifyAsync(repository, record, SignatureLocation.Referrer, subject, trust, cancellationToken).ConfigureAwait(false) is { } signature)
            {
                found.Add(signature);
            }
        }

        return new SignatureReport(subject, SignatureVerdict.Combine(found.Select(f => f.Verdict)), found);
    }

    private async Task<FoundSignature?> VerifyAsync(RepositoryName repository, ManifestRecord record, SignatureLocation location, Digest subject, SignatureTrust trust,
        CancellationToken cancellationToken)
    {
        if (record.Body.Length > SigningLimits.MaxPayloadBytes)
        {
            return null;
        }

        var manifest = Manifest.TryParse(record.Body, record.MediaType, out _);
        var format = manifest is null ? SignatureFormat.None : SignatureVerifier.Classify(manifest);
        if (format == SignatureFormat.None)
        {
            return null; // not a signature (an image or another artifact), wherever it is stored
        }

        var contents = new Dictionary<Digest, ReadOnlyMemory<byte>>();
        foreach (var blob in SignatureVerifier.BlobsToFetch(manifest!))
        {
            if (!contents.ContainsKey(blob.Digest) && await ReadAsync(repository, blob, cancellationToken).ConfigureAwait(false) is { } bytes)
            {
                contents[blob.Digest] = bytes;
            }
        }

        var verdict = SignatureVerifier.Verify(manifest!, contents, subject, trust, clock.GetUtcNow());
        return new FoundSignature(record.Digest, format, location, verdict);
    }

    /// <summary>The blob's bytes, at most its declared size (≤ 1 MiB) plus one so a longer blob is seen to differ; null when it is not there.</summary>
    private async Task<byte[]?> ReadAsync(RepositoryName repository, Descriptor blob, CancellationToken cancellationToken)
    {
        if (blob.Size is < 0 or > SigningLimits.MaxPayloadBytes)
        {
            return null;
        }

        var read = await blobs.OpenAsync(repository, blob.Digest, null, new BlobReadOptions(AllowRedirect: false), cancellationToken).ConfigureAwait(false);
        if (!read.IsSuccess)
        {
            return null;
        }

        try
        {
            Stream stream;
            switch (read.Value)
            {
                case BlobRead.LocalFile file:
                    stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
                    stream.Seek(file.Offset, SeekOrigin.Begin);
                    break;
                case BlobRead.Streamed streamed:
                    stream = streamed.Content;
                    break;
                default:
                    return null;
            }

            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[(int)blob.Size + 1];
                var length = 0;
                int got;
                while (length < buffer.Length && (got = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    length += got;
                }

                return length == buffer.Length ? buffer : buffer[..length];
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null; // collected meanwhile: as missing
        }
    }

    private static bool LooksLikeSignature(string? artifactType) =>
        artifactType is not null && (artifactType.StartsWith("application/vnd.dev.cosign.", StringComparison.OrdinalIgnoreCase)
            || artifactType.StartsWith("application/vnd.dev.sigstore.", StringComparison.OrdinalIgnoreCase)
            || artifactType.StartsWith("application/vnd.cncf.notary.", StringComparison.OrdinalIgnoreCase));

    [LoggerMessage(EventId = 2762, Level = LogLevel.Information, Message = "{Repository}@{Digest} has more than {Limit} referrers and signatures; the rest are not read")]
    private static partial void LogTooMany(ILogger logger, string repository, string digest, int limit);
}
