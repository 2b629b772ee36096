namespace Berth;

/// <summary>
/// Where the runtime runs socket completions (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c>, read once, when the
/// process makes its first socket, so <c>berth serve</c> decides before it builds anything).
/// <para>
/// Inline, on the runtime's socket threads (one per core), on the embedded default (filesystem storage and SQLite
/// metadata): there only Kestrel's connections and the file sender use sockets, Kestrel hands requests to the pool and
/// the file sender moves off a socket thread before calling sendfile, and handing each completion to a pool thread
/// cost large pulls their CPU (an EPOLLOUT nobody waited on woke a pool thread; BENCHMARKS.md).
/// </para>
/// <para>
/// On the pool when a provider talks to a server (PostgreSQL, S3): continuations of its client library would run on
/// the socket threads too, and some block. Npgsql sends a cancelled query's cancellation synchronously and then waits
/// (up to its 2 s cancellation timeout) for PostgreSQL's answer, which only that blocked socket thread could deliver:
/// every socket of the process stalled, and the requests that timed out meanwhile cancelled more queries. Two nodes on
/// PostgreSQL and radosgw (tests/Berth.EndToEnd.Tests/MultiNodeTests) saw a blob commit take 3 minutes and unrelated
/// requests fail with PostgreSQL connect timeouts after 30 s; on the pool the same tests pass in seconds.
/// </para>
/// An explicit variable in the environment wins either way.
/// </summary>
internal static class SocketCompletions
{
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>True when both providers the settings choose run in process (the first, default, provider of each kind).</summary>
    public static bool InlineFor(IDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return InProcess(ProviderKind.Storage, settings.TryGetValue(ProviderCatalog.StorageKey, out var storage) ? storage : null)
            && InProcess(ProviderKind.Metadata, settings.TryGetValue(ProviderCatalog.MetadataKey, out var metadata) ? metadata : null);

        static bool InProcess(ProviderKind kind, string? value) =>
            ProviderCatalog.TryResolve(kind, value, out var choice, out _)
            && ReferenceEquals(choice.Provider, ProviderCatalog.All.First(p => p.Kind == kind));
    }

    /// <summary>Sets the variable for <see cref="InlineFor"/> unless the environment already has it.</summary>
    public static void Apply(IDictionary<string, string?> settings, Func<string, string?> getEnvironment, Action<string, string> setEnvironment)
    {
        ArgumentNullException.ThrowIfNull(getEnvironment);
        ArgumentNullException.ThrowIfNull(setEnvironment);
        if (getEnvironment(Variable) is null && InlineFor(settings))
        {
            setEnvironment(Variable, "1");
        }
    }
}
