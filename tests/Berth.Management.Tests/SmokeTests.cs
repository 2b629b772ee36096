using System.Net;

namespace Berth.Management.Tests;

public sealed class SmokeTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Me_AsAdmin_ReturnsAdministrator()
    {
        var me = await _app.Admin.GetJsonAsync("/api/v1/me");
        Assert.Equal("admin", me.GetProperty("name").GetString());
        Assert.True(me.GetProperty("administrator").GetBoolean());
    }
}
