using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Berth.Tests.Client;

/// <summary>One request as the fake server saw it.</summary>
public sealed record RecordedRequest(string Method, Uri Uri, string? Authorization, string? ContentType, string? Body)
{
    public string PathAndQuery => Uri.PathAndQuery;

    public JsonNode? Json => Body is null ? null : JsonNode.Parse(Body);
}

/// <summary>
/// A recording <see cref="HttpMessageHandler"/> that answers like docs/management-api.md: 201 with the created
/// object for POST, 204 for DELETE and the password change, pages of one sample item for listings. A test can
/// replace the answer of one path (<see cref="Answer"/>) or of every request (<see cref="Respond"/>).
/// </summary>
public sealed partial class FakeManagementApi : HttpMessageHandler
{
    public const string Secret = "berth_pat_0123456789abcdefSECRET";

    private readonly Dictionary<string, Queue<Func<HttpResponseMessage>>> _answers = new(StringComparer.Ordinal);

    public List<RecordedRequest> Requests { get; } = [];

    /// <summary>Answers every request instead of the contract's samples.</summary>
    public Func<HttpRequestMessage, HttpResponseMessage>? Respond { get; set; }

    /// <summary>Queues an answer for the next request to <paramref name="pathAndQuery"/> (answers are used once, in order).</summary>
    public void Answer(string pathAndQuery, HttpStatusCode status, string? json, string contentType = "application/json")
    {
        if (!_answers.TryGetValue(pathAndQuery, out var queue))
        {
            _answers[pathAndQuery] = queue = new Queue<Func<HttpResponseMessage>>();
        }

        queue.Enqueue(() => Json(status, json, contentType));
    }

    public RecordedRequest Single() => Assert.Single(Requests);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Add(new RecordedRequest(
            request.Method.Method,
            request.RequestUri!,
            request.Headers.Authorization?.ToString(),
            request.Content?.Headers.ContentType?.MediaType,
            body));
        if (_answers.TryGetValue(request.RequestUri!.PathAndQuery, out var queue) && queue.Count > 0)
        {
            return queue.Dequeue()();
        }

        return Respond?.Invoke(request) ?? ContractAnswer(request.Method.Method, request.RequestUri!.AbsolutePath);
    }

    public static HttpResponseMessage Json(HttpStatusCode status, string? json, string contentType = "application/json")
    {
        var response = new HttpResponseMessage(status);
        if (json is not null)
        {
            response.Content = new StringContent(json, Encoding.UTF8);
            response.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        return response;
    }

    public static HttpResponseMessage Problem(HttpStatusCode status, string title, string? detail = null)
    {
        var problem = new JsonObject { ["type"] = "about:blank", ["title"] = title, ["status"] = (int)status };
        if (detail is not null)
        {
            problem["detail"] = detail;
        }

        return Json(status, problem.ToJsonString(), "application/problem+json");
    }

    public const string Project = """{"name":"web","description":"Web apps","visibility":"private","createdAt":"2026-11-29T06:30:00.000Z","quotaBytes":10737418240,"usedBytes":10522669875}""";
    public const string Member = """{"user":"bob","role":"developer","addedAt":"2026-11-29T06:31:00.000Z"}""";
    public const string Robot = """{"name":"deployer","fullName":"web+deployer","project":"web","description":"CI","scope":"pull,push","disabled":false,"createdAt":"2026-11-29T06:32:00.000Z"}""";
    public const string Token = """{"id":42,"name":"ci","owner":"alice","ownerKind":"user","scope":"pull,push","projects":["web"],"createdAt":"2026-11-29T06:33:00.000Z","expiresAt":"2026-12-29T06:33:00.000Z","lastUsedAt":null,"revokedAt":null,"state":"active"}""";
    public const string User = """{"name":"bob","administrator":false,"disabled":false,"createdAt":"2026-11-29T06:34:00.000Z"}""";
    public const string IpRule = """{"id":3,"network":"10.0.0.0/8","note":"office","project":null,"createdAt":"2026-11-29T06:35:00.000Z"}""";
    public const string AuditEntry = """{"id":9,"at":"2026-11-29T06:36:00.000Z","actorKind":"user","actor":"alice","action":"project.create","project":"web","repository":null,"detail":{"public":false},"clientAddress":"10.1.2.3"}""";
    public const string Me = """{"name":"alice","kind":"user","administrator":true,"memberships":[{"project":"web","role":"owner"}]}""";

    public static string NewToken(string sample) => JsonNode.Parse(sample)!.AsObject().Also(o => o["token"] = Secret).ToJsonString();

    public static string Page(string? next, params string[] items) =>
        $$"""{"items":[{{string.Join(',', items)}}],"next":{{(next is null ? "null" : $"\"{next}\"")}}}""";

    private static HttpResponseMessage ContractAnswer(string method, string path)
    {
        if (path == "/api/v1/me/password")
        {
            return Json(HttpStatusCode.NoContent, null);
        }

        if (path == "/api/v1/me")
        {
            return Json(HttpStatusCode.OK, Me);
        }

        var sample = path switch
        {
            _ when RobotTokens().IsMatch(path) => Token.Replace("\"ownerKind\":\"user\"", "\"ownerKind\":\"robot\"", StringComparison.Ordinal),
            _ when path.Contains("/members", StringComparison.Ordinal) => Member,
            _ when path.Contains("/robots", StringComparison.Ordinal) => Robot,
            _ when path.Contains("/ip-allow", StringComparison.Ordinal) => IpRule,
            _ when path.StartsWith("/api/v1/tokens", StringComparison.Ordinal) => Token,
            _ when path.StartsWith("/api/v1/users", StringComparison.Ordinal) => User,
            _ when path.StartsWith("/api/v1/audit", StringComparison.Ordinal) => AuditEntry,
            _ when path.StartsWith("/api/v1/projects", StringComparison.Ordinal) => Project,
            _ => null,
        };
        if (sample is null)
        {
            return Problem(HttpStatusCode.NotFound, "Not Found");
        }

        var collection = Collection().IsMatch(path) || path is "/api/v1/projects" or "/api/v1/tokens" or "/api/v1/users" or "/api/v1/ip-allow" or "/api/v1/audit";
        return method switch
        {
            "GET" when collection => Json(HttpStatusCode.OK, Page(null, sample)),
            "GET" or "PATCH" or "PUT" => Json(HttpStatusCode.OK, sample),
            "POST" => Json(HttpStatusCode.Created, sample == Token || RobotTokens().IsMatch(path) ? NewToken(sample) : sample),
            "DELETE" => Json(HttpStatusCode.NoContent, null),
            _ => Problem(HttpStatusCode.MethodNotAllowed, "Method Not Allowed"),
        };
    }

    [GeneratedRegex("/robots/[^/]+/tokens")]
    private static partial Regex RobotTokens();

    [GeneratedRegex("/(members|robots|tokens|ip-allow)$")]
    private static partial Regex Collection();
}

internal static class ObjectExtensions
{
    public static T Also<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }
}
