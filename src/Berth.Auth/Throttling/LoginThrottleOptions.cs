namespace Berth.Auth.Throttling;

/// <summary>Failed-login throttling settings (section <c>Berth:Auth:LoginThrottle</c>).</summary>
public sealed class LoginThrottleOptions
{
    public const string Section = "Berth:Auth:LoginThrottle";

    /// <summary>
    /// Failures for one user name from one address (an IPv6 /64, see <see cref="IPv6PrefixLength"/>) before delays
    /// start. Failures from one address never slow the same user down at another.
    /// </summary>
    public int UserFreeFailures { get; set; } = 5;

    /// <summary>
    /// Failures from one address (an IPv6 /64) for any user names before delays start; higher than the per-user limit
    /// because many people may share an address behind NAT.
    /// </summary>
    public int AddressFreeFailures { get; set; } = 20;

    /// <summary>
    /// Failures for one user name from addresses that have not signed in to that account within
    /// <see cref="KnownNetworkLifetime"/>, however many addresses they come from, before delays start for every such
    /// address: guesses spread over many addresses are still slowed per account, while the owner's known addresses
    /// are never locked out by them.
    /// </summary>
    public int AccountFreeFailures { get; set; } = 10;

    /// <summary>The delay after the failure that reaches the limit; each further failure doubles it.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>One recorded failure is forgotten per this much time without failures (linear decay).</summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long after its last successful sign-in an address stays known to an account (exempt from <see cref="AccountFreeFailures"/>).</summary>
    public TimeSpan KnownNetworkLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>IPv6 addresses are counted per prefix of this length, because one client usually holds a whole /64.</summary>
    public int IPv6PrefixLength { get; set; } = 64;

    /// <summary>Most users and addresses tracked at once; beyond it forgotten entries go first, then the oldest.</summary>
    public int MaxEntries { get; set; } = 100_000;
}
