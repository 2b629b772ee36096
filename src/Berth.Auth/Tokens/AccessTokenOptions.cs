namespace Berth.Auth.Tokens;

/// <summary>Access token settings (section <c>Berth:Auth:Tokens</c>).</summary>
public sealed class AccessTokenOptions
{
    public const string Section = "Berth:Auth:Tokens";

    /// <summary>Lifetime of a token created without an explicit expiry.</summary>
    public TimeSpan DefaultLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Longest lifetime a token may be given; a later expiry is refused, not shortened.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>
    /// <see cref="AccessToken.LastUsedAt"/> is only worth writing when it moved by at least this much, so a busy CI
    /// token does not cause a database write per request.
    /// </summary>
    public TimeSpan LastUsedResolution { get; set; } = TimeSpan.FromMinutes(5);
}
