using System.Text.Json;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;

namespace Berth.Api.Management;

// Request bodies list exactly what a caller may set: anything else is refused (RequestBody, unknown members).
// Members are nullable so that "absent" can be told apart; handlers validate and answer 400 with the field name.

public sealed record ProjectCreateRequest
{
    public string? Name { get; init; }

    public string? Description { get; init; }

    public bool? Public { get; init; }
}

public sealed record ProjectUpdateRequest
{
    public string? Description { get; init; }

    public bool? Public { get; init; }
}

public sealed record MemberSetRequest
{
    /// <summary><c>owner</c>, <c>maintainer</c>, <c>developer</c> or <c>reader</c>.</summary>
    public string? Role { get; init; }
}

public sealed record RobotCreateRequest
{
    public string? Name { get; init; }

    public string? Description { get; init; }

    /// <summary><c>pull</c>, <c>pull,push</c> or <c>pull,push,delete</c>.</summary>
    public string? Scope { get; init; }
}

public sealed record RobotUpdateRequest
{
    public string? Description { get; init; }

    public string? Scope { get; init; }

    public bool? Disabled { get; init; }
}

public sealed record RobotTokenCreateRequest
{
    public string? Name { get; init; }

    /// <summary>A duration (<c>30d</c>, <c>12h</c>, <c>90m</c>) or an ISO 8601 instant; default 90 days.</summary>
    public string? Expires { get; init; }
}

public sealed record TokenCreateRequest
{
    public string? Name { get; init; }

    public string? Scope { get; init; }

    /// <summary>Projects to restrict the token to; absent: every project the owner can reach.</summary>
    public IReadOnlyList<string>? Projects { get; init; }

    public string? Expires { get; init; }
}

public sealed record UserCreateRequest
{
    public string? Name { get; init; }

    /// <summary>Absent: the user cannot sign in with a password until one is set.</summary>
    public string? Password { get; init; }

    public bool? Administrator { get; init; }
}

public sealed record UserUpdateRequest
{
    public string? Password { get; init; }

    public bool? Administrator { get; init; }

    public bool? Disabled { get; init; }
}

public sealed record PasswordChangeRequest
{
    public string? CurrentPassword { get; init; }

    public string? NewPassword { get; init; }
}

public sealed record IpRuleCreateRequest
{
    /// <summary>CIDR (<c>10.0.0.0/8</c>) or one address.</summary>
    public string? Network { get; init; }

    public string? Note { get; init; }
}

// Answers. Times are ISO 8601 UTC strings, enums lower-case strings.

public sealed record PageResponse<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>A project; <see cref="QuotaBytes"/> its storage quota (null: none) and <see cref="UsedBytes"/> its usage (see <c>IProjectQuotaStore</c>).</summary>
public sealed record ProjectResponse(string Name, string Description, string Visibility, string CreatedAt, long? QuotaBytes = null, long UsedBytes = 0)
{
    public ProjectResponse With(Core.Quotas.ProjectUsage? usage) =>
        usage is null ? this : this with { QuotaBytes = usage.QuotaBytes, UsedBytes = usage.UsedBytes };

    public static ProjectResponse From(Project project) =>
        new(project.Name.Value, project.Description, Wire.Visibility(project.Visibility), Wire.Time(project.CreatedAt));
}

public sealed record MemberResponse(string User, string Role, string AddedAt)
{
    public static MemberResponse From(Membership membership) =>
        new(membership.UserName.Value, Wire.Role(membership.Role), Wire.Time(membership.AddedAt));
}

public sealed record RobotResponse(string Name, string FullName, string Project, string Description, string Scope, bool Disabled, string CreatedAt)
{
    public static RobotResponse From(RobotAccount robot) =>
        new(robot.Name, robot.FullName, robot.Project.Value, robot.Description, FormatActions(robot.Actions), robot.Disabled, Wire.Time(robot.CreatedAt));

    internal static string FormatActions(RegistryActions actions) =>
        Enum.IsDefined((AccessTokenScope)actions) ? AccessTokenScopes.Format((AccessTokenScope)actions)
            : string.Join(",", new[] { (RegistryActions.Pull, "pull"), (RegistryActions.Push, "push"), (RegistryActions.Delete, "delete") }
                .Where(a => (actions & a.Item1) != 0).Select(a => a.Item2));
}

/// <summary>
/// A token as listed. <see cref="Scope"/> and <see cref="Projects"/> say what it may do: for a robot's token that is
/// the robot's own scope (which limits every token of the robot, and may change later) in the robot's one project.
/// <see cref="State"/> is <c>active</c>, <c>expired</c> or <c>revoked</c> at the time of the answer.
/// </summary>
public record TokenResponse(
    long Id,
    string Name,
    string Owner,
    string OwnerKind,
    string Scope,
    IReadOnlyList<string>? Projects,
    string CreatedAt,
    string ExpiresAt,
    string? LastUsedAt,
    string? RevokedAt,
    string State)
{
    /// <param name="robot">The owner, for a robot's token (its scope and project are the token's).</param>
    public static TokenResponse From(AccessToken token, DateTimeOffset now, RobotAccount? robot = null) => new(
        token.Id,
        token.Name,
        token.Owner.Name,
        token.Owner.Kind == TokenOwnerKind.Robot ? "robot" : "user",
        robot is null ? AccessTokenScopes.Format(token.Scope) : RobotResponse.FormatActions(robot.Actions & token.Scope.ToActions()),
        robot is null ? token.Projects : [robot.Project.Value],
        Wire.Time(token.CreatedAt),
        Wire.Time(token.ExpiresAt),
        Wire.Time(token.LastUsedAt),
        Wire.Time(token.RevokedAt),
        token.RevokedAt is not null ? "revoked" : token.ExpiresAt <= now ? "expired" : "active");
}

/// <summary>A token just created: <see cref="Token"/> is the secret, shown only in this answer.</summary>
public sealed record NewTokenResponse : TokenResponse
{
    public NewTokenResponse(TokenResponse token, string secret)
        : base(token) => Token = secret;

    public string Token { get; init; }
}

public sealed record UserResponse(string Name, bool Administrator, bool Disabled, string CreatedAt)
{
    public static UserResponse From(User user) => new(user.Name.Value, user.IsAdministrator, user.Disabled, Wire.Time(user.CreatedAt));
}

public sealed record IpRuleResponse(long Id, string Network, string Note, string? Project, string CreatedAt)
{
    public static IpRuleResponse From(IpAllowRule rule) => new(rule.Id, rule.Network, rule.Note ?? string.Empty, rule.Project?.Value, Wire.Time(rule.CreatedAt));
}

public sealed record AuditEntryResponse(
    long Id,
    string At,
    string ActorKind,
    string Actor,
    string Action,
    string? Project,
    string? Repository,
    JsonElement? Detail,
    string? ClientAddress)
{
    public static AuditEntryResponse From(AuditEntry entry) => new(
        entry.Id,
        Wire.Time(entry.At),
        Wire.ActorKind(entry.ActorKind),
        entry.ActorName,
        entry.Action,
        entry.Project?.Value,
        entry.Repository?.ToString(),
        ParseDetail(entry.Detail),
        entry.ClientAddress?.ToString());

    private static JsonElement? ParseDetail(string? detail)
    {
        if (detail is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(detail);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(detail, ManagementJsonContext.Default.String); // stored by something else; shown as text
        }
    }
}

public sealed record MembershipResponse(string Project, string Role);

public sealed record MeResponse(string Name, string Kind, bool Administrator, IReadOnlyList<MembershipResponse> Memberships);

/// <summary>A repository in <c>GET /projects/{project}/repositories</c>; <see cref="Size"/> in bytes (distinct blobs and manifest bodies).</summary>
public sealed record RepositoryResponse(string Name, long TagCount, long ManifestCount, long Size, string? LastPushedAt, string? LastPulledAt)
{
    public static RepositoryResponse From(RepositorySummary repository) =>
        new(repository.Name.Value, repository.TagCount, repository.ManifestCount, repository.Size,
            Wire.Time(repository.LastPushedAt), Wire.Time(repository.LastPulledAt));
}

/// <summary>A tag in <c>GET /repositories/tags</c>; <see cref="Size"/> in bytes of the image it points at.</summary>
public sealed record TagResponse(string Name, string Digest, string MediaType, long Size, string PushedAt, string? LastPulledAt)
{
    public static TagResponse From(TagDetail tag) =>
        new(tag.Name.Value, tag.Digest.ToString(), tag.MediaType, tag.Size, Wire.Time(tag.PushedAt), Wire.Time(tag.LastPulledAt));
}
