using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Auth.Tests;

/// <summary>The value types and small helpers of the access contracts (provider-independent, run once).</summary>
public sealed class AccessValueTests
{
    [Theory]
    [InlineData("shop")]
    [InlineData("my-shop.v2__x")]
    [InlineData("a")]
    public void ProjectNameTryParse_OneRepositoryComponent_Parses(string text)
    {
        Assert.True(ProjectName.TryParse(text, out var name));
        Assert.Equal(text, name.Value);
    }

    [Theory]
    [InlineData("Shop")]
    [InlineData("shop/app")]
    [InlineData("shop+ci")]
    [InlineData("-shop")]
    [InlineData("")]
    [InlineData(null)]
    public void ProjectNameTryParse_Invalid_Fails(string? text)
    {
        Assert.False(ProjectName.TryParse(text, out _));
    }

    [Fact]
    public void ProjectNameOf_Repository_IsItsFirstComponent()
    {
        Assert.Equal(ProjectName.Parse("shop"), ProjectName.Of(RepositoryName.Parse("shop/team/app")));
        Assert.Equal(ProjectName.Parse("shop"), ProjectName.Of(RepositoryName.Parse("shop")));
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("Alice.Smith@example.com")]
    [InlineData("ci_bot-2")]
    [InlineData("7")]
    public void UserNameTryParse_Valid_Parses(string text)
    {
        Assert.True(UserName.TryParse(text, out var name));
        Assert.Equal(text, name.Value);
    }

    [Theory]
    [InlineData("shop+ci")]
    [InlineData(".alice")]
    [InlineData("al ice")]
    [InlineData("al:ice")]
    [InlineData("zoë")]
    [InlineData("")]
    [InlineData(null)]
    public void UserNameTryParse_Invalid_Fails(string? text)
    {
        Assert.False(UserName.TryParse(text, out _));
    }

    [Fact]
    public void UserNameTryParse_TooLong_Fails()
    {
        Assert.True(UserName.TryParse(new string('a', UserName.MaxLength), out _));
        Assert.False(UserName.TryParse(new string('a', UserName.MaxLength + 1), out _));
    }

    [Fact]
    public void UserNameEquals_OtherCase_IsEqualWithTheSameHash()
    {
        var a = UserName.Parse("Alice");
        var b = UserName.Parse("aLICE");

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal("Alice", a.Value);
        Assert.NotEqual(a, UserName.Parse("alicia"));
    }

    [Fact]
    public void RobotAccount_FullNameAndNameGrammar()
    {
        var robot = new RobotAccount(1, ProjectName.Parse("shop"), "ci", "", RegistryActions.Pull, DateTimeOffset.UnixEpoch, false);

        Assert.Equal("shop+ci", robot.FullName);
        Assert.True(RobotAccount.IsValidName("ci-2"));
        Assert.False(RobotAccount.IsValidName("CI"));
        Assert.False(RobotAccount.IsValidName("a+b"));
        Assert.False(RobotAccount.IsValidName(""));
    }

    [Fact]
    public void UserToString_LeavesOutThePasswordHash()
    {
        var user = new User(1, UserName.Parse("alice"), "$pbkdf2-sha256$secret", true, false, DateTimeOffset.UnixEpoch);

        var text = user.ToString();

        Assert.DoesNotContain("pbkdf2", text, StringComparison.Ordinal);
        Assert.Contains("alice", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(50, 50)]
    [InlineData(PageSize.Max, PageSize.Max)]
    [InlineData(PageSize.Max + 1, PageSize.Max)]
    [InlineData(int.MaxValue, PageSize.Max)]
    public void PageSizeClamp_CutsToTheMaximum(int limit, int expected)
    {
        Assert.Equal(expected, PageSize.Clamp(limit));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void PageSizeClamp_BelowOne_Throws(int limit)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PageSize.Clamp(limit));
    }
}
