using Berth.Core.Access;

namespace Berth.Access.Conformance;

/// <summary>Security stamps of users (the credential generation tokens are bound to) and known sign-in networks.</summary>
public abstract partial class AccessStoreConformance
{
    // ------------------------------------------------------------------ security stamps

    [Fact]
    public async Task UserCreate_TwoUsers_GetDifferentRandomStamps()
    {
        var alice = await CreateUserAsync("alice");
        var bob = await CreateUserAsync("bob");

        Assert.NotEqual(alice.SecurityStamp, bob.SecurityStamp);
        Assert.Equal(alice.SecurityStamp, (await Users.GetAsync(alice.Id, Ct))!.SecurityStamp);
        Assert.Equal(bob.SecurityStamp, (await Users.GetAsync(U("BOB"), Ct))!.SecurityStamp);
    }

    [Fact]
    public async Task UserSetPasswordHash_ChangeOrReset_RotatesTheStamp()
    {
        var alice = await CreateUserAsync("alice");

        Assert.Equal(UpdateResult.Updated, await Users.SetPasswordHashAsync(alice.Id, "$new", Ct));

        var changed = (await Users.GetAsync(alice.Id, Ct))!;
        Assert.Equal("$new", changed.PasswordHash);
        Assert.NotEqual(alice.SecurityStamp, changed.SecurityStamp);
        Assert.NotEmpty(changed.SecurityStamp);
    }

    [Fact]
    public async Task UserRehashPassword_StoredHashAsExpected_ReplacesHashAndKeepsStamp()
    {
        var alice = await CreateUserAsync("alice");

        Assert.Equal(UpdateResult.Updated, await Users.RehashPasswordAsync(alice.Id, alice.PasswordHash!, "$stronger", Ct));

        var rehashed = (await Users.GetAsync(alice.Id, Ct))!;
        Assert.Equal("$stronger", rehashed.PasswordHash);
        Assert.Equal(alice.SecurityStamp, rehashed.SecurityStamp);
    }

    [Fact]
    public async Task UserRehashPassword_PasswordChangedMeanwhile_NotFoundAndTheNewPasswordStays()
    {
        var alice = await CreateUserAsync("alice");
        await Users.SetPasswordHashAsync(alice.Id, "$changed", Ct);
        var changed = (await Users.GetAsync(alice.Id, Ct))!;

        Assert.Equal(UpdateResult.NotFound, await Users.RehashPasswordAsync(alice.Id, alice.PasswordHash!, "$rehash-of-old", Ct));

        Assert.Equal(changed, await Users.GetAsync(alice.Id, Ct));
    }

    [Fact]
    public async Task UserRehashPassword_UnknownUser_NotFound()
    {
        Assert.Equal(UpdateResult.NotFound, await Users.RehashPasswordAsync(999, "$a", "$b", Ct));
    }

    [Fact]
    public async Task UserRotateSecurityStamp_ChangesTheStampOnly()
    {
        var alice = await CreateUserAsync("alice", isAdministrator: true);

        Assert.Equal(UpdateResult.Updated, await Users.RotateSecurityStampAsync(alice.Id, Ct));

        var rotated = (await Users.GetAsync(alice.Id, Ct))!;
        Assert.NotEqual(alice.SecurityStamp, rotated.SecurityStamp);
        Assert.Equal(alice with { SecurityStamp = rotated.SecurityStamp }, rotated);
        Assert.Equal(UpdateResult.NotFound, await Users.RotateSecurityStampAsync(alice.Id + 1000, Ct));
    }

    [Fact]
    public async Task UserSetAdministrator_Change_RotatesStamp_SameValueKeepsIt()
    {
        await CreateUserAsync("root", isAdministrator: true);
        var alice = await CreateUserAsync("alice");

        await Users.SetAdministratorAsync(alice.Id, false, Ct);
        var unchanged = (await Users.GetAsync(alice.Id, Ct))!.SecurityStamp;
        await Users.SetAdministratorAsync(alice.Id, true, Ct);
        var promoted = (await Users.GetAsync(alice.Id, Ct))!.SecurityStamp;
        await Users.SetAdministratorAsync(alice.Id, false, Ct);
        var demoted = (await Users.GetAsync(alice.Id, Ct))!.SecurityStamp;

        Assert.Equal(alice.SecurityStamp, unchanged);
        Assert.NotEqual(alice.SecurityStamp, promoted);
        Assert.NotEqual(promoted, demoted);
    }

    [Fact]
    public async Task UserSetAdministrator_RefusedForLastAdministrator_KeepsStamp()
    {
        var root = await CreateUserAsync("root", isAdministrator: true);

        Assert.Equal(UserUpdateStatus.LastAdministrator, await Users.SetAdministratorAsync(root.Id, false, Ct));

        Assert.Equal(root.SecurityStamp, (await Users.GetAsync(root.Id, Ct))!.SecurityStamp);
    }

    [Fact]
    public async Task UserSetDisabled_Change_RotatesStamp_SameValueKeepsIt()
    {
        var alice = await CreateUserAsync("alice");

        await Users.SetDisabledAsync(alice.Id, false, Ct);
        var unchanged = (await Users.GetAsync(alice.Id, Ct))!.SecurityStamp;
        await Users.SetDisabledAsync(alice.Id, true, Ct);
        var disabled = (await Users.GetAsync(alice.Id, Ct))!.SecurityStamp;
        await Users.SetDisabledAsync(alice.Id, false, Ct);
        var enabled = (await Users.GetAsync(alice.Id, Ct))!.SecurityStamp;

        Assert.Equal(alice.SecurityStamp, unchanged);
        Assert.NotEqual(alice.SecurityStamp, disabled);
        Assert.NotEqual(disabled, enabled);
        Assert.NotEqual(alice.SecurityStamp, enabled); // re-enabling does not bring old tokens back
    }

    [Fact]
    public async Task UserDelete_ThenSameNameCreated_NewUserHasAnotherStamp()
    {
        await CreateUserAsync("root", isAdministrator: true);
        var ivan = await CreateUserAsync("ivan");
        Assert.Equal(UserDeleteStatus.Deleted, await Users.DeleteAsync(ivan.Id, Ct));

        var again = await CreateUserAsync("ivan");

        // The id may well be reused (SQLite reuses the highest); the stamp never is.
        Assert.NotEqual(ivan.SecurityStamp, again.SecurityStamp);
    }

    // ------------------------------------------------------------------ known sign-in networks

    [Fact]
    public async Task KnownNetworkRemember_ThenGet_ReturnsTheTimeToTheMillisecond()
    {
        var alice = await CreateUserAsync("alice");
        var at = Start.AddMinutes(3).AddTicks(1_234); // 0.1234 ms

        Assert.Equal(UpdateResult.Updated, await KnownNetworks.RememberAsync(alice.Id, "198.51.100.7", at, Ct));

        Assert.Equal(Start.AddMinutes(3), await KnownNetworks.GetLastSignInAsync(alice.Id, "198.51.100.7", Ct));
    }

    [Fact]
    public async Task KnownNetworkRemember_LaterThenEarlier_KeepsTheLater()
    {
        var alice = await CreateUserAsync("alice");
        await KnownNetworks.RememberAsync(alice.Id, "2001:db8:1:2::/64", Start.AddDays(2), Ct);

        Assert.Equal(UpdateResult.Updated, await KnownNetworks.RememberAsync(alice.Id, "2001:db8:1:2::/64", Start, Ct));

        Assert.Equal(Start.AddDays(2), await KnownNetworks.GetLastSignInAsync(alice.Id, "2001:db8:1:2::/64", Ct));
    }

    [Fact]
    public async Task KnownNetworkGet_OtherUserOrNetwork_Null()
    {
        var alice = await CreateUserAsync("alice");
        var bob = await CreateUserAsync("bob");
        await KnownNetworks.RememberAsync(alice.Id, "198.51.100.7", Start, Ct);

        Assert.Null(await KnownNetworks.GetLastSignInAsync(bob.Id, "198.51.100.7", Ct));
        Assert.Null(await KnownNetworks.GetLastSignInAsync(alice.Id, "198.51.100.8", Ct));
        Assert.Null(await KnownNetworks.GetLastSignInAsync(alice.Id, "198.51.100.70", Ct));
        Assert.Null(await KnownNetworks.GetLastSignInAsync(999, "198.51.100.7", Ct));
    }

    [Fact]
    public async Task KnownNetworkRemember_UnknownUser_NotFoundAndNothingStored()
    {
        Assert.Equal(UpdateResult.NotFound, await KnownNetworks.RememberAsync(999, "198.51.100.7", Start, Ct));

        Assert.Null(await KnownNetworks.GetLastSignInAsync(999, "198.51.100.7", Ct));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    public async Task KnownNetworkRemember_EmptyOrOverlongNetwork_Throws(string network)
    {
        var alice = await CreateUserAsync("alice");
        var text = network.Length == 0 ? network : new string('x', IKnownNetworkStore.MaxNetworkLength + 1);

        await Assert.ThrowsAsync<ArgumentException>(() => KnownNetworks.RememberAsync(alice.Id, text, Start, Ct));
    }

    [Fact]
    public async Task KnownNetworkRemember_LongestAllowedNetwork_IsStored()
    {
        var alice = await CreateUserAsync("alice");
        var text = new string('x', IKnownNetworkStore.MaxNetworkLength);

        await KnownNetworks.RememberAsync(alice.Id, text, Start, Ct);

        Assert.Equal(Start, await KnownNetworks.GetLastSignInAsync(alice.Id, text, Ct));
    }

    [Fact]
    public async Task KnownNetworks_UserDeleted_GoWithTheUser_NotToANewUserWithItsId()
    {
        await CreateUserAsync("root", isAdministrator: true);
        var ivan = await CreateUserAsync("ivan");
        await KnownNetworks.RememberAsync(ivan.Id, "198.51.100.7", Start, Ct);

        await Users.DeleteAsync(ivan.Id, Ct);
        var again = await CreateUserAsync("ivan");

        Assert.Null(await KnownNetworks.GetLastSignInAsync(ivan.Id, "198.51.100.7", Ct));
        Assert.Null(await KnownNetworks.GetLastSignInAsync(again.Id, "198.51.100.7", Ct));
    }

    [Fact]
    public async Task KnownNetworkForgetBefore_RemovesOnlyOlderRecords_InBatches()
    {
        var alice = await CreateUserAsync("alice");
        var bob = await CreateUserAsync("bob");
        for (var i = 0; i < 5; i++)
        {
            await KnownNetworks.RememberAsync(alice.Id, $"10.0.0.{i}", Start.AddDays(i), Ct);
        }

        await KnownNetworks.RememberAsync(bob.Id, "10.0.0.1", Start, Ct);

        Assert.Equal(2, await KnownNetworks.ForgetBeforeAsync(Start.AddDays(3), 2, Ct));
        Assert.Equal(2, await KnownNetworks.ForgetBeforeAsync(Start.AddDays(3), 2, Ct));
        Assert.Equal(0, await KnownNetworks.ForgetBeforeAsync(Start.AddDays(3), 2, Ct));

        Assert.Null(await KnownNetworks.GetLastSignInAsync(alice.Id, "10.0.0.2", Ct));
        Assert.Null(await KnownNetworks.GetLastSignInAsync(bob.Id, "10.0.0.1", Ct));
        Assert.Equal(Start.AddDays(3), await KnownNetworks.GetLastSignInAsync(alice.Id, "10.0.0.3", Ct));
        Assert.Equal(Start.AddDays(4), await KnownNetworks.GetLastSignInAsync(alice.Id, "10.0.0.4", Ct));
    }
}
