using System.Security.Cryptography;
using System.Text;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Auth.Tests.Tokens;

public sealed class AccessTokenServiceTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(Start);

    private AccessTokenService Create(AccessTokenOptions? options = null, RandomNumberGenerator? random = null) =>
        new(Options.Create(options ?? new AccessTokenOptions()), _clock, random ?? RandomNumberGenerator.Create());

    private NewAccessToken CreateToken(AccessTokenService service, TokenOwner? owner = null, DateTimeOffset? expiresAt = null)
    {
        var result = service.Create(new AccessTokenRequest("ci", owner ?? TokenOwner.User(1, "alice"), AccessTokenScope.PullPush, ExpiresAt: expiresAt));
        Assert.Equal(AccessTokenCreateStatus.Created, result.Status);
        return result.Created!;
    }

    [Fact]
    public void Create_UserOwner_TextHasPatPrefixIdAndSecret()
    {
        var created = CreateToken(Create());

        Assert.Matches("^berth_pat_[a-z2-7]{16}_[a-z2-7]{52}$", created.Secret);
        Assert.Equal(created.Secret.Substring(10, 16), created.Token.LookupId);
    }

    [Fact]
    public void Create_RobotOwner_TextHasRobotPrefix()
    {
        var created = CreateToken(Create(), TokenOwner.Robot(7, "shop+ci"));

        Assert.StartsWith("berth_robot_", created.Secret, StringComparison.Ordinal);
        Assert.Equal(TokenOwnerKind.Robot, created.Token.Owner.Kind);
    }

    [Fact]
    public void Create_Any_StoresOnlySha256OfText()
    {
        var created = CreateToken(Create());

        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(created.Secret)));
        Assert.Equal(expected, created.Token.SecretHash);
        Assert.DoesNotContain(created.Secret[27..], created.Token.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_DeterministicRandom_UsesInjectedRandomness()
    {
        var first = CreateToken(Create(random: new SequenceRandom()));
        var second = CreateToken(Create(random: new SequenceRandom()));

        Assert.Equal(first.Secret, second.Secret);
        Assert.Equal("aaaqeayeaudaocaj", first.Token.LookupId); // base32 of bytes 0..9
    }

    [Fact]
    public void Create_TwoTokens_DifferInIdAndSecret()
    {
        var service = Create();

        var a = CreateToken(service);
        var b = CreateToken(service);

        Assert.NotEqual(a.Token.LookupId, b.Token.LookupId);
        Assert.NotEqual(a.Secret, b.Secret);
    }

    [Fact]
    public void Create_NoExpiry_DefaultsToNinetyDays()
    {
        var created = CreateToken(Create());

        Assert.Equal(Start, created.Token.CreatedAt);
        Assert.Equal(Start.AddDays(90), created.Token.ExpiresAt);
        Assert.Null(created.Token.RevokedAt);
        Assert.Null(created.Token.LastUsedAt);
    }

    [Fact]
    public void Create_ConfiguredDefault_UsesIt()
    {
        var created = CreateToken(Create(new AccessTokenOptions { DefaultLifetime = TimeSpan.FromDays(7) }));

        Assert.Equal(Start.AddDays(7), created.Token.ExpiresAt);
    }

    [Theory]
    [InlineData(1, AccessTokenCreateStatus.Created)]
    [InlineData(365, AccessTokenCreateStatus.Created)]
    [InlineData(366, AccessTokenCreateStatus.ExpiryTooFar)]
    [InlineData(0, AccessTokenCreateStatus.ExpiryNotInFuture)]
    [InlineData(-1, AccessTokenCreateStatus.ExpiryNotInFuture)]
    public void Create_ExplicitExpiry_IsBoundedByMaximum(int days, AccessTokenCreateStatus expected)
    {
        var result = Create().Create(new AccessTokenRequest("ci", TokenOwner.User(1, "alice"), AccessTokenScope.Pull, ExpiresAt: Start.AddDays(days)));

        Assert.Equal(expected, result.Status);
        Assert.Equal(expected == AccessTokenCreateStatus.Created, result.Created is not null);
    }

    [Fact]
    public void Create_ConfiguredMaximum_IsEnforced()
    {
        var service = Create(new AccessTokenOptions { DefaultLifetime = TimeSpan.FromDays(1), MaxLifetime = TimeSpan.FromDays(30) });

        var result = service.Create(new AccessTokenRequest("ci", TokenOwner.User(1, "alice"), AccessTokenScope.Pull, ExpiresAt: Start.AddDays(31)));

        Assert.Equal(AccessTokenCreateStatus.ExpiryTooFar, result.Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("line\nbreak")]
    [InlineData("tab\there")]
    public void Create_BadName_IsRefused(string name)
    {
        var result = Create().Create(new AccessTokenRequest(name, TokenOwner.User(1, "alice"), AccessTokenScope.Pull));

        Assert.Equal(AccessTokenCreateStatus.InvalidName, result.Status);
    }

    [Fact]
    public void Create_NameTooLong_IsRefused()
    {
        var result = Create().Create(new AccessTokenRequest(new string('n', 101), TokenOwner.User(1, "alice"), AccessTokenScope.Pull));

        Assert.Equal(AccessTokenCreateStatus.InvalidName, result.Status);
    }

    [Fact]
    public void Create_EmptyOwner_IsRefused()
    {
        var result = Create().Create(new AccessTokenRequest("ci", TokenOwner.User(1, ""), AccessTokenScope.Pull));

        Assert.Equal(AccessTokenCreateStatus.InvalidOwner, result.Status);
    }

    [Fact]
    public void Create_OwnerWithoutId_IsRefused()
    {
        var result = Create().Create(new AccessTokenRequest("ci", TokenOwner.User(0, "alice"), AccessTokenScope.Pull));

        Assert.Equal(AccessTokenCreateStatus.InvalidOwner, result.Status);
    }

    [Fact]
    public void Create_UndefinedScope_IsRefused()
    {
        var result = Create().Create(new AccessTokenRequest("ci", TokenOwner.User(1, "alice"), (AccessTokenScope)2));

        Assert.Equal(AccessTokenCreateStatus.InvalidScope, result.Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("shop|Shop")]
    [InlineData("shop/api")]
    [InlineData("shop|")]
    [InlineData("-bad")]
    public void Create_BadProjectList_IsRefused(string projects)
    {
        var list = projects.Length == 0 ? [] : projects.Split('|');

        var result = Create().Create(new AccessTokenRequest("ci", TokenOwner.User(1, "alice"), AccessTokenScope.Pull, list));

        Assert.Equal(AccessTokenCreateStatus.InvalidProjects, result.Status);
    }

    [Fact]
    public void Create_ProjectList_IsKeptWithoutDuplicates()
    {
        var result = Create().Create(new AccessTokenRequest("ci", TokenOwner.User(1, "alice"), AccessTokenScope.PullPushDelete, ["shop", "tools", "shop"]));

        Assert.Equal(["shop", "tools"], result.Created!.Token.Projects);
        Assert.Equal(AccessTokenScope.PullPushDelete, result.Created.Token.Scope);
    }

    [Fact]
    public void Create_NameWithSurroundingSpaces_IsTrimmed()
    {
        var result = Create().Create(new AccessTokenRequest("  laptop ", TokenOwner.User(1, "alice"), AccessTokenScope.Pull));

        Assert.Equal("laptop", result.Created!.Token.Name);
    }

    [Fact]
    public void Check_RightToken_IsValid()
    {
        var service = Create();
        var created = CreateToken(service);

        Assert.Equal(AccessTokenCheck.Valid, service.Check(created.Secret, created.Token));
    }

    [Fact]
    public void Check_OneCharacterChanged_IsMismatch()
    {
        var service = Create();
        var created = CreateToken(service);
        var last = created.Secret[^1] == 'a' ? 'b' : 'a';

        Assert.Equal(AccessTokenCheck.Mismatch, service.Check(created.Secret[..^1] + last, created.Token));
    }

    [Fact]
    public void Check_TokenOfAnotherRow_IsMismatch()
    {
        var service = Create();
        var a = CreateToken(service);
        var b = CreateToken(service);

        Assert.Equal(AccessTokenCheck.Mismatch, service.Check(a.Secret, b.Token));
    }

    [Fact]
    public void Check_NothingStored_IsUnknown()
    {
        var service = Create();
        var created = CreateToken(service);

        Assert.Equal(AccessTokenCheck.Unknown, service.Check(created.Secret, null));
    }

    [Fact]
    public void Check_StoredHashCorrupt_IsMismatch()
    {
        var service = Create();
        var created = CreateToken(service);

        Assert.Equal(AccessTokenCheck.Mismatch, service.Check(created.Secret, created.Token with { SecretHash = "not hex" }));
    }

    [Fact]
    public void Check_RevokedToken_IsRevoked()
    {
        var service = Create();
        var created = CreateToken(service);

        Assert.Equal(AccessTokenCheck.Revoked, service.Check(created.Secret, created.Token with { RevokedAt = Start }));
    }

    [Fact]
    public void Check_RevokedTokenWithWrongSecret_IsMismatchNotRevoked()
    {
        var service = Create();
        var a = CreateToken(service);
        var b = CreateToken(service);

        Assert.Equal(AccessTokenCheck.Mismatch, service.Check(a.Secret, b.Token with { RevokedAt = Start }));
    }

    [Fact]
    public void Check_AtExpiry_IsExpired()
    {
        var service = Create();
        var created = CreateToken(service, expiresAt: Start.AddDays(1));

        _clock.Advance(TimeSpan.FromDays(1) - TimeSpan.FromTicks(1));
        Assert.Equal(AccessTokenCheck.Valid, service.Check(created.Secret, created.Token));
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(AccessTokenCheck.Expired, service.Check(created.Secret, created.Token));
        Assert.False(created.Token.IsActive(_clock.GetUtcNow()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("berth_pat_")]
    [InlineData("ghp_aaaaaaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("berth_pat_aaaaaaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("berth_pat_aaaaaaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("berth_pat_aaaaaaaaaaaaaaaa-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("berth_pat_AAAAAAAAAAAAAAAA_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("berth_pat_aaaaaaaaaaaaaaa1_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("BERTH_PAT_aaaaaaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Check_NotABerthToken_IsMalformed(string? presented)
    {
        Assert.Equal(AccessTokenCheck.Malformed, Create().Check(presented, null));
        Assert.False(AccessTokenService.TryParse(presented, out _));
    }

    [Theory]
    [InlineData("berth_pat_abcdefghijklmnop_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", TokenOwnerKind.User)]
    [InlineData("berth_robot_abcdefghijklmnop_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", TokenOwnerKind.Robot)]
    public void TryParse_WellFormed_GivesKindAndLookupId(string presented, TokenOwnerKind kind)
    {
        Assert.True(AccessTokenService.TryParse(presented, out var parsed));
        Assert.Equal(kind, parsed.Kind);
        Assert.Equal("abcdefghijklmnop", parsed.LookupId);
    }

    [Fact]
    public void TryParse_RobotPrefixOnUserToken_CannotPassAsValid()
    {
        var service = Create();
        var created = CreateToken(service);
        var swapped = "berth_robot_" + created.Secret["berth_pat_".Length..];

        Assert.Equal(AccessTokenCheck.Mismatch, service.Check(swapped, created.Token));
    }

    [Fact]
    public void NeedsLastUsedUpdate_NeverUsed_True()
    {
        var service = Create();

        Assert.True(service.NeedsLastUsedUpdate(CreateToken(service).Token));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(299, false)]
    [InlineData(300, true)]
    [InlineData(3600, true)]
    public void NeedsLastUsedUpdate_RecentlyUsed_OnlyAfterResolution(int secondsSinceUse, bool expected)
    {
        var service = Create();
        var token = CreateToken(service).Token with { LastUsedAt = Start };

        _clock.Advance(TimeSpan.FromSeconds(secondsSinceUse));

        Assert.Equal(expected, service.NeedsLastUsedUpdate(token));
    }

    [Fact]
    public void Constructor_MaxBelowDefault_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(new AccessTokenOptions { DefaultLifetime = TimeSpan.FromDays(30), MaxLifetime = TimeSpan.FromDays(7) }));
    }
}
