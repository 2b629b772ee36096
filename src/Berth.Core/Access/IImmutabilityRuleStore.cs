using Berth.Core.Immutability;
using Berth.Core.Metadata;

namespace Berth.Core.Access;

/// <summary>
/// A project's tag immutability rules (<see cref="ImmutabilityRule"/>). They live with the project: deleting the project
/// deletes them in the same transaction, so a later project of the same name starts without rules. The registry
/// stores read them inside their own write transactions (a tag move, tag delete or manifest delete is checked against
/// the rules as they are at that commit), so this store only keeps them.
/// </summary>
public interface IImmutabilityRuleStore
{
    /// <summary>
    /// Adds a rule with a new id (ids are never reused). <see cref="ImmutabilityRuleAddStatus.LimitReached"/> when the
    /// project already has <paramref name="maxRules"/> rules, <see cref="ImmutabilityRuleAddStatus.ProjectNotFound"/>
    /// when it does not exist; nothing is written then. The count and the insert are one transaction.
    /// </summary>
    Task<ImmutabilityRuleAddResult> AddAsync(ProjectName project, PatternFilter repositories, PatternFilter tags, int maxRules, CancellationToken cancellationToken);

    /// <summary>Removes the project's rule <paramref name="id"/>; <see cref="DeleteResult.NotFound"/> for an unknown id or one of another project.</summary>
    Task<DeleteResult> RemoveAsync(ProjectName project, long id, CancellationToken cancellationToken);

    /// <summary>The project's rules by id; empty when there are none or the project does not exist.</summary>
    Task<IReadOnlyList<ImmutabilityRule>> ListAsync(ProjectName project, CancellationToken cancellationToken);
}

public enum ImmutabilityRuleAddStatus
{
    Added,
    ProjectNotFound,
    LimitReached,
}

public sealed record ImmutabilityRuleAddResult(ImmutabilityRuleAddStatus Status, ImmutabilityRule? Rule = null);
