namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>One running server per test class (xunit class fixture), on its own port and data folder.</summary>
public sealed class BerthServerFixture : IAsyncLifetime
{
    private BerthProcess? _server;

    public BerthProcess Server => _server ?? throw new InvalidOperationException("the server fixture was not initialised");

    public async Task InitializeAsync() => _server = await BerthProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
