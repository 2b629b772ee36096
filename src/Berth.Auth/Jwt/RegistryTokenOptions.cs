namespace Berth.Auth.Jwt;

/// <summary>Registry (bearer) token settings (section <c>Berth:Auth:RegistryTokens</c>).</summary>
public sealed class RegistryTokenOptions
{
    public const string Section = "Berth:Auth:RegistryTokens";

    /// <summary>The <c>iss</c> claim: who issues tokens. Tokens with another issuer are refused.</summary>
    public string Issuer { get; set; } = "berth";

    /// <summary>
    /// The <c>aud</c> claim: the registry service, the same value the <c>WWW-Authenticate</c> challenge names as
    /// <c>service</c> and the client sends back to the token endpoint.
    /// </summary>
    public string Service { get; set; } = "berth";

    /// <summary>How long a token is valid. Docker clients expect at least 60 seconds.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a refresh token (OAuth2 <c>access_type=offline</c>) lasts; default 30 days. The account is checked again at every refresh.</summary>
    public TimeSpan RefreshLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Tolerance for clocks of different nodes when checking <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Folder of the signing keys (see <see cref="SigningKeyRing"/>); null keeps an in-memory key only.</summary>
    public string? KeyFolder { get; set; }
}
