using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Auth.Scopes;

/// <summary>What to do with <c>POST /v2/&lt;target&gt;/blobs/uploads/?mount=&lt;digest&gt;&amp;from=&lt;source&gt;</c>.</summary>
public enum MountDecision
{
    /// <summary>Push on the target and pull on the source: mount the blob if the source has it.</summary>
    Mount,

    /// <summary>
    /// Push on the target but no pull on the source: do not mount, start an ordinary upload instead (202), as the
    /// distribution spec allows; the client then uploads the bytes. This neither fails the push nor reveals whether
    /// the source holds the blob.
    /// </summary>
    Upload,

    /// <summary>No push on the target: refuse the request.</summary>
    Deny,
}

/// <summary>
/// Cross-repository blob mount needs pull on the source and push on the target. The upload route's own needs
/// (pull and push on the target for any upload) are checked as for every other upload.
/// </summary>
public static class CrossRepositoryMount
{
    /// <summary>The accesses a mount asks for: push on <paramref name="target"/>, pull on <paramref name="source"/>.</summary>
    public static IReadOnlyList<RegistryAccess> Required(RepositoryName source, RepositoryName target) =>
        [new RegistryAccess(target, RegistryActions.Push), new RegistryAccess(source, RegistryActions.Pull)];

    /// <summary>Decides a mount request from what the caller was granted (for instance the access list of its bearer token).</summary>
    public static MountDecision Decide(IReadOnlyCollection<RegistryAccess> granted, RepositoryName source, RepositoryName target)
    {
        ArgumentNullException.ThrowIfNull(granted);
        if (!AccessLists.ActionsOn(granted, target).HasFlag(RegistryActions.Push))
        {
            return MountDecision.Deny;
        }

        return AccessLists.ActionsOn(granted, source).HasFlag(RegistryActions.Pull) ? MountDecision.Mount : MountDecision.Upload;
    }
}
