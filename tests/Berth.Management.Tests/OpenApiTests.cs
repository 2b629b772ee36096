using System.Net;

namespace Berth.Management.Tests;

public sealed class OpenApiTests : IDisposable
{
    /// <summary>Every route of docs/management-api.md, as OpenAPI spells paths.</summary>
    public static readonly (string Method, string Path)[] ContractRoutes =
    [
        ("get", "/api/v1/me"),
        ("put", "/api/v1/me/password"),
        ("delete", "/api/v1/me/sessions"),
        ("get", "/api/v1/projects"),
        ("post", "/api/v1/projects"),
        ("get", "/api/v1/projects/{project}"),
        ("patch", "/api/v1/projects/{project}"),
        ("delete", "/api/v1/projects/{project}"),
        ("get", "/api/v1/projects/{project}/members"),
        ("put", "/api/v1/projects/{project}/members/{user}"),
        ("delete", "/api/v1/projects/{project}/members/{user}"),
        ("get", "/api/v1/projects/{project}/robots"),
        ("post", "/api/v1/projects/{project}/robots"),
        ("get", "/api/v1/projects/{project}/robots/{robot}"),
        ("patch", "/api/v1/projects/{project}/robots/{robot}"),
        ("delete", "/api/v1/projects/{project}/robots/{robot}"),
        ("get", "/api/v1/projects/{project}/robots/{robot}/tokens"),
        ("post", "/api/v1/projects/{project}/robots/{robot}/tokens"),
        ("delete", "/api/v1/projects/{project}/robots/{robot}/tokens/{id}"),
        ("get", "/api/v1/projects/{project}/ip-allow"),
        ("post", "/api/v1/projects/{project}/ip-allow"),
        ("delete", "/api/v1/projects/{project}/ip-allow/{id}"),
        ("get", "/api/v1/tokens"),
        ("post", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{id}"),
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("get", "/api/v1/users/{user}"),
        ("patch", "/api/v1/users/{user}"),
        ("delete", "/api/v1/users/{user}"),
        ("get", "/api/v1/ip-allow"),
        ("post", "/api/v1/ip-allow"),
        ("delete", "/api/v1/ip-allow/{id}"),
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/openapi.json"),
    ];

    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task OpenApiDocument_Anonymous_ListsEveryContractRouteWithNameAndSummary()
    {
        var document = await _app.Anonymous.GetJsonAsync("/api/v1/openapi.json");

        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        var paths = document.GetProperty("paths");
        var missing = new List<string>();
        foreach (var (method, path) in ContractRoutes)
        {
            if (path == "/api/v1/openapi.json")
            {
                continue; // the document does not describe itself
            }

            var normalized = path.Replace("/", "/", StringComparison.Ordinal);
            if (!paths.TryGetProperty(normalized, out var item) && !paths.TryGetProperty(normalized + "/", out item))
            {
                missing.Add($"{method} {path} (path)");
                continue;
            }

            if (!item.TryGetProperty(method, out var operation))
            {
                missing.Add($"{method} {path}");
                continue;
            }

            Assert.True(operation.TryGetProperty("operationId", out _), $"{method} {path} has no name");
            Assert.True(operation.TryGetProperty("summary", out _), $"{method} {path} has no summary");
        }

        Assert.True(missing.Count == 0, "missing: " + string.Join(", ", missing) + "\npaths: " + string.Join(", ", paths.EnumerateObject().Select(p => p.Name)));
        Assert.DoesNotContain(paths.EnumerateObject(), p => p.Name.StartsWith("/v2", StringComparison.Ordinal) || p.Name == "/token");
    }

    [Fact]
    public async Task OpenApiDocument_DescribesRequestAndAnswerShapes()
    {
        var document = await _app.Anonymous.GetJsonAsync("/api/v1/openapi.json");
        var schemas = document.GetProperty("components").GetProperty("schemas");

        var project = schemas.GetProperty("ProjectResponse").GetProperty("properties");
        Assert.True(project.TryGetProperty("visibility", out _));
        Assert.True(project.TryGetProperty("createdAt", out _));
        Assert.True(schemas.GetProperty("TokenCreateRequest").GetProperty("properties").TryGetProperty("expires", out _));
        Assert.Equal(HttpStatusCode.OK, (await _app.Anonymous.GetAsync("/api/v1/openapi.json")).StatusCode);
    }

    [Fact]
    public async Task OpenApiDocument_TypedResults_DescribeAnswersFromSignatures()
    {
        var document = await _app.Anonymous.GetJsonAsync("/api/v1/openapi.json");

        var responses = document.GetProperty("paths").GetProperty("/api/v1/audit").GetProperty("get").GetProperty("responses");
        var ok = responses.GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.Contains("AuditEntryResponse", ok.GetRawText(), StringComparison.Ordinal);
        var invalid = responses.GetProperty("400").GetProperty("content");
        Assert.True(invalid.TryGetProperty("application/problem+json", out var problem), invalid.GetRawText());
        Assert.Contains("HttpValidationProblemDetails", problem.GetRawText(), StringComparison.Ordinal);

        var parameters = document.GetProperty("paths").GetProperty("/api/v1/audit").GetProperty("get").GetProperty("parameters")
            .EnumerateArray().Select(p => (p.GetProperty("name").GetString(), p.GetProperty("in").GetString())).ToList();
        foreach (var name in new[] { "project", "user", "action", "from", "until", "limit", "after" })
        {
            Assert.Contains((name, "query"), parameters);
        }

        var paths = document.GetProperty("paths");
        var meItem = paths.TryGetProperty("/api/v1/me", out var item) ? item : paths.GetProperty("/api/v1/me/");
        var me = meItem.GetProperty("get").GetProperty("responses");
        Assert.Contains("MeResponse", me.GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetRawText(), StringComparison.Ordinal);
        var signOut = paths.GetProperty("/api/v1/me/sessions").GetProperty("delete").GetProperty("responses");
        Assert.True(signOut.TryGetProperty("204", out _), signOut.GetRawText());
    }
}
