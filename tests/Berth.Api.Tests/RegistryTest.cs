using System.Net;
using Berth.Testing;

namespace Berth.Api.Tests;

/// <summary>A fresh registry (temporary data folder, fake clock) and a client for each test.</summary>
public abstract class RegistryTest : IDisposable
{
    protected RegistryTest(IDictionary<string, string?>? settings = null)
    {
        App = new BerthApplication(settings);
        Client = App.CreateClient();
    }

    protected BerthApplication App { get; }

    protected HttpClient Client { get; }

    public void Dispose()
    {
        Client.Dispose();
        App.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Assertions on OCI error responses.</summary>
public static class OciAssert
{
    /// <summary>
    /// Asserts the status and that the body is <c>{"errors":[{"code","message","detail"}]}</c> with <paramref name="code"/>.
    /// </summary>
    public static async Task<OciError> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = await response.ReadErrorAsync();
        Assert.Equal(code, error.Code);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Equal(System.Text.Json.JsonValueKind.Object, error.Detail.ValueKind);
        return error;
    }

    public static async Task StatusAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        if (response.StatusCode != status)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Fail($"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        }
    }
}
