namespace Berth.Core.Jobs;

/// <summary>When a periodic job runs: first <see cref="InitialDelay"/> after the host starts, then every <see cref="Interval"/> after the previous run ended.</summary>
public readonly record struct JobSchedule(TimeSpan Interval, TimeSpan InitialDelay)
{
    /// <summary>Every <paramref name="interval"/>, the first run at once.</summary>
    public static JobSchedule Every(TimeSpan interval) => new(interval, TimeSpan.Zero);
}

/// <summary>
/// Background work that runs on a schedule in <see cref="JobHost"/> (register with
/// <see cref="JobServiceCollectionExtensions.AddPeriodicJob{T}"/>). On several nodes one node runs each job at a time:
/// the host takes the lease named <see cref="Name"/> before each run (unless <see cref="EveryNode"/>). A run that throws is counted and logged, and the
/// job runs again at its next time; cancellation of the token means the server is stopping.
/// </summary>
public interface IPeriodicJob
{
    /// <summary>Stable and unique among jobs: it names the lease and appears in the log and the status.</summary>
    string Name { get; }

    JobSchedule Schedule { get; }

    /// <summary>
    /// True when the job works on this node's own state (in-memory queues, its key ring): it then runs on every node
    /// and takes no lease. False (the default): the work is shared, and one node at a time runs it.
    /// </summary>
    bool EveryNode => false;

    Task RunAsync(CancellationToken cancellationToken);
}
