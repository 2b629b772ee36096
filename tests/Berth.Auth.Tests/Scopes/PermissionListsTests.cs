using Berth.Auth.Scopes;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Auth.Tests.Scopes;

public sealed class PermissionListsTests
{
    private static readonly RepositoryName Api = RepositoryName.Parse("shop/api");
    private static readonly RepositoryName Web = RepositoryName.Parse("shop/web");

    [Fact]
    public void Merge_DuplicatesAndEmpty_UnitesInFirstSeenOrder()
    {
        var merged = PermissionLists.Merge(
        [
            new(Web, RegistryActions.Pull),
            new(Api, RegistryActions.None),
            RegistryPermission.Catalog,
            new(Api, RegistryActions.Push),
            new(Web, RegistryActions.Delete),
            RegistryPermission.Catalog,
        ]);

        Assert.Equal([new(Web, RegistryActions.Pull | RegistryActions.Delete), RegistryPermission.Catalog, new(Api, RegistryActions.Push)], merged);
    }

    [Fact]
    public void Intersect_CallerHoldsAll_GrantsRequest()
    {
        var granted = PermissionLists.Intersect([new(Api, RegistryActions.Pull | RegistryActions.Push)], _ => RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete);

        Assert.Equal([new(Api, RegistryActions.Pull | RegistryActions.Push)], granted);
    }

    [Fact]
    public void Intersect_CallerHoldsPart_GrantsPartWithoutError()
    {
        var granted = PermissionLists.Intersect(
            [new(Api, RegistryActions.Pull | RegistryActions.Push), new(Web, RegistryActions.Push)],
            a => a.Repository == Api ? RegistryActions.Pull : RegistryActions.None);

        Assert.Equal([new(Api, RegistryActions.Pull)], granted);
    }

    [Fact]
    public void Intersect_CallerHoldsNothing_IsEmpty()
    {
        Assert.Empty(PermissionLists.Intersect([new(Api, RegistryActions.Pull)], _ => RegistryActions.None));
    }

    [Fact]
    public void Intersect_DuplicateRequests_AsksHeldOncePerResource()
    {
        var asked = new List<RegistryPermission>();

        PermissionLists.Intersect([new(Api, RegistryActions.Pull), new(Api, RegistryActions.Push)], a =>
        {
            asked.Add(a);
            return RegistryActions.Pull;
        });

        Assert.Equal([new(Api, RegistryActions.Pull | RegistryActions.Push)], asked);
    }

    [Theory]
    [InlineData(RegistryActions.Pull, true)]
    [InlineData(RegistryActions.Pull | RegistryActions.Push, true)]
    [InlineData(RegistryActions.Delete, false)]
    [InlineData(RegistryActions.Pull | RegistryActions.Delete, false)]
    public void Covers_SingleNeed_TrueOnlyWhenAllActionsGranted(RegistryActions needed, bool expected)
    {
        IReadOnlyCollection<RegistryPermission> granted = [new(Api, RegistryActions.Pull), new(Api, RegistryActions.Push)];

        Assert.Equal(expected, PermissionLists.Covers(granted, [new(Api, needed)]));
    }

    [Fact]
    public void Covers_CatalogNotGranted_False()
    {
        Assert.False(PermissionLists.Covers([new(Api, RegistryActions.Pull)], [RegistryPermission.Catalog]));
        Assert.True(PermissionLists.Covers([RegistryPermission.Catalog], [RegistryPermission.Catalog]));
    }

    [Fact]
    public void Covers_NoNeed_True()
    {
        Assert.True(PermissionLists.Covers([], []));
    }

    [Fact]
    public void ActionsOn_OtherRepository_None()
    {
        Assert.Equal(RegistryActions.None, PermissionLists.ActionsOn([new(Api, RegistryActions.Pull)], Web));
    }
}
