namespace Berth.Core;

/// <summary>
/// A provider's check that the service behind it answers and is usable: the SQLite file opens, the data folder is
/// writable, the PostgreSQL server accepts the credentials, the bucket exists and the keys may write to it. Every
/// provider registers one (<c>services.AddSingleton&lt;IProviderProbe, …&gt;()</c>). The server runs them all once at
/// start-up (a failure stops it with the one line, naming the setting, exit code 1) and on every <c>/readyz</c>
/// (503 with the reasons while one fails).
/// </summary>
public interface IProviderProbe
{
    /// <summary>The option the operator fixes when this probe fails, as messages name it (<c>--storage</c>, <c>--metadata</c>).</summary>
    string Setting { get; }

    /// <summary>
    /// Null when the service answers and is usable, else one line for the operator saying what failed
    /// (<c>bucket 'registry' does not exist at http://127.0.0.1:7480</c>): no stack trace, no secret. Never throws
    /// for an unreachable or refusing service; honours <paramref name="cancellationToken"/> (the caller bounds the wait).
    /// </summary>
    Task<string?> ProbeAsync(CancellationToken cancellationToken);
}
