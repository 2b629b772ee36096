using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary>A failure to report on stderr as <c>berth: message</c>, with exit code 1 (the server or the network said no).</summary>
internal sealed class ClientException(string message) : Exception(message);

/// <summary>
/// The management API over HTTP: one base URL, the stored login (Basic credentials) if any, JSON in and out.
/// Every failure comes out as a <see cref="ClientException"/> with a message fit for the user: ProblemDetails as
/// <c>detail (HTTP status)</c>, 401 as "not logged in", refused connections with the URL. Never puts the secret in
/// a message.
/// </summary>
internal sealed class ManagementClient : IDisposable
{
    private readonly HttpClient _http;

    /// <param name="ownsHandler">Whether disposing the client disposes <paramref name="handler"/> (one made for this client).</param>
    public ManagementClient(HttpMessageHandler handler, string baseUrl, Login? login, bool ownsHandler = false)
    {
        BaseUrl = baseUrl;
        Login = login;
        _http = new HttpClient(handler, disposeHandler: ownsHandler);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("berth-cli", "1"));
        if (login is not null)
        {
            _http.DefaultRequestHeaders.Authorization = BasicAuthorization(login.User, login.Secret);
        }
    }

    /// <summary>The server, normalised (<c>https://host:port[/path]</c>, no trailing slash).</summary>
    public string BaseUrl { get; }

    public Login? Login { get; }

    /// <summary>How long a request may take (HttpClient's 100 s unless a command that waits for long work lifts it).</summary>
    public TimeSpan Timeout
    {
        get => _http.Timeout;
        set => _http.Timeout = value;
    }

    /// <summary>The message for a 401; login replaces it with "wrong user name or password".</summary>
    public string? UnauthorizedMessage { get; set; }

    public static AuthenticationHeaderValue BasicAuthorization(string user, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{secret}")));

    public void Dispose() => _http.Dispose();

    public Task<JsonNode?> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    /// <summary>Sends one request; answers the parsed JSON body, or null for an empty one (204).</summary>
    /// <exception cref="ClientException">A non-success status, an unreachable server or an answer that is not JSON.</exception>
    public Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonObject? body) =>
        SendContentAsync(method, path, body is null ? null : new StringContent(body.ToJsonString(Output.CompactJson), Encoding.UTF8, "application/json"));

    /// <summary>As <see cref="SendAsync(HttpMethod, string, JsonObject?)"/> with a body made by the caller (a JSON array, a large one); the content is disposed.</summary>
    public async Task<JsonNode?> SendContentAsync(HttpMethod method, string path, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, BaseUrl + path);
        request.Content = content;

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request);
        }
        catch (HttpRequestException ex)
        {
            throw new ClientException(ConnectionFailure(ex));
        }
        catch (TaskCanceledException)
        {
            throw new ClientException($"{BaseUrl} did not answer within {_http.Timeout.TotalSeconds:0} seconds");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                throw new ClientException(Failure(response, text));
            }

            if (string.IsNullOrWhiteSpace(text))
            {
                return null;
            }

            try
            {
                return JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                throw new ClientException($"{BaseUrl} answered {(int)response.StatusCode} with a body that is not JSON; is it a Berth server?");
            }
        }
    }

    /// <summary>One page of a listing: <paramref name="pathAndQuery"/> answers <c>{"items":[...],"next":...}</c>.</summary>
    public async Task<(JsonArray Items, string? Next)> GetPageAsync(string pathAndQuery)
    {
        var page = await GetAsync(pathAndQuery) as JsonObject
            ?? throw new ClientException($"{BaseUrl} answered a listing without a JSON object");
        if (page["items"] is not JsonArray items)
        {
            throw new ClientException($"{BaseUrl} answered a listing without \"items\"");
        }

        page.Remove("items");
        var next = page["next"] is JsonValue value && value.TryGetValue<string>(out var cursor) && cursor.Length > 0 ? cursor : null;
        return (items, next);
    }

    /// <summary>Every item of a listing: follows <c>next</c> (as <c>after</c>) until the server says null.</summary>
    public async Task<JsonArray> GetAllAsync(string path, params (string Name, string? Value)[] query)
    {
        var all = new JsonArray();
        string? after = null;
        while (true)
        {
            var (items, next) = await GetPageAsync(path + Query([.. query, ("after", after)]));
            while (items.Count > 0)
            {
                var item = items[0];
                items.RemoveAt(0);
                all.Add(item);
            }

            if (next is null)
            {
                return all;
            }

            if (next == after)
            {
                throw new ClientException($"{BaseUrl} answered the same page cursor twice; stopping");
            }

            after = next;
        }
    }

    /// <summary><c>?a=1&amp;b=2</c> from the pairs whose value is not null, escaped; empty when there is none.</summary>
    public static string Query(params (string Name, string? Value)[] pairs)
    {
        var given = pairs.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return given.Count == 0 ? "" : "?" + string.Join('&', given);
    }

    /// <summary>A path segment, escaped (a name may hold characters that mean something in a URL).</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);

    private string ConnectionFailure(HttpRequestException ex) => ConnectionFailure(ex, BaseUrl);

    /// <summary>What to tell the user when <paramref name="baseUrl"/> cannot be reached (TLS, refused, unknown host, timeout).</summary>
    internal static string ConnectionFailure(HttpRequestException ex, string baseUrl)
    {
        if (ClientTls.Describe(ex, baseUrl) is { } tls)
        {
            return tls;
        }

        var socket = ex.InnerException as SocketException ?? ex.InnerException?.InnerException as SocketException;
        return socket?.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => $"cannot connect to {baseUrl}: connection refused (is the server running, and is the URL right?)",
            SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"cannot connect to {baseUrl}: unknown host",
            SocketError.TimedOut => $"cannot connect to {baseUrl}: timed out",
            _ => $"cannot connect to {baseUrl}: {ex.Message}" + (ex.InnerException is { } inner ? $" ({inner.Message})" : string.Empty),
        };
    }

    private string Failure(HttpResponseMessage response, string body)
    {
        var status = (int)response.StatusCode;
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            return UnauthorizedMessage ?? $"not logged in to {BaseUrl} or the credentials were refused; run berth login {BaseUrl}";
        }

        string? message = null;
        var fields = new List<string>();
        try
        {
            if (JsonNode.Parse(body) is JsonObject problem)
            {
                message = Output.Scalar(problem["detail"]) ?? Output.Scalar(problem["title"]);
                if (problem["errors"] is JsonObject errors)
                {
                    foreach (var (field, messages) in errors)
                    {
                        var list = messages is JsonArray array ? array.Select(Output.Scalar) : [Output.Scalar(messages)];
                        fields.AddRange(list.Where(m => m is not null).Select(m => $"  {field}: {Output.Clean(m!)}"));
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not ProblemDetails (a proxy's HTML page, say): the status line is all there is to say.
        }

        message = string.IsNullOrWhiteSpace(message) ? response.ReasonPhrase ?? "request failed" : Output.Clean(message);
        var text = new StringBuilder($"{message} (HTTP {status}");
        if (response.Headers.RetryAfter?.Delta is { } delta)
        {
            text.Append(CultureInfo.InvariantCulture, $"; retry in {delta.TotalSeconds:0} s");
        }

        text.Append(')');
        foreach (var line in fields)
        {
            text.Append('\n').Append(line);
        }

        return text.ToString();
    }
}
