using System.Reflection;
using System.Text.Json;
using Berth.Core.Events;
using Berth.Core.Jobs;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Scanning.Reports;
using Berth.Scanning.Results;
using Microsoft.Extensions.Logging;

namespace Berth.Application.Scanning;

/// <summary>
/// Attaches the SBOMs <see cref="SbomOnPush"/> waits for, on every node (the set is the node's own): once an image's
/// scan has its inventory (a rescan that is queued keeps the previous inventory, which serves), a CycloneDX 1.6 document of it is stored in the image's repository as an OCI 1.1 artifact
/// (an image manifest with artifact type <see cref="ArtifactType"/>, the empty config, the SBOM as its one layer and
/// the image as its subject), so the referrers API lists it and <c>oras</c>-style clients fetch it. The upload and the
/// manifest go through <see cref="UploadService"/> and <see cref="ManifestService"/> as a client's push would (quota,
/// events and audit apply, by the system). An image that already has an SBOM made by Berth is left alone; one whose scan
/// failed, is unsupported, or has not finished after <see cref="GiveUpAfter"/> is dropped.
/// </summary>
public sealed partial class SbomOnPushJob(SbomOnPush pending, IScanResultStore results, IManifestIndex manifests, UploadService uploads,
    ManifestService manifestService, TimeProvider clock, ILogger<SbomOnPushJob> logger) : IPeriodicJob
{
    /// <summary>The SBOM artifact's type (CycloneDX JSON), also the layer's media type.</summary>
    public const string ArtifactType = "application/vnd.cyclonedx+json";

    /// <summary>The annotation that marks an SBOM Berth attached (its value: the tool and version).</summary>
    public const string CreatorAnnotation = "dev.berth.sbom.creator";

    /// <summary>How long an image waits for its scan before it is dropped.</summary>
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromHours(1);

    /// <summary>Who the SBOM pushes are, in events and the audit log (the subscriber skips its own pushes).</summary>
    public static EventActor Actor { get; } = EventActor.System("sbom-on-push");

    private static readonly byte[] EmptyConfig = "{}"u8.ToArray();

    public string Name => "sbom-on-push";

    public JobSchedule Schedule { get; } = JobSchedule.Every(TimeSpan.FromSeconds(2));

    public bool EveryNode => true;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var actor = EventActorContext.Begin(Actor);
        foreach (var (repository, digest, since) in pending.Snapshot())
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (await TryAttachAsync(repository, digest, since, cancellationToken).ConfigureAwait(false))
                {
                    pending.Remove(repository, digest);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                pending.Remove(repository, digest);
                LogFailed(logger, ex, repository.Value, digest.ToString());
            }
        }
    }

    /// <summary>True when the image is settled (attached, already has one, or dropped); false to look again later.</summary>
    private async Task<bool> TryAttachAsync(RepositoryName repository, Digest digest, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var result = await results.GetAsync(digest, cancellationToken).ConfigureAwait(false);
        if (result?.Inventory is null)
        {
            if (result is { Status: ScanStatus.Failed or ScanStatus.Unsupported })
            {
                LogNotScanned(logger, repository.Value, digest.ToString(), result.Status.ToString(), result.Error ?? string.Empty);
                return true;
            }

            if (clock.GetUtcNow() - since < GiveUpAfter)
            {
                return false; // not scanned yet
            }

            LogGaveUp(logger, repository.Value, digest.ToString(), GiveUpAfter);
            return true;
        }

        var existing = await manifests.ListReferrersAsync(repository, digest, ArtifactType, cancellationToken).ConfigureAwait(false);
        if (existing.Any(r => r.AnnotationsJson?.Contains(CreatorAnnotation, StringComparison.Ordinal) == true))
        {
            return true;
        }

        var image = await manifests.GetAsync(repository, Reference.Of(digest), cancellationToken).ConfigureAwait(false);
        if (image is null)
        {
            return true; // deleted meanwhile
        }

        var document = ScanDocuments.ReadInventory(result.Inventory);
        var sbom = Sbom(repository, digest, document);
        var sbomDigest = Digest.Compute(DigestAlgorithm.Sha256, sbom);
        var emptyDigest = Digest.Compute(DigestAlgorithm.Sha256, EmptyConfig);

        foreach (var (blob, blobDigest) in new[] { (EmptyConfig, emptyDigest), (sbom, sbomDigest) })
        {
            using var body = new MemoryStream(blob, writable: false);
            var uploaded = await uploads.UploadMonolithicAsync(repository, blobDigest, body, blob.Length, cancellationToken).ConfigureAwait(false);
            if (!uploaded.IsSuccess)
            {
                LogRefused(logger, repository.Value, digest.ToString(), uploaded.Error!.Message ?? uploaded.Error.Code.ToString());
                return true;
            }
        }

        var manifest = Manifest(image, emptyDigest, sbomDigest, sbom.Length);
        var put = await manifestService.PutAsync(repository, Reference.Of(Digest.Compute(DigestAlgorithm.Sha256, manifest)),
            MediaTypes.OciManifest, manifest, cancellationToken).ConfigureAwait(false);
        if (!put.IsSuccess)
        {
            LogRefused(logger, repository.Value, digest.ToString(), put.Error!.Message ?? put.Error.Code.ToString());
            return true;
        }

        LogAttached(logger, repository.Value, digest.ToString(), put.Value!.Digest.ToString());
        return true;
    }

    private byte[] Sbom(RepositoryName repository, Digest digest, InventoryDocument document)
    {
        var report = new ScanReport($"{repository}@{digest}", document.Image with { ManifestDigest = digest }, document.Inventory, [], clock.GetUtcNow());
        using var output = new MemoryStream();
        CycloneDxWriter.Write(report, output, new SbomOptions(Guid.NewGuid(), ToolVersion), includeVulnerabilities: false);
        return output.ToArray();
    }

    private byte[] Manifest(ManifestRecord image, Digest config, Digest sbom, long sbomSize)
    {
        using var output = new MemoryStream();
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", MediaTypes.OciManifest);
            w.WriteString("artifactType", ArtifactType);
            w.WriteStartObject("config");
            w.WriteString("mediaType", MediaTypes.OciEmpty);
            w.WriteString("digest", config.ToString());
            w.WriteNumber("size", EmptyConfig.Length);
            w.WriteEndObject();
            w.WriteStartArray("layers");
            w.WriteStartObject();
            w.WriteString("mediaType", ArtifactType);
            w.WriteString("digest", sbom.ToString());
            w.WriteNumber("size", sbomSize);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartObject("subject");
            w.WriteString("mediaType", image.MediaType);
            w.WriteString("digest", image.Digest.ToString());
            w.WriteNumber("size", image.Body.Length);
            w.WriteEndObject();
            w.WriteStartObject("annotations");
            w.WriteString(CreatorAnnotation, $"berth {ToolVersion}");
            w.WriteString("org.opencontainers.image.created", clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return output.ToArray();
    }

    private static string ToolVersion { get; } =
        typeof(SbomOnPushJob).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    [LoggerMessage(EventId = 2143, Level = LogLevel.Information, Message = "Attached an SBOM to {Repository}@{Digest}: {Sbom}")]
    private static partial void LogAttached(ILogger logger, string repository, string digest, string sbom);

    [LoggerMessage(EventId = 2144, Level = LogLevel.Warning, Message = "No SBOM attached to {Repository}@{Digest}: its scan did not finish within {Wait}")]
    private static partial void LogGaveUp(ILogger logger, string repository, string digest, TimeSpan wait);

    [LoggerMessage(EventId = 2145, Level = LogLevel.Warning, Message = "No SBOM attached to {Repository}@{Digest}: its scan is {Status} {Error}")]
    private static partial void LogNotScanned(ILogger logger, string repository, string digest, string status, string error);

    [LoggerMessage(EventId = 2146, Level = LogLevel.Warning, Message = "No SBOM attached to {Repository}@{Digest}: the registry refused it: {Reason}")]
    private static partial void LogRefused(ILogger logger, string repository, string digest, string reason);

    [LoggerMessage(EventId = 2147, Level = LogLevel.Error, Message = "Could not attach the SBOM of {Repository}@{Digest}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string repository, string digest);
}
