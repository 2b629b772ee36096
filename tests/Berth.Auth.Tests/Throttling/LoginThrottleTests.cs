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

    private MemoryLoginFailureStore _store = null!;

    private LoginThrottle Create(LoginThrottleOptions? options = null)
    {
        var wrapped = Options.Create(options ?? new LoginThrottleOptions());
        _store = new MemoryLoginFailureStore(wrapped, _clock);
        return new LoginThrottle(wrapped, _clock, _store);
    }

    private static async Task Fail(LoginThrottle throttle, int times, string? user = "alice", IPAddress? address = null, bool countForAccount = true)
    {
        for (var i = 0; i < times; i++)
        {
            await throttle.RecordFailureAsync(user, address ?? Home, countForAccount);
        }
    }

    /// <summary>One failure from each of <paramref name="count"/> different addresses.</summary>
    private static async Task FailFromManyAddresses(LoginThrottle throttle, int count, string user = "alice")
    {
        for (var i = 0; i < count; i++)
        {
            await throttle.RecordFailureAsync(user, new IPAddress([192, 0, 2, (byte)i]));
        }
    }

    [Fact]
    public async Task GetLockout_NothingRecorded_Null()
    {
        var throttle = Create();

        Assert.Null(await throttle.GetLockoutAsync("alice", Home));
        Assert.Null(await throttle.GetAccountLockoutAsync("alice"));
    }

    [Fact]
    public async Task GetLockout_BelowLimit_Null()
    {
        var throttle = Create();

        await Fail(throttle, 4);

        Assert.Null(await throttle.GetLockoutAsync("alice", Home));
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
    public async Task GetLockout_FailuresOfUserFromOneAddress_GrowExponentiallyUpToCap(int failures, int expectedSeconds)
    {
        var throttle = Create(new LoginThrottleOptions { AddressFreeFailures = 1000, AccountFreeFailures = 1000 });

        await Fail(throttle, failures);

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), await throttle.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task GetLockout_WhileLocked_CountsDown()
    {
        var throttle = Create();
        await Fail(throttle, 7); // 4 s

        _clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(1), await throttle.GetLockoutAsync("alice", Home));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await throttle.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task GetLockout_UserLockedAtOneAddress_DoesNotApplyAtAnother()
    {
        var throttle = Create();

        await Fail(throttle, 6); // the attacker's address: 2 s

        Assert.Equal(TimeSpan.FromSeconds(2), await throttle.GetLockoutAsync("alice", Home));
        Assert.Null(await throttle.GetLockoutAsync("alice", Office));
        Assert.Null(await throttle.GetLockoutAsync("bob", Home));
        Assert.Null(await throttle.GetAccountLockoutAsync("alice")); // 6 failures are below the per-account limit of 10
    }

    [Theory]
    [InlineData(10, 1)]
    [InlineData(11, 2)]
    [InlineData(14, 16)]
    [InlineData(25, 900)]
    public async Task GetAccountLockout_FailuresSpreadOverAddresses_LockTheAccount(int failures, int expectedSeconds)
    {
        var throttle = Create();

        await FailFromManyAddresses(throttle, failures);

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), await throttle.GetAccountLockoutAsync("alice"));
        Assert.Null(await throttle.GetLockoutAsync("alice", Office)); // no address failed five times: only the account count is locked
        Assert.Null(await throttle.GetAccountLockoutAsync("bob"));
    }

    [Fact]
    public async Task RecordFailure_NotCountedForAccount_LeavesTheAccountOpen()
    {
        var throttle = Create();

        // Failures from an address known to the account (the owner mistyping at home) do not count against it.
        await Fail(throttle, 30, countForAccount: false);

        Assert.Null(await throttle.GetAccountLockoutAsync("alice"));
        Assert.NotNull(await throttle.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task GetLockout_ManyUsersFromOneAddress_LocksTheAddress()
    {
        var throttle = Create();

        for (var i = 0; i < 20; i++)
        {
            await throttle.RecordFailureAsync($"user{i}", Home);
        }

        Assert.Equal(TimeSpan.FromSeconds(1), await throttle.GetLockoutAsync("someone-new", Home));
        Assert.Equal(TimeSpan.FromSeconds(1), await throttle.GetLockoutAsync(null, Home));
        Assert.Null(await throttle.GetLockoutAsync("someone-new", Office));
    }

    [Fact]
    public async Task GetLockout_UserAndAddressBothLocked_LongerWins()
    {
        var throttle = Create(new LoginThrottleOptions { UserFreeFailures = 2, AddressFreeFailures = 4 });

        await Fail(throttle, 4); // user at this address: 2^(4-2) = 4 s; address: 2^(4-4) = 1 s

        Assert.Equal(TimeSpan.FromSeconds(4), await throttle.GetLockoutAsync("alice", Home));
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:198.51.100.7", "198.51.100.7", true)]
    [InlineData("198.51.100.7", "198.51.100.8", false)]
    public async Task GetLockout_AddressVariants_ShareCountPerV4AddressOrV6Prefix(string failing, string checking, bool shared)
    {
        var throttle = Create();

        await Fail(throttle, 5, address: IPAddress.Parse(failing));
        for (var i = 0; i < 20; i++)
        {
            await throttle.RecordFailureAsync($"user{i}", IPAddress.Parse(failing));
        }

        Assert.Equal(shared, await throttle.GetLockoutAsync(null, IPAddress.Parse(checking)) is not null);
        Assert.Equal(shared, await throttle.GetLockoutAsync("alice", IPAddress.Parse(checking)) is not null);
    }

    [Theory]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("::ffff:198.51.100.7", "198.51.100.7")]
    [InlineData("198.51.100.7", "198.51.100.7")]
    public async Task NetworkOf_IsTheAddressOrItsV6Prefix(string address, string expected)
    {
        Assert.Equal(expected, Create().NetworkOf(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("Alice")]
    [InlineData(" alice ")]
    [InlineData("ALICE")]
    public async Task GetLockout_UserNameVariants_ShareCount(string variant)
    {
        var throttle = Create();

        await Fail(throttle, 5, user: variant);
        await FailFromManyAddresses(throttle, 10, user: variant);

        Assert.NotNull(await throttle.GetLockoutAsync("alice", Home));
        Assert.NotNull(await throttle.GetAccountLockoutAsync("alice"));
    }

    [Fact]
    public async Task RecordFailure_UnknownAndKnownUser_BehaveIdentically()
    {
        // The throttle has no notion of which users exist: a made-up name gets exactly the same delays.
        var known = Create();
        var unknown = Create();
        var seen = new List<(TimeSpan?, TimeSpan?, TimeSpan?, TimeSpan?)>();

        for (var i = 0; i < 12; i++)
        {
            await known.RecordFailureAsync("alice", Home);
            await unknown.RecordFailureAsync("no-such-user-xyz", Home);
            seen.Add((await known.GetLockoutAsync("alice", Home), await unknown.GetLockoutAsync("no-such-user-xyz", Home),
                await known.GetAccountLockoutAsync("alice"), await unknown.GetAccountLockoutAsync("no-such-user-xyz")));
        }

        Assert.All(seen, s =>
        {
            Assert.Equal(s.Item1, s.Item2);
            Assert.Equal(s.Item3, s.Item4);
        });
    }

    [Fact]
    public async Task RecordFailure_QuietPeriod_ForgetsOneFailurePerInterval()
    {
        var throttle = Create();
        await Fail(throttle, 7); // count 7

        _clock.Advance(TimeSpan.FromMinutes(30)); // forgets 3: count 4
        await throttle.RecordFailureAsync("alice", Home); // count 5: 1 s

        Assert.Equal(TimeSpan.FromSeconds(1), await throttle.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task RecordFailure_LongQuietPeriod_StartsFromScratch()
    {
        var throttle = Create();
        await Fail(throttle, 15);

        _clock.Advance(TimeSpan.FromHours(3));
        Assert.Null(await throttle.GetLockoutAsync("alice", Home));
        Assert.Null(await throttle.GetAccountLockoutAsync("alice"));
        await Fail(throttle, 4);

        Assert.Null(await throttle.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task RecordFailure_ShortDelayAfterLongLockout_KeepsLongerLockout()
    {
        var throttle = Create(new LoginThrottleOptions { ForgetAfter = TimeSpan.FromSeconds(1) });
        await Fail(throttle, 15); // 900 s

        _clock.Advance(TimeSpan.FromSeconds(9)); // forgets 9: count 6
        await throttle.RecordFailureAsync("alice", Home); // count 7: 4 s, but the 900 s lockout still runs

        Assert.Equal(TimeSpan.FromSeconds(891), await throttle.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task RecordSuccess_AfterFailures_ClearsUserAtThatAddressButNotAccount()
    {
        var throttle = Create(new LoginThrottleOptions { UserFreeFailures = 3, AddressFreeFailures = 100, AccountFreeFailures = 3 });
        await Fail(throttle, 3);
        Assert.NotNull(await throttle.GetLockoutAsync("alice", Home));

        await throttle.RecordSuccessAsync("alice", Home);

        Assert.Null(await throttle.GetLockoutAsync("alice", Home));
        Assert.NotNull(await throttle.GetAccountLockoutAsync("alice"));
    }

    [Fact]
    public async Task RecordSuccess_AfterFailures_DoesNotClearTheAddress()
    {
        var throttle = Create(new LoginThrottleOptions { UserFreeFailures = 100, AddressFreeFailures = 3 });
        await Fail(throttle, 3);

        await throttle.RecordSuccessAsync("alice", Home);

        Assert.NotNull(await throttle.GetLockoutAsync(null, Home));
        Assert.NotNull(await throttle.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task RecordSuccess_Then_FailuresCountFromZero()
    {
        var throttle = Create();
        await Fail(throttle, 4);

        await throttle.RecordSuccessAsync("alice", Home);
        await throttle.RecordFailureAsync("alice", Home);

        Assert.Null(await throttle.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task RecordFailure_NoUserNoAddress_TracksNothing()
    {
        var throttle = Create();

        await throttle.RecordFailureAsync(null, null);
        await throttle.RecordFailureAsync("  ", null);
        await throttle.RecordSuccessAsync(null, null);

        Assert.Equal(0, _store.TrackedCount);
        Assert.Null(await throttle.GetLockoutAsync(null, null));
        Assert.Null(await throttle.GetAccountLockoutAsync(null));
    }

    [Fact]
    public async Task RecordFailure_UserWithoutAddress_CountsAsOneUnknownAddress()
    {
        var throttle = Create();

        for (var i = 0; i < 5; i++)
        {
            await throttle.RecordFailureAsync("alice", null);
        }

        Assert.NotNull(await throttle.GetLockoutAsync("alice", null));
        Assert.Null(await throttle.GetLockoutAsync("alice", Office));
    }

    [Fact]
    public async Task RecordFailure_BeyondMaxEntries_ForgetsOldestFirst()
    {
        var throttle = Create(new LoginThrottleOptions { MaxEntries = 6, UserFreeFailures = 1, AccountFreeFailures = 1 });

        // Each failure without an address tracks two keys: the user at the unknown address, and the account.
        await throttle.RecordFailureAsync("a", null);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await throttle.RecordFailureAsync("b", null);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await throttle.RecordFailureAsync("c", null);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await throttle.RecordFailureAsync("d", null);

        Assert.Equal(6, _store.TrackedCount);
        Assert.Null(await throttle.GetLockoutAsync("a", null));
        Assert.Null(await throttle.GetAccountLockoutAsync("a"));
        Assert.NotNull(await throttle.GetLockoutAsync("d", null));
        Assert.NotNull(await throttle.GetAccountLockoutAsync("d"));
    }

    [Fact]
    public async Task RecordFailure_BeyondMaxEntries_DropsForgottenEntriesBeforeLiveOnes()
    {
        var throttle = Create(new LoginThrottleOptions
        {
            MaxEntries = 2,
            UserFreeFailures = 2,
            BaseDelay = TimeSpan.FromHours(1),
            MaxDelay = TimeSpan.FromHours(1),
            ForgetAfter = TimeSpan.FromMinutes(1),
        });
        await throttle.RecordFailureAsync("live", null, countForAccount: false);
        await throttle.RecordFailureAsync("live", null, countForAccount: false);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await throttle.RecordFailureAsync("stale", null, countForAccount: false); // newer than "live", but below its limit and soon forgotten
        _clock.Advance(TimeSpan.FromMinutes(5));

        await throttle.RecordFailureAsync("new", null, countForAccount: false);

        Assert.Equal(2, _store.TrackedCount);
        Assert.NotNull(await throttle.GetLockoutAsync("live", null));
    }

    [Fact]
    public async Task RecordFailure_HostileUserNames_CountedApartUnderBoundedKeys()
    {
        var throttle = Create(new LoginThrottleOptions { UserFreeFailures = 1, AccountFreeFailures = 100 });
        var longName = new string('x', 10_000);
        var nulName = "alice\0bob";
        var surrogate = "al\uD800ice";

        await throttle.RecordFailureAsync(longName, Home);
        await throttle.RecordFailureAsync(nulName, Home);
        await throttle.RecordFailureAsync(surrogate, Home);

        Assert.NotNull(await throttle.GetLockoutAsync(longName, Home));
        Assert.NotNull(await throttle.GetLockoutAsync(nulName, Home));
        Assert.NotNull(await throttle.GetLockoutAsync(surrogate, Home));
        Assert.Null(await throttle.GetLockoutAsync(longName + "y", Home));
        Assert.Null(await throttle.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task RecordFailure_AfterForgetAfter_PrunesForgottenCounts()
    {
        var throttle = Create(new LoginThrottleOptions { ForgetAfter = TimeSpan.FromMinutes(1) });
        await throttle.RecordFailureAsync("alice", Home);
        _clock.Advance(TimeSpan.FromMinutes(3));

        await throttle.RecordFailureAsync("bob", Office); // the first failure after ForgetAfter prunes alice's counts

        Assert.Equal(3, _store.TrackedCount); // bob's pair, address and account
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
