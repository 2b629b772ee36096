namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>One running server per test class (xunit class fixture), on its own port and data folder.</summary>
public class BerthServerFixture : IAsyncLifetime
{
    private readonly string[] _arguments;
    private BerthProcess? _server;

    public BerthServerFixture()
        : this([])
    {
    }

    /// <summary>A server started with extra <c>berth serve</c> <paramref name="arguments"/> (see <see cref="BerthProcess.StartAsync"/>).</summary>
    protected BerthServerFixture(string[] arguments) => _arguments = arguments;

    public BerthProcess Server => _server ?? throw new InvalidOperationException("the server fixture was not initialised");

    public async Task InitializeAsync() => _server = await BerthProcess.StartAsync(_arguments);

    /// <summary>Stops the server; a server that died on its own during the tests is reported as a failure of the class.</summary>
    public async Task DisposeAsync()
    {
        if (_server is null)
        {
            return;
        }

        await _server.DisposeAsync();
        if (_server.UnexpectedExit is not null)
        {
            throw new InvalidOperationException($"{_server.UnexpectedExit}. Its log:\n{_server.LogTail(60)}");
        }
    }
}

/// <summary>A server for access-control tests: it re-reads project settings and IP rules after <see cref="ServerSetup.CacheLifetime"/>.</summary>
public sealed class AccessServerFixture() : BerthServerFixture([ServerSetup.CacheArgument]);
