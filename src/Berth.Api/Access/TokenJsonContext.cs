using System.Text.Json.Serialization;

namespace Berth.Api.Access;

/// <summary>
/// The answer of <c>GET</c>/<c>POST /token</c> with the field names registry clients read (<c>token</c> and its OAuth2
/// alias <c>access_token</c>); <c>refresh_token</c> and <c>scope</c> only when there are some.
/// </summary>
internal sealed record RegistryTokenResponse(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("issued_at")] string IssuedAt,
    [property: JsonPropertyName("refresh_token"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RefreshToken,
    [property: JsonPropertyName("scope"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Scope);

/// <summary>An OAuth2 error answer of <c>POST /token</c> (RFC 6749 section 5.2).</summary>
internal sealed record OAuthErrorResponse(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string Description);

/// <summary>
/// Source-generated JSON of the <c>/token</c> bodies built from types; registered in the HTTP JSON options
/// (<see cref="ApiServiceCollectionExtensions.AddBerthApi"/>) so that OAuth2 errors keep their escaping.
/// </summary>
[JsonSerializable(typeof(RegistryTokenResponse))]
[JsonSerializable(typeof(OAuthErrorResponse))]
internal sealed partial class TokenJsonContext : JsonSerializerContext;
