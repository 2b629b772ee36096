using Berth.Testing;
using Microsoft.AspNetCore.Builder;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Arranges users, projects, memberships, robots, access tokens and IP rules for a running <see cref="BerthProcess"/>
/// without the management API: composes the server's own services over its data folder in this test process, the
/// way <c>berth admin</c> does (<c>BerthServer.Build</c>, never started, so no port and no hosted services), and
/// drives their stores through <see cref="AccessSetup"/>. Both processes use <c>berth.db</c> at once (SQLite WAL,
/// busy timeout). The server sees the changes at once, except project settings and IP rules it read less than
/// <c>Berth:CacheLifetime</c> ago: start it with <see cref="CacheArgument"/> and wait <see cref="CacheDelay"/>
/// after changing something it may have read.
/// </summary>
public sealed class ServerSetup : IAsyncDisposable
{
    /// <summary>How long the server reuses project settings and IP rules (default 5 s), given as a raw serve argument.</summary>
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromMilliseconds(200);

    public static readonly string CacheArgument = $"--Berth:CacheLifetime={CacheLifetime:c}";

    /// <summary>Long enough for a server started with <see cref="CacheArgument"/> to read its caches again.</summary>
    public static readonly TimeSpan CacheDelay = CacheLifetime * 3;

    private readonly WebApplication _app;

    private ServerSetup(WebApplication app)
    {
        _app = app;
        Access = new AccessSetup(app.Services);
    }

    public AccessSetup Access { get; }

    /// <summary>Opens the stores of <paramref name="server"/>'s data folder (which must already exist: the server created it).</summary>
    public static ServerSetup Open(BerthProcess server) =>
        new(MigratedServer.Build(new Dictionary<string, string?> { ["Berth:Data"] = server.DataPath }));

    /// <summary>Waits until the server no longer uses what it cached before a change.</summary>
    public static Task WaitForServerCachesAsync() => Task.Delay(CacheDelay);

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
