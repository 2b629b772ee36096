using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Berth.Api.Tests;

/// <summary>
/// One error model: every <c>/v2</c> error and every <c>GET /token</c> error is <c>{"errors":[{"code","message","detail"}]}</c>
/// as <c>application/json</c> from the one writer; <c>POST /token</c> keeps RFC 6749's <c>{"error","error_description"}</c>;
/// an unhandled exception is a 500 in the shape of the API it happened in, without its text.
/// </summary>
public sealed class ErrorModelTests : RegistryTest
{
    private const string ValidDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    public static TheoryData<string, string, HttpStatusCode, string> RegistryErrors() => new()
    {
        { "GET", "/v2/project/app/manifests/missing", HttpStatusCode.NotFound, "MANIFEST_UNKNOWN" },
        { "GET", "/v2/project/app/blobs/" + ValidDigest, HttpStatusCode.NotFound, "BLOB_UNKNOWN" },
        { "GET", "/v2/project/app/blobs/sha256:nothex", HttpStatusCode.BadRequest, "DIGEST_INVALID" },
        { "GET", "/v2/Project/App/tags/list", HttpStatusCode.BadRequest, "NAME_INVALID" },
        { "PUT", "/v2/project/app/manifests/bad:tag:", HttpStatusCode.BadRequest, "DIGEST_INVALID" },
        { "PUT", "/v2/project/app/manifests/-tag", HttpStatusCode.BadRequest, "TAG_INVALID" },
        { "POST", "/v2/project/app/blobs/" + ValidDigest, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED" },
        { "GET", "/v2/project/app/nothing-here", HttpStatusCode.NotFound, "UNSUPPORTED" },
        { "GET", "/v2/project/app/blobs/uploads/0123456789abcdef0123456789abcdef", HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN" },
        { "GET", "/v2/project/app/tags/list?n=-1", HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID" },
        { "GET", "/token?service=somewhere-else", HttpStatusCode.BadRequest, "UNSUPPORTED" },
        { "GET", "/token?scope=" + TooManyScopes, HttpStatusCode.BadRequest, "UNSUPPORTED" },
    };

    private static string TooManyScopes => string.Join("%20", Enumerable.Range(0, 101).Select(i => $"repository:project/app{i}:pull"));

    [Theory]
    [MemberData(nameof(RegistryErrors))]
    public async Task RegistryAndTokenErrors_AnyPath_OneOciErrorShape(string method, string path, HttpStatusCode status, string code)
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await AssertOciErrorAsync(response, status, code);
    }

    [Fact]
    public async Task Registry_Anonymous_UnauthorizedInOciShape()
    {
        using var anonymous = App.CreateAnonymousClient();

        using var response = await anonymous.GetAsync("/v2/");

        await AssertOciErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task TokenGet_NotBasicCredentials_UnauthorizedInOciShape()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/token?scope=repository:project/app:pull");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Digest", "username=admin");

        using var response = await Client.SendAsync(request);

        await AssertOciErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal("Basic realm=\"berth\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task TokenGet_WrongPassword_UnauthorizedInOciShape()
    {
        using var client = App.CreateClient(BerthApplication.AdminUser, "not-the-password");

        using var response = await client.GetAsync("/token?scope=repository:project/app:pull");

        await AssertOciErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Theory]
    [InlineData("grant_type=client_credentials", "unsupported_grant_type")]
    [InlineData("grant_type=password&username=admin", "invalid_request")]
    [InlineData("grant_type=refresh_token&refresh_token=forged", "invalid_grant")]
    public async Task TokenPost_RefusedGrant_KeepsOAuth2ErrorShape(string form, string error)
    {
        using var content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded");

        using var response = await Client.PostAsync("/token", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(error, json.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("error_description").GetString()));
        Assert.False(json.RootElement.TryGetProperty("errors", out _));
    }

    [Theory]
    [InlineData("GET", "/v2/")]
    [InlineData("GET", "/v2/project/app/manifests/v1")]
    [InlineData("HEAD", "/v2/project/app/manifests/v1")]
    [InlineData("GET", "/token?scope=repository:project/app:pull")]
    public async Task RegistryAndToken_UnhandledException_500InOciShapeWithoutItsText(string method, string path)
    {
        using var app = new BerthApplication { ConfigureTestServices = ThrowingIpRules };
        using var client = app.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        if (method == "HEAD")
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(ThrowingIpAllowRuleStore.Secret, body, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(ThrowingIpAllowRuleStore), body, StringComparison.Ordinal);
        var error = await response.ReadErrorAsync();
        Assert.Equal("UNKNOWN", error.Code);
        Assert.Equal(JsonValueKind.Object, error.Detail.ValueKind);
    }

    [Fact]
    public async Task Management_UnhandledException_500ProblemDetailsWithoutItsText()
    {
        using var app = new BerthApplication { ConfigureTestServices = ThrowingIpRules };
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/api/v1/projects");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(ThrowingIpAllowRuleStore.Secret, body, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(500, json.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("title").GetString()));
    }

    [Theory]
    [InlineData("/v2/project/app/tags/list")]
    [InlineData("/token?scope=repository:project/app:pull")]
    [InlineData("/api/v1/projects")]
    public async Task AnySurface_UnhandledException_LoggedOnceWithItsException(string path)
    {
        var logs = new CollectingLoggerProvider();
        using var app = new BerthApplication
        {
            ConfigureTestServices = services =>
            {
                ThrowingIpRules(services);
                services.AddSingleton<ILoggerProvider>(logs);
            },
        };
        using var client = app.CreateClient();

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var logged = Assert.Single(logs.Entries, e => e.Exception is not null);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.Equal(2003, logged.EventId);
        Assert.Contains(ThrowingIpAllowRuleStore.Secret, logged.Exception!.Message, StringComparison.Ordinal);
        Assert.Single(logs.Entries, e => e.EventId == 2001 && e.Message.Contains(" 500 ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/v2/", true)]
    [InlineData("/v2/project/app/manifests/missing", true)]
    [InlineData("/v2/Bad/Name/tags/list", true)]
    [InlineData("/token?service=somewhere-else", false)]
    [InlineData("/api/v1/projects", false)]
    public async Task ApiVersionHeader_BySurface_OnlyOnRegistryResponses(string path, bool expected)
    {
        using var response = await Client.GetAsync(path);

        Assert.Equal(expected, response.Headers.TryGetValues("Docker-Distribution-API-Version", out var values));
        if (expected)
        {
            Assert.Equal("registry/2.0", Assert.Single(values!));
        }
    }

    internal static async Task AssertOciErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var error = await OciAssert.ErrorAsync(response, status, code);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        Assert.Equal(["errors"], root.EnumerateObject().Select(p => p.Name));
        var only = Assert.Single(root.GetProperty("errors").EnumerateArray());
        Assert.Equal(["code", "message", "detail"], only.EnumerateObject().Select(p => p.Name));
        Assert.Equal(code, error.Code);
    }

    private static void ThrowingIpRules(IServiceCollection services)
    {
        services.RemoveAll<IIpAllowRuleStore>();
        services.AddSingleton<IIpAllowRuleStore, ThrowingIpAllowRuleStore>();
    }

    /// <summary>A store that breaks on every read, with a message that must never reach a client.</summary>
    private sealed class ThrowingIpAllowRuleStore : IIpAllowRuleStore
    {
        public const string Secret = "secret-connection-string-password";

        public Task<IpRuleAddResult> AddAsync(ProjectName? project, string network, string? note, CancellationToken cancellationToken) =>
            throw new InvalidOperationException(Secret);

        public Task<Berth.Core.Metadata.DeleteResult> RemoveAsync(long id, CancellationToken cancellationToken) => throw new InvalidOperationException(Secret);

        public Task<IReadOnlyList<IpAllowRule>> ListAsync(ProjectName? project, CancellationToken cancellationToken) =>
            throw new InvalidOperationException(Secret);
    }

    private sealed record LogEntry(LogLevel Level, int EventId, string Message, Exception? Exception);

    /// <summary>Keeps every log entry of the server, from every category.</summary>
    private sealed class CollectingLoggerProvider : ILoggerProvider, ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<LogEntry> _entries = new();

        public IReadOnlyCollection<LogEntry> Entries => _entries.ToArray();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _entries.Enqueue(new LogEntry(logLevel, eventId.Id, formatter(state, exception), exception));

        public void Dispose()
        {
        }
    }
}
