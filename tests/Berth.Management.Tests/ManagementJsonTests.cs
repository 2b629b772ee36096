using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Berth.Api.Management;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace Berth.Management.Tests;

/// <summary>
/// The bodies of /api/v1 come from source-generated metadata (<see cref="ManagementJsonContext"/>), and the wire is
/// the one the reflection serializer wrote before with the same options (ASP.NET Core's: web defaults, relaxed
/// escaping): same names, same order, same escaping, nulls written.
/// </summary>
public sealed class ManagementJsonTests : IDisposable
{
    private static readonly TokenResponse Token = new(
        7, "ci", "olivia", "user", "pull,push", ["shop", "web"], "2026-11-29T06:30:00.000Z", "2027-02-27T06:30:00.000Z", null, null, "active");

    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    /// <summary>One sample of every answer type, with members null and set.</summary>
    public static TheoryData<string, object> Answers() => new()
    {
        { "project", new ProjectResponse("shop", "the shop", "private", "2026-11-29T06:30:00.000Z") },
        { "projects", new PageResponse<ProjectResponse>([new ProjectResponse("a", "", "public", "2026-11-29T06:30:00.000Z")], "c1") },
        { "members", new PageResponse<MemberResponse>([new MemberResponse("olivia", "owner", "2026-11-29T06:30:00.000Z")], null) },
        { "robot", new RobotResponse("ci", "shop+ci", "shop", "", "pull", false, "2026-11-29T06:30:00.000Z") },
        { "robots", new PageResponse<RobotResponse>([], null) },
        { "token", Token },
        { "token without projects", Token with { Projects = null, LastUsedAt = "2026-11-30T06:30:00.000Z", RevokedAt = "2026-12-01T06:30:00.000Z", State = "revoked" } },
        { "tokens", new PageResponse<TokenResponse>([Token], "next") },
        { "new token", new NewTokenResponse(Token, "berth_pat_secret") },
        { "user", new UserResponse("olivia", true, false, "2026-11-29T06:30:00.000Z") },
        { "users", new PageResponse<UserResponse>([new UserResponse("max", false, true, "2026-11-29T06:30:00.000Z")], null) },
        { "ip rule", new IpRuleResponse(3, "10.0.0.0/8", "", null, "2026-11-29T06:30:00.000Z") },
        { "ip rules", new PageResponse<IpRuleResponse>([new IpRuleResponse(4, "192.0.2.0/24", "office", "shop", "2026-11-29T06:30:00.000Z")], null) },
        {
            "audit", new PageResponse<AuditEntryResponse>(
            [
                new AuditEntryResponse(9, "2026-11-29T06:30:00.000Z", "user", "admin", "project.create", "shop", null,
                    JsonDocument.Parse("""{"visibility":"private","n":[1,2]}""").RootElement.Clone(), "127.0.0.1"),
                new AuditEntryResponse(8, "2026-11-29T06:29:00.000Z", "system", "berth", "user.delete", null, "shop/api", null, null),
            ], "Yzg")
        },
        { "me", new MeResponse("olivia", "user", false, [new MembershipResponse("shop", "owner")]) },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public void HttpJsonOptions_EachAnswerType_SourceGeneratedAndSameJsonAsReflection(string name, object answer)
    {
        var options = _app.App.Services.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions;
        var reflection = new JsonSerializerOptions(options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() }; // as before the context
        var type = answer.GetType();

        Assert.Same(ManagementJsonContext.Default, options.GetTypeInfo(type).OriginatingResolver);
        Assert.Equal(JsonSerializer.Serialize(answer, type, reflection), JsonSerializer.Serialize(answer, type, options));
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void HttpJsonOptions_NewToken_SecretFirstThenTheTokenAsListed()
    {
        var options = _app.App.Services.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions;

        var json = JsonSerializer.Serialize(new NewTokenResponse(Token with { Projects = null }, "berth_pat_secret"), options);

        Assert.Equal(
            """{"token":"berth_pat_secret","id":7,"name":"ci","owner":"olivia","ownerKind":"user","scope":"pull,push","projects":null,"createdAt":"2026-11-29T06:30:00.000Z","expiresAt":"2027-02-27T06:30:00.000Z","lastUsedAt":null,"revokedAt":null,"state":"active"}""",
            json);
    }

    [Fact]
    public void HttpJsonOptions_AuditEntry_NullsWrittenAndDetailAsObject()
    {
        var options = _app.App.Services.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions;
        var entry = new AuditEntryResponse(8, "2026-11-29T06:29:00.000Z", "system", "berth", "user.delete", null, null,
            JsonDocument.Parse("""{"user":"max"}""").RootElement.Clone(), null);

        var json = JsonSerializer.Serialize(entry, options);

        Assert.Equal(
            """{"id":8,"at":"2026-11-29T06:29:00.000Z","actorKind":"system","actor":"berth","action":"user.delete","project":null,"repository":null,"detail":{"user":"max"},"clientAddress":null}""",
            json);
    }

    [Fact]
    public void ManagementJsonContext_EveryRequestAndAnswerTypeOfTheApi_IsGenerated()
    {
        var bodies = typeof(ManagementJsonContext).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == typeof(ManagementJsonContext).Namespace && !t.IsGenericTypeDefinition
                && (t.Name.EndsWith("Request", StringComparison.Ordinal) || t.Name.EndsWith("Response", StringComparison.Ordinal)))
            .ToList();

        Assert.NotEmpty(bodies);
        var missing = bodies.Where(t => ManagementJsonContext.Default.GetTypeInfo(t) is null).Select(t => t.Name).ToList();
        Assert.True(missing.Count == 0, "not in ManagementJsonContext: " + string.Join(", ", missing));
    }

    [Fact]
    public void ManagementJsonContext_EveryPageOfTheApi_IsGenerated()
    {
        // Every PageResponse<T> an endpoint declares (Ok<PageResponse<T>> in its signature) has its metadata generated.
        var pages = typeof(ManagementJsonContext).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ManagementJsonContext).Namespace && t.Name.EndsWith("Endpoints", StringComparison.Ordinal))
            .SelectMany(t => t.GetMethods(BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static))
            .SelectMany(m => Flatten(m.ReturnType))
            .Where(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(PageResponse<>))
            .Distinct()
            .ToList();

        Assert.NotEmpty(pages);
        var missing = pages.Where(t => ManagementJsonContext.Default.GetTypeInfo(t) is null).Select(t => t.ToString()).ToList();
        Assert.True(missing.Count == 0, "not in ManagementJsonContext: " + string.Join(", ", missing));
    }

    private static IEnumerable<Type> Flatten(Type type) =>
        type.IsGenericType ? new[] { type }.Concat(type.GetGenericArguments().SelectMany(Flatten)) : [type];
}
