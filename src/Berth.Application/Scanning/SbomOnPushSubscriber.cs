using Berth.Core.Access;
using Berth.Core.Events;
using Berth.Core.Scanning;
using Berth.Oci;
using Microsoft.Extensions.Logging;

namespace Berth.Application.Scanning;

/// <summary>
/// On each push of an image manifest into a project whose policy attaches an SBOM at push, queues the image's scan
/// when it has none (the SBOM is made from its inventory; a scan queued, running or done is left as it is) and remembers the image in
/// <see cref="SbomOnPush"/> for <see cref="SbomOnPushJob"/>. An index is not an image: its platform manifests are
/// pushed first, each its own event, and each gets its SBOM. The job's own SBOM pushes are skipped. Never throws to the push.
/// </summary>
public sealed partial class SbomOnPushSubscriber(IScanPolicyStore policies, IScanResultStore results, SbomOnPush pending, TimeProvider clock,
    ILogger<SbomOnPushSubscriber> logger) : IRegistryEventSubscriber
{
    /// <summary>The lease given when queueing (a claim younger than it is left alone).</summary>
    public static readonly TimeSpan QueueLease = TimeSpan.FromMinutes(10);

    public async ValueTask HandleAsync(RegistryEvent registryEvent)
    {
        if (registryEvent is not ManifestPushed { MediaType: MediaTypes.OciManifest or MediaTypes.DockerManifest } pushed || pushed.Actor == SbomOnPushJob.Actor)
        {
            return;
        }

        var project = ProjectName.Of(pushed.Repository);

        try
        {
            if (await policies.GetPolicyAsync(project, CancellationToken.None).ConfigureAwait(false) is not { SbomOnPush: true })
            {
                return;
            }

            var now = clock.GetUtcNow();
            if (!pending.Add(pushed.Repository, pushed.Digest, now))
            {
                LogFull(logger, pushed.Repository.Value, pushed.Digest.ToString(), SbomOnPush.Capacity);
                return;
            }

            if (await results.GetAsync(pushed.Digest, CancellationToken.None).ConfigureAwait(false) is null)
            {
                await results.EnqueueAsync(pushed.Digest, now, QueueLease, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogFailed(logger, ex, pushed.Repository.Value, pushed.Digest.ToString());
        }
    }

    [LoggerMessage(EventId = 2141, Level = LogLevel.Warning, Message = "No SBOM will be attached to {Repository}@{Digest}: {Capacity} images are already waiting for theirs on this node")]
    private static partial void LogFull(ILogger logger, string repository, string digest, int capacity);

    [LoggerMessage(EventId = 2142, Level = LogLevel.Error, Message = "Could not queue the SBOM at push of {Repository}@{Digest}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string repository, string digest);
}
