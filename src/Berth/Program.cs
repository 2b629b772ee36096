using Berth;

// The server runs socket completions on the runtime's socket threads (one per core) instead of handing each to a pool
// thread: while a large blob is sent, every time the socket's buffer drains the runtime's epoll thread woke a pool
// thread for an event nobody waited on, and idle pool threads spinning for work cost large pulls their CPU on a busy
// host (BENCHMARKS.md). Nothing that blocks runs there: Kestrel hands requests to the pool, and the file sender moves
// off a socket thread before calling sendfile. Read once, when the first socket is made, so it must be set here; an
// explicit DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS wins.
if ((args.Length == 0 || args[0] is "serve" || args[0].StartsWith('-'))
    && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

return await Cli.RunAsync(args);

/// <summary>Entry point (the class is named so tests can use <c>WebApplicationFactory&lt;Program&gt;</c>).</summary>
public partial class Program;
