namespace Berth.Core.Quotas;

/// <summary>
/// Storage quotas of projects (issue 13). A project's <b>usage</b> is the total size of the distinct blobs its manifests
/// reference (across all its repositories: a layer shared by two repositories counts once), plus the sizes of those
/// manifests themselves (each distinct manifest once), plus the bytes acknowledged so far of its uploads in progress.
/// It drops as soon as a manifest is deleted (not after garbage collection); deleting a tag that leaves its manifest
/// changes nothing; a committed blob that no manifest references yet is not counted. Projects are named by text
/// (<c>RepositoryName.Project</c>) so this namespace depends on nothing but the BCL.
/// </summary>
public interface IProjectQuotaStore
{
    /// <summary>The project's quota and its usage now, in one query; null when no project of that name exists.</summary>
    Task<ProjectUsage?> GetUsageAsync(string project, CancellationToken cancellationToken);

    /// <summary>The project's quota alone (one indexed read): null when it has none or does not exist.</summary>
    Task<long?> GetQuotaAsync(string project, CancellationToken cancellationToken);

    /// <summary>
    /// True when a manifest of the project (in any of its repositories) references the blob <paramref name="digest"/>:
    /// uploading it again adds nothing to the usage. One indexed read.
    /// </summary>
    Task<bool> ReferencesBlobAsync(string project, string digest, CancellationToken cancellationToken);

    /// <summary>
    /// Sets the project's quota in bytes (null: unlimited). A quota below the current usage is accepted: pushes that add
    /// bytes are refused until the usage falls below it. No project of that name: <see cref="QuotaSetResult.ProjectNotFound"/>.
    /// </summary>
    Task<QuotaSetResult> SetQuotaAsync(string project, long? bytes, CancellationToken cancellationToken);
}

/// <summary>A project's quota (null: unlimited) and the bytes it uses (see <see cref="IProjectQuotaStore"/>).</summary>
public sealed record ProjectUsage(long? QuotaBytes, long UsedBytes);

/// <summary>Outcome of <see cref="IProjectQuotaStore.SetQuotaAsync"/>.</summary>
public enum QuotaSetResult
{
    Set,
    ProjectNotFound,
}

/// <summary>
/// A push refused by a quota: the project used <see cref="UsedBytes"/> of <see cref="QuotaBytes"/> and the push would
/// have added <see cref="NeededBytes"/>.
/// </summary>
public sealed record QuotaExceeded(long UsedBytes, long QuotaBytes, long NeededBytes)
{
    /// <summary>What the client is told (<c>DENIED</c>), e.g. <c>quota exceeded: 9.8 GiB of 10 GiB used, this push needs 350 MiB more</c>.</summary>
    public string Message => $"quota exceeded: {ByteSize.Format(UsedBytes)} of {ByteSize.Format(QuotaBytes)} used, this push needs {ByteSize.Format(NeededBytes)} more";
}
