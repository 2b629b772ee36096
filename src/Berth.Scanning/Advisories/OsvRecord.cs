using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Scanning.Advisories;

/// <summary>
/// One OSV record (schema 1.x, <see href="https://ossf.github.io/osv-schema/"/>) as Berth reads it. Lists are never
/// null (absent in the JSON = empty); the two free-form objects are kept as JSON.
/// </summary>
public sealed record OsvRecord
{
    [JsonPropertyName("schema_version")] public string? SchemaVersion { get; init; }
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    [JsonPropertyName("modified")] public DateTimeOffset? Modified { get; init; }
    [JsonPropertyName("published")] public DateTimeOffset? Published { get; init; }
    /// <summary>When set, the record was withdrawn and must not produce findings.</summary>
    [JsonPropertyName("withdrawn")] public DateTimeOffset? Withdrawn { get; init; }
    [JsonPropertyName("aliases")] public IReadOnlyList<string> Aliases { get; init; } = [];
    [JsonPropertyName("related")] public IReadOnlyList<string> Related { get; init; } = [];
    [JsonPropertyName("summary")] public string? Summary { get; init; }
    [JsonPropertyName("details")] public string? Details { get; init; }
    [JsonPropertyName("severity")] public IReadOnlyList<OsvSeverity> Severity { get; init; } = [];
    [JsonPropertyName("affected")] public IReadOnlyList<OsvAffected> Affected { get; init; } = [];
    [JsonPropertyName("references")] public IReadOnlyList<OsvReference> References { get; init; } = [];
    [JsonPropertyName("database_specific")] public JsonElement? DatabaseSpecific { get; init; }
}

/// <summary>A severity entry: <c>type</c> ("CVSS_V2", "CVSS_V3", "CVSS_V4", "Ubuntu") and its <c>score</c> (a vector for CVSS).</summary>
public sealed record OsvSeverity(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("score")] string? Score);

/// <summary>A reference: <c>type</c> ("ADVISORY", "WEB", "FIX", …) and <c>url</c>.</summary>
public sealed record OsvReference(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("url")] string? Url);

/// <summary>The affected package: OSV ecosystem with its release ("Debian:12"), name and optional purl.</summary>
public sealed record OsvPackage(
    [property: JsonPropertyName("ecosystem")] string? Ecosystem,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("purl")] string? Purl);

/// <summary>One <c>affected[]</c> entry: a package, its ranges and explicit versions.</summary>
public sealed record OsvAffected
{
    [JsonPropertyName("package")] public OsvPackage? Package { get; init; }
    [JsonPropertyName("severity")] public IReadOnlyList<OsvSeverity> Severity { get; init; } = [];
    [JsonPropertyName("ranges")] public IReadOnlyList<OsvRange> Ranges { get; init; } = [];
    [JsonPropertyName("versions")] public IReadOnlyList<string> Versions { get; init; } = [];
    [JsonPropertyName("ecosystem_specific")] public JsonElement? EcosystemSpecific { get; init; }
    [JsonPropertyName("database_specific")] public JsonElement? DatabaseSpecific { get; init; }
}

/// <summary>A range: <c>type</c> ("ECOSYSTEM", "SEMVER", "GIT"), its repo for GIT, and its events.</summary>
public sealed record OsvRange
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("repo")] public string? Repo { get; init; }
    [JsonPropertyName("events")] public IReadOnlyList<OsvEvent> Events { get; init; } = [];
}

/// <summary>An event: exactly one of the four is set in a well-formed record.</summary>
public sealed record OsvEvent
{
    [JsonPropertyName("introduced")] public string? Introduced { get; init; }
    [JsonPropertyName("fixed")] public string? Fixed { get; init; }
    [JsonPropertyName("last_affected")] public string? LastAffected { get; init; }
    [JsonPropertyName("limit")] public string? Limit { get; init; }
}
