using Berth.Auth.Scopes;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Auth.Tests.Scopes;

public sealed class CrossRepositoryMountTests
{
    private static readonly RepositoryName Source = RepositoryName.Parse("base/alpine");
    private static readonly RepositoryName Target = RepositoryName.Parse("shop/api");

    [Fact]
    public void Required_Any_IsPushOnTargetAndPullOnSource()
    {
        Assert.Equal([new(Target, RegistryActions.Push), new(Source, RegistryActions.Pull)], CrossRepositoryMount.Required(Source, Target));
    }

    [Theory]
    [InlineData(RegistryActions.Pull | RegistryActions.Push, RegistryActions.Pull, MountDecision.Mount)]
    [InlineData(RegistryActions.Push, RegistryActions.Pull | RegistryActions.Delete, MountDecision.Mount)]
    [InlineData(RegistryActions.Pull | RegistryActions.Push, RegistryActions.None, MountDecision.Upload)]
    [InlineData(RegistryActions.Pull | RegistryActions.Push, RegistryActions.Push, MountDecision.Upload)]
    [InlineData(RegistryActions.Pull, RegistryActions.Pull, MountDecision.Deny)]
    [InlineData(RegistryActions.None, RegistryActions.Pull, MountDecision.Deny)]
    public void Decide_Grants_MountOnlyWithPullOnSourceAndPushOnTarget(RegistryActions onTarget, RegistryActions onSource, MountDecision expected)
    {
        IReadOnlyCollection<RegistryAccess> granted = [new(Target, onTarget), new(Source, onSource)];

        Assert.Equal(expected, CrossRepositoryMount.Decide(granted, Source, Target));
    }

    [Fact]
    public void Decide_SameRepository_NeedsPushAndPullThere()
    {
        Assert.Equal(MountDecision.Mount, CrossRepositoryMount.Decide([new(Target, RegistryActions.Pull | RegistryActions.Push)], Target, Target));
        Assert.Equal(MountDecision.Upload, CrossRepositoryMount.Decide([new(Target, RegistryActions.Push)], Target, Target));
    }

    [Fact]
    public void Required_ThenCovers_AgreesWithDecide()
    {
        IReadOnlyCollection<RegistryAccess> granted = [new(Target, RegistryActions.Push), new(Source, RegistryActions.Pull)];

        Assert.True(AccessLists.Covers(granted, CrossRepositoryMount.Required(Source, Target)));
        Assert.Equal(MountDecision.Mount, CrossRepositoryMount.Decide(granted, Source, Target));
    }
}
