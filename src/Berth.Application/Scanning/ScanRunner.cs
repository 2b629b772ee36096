using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Scanning.Extractors;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;
using Berth.Scanning.Matching;
using Berth.Scanning.Reports;
using Berth.Scanning.Results;
using Microsoft.Extensions.Logging;
using CoreScanLimits = Berth.Core.Scanning.ScanLimits;
using LayerScanLimits = Berth.Scanning.Layers.ScanLimits;

namespace Berth.Application.Scanning;

/// <summary>
/// Scans one stored manifest: finds a repository holding it, reads the manifest, and for an image (OCI or Docker v2
/// manifest, image config, tar layers) streams its layers from the blob store through <see cref="InventoryScanner"/>
/// (never a whole layer in memory), reads the config for the image facts, and matches the inventory against the stored
/// advisory database. The answer is the <see cref="ScanResult"/> to store (the caller writes it):
/// <list type="bullet">
/// <item><see cref="ScanStatus.Done"/> with the inventory; with no advisories imported yet (database version 0)
/// <see cref="ScanResult.DatabaseVersion"/> and <see cref="ScanResult.Findings"/> are null, which every reader takes as
/// "not scanned"; else the findings, counts, worst ids and the version read before matching (an import that finishes
/// meanwhile makes a newer version, which the re-match job catches).</item>
/// <item><see cref="ScanStatus.Unsupported"/> with the reason in <see cref="ScanResult.Error"/>: an index, an artifact (a
/// config that is not an image config), a layer that is not a file-system tar or is foreign.</item>
/// <item><see cref="ScanStatus.Failed"/> with the reason: the manifest is no longer stored, a blob is missing, a hostile or
/// broken layer (<see cref="ScanException"/>), a config that is not JSON.</item>
/// </list>
/// Cancellation (the server stopping, a lost claim) is thrown, not answered.
/// </summary>
public sealed partial class ScanRunner(IManifestIndex manifests, IBlobStore blobs, IAdvisoryStore advisories, TimeProvider clock, ILogger<ScanRunner> logger)
{
    /// <summary>The largest image config read (configs are a few KB; a huge one is refused, not read).</summary>
    public const int MaxConfigBytes = 1 << 20;

    /// <summary>Docker's image config media type (an image, as <see cref="MediaTypes.OciConfig"/>).</summary>
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";

    /// <summary>The limits the layer reader enforces (tests make them small).</summary>
    public LayerScanLimits Limits { get; init; } = LayerScanLimits.Default;

    public async Task<ScanResult> ScanAsync(Digest digest, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        ManifestRecord? record = null;
        for (var attempt = 0; attempt < 2 && record is null; attempt++)
        {
            // Twice: the repository found may lose the manifest before it is read while another still holds it.
            var repository = await manifests.FindRepositoryOfManifestAsync(digest, cancellationToken).ConfigureAwait(false);
            if (repository is not { } repo)
            {
                break;
            }

            record = await manifests.GetAsync(repo, Reference.Of(digest), cancellationToken).ConfigureAwait(false);
        }

        if (record is null)
        {
            return Failed(digest, "manifest no longer stored");
        }

        var manifest = Manifest.TryParse(record.Body, record.MediaType, out var parseError);
        if (manifest is null)
        {
            return Unsupported(digest, $"not a manifest the scanner reads: {parseError}");
        }

        if (manifest.Kind == ManifestKind.Index)
        {
            return Unsupported(digest, "an index: each of its platform manifests is scanned on its own");
        }

        if (manifest.Config is not { } config || config.MediaType is not (MediaTypes.OciConfig or DockerConfig))
        {
            return Unsupported(digest, $"an artifact (config media type {manifest.Config?.MediaType ?? "none"}), not a container image");
        }

        foreach (var layer in manifest.References)
        {
            if (!LayerDecompression.IsFileSystemLayer(layer.MediaType))
            {
                return Unsupported(digest, $"layer {layer.Digest} has media type {layer.MediaType}, not a file-system tar");
            }

            if (layer.HasUrls || MediaTypes.IsForeignLayer(layer.MediaType))
            {
                return Unsupported(digest, $"layer {layer.Digest} is a foreign layer, not stored in the registry");
            }
        }

        ImageFacts facts;
        InventoryResult inventory;
        try
        {
            facts = await ReadFactsAsync(digest, config, manifest.References, cancellationToken).ConfigureAwait(false);
            var layers = manifest.References
                .Select(l => new ImageLayer(l.Digest.ToString(), l.MediaType, ct => OpenLayerAsync(l.Digest, ct)))
                .ToList();
            inventory = await new InventoryScanner(Limits).ScanAsync(layers, cancellationToken).ConfigureAwait(false);
        }
        catch (ScanException ex)
        {
            return Failed(digest, ex.Message);
        }

        var inventoryJson = ScanDocuments.WriteInventory(facts, inventory.Inventory);
        if (inventoryJson.Length > CoreScanLimits.MaxDocumentChars)
        {
            return Failed(digest, $"the inventory ({inventory.Inventory.Packages.Count} packages) is larger than a stored scan holds");
        }

        // The version first: findings are at least as new as the version stored with them.
        var version = (await advisories.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Version;
        var now = clock.GetUtcNow();
        if (version <= 0)
        {
            LogScanned(logger, digest, inventory.Inventory.Packages.Count, -1, 0, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return new ScanResult(digest, ScanStatus.Done, null, null, now, inventoryJson, null, default, null, now);
        }

        var match = await MatchAsync(inventory.Inventory, cancellationToken).ConfigureAwait(false);
        LogScanned(logger, digest, inventory.Inventory.Packages.Count, match.FindingCount, version, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new ScanResult(digest, ScanStatus.Done, null, version, now, inventoryJson, match.FindingsJson, match.Counts, match.WorstIds, now);
    }

    /// <summary>
    /// Matches <paramref name="inventory"/> against the stored advisories (each package name asked once, in batches per
    /// ecosystem): the findings document and its counts and worst ids. Used by a scan and by the re-match after an import.
    /// </summary>
    public Task<ScanMatch> MatchAsync(ImageInventory inventory, CancellationToken cancellationToken) =>
        MatchAsync(inventory, CreateSource(), cancellationToken);

    /// <summary>A source over the stored advisories that remembers what it read: share one across matches made against one database version.</summary>
    public AdvisoryStoreSource CreateSource() => new(advisories);

    /// <summary>As <see cref="MatchAsync(ImageInventory, CancellationToken)"/> through <paramref name="source"/> (its records parsed once for many inventories).</summary>
    public async Task<ScanMatch> MatchAsync(ImageInventory inventory, AdvisoryStoreSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var unreadableBefore = source.Unreadable;
        await source.PrefetchAsync(inventory, cancellationToken).ConfigureAwait(false);
        var findings = await new VulnerabilityMatcher(source).MatchAsync(inventory, cancellationToken).ConfigureAwait(false);
        if (source.Unreadable > unreadableBefore)
        {
            LogUnreadableAdvisories(logger, source.Unreadable - unreadableBefore);
        }

        return new ScanMatch(ScanDocuments.WriteFindings(findings), FindingSummary.Counts(findings), FindingSummary.WorstIds(findings), findings.Count);
    }

    /// <summary>A failed scan's result (no data), for <paramref name="digest"/> at the clock's now.</summary>
    public ScanResult Failed(Digest digest, string reason) => Finished(digest, ScanStatus.Failed, reason);

    private ScanResult Unsupported(Digest digest, string reason) => Finished(digest, ScanStatus.Unsupported, reason);

    private ScanResult Finished(Digest digest, ScanStatus status, string reason)
    {
        var now = clock.GetUtcNow();
        var text = reason.Length <= CoreScanLimits.MaxShortText ? reason : reason[..CoreScanLimits.MaxShortText];
        return new ScanResult(digest, status, text, null, now, null, null, default, null, now);
    }

    /// <summary>
    /// A fresh stream of the stored blob's bytes: a local file opened here, or the store's stream. Redirects are not
    /// accepted (<see cref="BlobReadOptions.AllowRedirect"/> false makes an object store stream the bytes itself).
    /// </summary>
    private async ValueTask<Stream> OpenLayerAsync(Digest digest, CancellationToken cancellationToken)
    {
        var read = await blobs.OpenAsync(digest, null, new BlobReadOptions(AllowRedirect: false), cancellationToken).ConfigureAwait(false);
        switch (read)
        {
            case BlobRead.LocalFile file:
                try
                {
                    var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
                    if (file.Offset != 0)
                    {
                        stream.Seek(file.Offset, SeekOrigin.Begin);
                    }

                    return stream;
                }
                catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
                {
                    throw new ScanException($"blob {digest} is no longer stored");
                }

            case BlobRead.Streamed streamed:
                return streamed.Content;
            case BlobRead.NotFound:
                throw new ScanException($"blob {digest} is not stored");
            case BlobRead.Redirect:
                throw new ScanException($"the blob store answered a redirect for {digest} although none was allowed");
            default:
                throw new ScanException($"the blob store could not read {digest} ({read.GetType().Name})");
        }
    }

    private async Task<ImageFacts> ReadFactsAsync(Digest manifestDigest, Descriptor config, IReadOnlyList<Descriptor> layers, CancellationToken cancellationToken)
    {
        if (config.Size > MaxConfigBytes)
        {
            throw new ScanException($"the image config is {config.Size} bytes, more than the {MaxConfigBytes} the scanner reads");
        }

        var bytes = new byte[(int)Math.Max(config.Size, 0) + 1];
        var length = 0;
        await using (var stream = await OpenLayerAsync(config.Digest, cancellationToken).ConfigureAwait(false))
        {
            int got;
            while (length < bytes.Length && (got = await stream.ReadAsync(bytes.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += got;
            }
        }

        if (length != config.Size)
        {
            throw new ScanException($"the image config {config.Digest} is not the {config.Size} bytes its descriptor declares");
        }

        string? os = null, architecture = null;
        DateTimeOffset? created = null;
        List<Digest>? diffIds = null;
        try
        {
            using var document = JsonDocument.Parse(bytes.AsMemory(0, length), new JsonDocumentOptions { MaxDepth = 64 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ScanException("the image config is not a JSON object");
            }

            os = Text(root, "os");
            architecture = Text(root, "architecture");
            if (Text(root, "created") is { } when && DateTimeOffset.TryParse(when, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                created = at;
            }

            if (root.TryGetProperty("rootfs", out var rootfs) && rootfs.ValueKind == JsonValueKind.Object
                && rootfs.TryGetProperty("diff_ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
            {
                diffIds = [];
                foreach (var id in ids.EnumerateArray())
                {
                    if (id.ValueKind == JsonValueKind.String && Digest.TryParse(id.GetString(), out var diffId))
                    {
                        diffIds.Add(diffId);
                    }
                }
            }
        }
        catch (JsonException ex)
        {
            throw new ScanException($"the image config is not JSON: {ex.Message}");
        }

        return new ImageFacts(config.Digest, manifestDigest, LayerDigests: layers.Select(l => l.Digest).ToList(), DiffIds: diffIds,
            Os: os, Architecture: architecture, Created: created);
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Scanned {Digest}: {Packages} packages, {Findings} findings (advisory database version {Version}; -1 findings: none imported) in {Milliseconds} ms")]
    private static partial void LogScanned(ILogger logger, Digest digest, int packages, int findings, long version, long milliseconds);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "{Count} stored advisories could not be parsed and were left out of matching")]
    private static partial void LogUnreadableAdvisories(ILogger logger, int count);
}
