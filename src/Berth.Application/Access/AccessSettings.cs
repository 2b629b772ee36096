namespace Berth.Application.Access;

/// <summary>Server settings of access control (configuration section <c>Berth</c>; see <c>berth serve --help</c>).</summary>
public sealed class AccessSettings
{
    /// <summary>Let server administrators push into a project that does not exist yet, creating it (private). Off by default.</summary>
    public bool AutoCreateProjects { get; set; }

    /// <summary>Comma-separated addresses or CIDR networks of reverse proxies whose <c>X-Forwarded-For</c> is believed.</summary>
    public string? TrustedProxies { get; set; }

    /// <summary>
    /// The externally visible base URL (<c>https://registry.example.com</c>) used in the token realm of
    /// <c>WWW-Authenticate</c>. Default: the scheme and host of each request.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>Password of the first administrator, <c>admin</c>, used only when the server has no administrator (<c>BERTH_ADMIN_PASSWORD</c>).</summary>
    public string? AdminPassword { get; set; }

    /// <summary>How long audit entries are kept (default 365 days; zero keeps them for ever).</summary>
    public TimeSpan AuditRetention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>How long project settings and IP rules read from the database are reused before being read again (other nodes' changes show up within this).</summary>
    /// <remarks>3 s, so that a changed IP allow list or project setting holds on every node within 5 s (issue 12).</remarks>
    public TimeSpan CacheLifetime { get; set; } = TimeSpan.FromSeconds(3);
}
