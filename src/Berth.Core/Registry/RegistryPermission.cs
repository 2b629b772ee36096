using Berth.Oci;

namespace Berth.Core.Registry;

/// <summary>What a request does to a repository, in the vocabulary of Docker token scopes.</summary>
[Flags]
public enum RegistryActions
{
    None = 0,
    Pull = 1,
    Push = 2,
    Delete = 4,
}

/// <summary>One permission a request needs: actions on a repository, or on the catalog when <see cref="Repository"/> is null.</summary>
public sealed record RegistryPermission(RepositoryName? Repository, RegistryActions Actions)
{
    public static RegistryPermission Catalog { get; } = new(null, RegistryActions.Pull);
}
