using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Core.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Berth.Api.Management;

/// <summary>RFC 9457 problem answers of the management API (<c>application/problem+json</c>).</summary>
internal static class Problems
{
    public static ProblemHttpResult Status(int status, string detail) => Hosting.ProblemResults.Status(status, detail);

    public static ProblemHttpResult Forbidden(string detail) => Status(StatusCodes.Status403Forbidden, detail);

    public static ProblemHttpResult NotFound(string detail) => Status(StatusCodes.Status404NotFound, detail);

    public static ProblemHttpResult Conflict(string detail) => Status(StatusCodes.Status409Conflict, detail);

    /// <summary>The same answer for a missing project and one the caller may not see.</summary>
    public static ProblemHttpResult ProjectNotFound(string? name) => NotFound($"project '{name}' not found");

    public static ValidationProblem Invalid(string field, string message) => InvalidProblem(field, message);

    public static ValidationProblem Invalid(IDictionary<string, string[]> errors) => InvalidProblem(errors);

    /// <summary>A 400 with the messages per field, typed for endpoints that declare their results.</summary>
    public static ValidationProblem InvalidProblem(string field, string message) => InvalidProblem(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>A 400 with the messages per field, typed for endpoints that declare their results.</summary>
    public static ValidationProblem InvalidProblem(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, detail: string.Join("; ", errors.SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}"))));

    /// <summary>A problem of any status, typed for endpoints that declare their results.</summary>
    public static ProblemHttpResult Problem(int status, string detail) => Hosting.ProblemResults.Status(status, detail);
}

/// <summary>Collects validation messages per field.</summary>
internal sealed class Validation
{
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public void Add(string field, string message) =>
        _errors[field] = _errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];

    /// <summary>The 400 of the messages collected, typed for endpoints that declare their results.</summary>
    public ValidationProblem Problem() => Problems.InvalidProblem(_errors);
}

/// <summary>
/// A request body as read: the value, or the answer that refuses it: <see cref="Invalid"/> (400, naming the member)
/// or <see cref="Refused"/> (413, 415, or the status of a body that could not be read). Typed endpoints answer
/// <c>body.Invalid is { } invalid ? invalid : body.Refused!</c>.
/// </summary>
internal readonly record struct Body<T>(T? Value, ValidationProblem? Invalid, ProblemHttpResult? Refused)
{
    public Body(T value)
        : this(value, null, null)
    {
    }

    public Body(ValidationProblem invalid)
        : this(default, invalid, null)
    {
    }

    public Body(ProblemHttpResult refused)
        : this(default, null, refused)
    {
    }
}

/// <summary>
/// Reads JSON request bodies strictly: camelCase (case-insensitive), unknown members refused, a member given twice
/// (also in another case or escaped differently) refused rather than the last one winning, at most 64 KiB. Every
/// failure is a 400 problem naming the member, never an exception.
/// </summary>
internal static class RequestBody
{
    public const int MaxBytes = (int)Hosting.RequestBodyLimits.DefaultMaxBytes;

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        AllowDuplicateProperties = false,
        TypeInfoResolver = ManagementJsonContext.Default,
    };

    public static async Task<Body<T>> ReadAsync<T>(HttpContext context) where T : class
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBytes;
        }

        if (context.Request.ContentLength > MaxBytes)
        {
            return new(Problems.Problem(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {MaxBytes} bytes"));
        }

        var contentType = context.Request.ContentType;
        if (contentType is not null && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return new(Problems.Problem(StatusCodes.Status415UnsupportedMediaType, "the body must be JSON (Content-Type: application/json)"));
        }

        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            if (buffer.Length > MaxBytes)
            {
                return new(Problems.Problem(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {MaxBytes} bytes"));
            }

            if (buffer.Length == 0)
            {
                return new(Problems.InvalidProblem("body", "a JSON object is required"));
            }

            var value = JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), Options);
            return value is null ? new(Problems.InvalidProblem("body", "a JSON object is required")) : new(value);
        }
        catch (JsonException ex)
        {
            return new(Describe(ex));
        }
        catch (BadHttpRequestException ex)
        {
            return new(ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? Problems.Problem(ex.StatusCode, $"the body is larger than {MaxBytes} bytes")
                : Problems.Problem(ex.StatusCode, "the request body could not be read: " + ex.Message));
        }
    }

    private static ValidationProblem Describe(JsonException ex)
    {
        var path = ex.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : null;
        if (ex.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            // "The JSON property 'x' could not be mapped to any .NET member contained in type '…'."
            var start = ex.Message.IndexOf('\'', StringComparison.Ordinal);
            var end = start < 0 ? -1 : ex.Message.IndexOf('\'', start + 1);
            var member = end > start ? ex.Message[(start + 1)..end] : path ?? "body";
            return Problems.InvalidProblem(member, "unknown member: this request does not take it");
        }

        if (ex.Message.StartsWith("Duplicate propert", StringComparison.Ordinal))
        {
            // "Duplicate property 'name' encountered during deserialization of type '…'." with the path of the second one.
            return Problems.InvalidProblem(path ?? "body", "is given more than once: give each member once");
        }

        var line = ex.LineNumber is { } l ? string.Create(CultureInfo.InvariantCulture, $" (line {l + 1}, byte {ex.BytePositionInLine + 1})") : string.Empty;
        return path is null
            ? Problems.InvalidProblem("body", "not a valid JSON object" + line)
            : Problems.InvalidProblem(path, "has the wrong type or is malformed" + line);
    }
}

/// <summary>
/// <c>?limit=</c> and <c>?after=</c> of a listing bound as text (<c>[AsParameters]</c>), so that a malformed one is a 400
/// naming it (<see cref="Paging.TryRead(string?, string?, HttpContext, out Paging, out ValidationProblem?, string?)"/>)
/// rather than the framework's binding failure.
/// </summary>
internal readonly record struct PageQuery(
    [property: Microsoft.AspNetCore.Mvc.FromQuery(Name = "limit")] string? Limit,
    [property: Microsoft.AspNetCore.Mvc.FromQuery(Name = "after")] string? After);

/// <summary><c>?limit=</c> and <c>?after=</c> of a listing; cursors are opaque (base64url) to clients.</summary>
internal readonly record struct Paging(int Limit, string? After)
{
    public const int DefaultLimit = 100;

    /// <summary>
    /// Reads <c>limit</c> and <c>after</c> as bound (<see cref="PageQuery"/>). With <paramref name="sealedListing"/>,
    /// <c>after</c> must be a sealed cursor of that listing for this caller (<see cref="Cursor.Seal"/>); otherwise a
    /// plain one (<see cref="Cursor.Encode(string)"/>). A malformed one is the 400 naming it.
    /// </summary>
    public static bool TryRead(string? limitText, string? afterText, HttpContext context, out Paging paging, out ValidationProblem? error, string? sealedListing = null)
    {
        paging = default;
        error = null;
        var limit = DefaultLimit;
        if (!string.IsNullOrEmpty(limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > PageSize.Max))
        {
            error = Problems.InvalidProblem("limit", $"must be a whole number from 1 to {PageSize.Max}");
            return false;
        }

        string? after = null;
        if (!string.IsNullOrEmpty(afterText) && !(sealedListing is null ? Cursor.TryDecode(afterText, out after) : Cursor.TryOpen(context, sealedListing, afterText, out after)))
        {
            error = Problems.InvalidProblem("after", "is not a cursor from a previous page's 'next'");
            return false;
        }

        paging = new Paging(limit, after);
        return true;
    }
}

/// <summary>
/// Listing cursors. Plain ones (<see cref="Encode(string)"/>) carry the last name or id of the page, which the
/// caller saw. A listing that filters what it reads (projects) goes on after the last row it examined, which the
/// caller may not see: its cursors are sealed (<see cref="Seal"/>, AES-GCM, bound to the listing and the caller).
/// </summary>
internal static class Cursor
{
    private const string Prefix = "c1:";

    /// <summary>An opaque, authenticated cursor of <paramref name="listing"/> for the request's caller only.</summary>
    public static string Seal(HttpContext context, string listing, string position) =>
        Protector(context).Protect(listing, Audience(context), position);

    /// <summary>The position of a cursor made by <see cref="Seal"/> for this listing and caller (within its lifetime).</summary>
    public static bool TryOpen(HttpContext context, string listing, string text, out string? position) =>
        Protector(context).TryUnprotect(listing, Audience(context), text, out position);

    private static string Audience(HttpContext context) => Access.CursorAudience.Of(Access.CallerHttpContextExtensions.GetCaller(context));

    private static Auth.Cursors.CursorProtector Protector(HttpContext context) =>
        (Auth.Cursors.CursorProtector)context.RequestServices.GetService(typeof(Auth.Cursors.CursorProtector))!;

    public static string Encode(string position) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Prefix + position));

    public static string Encode(long id) => Encode(id.ToString(CultureInfo.InvariantCulture));

    public static bool TryDecode(string text, out string? position)
    {
        position = null;
        if (text.Length > 2048)
        {
            return false;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text));
            if (!decoded.StartsWith(Prefix, StringComparison.Ordinal))
            {
                return false;
            }

            position = decoded[Prefix.Length..];
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public static bool TryId(string? position, out long? id)
    {
        id = null;
        if (position is null)
        {
            return true;
        }

        if (!long.TryParse(position, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        id = value;
        return true;
    }
}

internal static class Wire
{
    /// <summary>ISO 8601 UTC with milliseconds: <c>2026-11-29T06:30:00.000Z</c>.</summary>
    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string? Time(DateTimeOffset? at) => at is { } value ? Time(value) : null;

    public static string Role(ProjectRole role) => role switch
    {
        ProjectRole.Owner => "owner",
        ProjectRole.Maintainer => "maintainer",
        ProjectRole.Developer => "developer",
        ProjectRole.Reader => "reader",
        _ => role.ToString().ToLowerInvariant(),
    };

    public static bool TryRole(string? text, out ProjectRole role)
    {
        role = text switch
        {
            "owner" => ProjectRole.Owner,
            "maintainer" => ProjectRole.Maintainer,
            "developer" => ProjectRole.Developer,
            "reader" => ProjectRole.Reader,
            _ => 0,
        };
        return role != 0;
    }

    public static string Visibility(ProjectVisibility visibility) => visibility == ProjectVisibility.Public ? "public" : "private";

    public static string ActorKind(AuditActorKind kind) => kind switch
    {
        AuditActorKind.Anonymous => "anonymous",
        AuditActorKind.User => "user",
        AuditActorKind.Robot => "robot",
        AuditActorKind.System => "system",
        _ => kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>
/// OpenAPI metadata the signatures cannot carry: a <see cref="ProblemHttpResult"/> says nothing of its status, so each
/// endpoint lists the problem statuses it answers; a body read by <see cref="RequestBody"/> adds its 413.
/// </summary>
internal static class ProblemMetadata
{
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            builder.ProducesProblem(status);
        }

        return builder;
    }

    /// <summary>A JSON body of <typeparamref name="T"/>, read by <see cref="RequestBody"/>: too large is a 413 problem.</summary>
    public static RouteHandlerBuilder AcceptsJson<T>(this RouteHandlerBuilder builder) where T : notnull =>
        builder.Accepts<T>("application/json").ProducesProblem(StatusCodes.Status413PayloadTooLarge);
}
