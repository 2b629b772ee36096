using System.Collections.Concurrent;
using Berth.Core.Access;
using Berth.Core.Events;
using Berth.Core.Scanning;
using Berth.Oci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Scanning;

/// <summary>
/// Queues a scan of every manifest pushed into a project whose policy has <see cref="ScanPolicy.ScanOnPush"/> (the default).
/// An index is not queued: its platform manifests are pushed before it, each with its own event. A digest that has a
/// scan already (done, queued, running or unsupported: pushed before under another tag or into another repository) is
/// not queued again (advisory imports re-match it; a failed one is); nor are the SBOMs Berth attaches. Everything else is
/// queued and the runner decides (an artifact becomes <see cref="ScanStatus.Unsupported"/>). Policies are cached per
/// project for <see cref="PolicyCacheTime"/>, so a push costs one queue write; a failure is logged and never fails the push.
/// </summary>
public sealed partial class ScanOnPushSubscriber(IScanPolicyStore policies, IScanResultStore results, TimeProvider clock, IOptions<ScanningOptions> options,
    ILogger<ScanOnPushSubscriber> logger) : IRegistryEventSubscriber
{
    /// <summary>How long a project's policy is reused on this node (a change holds on every node within it).</summary>
    public static readonly TimeSpan PolicyCacheTime = TimeSpan.FromSeconds(3);

    private readonly ConcurrentDictionary<ProjectName, (ScanPolicy? Policy, DateTimeOffset Until)> _policies = new();

    public async ValueTask HandleAsync(RegistryEvent registryEvent)
    {
        if (registryEvent is not ManifestPushed pushed || !options.Value.Enabled
            || pushed.MediaType is MediaTypes.OciIndex or MediaTypes.DockerManifestList || pushed.Actor == SbomOnPushJob.Actor)
        {
            return;
        }

        try
        {
            var policy = await PolicyAsync(ProjectName.Of(pushed.Repository)).ConfigureAwait(false);
            if (policy is not { ScanOnPush: true })
            {
                return;
            }

            if (await results.GetAsync(pushed.Digest, CancellationToken.None).ConfigureAwait(false) is { Status: not ScanStatus.Failed })
            {
                return; // pushed before (another tag, another repository): scanned, queued or unsupported already; imports re-match it
            }

            var queued = await results.EnqueueAsync(pushed.Digest, clock.GetUtcNow(), options.Value.Lease, CancellationToken.None).ConfigureAwait(false);
            if (queued == ScanEnqueueResult.Queued)
            {
                LogQueued(logger, pushed.Digest, pushed.Repository);
            }
        }
        catch (Exception ex)
        {
            LogQueueFailed(logger, ex, pushed.Digest, pushed.Repository);
        }
    }

    private async Task<ScanPolicy?> PolicyAsync(ProjectName project)
    {
        var now = clock.GetUtcNow();
        if (_policies.TryGetValue(project, out var cached) && cached.Until > now)
        {
            return cached.Policy;
        }

        var policy = await policies.GetPolicyAsync(project, CancellationToken.None).ConfigureAwait(false);
        if (_policies.Count > 10_000)
        {
            _policies.Clear(); // bounded: a cache, never a record of every project
        }

        _policies[project] = (policy, now + PolicyCacheTime);
        return policy;
    }

    [LoggerMessage(EventId = 2121, Level = LogLevel.Debug, Message = "Queued a scan of {Digest} pushed to {Repository}")]
    private static partial void LogQueued(ILogger logger, Digest digest, RepositoryName repository);

    [LoggerMessage(EventId = 2122, Level = LogLevel.Warning, Message = "Could not queue a scan of {Digest} pushed to {Repository}")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception, Digest digest, RepositoryName repository);
}
