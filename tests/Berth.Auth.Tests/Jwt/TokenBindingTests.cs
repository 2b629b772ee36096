using Berth.Auth.Jwt;
using Berth.Core.Access;

namespace Berth.Auth.Tests.Jwt;

public sealed class TokenBindingTests
{
    private static User Alice(long id = 5, string stamp = "0123456789abcdef0123456789abcdef") =>
        new(id, UserName.Parse("alice"), "$h", false, false, DateTimeOffset.UnixEpoch) { SecurityStamp = stamp };

    [Fact]
    public void Fingerprint_IsStableShortAndDoesNotShowTheStamp()
    {
        var stamp = "0123456789abcdef0123456789abcdef";

        var fingerprint = TokenBinding.Fingerprint(stamp);

        Assert.Equal(fingerprint, TokenBinding.Fingerprint(stamp));
        Assert.Equal(22, fingerprint.Length);
        Assert.DoesNotContain("0123", fingerprint, StringComparison.Ordinal);
        Assert.NotEqual(fingerprint, TokenBinding.Fingerprint(stamp[..^1] + "0"));
    }

    [Fact]
    public void MatchesStamp_SameUserSameStamp_True()
    {
        Assert.True(TokenBinding.ForUser(Alice()).MatchesStamp(Alice()));
    }

    [Fact]
    public void MatchesStamp_RotatedStamp_False()
    {
        Assert.False(TokenBinding.ForUser(Alice()).MatchesStamp(Alice(stamp: "ffffffffffffffffffffffffffffffff")));
    }

    [Fact]
    public void MatchesStamp_AnotherUserWithTheSameStamp_False()
    {
        // A re-created user who got the deleted one's id has another stamp; here even the same stamp on another id fails.
        Assert.False(TokenBinding.ForUser(Alice(id: 5)).MatchesStamp(Alice(id: 6)));
    }

    [Fact]
    public void MatchesStamp_RobotBindingOrNoStamp_False()
    {
        Assert.False(new TokenBinding(TokenOwnerKind.Robot, 5, TokenBinding.Fingerprint(Alice().SecurityStamp)).MatchesStamp(Alice()));
        Assert.False(new TokenBinding(TokenOwnerKind.User, 5).MatchesStamp(Alice()));
    }

    [Fact]
    public void ForAccessToken_CarriesBothTokenIdsAndTheOwnersStamp()
    {
        var token = new AccessToken
        {
            Id = 12,
            LookupId = "abcdefghijklmnop",
            SecretHash = new string('0', 64),
            Name = "ci",
            Owner = TokenOwner.User(5, "alice"),
            Scope = AccessTokenScope.Pull,
            CreatedAt = DateTimeOffset.UnixEpoch,
            ExpiresAt = DateTimeOffset.UnixEpoch.AddDays(1),
        };

        var binding = TokenBinding.ForAccessToken(token, Alice());

        Assert.Equal(new TokenBinding(TokenOwnerKind.User, 5, TokenBinding.Fingerprint(Alice().SecurityStamp), 12, "abcdefghijklmnop"), binding);
        Assert.True(binding.ByAccessToken);
        Assert.False(TokenBinding.ForUser(Alice()).ByAccessToken);
    }
}
