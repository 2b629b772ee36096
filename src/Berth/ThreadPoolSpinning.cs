namespace Berth;

/// <summary>
/// Whether idle thread-pool workers spin before they sleep (<c>System.Threading.ThreadPool.UnfairSemaphoreSpinLimit</c>,
/// read when the pool starts its first worker, so <c>berth serve</c> decides before it builds anything).
/// <para>
/// Off when a provider talks to a server (PostgreSQL, S3), where every socket completion is handed to the pool
/// (<see cref="SocketCompletions"/>): between the completions of a large pull the pool's workers kept looking for work
/// with <c>sched_yield</c>, and on a machine that the storage server shares that spinning is CPU the storage server
/// lacks. Large pulls from radosgw cost the server 2.5 CPU ms per MB with spinning and 1.4 without (bench/compare.sh
/// --scale-out; BENCHMARKS.md). On the embedded default completions run inline and the pool's workers serve requests
/// whose latency the spinning shortens: unchanged there.
/// </para>
/// <c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit</c> in the environment wins either way.
/// </summary>
internal static class ThreadPoolSpinning
{
    public const string Switch = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";

    public const string Variable = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    /// <summary>Turns spinning off for <see cref="SocketCompletions.InlineFor"/> false, unless the environment says otherwise.</summary>
    public static bool Apply(IDictionary<string, string?> settings, Func<string, string?> getEnvironment, Action<string, object?> setData)
    {
        ArgumentNullException.ThrowIfNull(getEnvironment);
        ArgumentNullException.ThrowIfNull(setData);
        if (getEnvironment(Variable) is not null || SocketCompletions.InlineFor(settings))
        {
            return false;
        }

        setData(Switch, 0);
        return true;
    }
}
