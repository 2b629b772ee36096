using System.Net;
using Berth.Testing;

namespace Berth.Api.Tests;

public sealed class BaseEndpointTests
{
    [Fact]
    public async Task GetV2_OpenRegistry_Returns200WithApiVersionHeader()
    {
        using var app = new BerthApplication();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
    }
}
