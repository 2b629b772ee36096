using System.Net;
using Berth.Auth.Throttling;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Auth.Tests.Throttling;

public sealed class LoginThrottleTests
{
    private static readonly IPAddress Home = IPAddress.Parse("198.51.100.7");
    private static readonly IPAddress Office = IPAddress.Parse("203.0.113.9");

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private LoginThrottle Create(LoginThrottleOptions? options = null) =>
        new(Options.Create(options ?? new LoginThrottleOptions()), _clock);

    private static void Fail(LoginThrottle throttle, int times, string? user = "alice", IPAddress? address = null, bool countForAccount = true)
    {
        for (var i = 0; i < times; i++)
        {
            throttle.RecordFailure(user, address ?? Home, countForAccount);
        }
    }

    /// <summary>One failure from each of <paramref name="count"/> different addresses.</summary>
    private static void FailFromManyAddresses(LoginThrottle throttle, int count, string user = "alice")
    {
        for (var i = 0; i < count; i++)
        {
            throttle.RecordFailure(user, new IPAddress([192, 0, 2, (byte)i]));
        }
    }

    [Fact]
    public void GetLockout_NothingRecorded_Null()
    {
        var throttle = Create();

        Assert.Null(throttle.GetLockout("alice", Home));
        Assert.Null(throttle.GetAccountLockout("alice"));
    }

    [Fact]
    public void GetLockout_BelowLimit_Null()
    {
        var throttle = Create();

        Fail(throttle, 4);

        Assert.Null(throttle.GetLockout("alice", Home));
    }

    [Theory]
    [InlineData(5, 1)]
    [InlineData(6, 2)]
    [InlineData(7, 4)]
    [InlineData(8, 8)]
    [InlineData(12, 128)]
    [InlineData(14, 512)]
    [InlineData(15, 900)]
    [InlineData(40, 900)]
    [InlineData(200, 900)]
    public void GetLockout_FailuresOfUserFromOneAddress_GrowExponentiallyUpToCap(int failures, int expectedSeconds)
    {
        var throttle = Create(new LoginThrottleOptions { AddressFreeFailures = 1000, AccountFreeFailures = 1000 });

        Fail(throttle, failures);

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), throttle.GetLockout("alice", Home));
    }

    [Fact]
    public void GetLockout_WhileLocked_CountsDown()
    {
        var throttle = Create();
        Fail(throttle, 7); // 4 s

        _clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(1), throttle.GetLockout("alice", Home));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(throttle.GetLockout("alice", Home));
    }

    [Fact]
    public void GetLockout_UserLockedAtOneAddress_DoesNotApplyAtAnother()
    {
        var throttle = Create();

        Fail(throttle, 6); // the attacker's address: 2 s

        Assert.Equal(TimeSpan.FromSeconds(2), throttle.GetLockout("alice", Home));
        Assert.Null(throttle.GetLockout("alice", Office));
        Assert.Null(throttle.GetLockout("bob", Home));
        Assert.Null(throttle.GetAccountLockout("alice")); // 6 failures are below the per-account limit of 10
    }

    [Theory]
    [InlineData(10, 1)]
    [InlineData(11, 2)]
    [InlineData(14, 16)]
    [InlineData(25, 900)]
    public void GetAccountLockout_FailuresSpreadOverAddresses_LockTheAccount(int failures, int expectedSeconds)
    {
        var throttle = Create();

        FailFromManyAddresses(throttle, failures);

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), throttle.GetAccountLockout("alice"));
        Assert.Null(throttle.GetLockout("alice", Office)); // no address failed five times: only the account count is locked
        Assert.Null(throttle.GetAccountLockout("bob"));
    }

    [Fact]
    public void RecordFailure_NotCountedForAccount_LeavesTheAccountOpen()
    {
        var throttle = Create();

        // Failures from an address known to the account (the owner mistyping at home) do not count against it.
        Fail(throttle, 30, countForAccount: false);

        Assert.Null(throttle.GetAccountLockout("alice"));
        Assert.NotNull(throttle.GetLockout("alice", Home));
    }

    [Fact]
    public void GetLockout_ManyUsersFromOneAddress_LocksTheAddress()
    {
        var throttle = Create();

        for (var i = 0; i < 20; i++)
        {
            throttle.RecordFailure($"user{i}", Home);
        }

        Assert.Equal(TimeSpan.FromSeconds(1), throttle.GetLockout("someone-new", Home));
        Assert.Equal(TimeSpan.FromSeconds(1), throttle.GetLockout(null, Home));
        Assert.Null(throttle.GetLockout("someone-new", Office));
    }

    [Fact]
    public void GetLockout_UserAndAddressBothLocked_LongerWins()
    {
        var throttle = Create(new LoginThrottleOptions { UserFreeFailures = 2, AddressFreeFailures = 4 });

        Fail(throttle, 4); // user at this address: 2^(4-2) = 4 s; address: 2^(4-4) = 1 s

        Assert.Equal(TimeSpan.FromSeconds(4), throttle.GetLockout("alice", Home));
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:198.51.100.7", "198.51.100.7", true)]
    [InlineData("198.51.100.7", "198.51.100.8", false)]
    public void GetLockout_AddressVariants_ShareCountPerV4AddressOrV6Prefix(string failing, string checking, bool shared)
    {
        var throttle = Create();

        Fail(throttle, 5, address: IPAddress.Parse(failing));
        for (var i = 0; i < 20; i++)
        {
            throttle.RecordFailure($"user{i}", IPAddress.Parse(failing));
        }

        Assert.Equal(shared, throttle.GetLockout(null, IPAddress.Parse(checking)) is not null);
        Assert.Equal(shared, throttle.GetLockout("alice", IPAddress.Parse(checking)) is not null);
    }

    [Theory]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("::ffff:198.51.100.7", "198.51.100.7")]
    [InlineData("198.51.100.7", "198.51.100.7")]
    public void NetworkOf_IsTheAddressOrItsV6Prefix(string address, string expected)
    {
        Assert.Equal(expected, Create().NetworkOf(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("Alice")]
    [InlineData(" alice ")]
    [InlineData("ALICE")]
    public void GetLockout_UserNameVariants_ShareCount(string variant)
    {
        var throttle = Create();

        Fail(throttle, 5, user: variant);
        FailFromManyAddresses(throttle, 10, user: variant);

        Assert.NotNull(throttle.GetLockout("alice", Home));
        Assert.NotNull(throttle.GetAccountLockout("alice"));
    }

    [Fact]
    public void RecordFailure_UnknownAndKnownUser_BehaveIdentically()
    {
        // The throttle has no notion of which users exist: a made-up name gets exactly the same delays.
        var known = Create();
        var unknown = Create();
        var seen = new List<(TimeSpan?, TimeSpan?, TimeSpan?, TimeSpan?)>();

        for (var i = 0; i < 12; i++)
        {
            known.RecordFailure("alice", Home);
            unknown.RecordFailure("no-such-user-xyz", Home);
            seen.Add((known.GetLockout("alice", Home), unknown.GetLockout("no-such-user-xyz", Home),
                known.GetAccountLockout("alice"), unknown.GetAccountLockout("no-such-user-xyz")));
        }

        Assert.All(seen, s =>
        {
            Assert.Equal(s.Item1, s.Item2);
            Assert.Equal(s.Item3, s.Item4);
        });
    }

    [Fact]
    public void RecordFailure_QuietPeriod_ForgetsOneFailurePerInterval()
    {
        var throttle = Create();
        Fail(throttle, 7); // count 7

        _clock.Advance(TimeSpan.FromMinutes(30)); // forgets 3: count 4
        throttle.RecordFailure("alice", Home); // count 5: 1 s

        Assert.Equal(TimeSpan.FromSeconds(1), throttle.GetLockout("alice", Home));
    }

    [Fact]
    public void RecordFailure_LongQuietPeriod_StartsFromScratch()
    {
        var throttle = Create();
        Fail(throttle, 15);

        _clock.Advance(TimeSpan.FromHours(3));
        Assert.Null(throttle.GetLockout("alice", Home));
        Assert.Null(throttle.GetAccountLockout("alice"));
        Fail(throttle, 4);

        Assert.Null(throttle.GetLockout("alice", Home));
    }

    [Fact]
    public void RecordFailure_ShortDelayAfterLongLockout_KeepsLongerLockout()
    {
        var throttle = Create(new LoginThrottleOptions { ForgetAfter = TimeSpan.FromSeconds(1) });
        Fail(throttle, 15); // 900 s

        _clock.Advance(TimeSpan.FromSeconds(9)); // forgets 9: count 6
        throttle.RecordFailure("alice", Home); // count 7: 4 s, but the 900 s lockout still runs

        Assert.Equal(TimeSpan.FromSeconds(891), throttle.GetLockout("alice", Home));
    }

    [Fact]
    public void RecordSuccess_AfterFailures_ClearsUserAtThatAddressButNotAccount()
    {
        var throttle = Create(new LoginThrottleOptions { UserFreeFailures = 3, AddressFreeFailures = 100, AccountFreeFailures = 3 });
        Fail(throttle, 3);
        Assert.NotNull(throttle.GetLockout("alice", Home));

        throttle.RecordSuccess("alice", Home);

        Assert.Null(throttle.GetLockout("alice", Home));
        Assert.NotNull(throttle.GetAccountLockout("alice"));
    }

    [Fact]
    public void RecordSuccess_AfterFailures_DoesNotClearTheAddress()
    {
        var throttle = Create(new LoginThrottleOptions { UserFreeFailures = 100, AddressFreeFailures = 3 });
        Fail(throttle, 3);

        throttle.RecordSuccess("alice", Home);

        Assert.NotNull(throttle.GetLockout(null, Home));
        Assert.NotNull(throttle.GetLockout("alice", Home));
    }

    [Fact]
    public void RecordSuccess_Then_FailuresCountFromZero()
    {
        var throttle = Create();
        Fail(throttle, 4);

        throttle.RecordSuccess("alice", Home);
        throttle.RecordFailure("alice", Home);

        Assert.Null(throttle.GetLockout("alice", Home));
    }

    [Fact]
    public void RecordFailure_NoUserNoAddress_TracksNothing()
    {
        var throttle = Create();

        throttle.RecordFailure(null, null);
        throttle.RecordFailure("  ", null);
        throttle.RecordSuccess(null, null);

        Assert.Equal(0, throttle.TrackedCount);
        Assert.Null(throttle.GetLockout(null, null));
        Assert.Null(throttle.GetAccountLockout(null));
    }

    [Fact]
    public void RecordFailure_UserWithoutAddress_CountsAsOneUnknownAddress()
    {
        var throttle = Create();

        for (var i = 0; i < 5; i++)
        {
            throttle.RecordFailure("alice", null);
        }

        Assert.NotNull(throttle.GetLockout("alice", null));
        Assert.Null(throttle.GetLockout("alice", Office));
    }

    [Fact]
    public void RecordFailure_BeyondMaxEntries_ForgetsOldestFirst()
    {
        var throttle = Create(new LoginThrottleOptions { MaxEntries = 6, UserFreeFailures = 1, AccountFreeFailures = 1 });

        // Each failure without an address tracks two keys: the user at the unknown address, and the account.
        throttle.RecordFailure("a", null);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        throttle.RecordFailure("b", null);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        throttle.RecordFailure("c", null);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        throttle.RecordFailure("d", null);

        Assert.Equal(6, throttle.TrackedCount);
        Assert.Null(throttle.GetLockout("a", null));
        Assert.Null(throttle.GetAccountLockout("a"));
        Assert.NotNull(throttle.GetLockout("d", null));
        Assert.NotNull(throttle.GetAccountLockout("d"));
    }

    [Fact]
    public void RecordFailure_BeyondMaxEntries_DropsForgottenEntriesBeforeLiveOnes()
    {
        var throttle = Create(new LoginThrottleOptions
        {
            MaxEntries = 2,
            UserFreeFailures = 2,
            BaseDelay = TimeSpan.FromHours(1),
            MaxDelay = TimeSpan.FromHours(1),
            ForgetAfter = TimeSpan.FromMinutes(1),
        });
        throttle.RecordFailure("live", null, countForAccount: false);
        throttle.RecordFailure("live", null, countForAccount: false);
        _clock.Advance(TimeSpan.FromMinutes(1));
        throttle.RecordFailure("stale", null, countForAccount: false); // newer than "live", but below its limit and soon forgotten
        _clock.Advance(TimeSpan.FromMinutes(5));

        throttle.RecordFailure("new", null, countForAccount: false);

        Assert.Equal(2, throttle.TrackedCount);
        Assert.NotNull(throttle.GetLockout("live", null));
    }

    [Theory]
    [InlineData(0, 20, 10, 1, 30)]
    [InlineData(5, 0, 10, 1, 30)]
    [InlineData(5, 20, 0, 1, 30)]
    [InlineData(5, 20, 10, 0, 30)]
    [InlineData(5, 20, 10, 1, 0)]
    public void Constructor_InvalidSettings_Throws(int userFree, int addressFree, int accountFree, int baseSeconds, int knownDays)
    {
        Assert.Throws<ArgumentException>(() => Create(new LoginThrottleOptions
        {
            UserFreeFailures = userFree,
            AddressFreeFailures = addressFree,
            AccountFreeFailures = accountFree,
            BaseDelay = TimeSpan.FromSeconds(baseSeconds),
            KnownNetworkLifetime = TimeSpan.FromDays(knownDays),
        }));
    }
}
