namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>One running server per test class (xunit class fixture), on its own port and data folder.</summary>
public sealed class BerthServerFixture : IAsyncLifetime
{
    private BerthProcess? _server;

    public BerthProcess Server => _server ?? throw new InvalidOperationException("the server fixture was not initialised");

    public async Task InitializeAsync() => _server = await BerthProcess.StartAsync();

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
