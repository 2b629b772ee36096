using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Berth.Api.Access;
using Berth.Application.Audit;
using Berth.Core.Access;
using Berth.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Management.Tests;

/// <summary>
/// The server in memory with a known administrator (<c>admin</c> / <see cref="AdminPassword"/>), cheap password
/// hashing, and a client address taken from the <c>X-Test-Peer</c> header (127.0.0.1 without it).
/// </summary>
public sealed class ManagementApp : IDisposable
{
    public const string AdminPassword = "admin-password-1";
    public const string Password = "user-password-1";
    public const string PeerHeader = "X-Test-Peer";

    private readonly List<HttpClient> _clients = [];

    /// <param name="settings">Configuration on top of the defaults.</param>
    /// <param name="services">More test services, registered after the server's own.</param>
    public ManagementApp(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Berth:AdminPassword"] = AdminPassword,
            ["Berth:Auth:Passwords:Iterations"] = "1000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        App = new BerthApplication(all)
        {
            ConfigureTestServices = collection =>
            {
                collection.AddSingleton<IStartupFilter, PeerAddressStartupFilter>();
                services?.Invoke(collection);
            },
        };
        Anonymous = NewClient(null);
        Admin = As("admin", AdminPassword);
    }

    public BerthApplication App { get; }

    public HttpClient Anonymous { get; }

    public HttpClient Admin { get; }

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public HttpClient As(string user, string password = Password) =>
        NewClient(new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password))));

    public HttpClient WithBearer(string token) => NewClient(new AuthenticationHeaderValue("Bearer", token));

    public HttpClient NewClient(AuthenticationHeaderValue? authorization, string? peer = null)
    {
        var client = App.CreateClient();
        client.DefaultRequestHeaders.Authorization = authorization;
        if (peer is not null)
        {
            client.DefaultRequestHeaders.Add(PeerHeader, peer);
        }

        _clients.Add(client);
        return client;
    }

    public async Task CreateUserAsync(string name, bool administrator = false, string password = Password)
    {
        using var response = await Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/users", new { name, password, administrator });
        await Expect.StatusAsync(response, HttpStatusCode.Created);
    }

    public async Task CreateProjectAsync(string name, bool isPublic = false)
    {
        using var response = await Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects", new { name, @public = isPublic });
        await Expect.StatusAsync(response, HttpStatusCode.Created);
    }

    public async Task AddMemberAsync(string project, string user, string role)
    {
        using var response = await Admin.SendJsonAsync(HttpMethod.Put, $"/api/v1/projects/{project}/members/{user}", new { role });
        await Expect.StatusAsync(response, HttpStatusCode.Created);
    }

    /// <summary>Creates a personal token for the client's user; returns its id and secret.</summary>
    public static async Task<(long Id, string Secret)> CreateTokenAsync(HttpClient client, string name, string scope = "pull,push,delete", string[]? projects = null)
    {
        using var response = await client.SendJsonAsync(HttpMethod.Post, "/api/v1/tokens", new { name, scope, projects });
        await Expect.StatusAsync(response, HttpStatusCode.Created);
        var json = await response.ReadJsonAsync();
        return (json.GetProperty("id").GetInt64(), json.GetProperty("token").GetString()!);
    }

    /// <summary>Waits for queued audit entries, then reads the newest ones of <paramref name="action"/> from the log.</summary>
    public async Task<IReadOnlyList<AuditEntry>> AuditAsync(string? action = null)
    {
        await Service<AuditRecorder>().FlushAsync(CancellationToken.None);
        var page = await Service<IAuditLog>().QueryAsync(new AuditQuery(Action: action, Limit: 1000), CancellationToken.None);
        return page.Items;
    }

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        App.Dispose();
    }

    private sealed class PeerAddressStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                var header = context.Request.Headers[PeerHeader].ToString();
                context.Connection.RemoteIpAddress = header.Length > 0 ? IPAddress.Parse(header) : IPAddress.Loopback;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}

public static class HttpJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>Sends <paramref name="body"/> as JSON; a string is sent as it is (for malformed bodies).</summary>
    public static Task<HttpResponseMessage> SendJsonAsync(this HttpClient client, HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            var text = body as string ?? JsonSerializer.Serialize(body, Options);
            request.Content = new StringContent(text, Encoding.UTF8, "application/json");
        }

        return client.SendAsync(request);
    }

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.GetAsync(path);
        await Expect.StatusAsync(response, expected);
        return await response.ReadJsonAsync();
    }
}

public static class Expect
{
    public static async Task StatusAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode != expected)
        {
            var body = response.Content is null ? string.Empty : await response.Content.ReadAsStringAsync();
            Assert.Fail($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)expected} {expected}, got {(int)response.StatusCode} {response.StatusCode}: {body}");
        }
    }

    /// <summary>A ProblemDetails answer with that status; returns the body.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        await StatusAsync(response, expected);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = await response.ReadJsonAsync();
        Assert.Equal((int)expected, json.GetProperty("status").GetInt32());
        Assert.True(json.TryGetProperty("title", out _));
        Assert.True(json.TryGetProperty("type", out _));
        return json;
    }

    /// <summary>A 400 validation problem naming <paramref name="field"/> in <c>errors</c>.</summary>
    public static async Task<JsonElement> ValidationAsync(HttpResponseMessage response, string field)
    {
        var json = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(json.TryGetProperty("errors", out var errors), json.ToString());
        Assert.True(errors.TryGetProperty(field, out _), $"no error for '{field}' in {errors}");
        return json;
    }
}
