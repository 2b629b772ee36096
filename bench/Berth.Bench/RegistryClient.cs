using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Berth.Bench;

/// <summary>A request that failed: what was asked and what came back. Counted as an error by the runner.</summary>
internal sealed class BenchException(string message) : Exception(message)
{
    public static async Task<BenchException> FromResponseAsync(HttpResponseMessage response, string expectation)
    {
        var request = response.RequestMessage;
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            body = $"<body unreadable: {ex.Message}>";
        }

        if (body.Length > 600)
        {
            body = body[..600] + "...";
        }

        return new BenchException($"{request?.Method} {request?.RequestUri} -> {(int)response.StatusCode} {response.ReasonPhrase} (expected {expectation}); body: {body.ReplaceLineEndings(" ")}");
    }
}

/// <summary>
/// HTTP access to one registry over the OCI distribution API, with optional credentials: HTTP Basic, or the Docker
/// token flow (on a 401 with a <c>Bearer realm=...,service=...,scope=...</c> challenge, fetch a token from the realm with
/// the Basic credentials, retry with <c>Authorization: Bearer</c>, and reuse the token for that repository).
/// </summary>
internal sealed class RegistryClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _user;
    private readonly string? _password;
    private readonly ConcurrentDictionary<string, Token> _tokens = new(StringComparer.Ordinal);
    private volatile AuthenticationHeaderValue? _basic;

    private sealed record Token(string Value, DateTimeOffset Expires);

    /// <param name="preemptiveBasic">Send the credentials as Basic auth with every request, without waiting for a challenge (no token round trips).</param>
    public RegistryClient(Uri baseUri, string? user, string? password, int connections, bool preemptiveBasic = false)
    {
        BaseUri = baseUri;
        _user = user;
        _password = password;
        if (preemptiveBasic && user is not null)
        {
            _basic = BasicHeader();
        }

        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = Math.Max(1, connections),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        _http = new HttpClient(handler) { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(30) };
    }

    public Uri BaseUri { get; }

    public bool HasCredentials => _user is not null;

    public void Dispose() => _http.Dispose();

    public Uri Resolve(string location) => new(BaseUri, location);

    /// <summary>
    /// Sends the request made by <paramref name="make"/> (called again for a retry, so bodies must be re-creatable),
    /// answering one authentication challenge when there are credentials or a token service.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> make, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            var request = make();
            var key = ScopeKey(request);
            ApplyAuthorization(request, key);
            var response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized || attempt > 0)
            {
                return response;
            }

            var challenge = response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
                ?? response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase));
            if (challenge is null || (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && _user is null))
            {
                return response;
            }

            response.Dispose();
            if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            {
                _basic = BasicHeader();
            }
            else
            {
                await FetchTokenAsync(ParseChallenge(challenge.Parameter ?? string.Empty), key, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends and requires <paramref name="expected"/>; otherwise throws with the request and the response.</summary>
    public async Task<HttpResponseMessage> ExpectAsync(Func<HttpRequestMessage> make, HttpStatusCode expected, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(make, completion, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == expected)
        {
            return response;
        }

        using (response)
        {
            throw await BenchException.FromResponseAsync(response, $"{(int)expected}").ConfigureAwait(false);
        }
    }

    /// <summary>GET that follows one redirect (a registry on object storage sends blobs from elsewhere), without credentials.</summary>
    public async Task<HttpResponseMessage> GetFollowingAsync(string path, CancellationToken cancellationToken)
    {
        var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
        {
            response.Dispose();
            var target = location.IsAbsoluteUri ? location : Resolve(location.OriginalString);
            response = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Get, target), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    private AuthenticationHeaderValue BasicHeader() =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_user}:{_password}")));

    private void ApplyAuthorization(HttpRequestMessage request, string key)
    {
        if (_tokens.TryGetValue(key, out var token) && token.Expires > DateTimeOffset.UtcNow)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
        }
        else if (_basic is { } basic)
        {
            request.Headers.Authorization = basic;
        }
    }

    /// <summary>Tokens are kept per repository and per kind of access (pull for GET/HEAD, push otherwise).</summary>
    private static string ScopeKey(HttpRequestMessage request)
    {
        var path = request.RequestUri is { IsAbsoluteUri: true } uri ? uri.AbsolutePath : request.RequestUri?.OriginalString.Split('?')[0] ?? "/";
        var access = request.Method == HttpMethod.Get || request.Method == HttpMethod.Head ? "pull" : "push";
        if (!path.StartsWith("/v2/", StringComparison.Ordinal))
        {
            return access;
        }

        var segments = path[4..].Split('/');
        if (segments[0] == "_catalog")
        {
            return "catalog";
        }

        var end = Array.FindIndex(segments, s => s is "blobs" or "manifests" or "tags" or "referrers");
        return access + ":" + string.Join('/', end < 0 ? segments : segments[..end]);
    }

    private async Task FetchTokenAsync(Dictionary<string, string> challenge, string key, CancellationToken cancellationToken)
    {
        if (!challenge.TryGetValue("realm", out var realm))
        {
            throw new BenchException("Bearer challenge without a realm");
        }

        var query = new List<string>();
        if (challenge.TryGetValue("service", out var service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        if (challenge.TryGetValue("scope", out var scopes))
        {
            query.AddRange(scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => "scope=" + Uri.EscapeDataString(s)));
        }

        var url = realm + (query.Count == 0 ? string.Empty : (realm.Contains('?', StringComparison.Ordinal) ? "&" : "?") + string.Join('&', query));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUri, url));
        if (_user is not null)
        {
            request.Headers.Authorization = BasicHeader();
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await BenchException.FromResponseAsync(response, "200 from the token service").ConfigureAwait(false);
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var root = document.RootElement;
        var token = root.TryGetProperty("token", out var t) ? t.GetString() : root.TryGetProperty("access_token", out var a) ? a.GetString() : null;
        if (string.IsNullOrEmpty(token))
        {
            throw new BenchException($"token service {url} answered without a token");
        }

        var lifetime = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 60;
        _tokens[key] = new Token(token, DateTimeOffset.UtcNow.AddSeconds(Math.Max(10, lifetime - 5)));
    }

    /// <summary>Parses <c>realm="...",service="...",scope="a:b:pull,push"</c> (quoted values may hold commas).</summary>
    internal static Dictionary<string, string> ParseChallenge(string parameters)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameters.Length)
        {
            while (i < parameters.Length && (parameters[i] == ',' || char.IsWhiteSpace(parameters[i])))
            {
                i++;
            }

            var eq = parameters.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            var name = parameters[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < parameters.Length && parameters[i] == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (i < parameters.Length && parameters[i] != '"')
                {
                    if (parameters[i] == '\\' && i + 1 < parameters.Length)
                    {
                        i++;
                    }

                    sb.Append(parameters[i++]);
                }

                i++;
                value = sb.ToString();
            }
            else
            {
                var comma = parameters.IndexOf(',', i);
                value = (comma < 0 ? parameters[i..] : parameters[i..comma]).Trim();
                i = comma < 0 ? parameters.Length : comma;
            }

            result[name] = value;
        }

        return result;
    }
}
