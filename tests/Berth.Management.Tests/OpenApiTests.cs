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
        ("get", "/api/v1/projects/{project}/repositories"),
        ("get", "/api/v1/repositories/tags"),
        ("delete", "/api/v1/repositories/tags"),
        ("delete", "/api/v1/repositories"),
        ("get", "/api/v1/system/storage"),
        ("get", "/api/v1/system/gc"),
        ("post", "/api/v1/system/gc"),
        ("get", "/api/v1/system/gc/{id}"),
        ("get", "/api/v1/vulndb"),
        ("post", "/api/v1/vulndb/imports"),
        ("get", "/api/v1/vulndb/imports/{id}"),
        ("post", "/api/v1/vulndb/imports/{id}/records"),
        ("post", "/api/v1/vulndb/imports/{id}/finish"),
        ("get", "/api/v1/projects/{project}/scan-policy"),
        ("put", "/api/v1/projects/{project}/scan-policy"),
        ("get", "/api/v1/cve-allowlist"),
        ("post", "/api/v1/cve-allowlist"),
        ("delete", "/api/v1/cve-allowlist/{vulnerability}"),
        ("get", "/api/v1/projects/{project}/cve-allowlist"),
        ("post", "/api/v1/projects/{project}/cve-allowlist"),
        ("delete", "/api/v1/projects/{project}/cve-allowlist/{vulnerability}"),
        ("get", "/api/v1/repositories/scan"),
        ("post", "/api/v1/repositories/scan"),
        ("get", "/api/v1/repositories/sbom"),
        ("get", "/api/v1/trust"),
        ("post", "/api/v1/trust"),
        ("delete", "/api/v1/trust/{name}"),
        ("get", "/api/v1/projects/{project}/trust"),
        ("post", "/api/v1/projects/{project}/trust"),
        ("delete", "/api/v1/projects/{project}/trust/{name}"),
        ("get", "/api/v1/repositories/signature"),
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

    /// <summary>
    /// Each endpoint's answers as its signature and metadata declare them: the success with its schema, 400 with
    /// validation problem details where it validates, and the problem statuses it answers (every route: 401, 403).
    /// </summary>
    public static TheoryData<string, string, string, string?, string> DeclaredAnswers() => new()
    {
        { "get", "/api/v1/projects", "200", "PageResponseOfProjectResponse", "400" },
        { "post", "/api/v1/projects", "201", "ProjectResponse", "400 409 413" },
        { "get", "/api/v1/projects/{project}", "200", "ProjectResponse", "404" },
        { "patch", "/api/v1/projects/{project}", "200", "ProjectResponse", "400 404 413" },
        { "delete", "/api/v1/projects/{project}", "204", null, "400 404 409" },
        { "get", "/api/v1/projects/{project}/members", "200", "PageResponseOfMemberResponse", "" },
        { "put", "/api/v1/projects/{project}/members/{user}", "201", "MemberResponse", "400 404 413" },
        { "delete", "/api/v1/projects/{project}/members/{user}", "204", null, "404" },
        { "get", "/api/v1/projects/{project}/robots", "200", "PageResponseOfRobotResponse", "" },
        { "post", "/api/v1/projects/{project}/robots", "201", "RobotResponse", "400 404 409 413" },
        { "get", "/api/v1/projects/{project}/robots/{robot}", "200", "RobotResponse", "404" },
        { "patch", "/api/v1/projects/{project}/robots/{robot}", "200", "RobotResponse", "400 404 413" },
        { "delete", "/api/v1/projects/{project}/robots/{robot}", "204", null, "404" },
        { "get", "/api/v1/projects/{project}/robots/{robot}/tokens", "200", "PageResponseOfTokenResponse", "400 404" },
        { "post", "/api/v1/projects/{project}/robots/{robot}/tokens", "201", "NewTokenResponse", "400 404 409 413 503" },
        { "delete", "/api/v1/projects/{project}/robots/{robot}/tokens/{id}", "204", null, "404" },
        { "get", "/api/v1/projects/{project}/ip-allow", "200", "PageResponseOfIpRuleResponse", "" },
        { "post", "/api/v1/projects/{project}/ip-allow", "201", "IpRuleResponse", "400 404 409 413" },
        { "delete", "/api/v1/projects/{project}/ip-allow/{id}", "204", null, "404 409" },
        { "get", "/api/v1/ip-allow", "200", "PageResponseOfIpRuleResponse", "" },
        { "post", "/api/v1/ip-allow", "201", "IpRuleResponse", "400 409 413" },
        { "delete", "/api/v1/ip-allow/{id}", "204", null, "404 409" },
        { "get", "/api/v1/tokens", "200", "PageResponseOfTokenResponse", "400" },
        { "post", "/api/v1/tokens", "201", "NewTokenResponse", "400 404 409 413 503" },
        { "delete", "/api/v1/tokens/{id}", "204", null, "404" },
        { "get", "/api/v1/users", "200", "PageResponseOfUserResponse", "400" },
        { "post", "/api/v1/users", "201", "UserResponse", "400 409 413" },
        { "get", "/api/v1/users/{user}", "200", "UserResponse", "404" },
        { "patch", "/api/v1/users/{user}", "200", "UserResponse", "400 404 409 413" },
        { "delete", "/api/v1/users/{user}", "204", null, "404 409" },
        { "put", "/api/v1/me/password", "204", null, "400 413" },
        { "delete", "/api/v1/me/sessions", "204", null, "404" },
        { "get", "/api/v1/audit", "200", "PageResponseOfAuditEntryResponse", "400" },
    };

    [Theory]
    [MemberData(nameof(DeclaredAnswers))]
    public async Task OpenApiDocument_EachEndpoint_ListsItsStatusesAndSchemas(string method, string path, string success, string? schema, string problems)
    {
        var document = await _app.Anonymous.GetJsonAsync("/api/v1/openapi.json");
        var paths = document.GetProperty("paths");
        var item = paths.TryGetProperty(path, out var found) ? found : paths.GetProperty(path + "/");
        var responses = item.GetProperty(method).GetProperty("responses");

        var answer = responses.GetProperty(success);
        if (schema is null)
        {
            Assert.False(answer.TryGetProperty("content", out _), answer.GetRawText());
        }
        else
        {
            Assert.Equal("#/components/schemas/" + schema,
                answer.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        }

        foreach (var status in problems.Split(' ', StringSplitOptions.RemoveEmptyEntries).Append("401").Append("403"))
        {
            Assert.True(responses.TryGetProperty(status, out var problem), $"{method} {path}: no {status} in {responses.GetRawText()}");
            var reference = problem.GetProperty("content").GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString();
            Assert.Equal(status == "400" ? "#/components/schemas/HttpValidationProblemDetails" : "#/components/schemas/ProblemDetails", reference);
        }
    }
}
