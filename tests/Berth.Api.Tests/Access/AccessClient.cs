using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>Credentials of a test caller: a user (or robot) name with a password or access token; null for anonymous.</summary>
public sealed record Credentials(string User, string Secret);

/// <summary>The two ways a client authenticates on /v2, and the token endpoint round trip of the second.</summary>
public static class AccessClient
{
    public const string Realm = "http://localhost/token";

    /// <summary>A client that sends <paramref name="credentials"/> as Basic auth (none when null).</summary>
    public static HttpClient Basic(BerthApplication app, Credentials? credentials, string? address = null)
    {
        var client = credentials is null ? app.CreateAnonymousClient() : app.CreateClient(credentials.User, credentials.Secret);
        if (address is not null)
        {
            client.DefaultRequestHeaders.Add(BerthApplication.ClientAddressHeader, address);
        }

        return client;
    }

    /// <summary>A client that sends <c>Authorization: Bearer</c> with <paramref name="token"/>.</summary>
    public static HttpClient Bearer(BerthApplication app, string token, string? address = null)
    {
        var client = app.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (address is not null)
        {
            client.DefaultRequestHeaders.Add(BerthApplication.ClientAddressHeader, address);
        }

        return client;
    }

    /// <summary>GET /token with the credentials (Basic; none when null) for the scopes; asserts 200 and returns the registry token.</summary>
    public static Task<string> GetTokenAsync(BerthApplication app, Credentials? credentials, params string[] scopes) =>
        GetTokenFromAsync(app, null, credentials, scopes);

    /// <summary>As <see cref="GetTokenAsync"/>, from the client address <paramref name="address"/> (null: 127.0.0.1).</summary>
    public static async Task<string> GetTokenFromAsync(BerthApplication app, string? address, Credentials? credentials, params string[] scopes)
    {
        using var client = Basic(app, credentials, address);
        using var response = await client.GetAsync(TokenPath(scopes));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /token for {credentials?.User ?? "anonymous"}: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>The GET /token path for the scopes (each as its own <c>scope</c> parameter).</summary>
    public static string TokenPath(params string[] scopes) =>
        "/token?service=berth" + string.Concat(scopes.Select(s => "&scope=" + Uri.EscapeDataString(s)));

    /// <summary>The <c>access</c> claim of a registry token (its payload, not verified) as "name:actions" strings.</summary>
    public static IReadOnlyList<string> AccessOf(string token)
    {
        var payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
        using var json = JsonDocument.Parse(Convert.FromBase64String(payload));
        if (!json.RootElement.TryGetProperty("access", out var access))
        {
            return [];
        }

        return access.EnumerateArray()
            .Select(a => $"{a.GetProperty("type").GetString()}:{a.GetProperty("name").GetString()}:{string.Join(',', a.GetProperty("actions").EnumerateArray().Select(x => x.GetString()))}")
            .ToList();
    }
}
