using Berth.Core.Access;
using Berth.Core.Immutability;
using Berth.Core.Metadata;
using Berth.Oci;

namespace Berth.Core.Lifecycle;

/// <summary>
/// Answers "is this tag immutable?" over a project's rules (<see cref="IImmutabilityRuleStore"/>,
/// <see cref="ImmutabilityPolicy"/>) for the code that removes content in bulk: the repository and project deleters
/// (refused while an immutable tag would go, unless a server administrator overrides) and later retention. The
/// registry's own tag moves and deletes are checked inside the stores' transactions, not here; these answers are read
/// before the delete, so a tag made immutable in between is not seen.
/// </summary>
public sealed class ImmutableTags(IImmutabilityRuleStore rules, IManifestIndex manifests, IRepositoryBrowser browser)
{
    private const int PageSize = 500;

    /// <summary>The project's rules, by id.</summary>
    public Task<IReadOnlyList<ImmutabilityRule>> RulesAsync(ProjectName project, CancellationToken cancellationToken) =>
        rules.ListAsync(project, cancellationToken);

    /// <summary>The refusal for changing <paramref name="tag"/>, or null when it is movable.</summary>
    public async Task<ImmutableTagRefusal?> CheckAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken) =>
        ImmutabilityPolicy.Check(await rules.ListAsync(ProjectName.Of(repository), cancellationToken), repository, tag);

    /// <summary>The first immutable tag of the repository (tags in lexical order); null when there is none.</summary>
    public async Task<ImmutableTagRefusal?> FindInRepositoryAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var list = await rules.ListAsync(ProjectName.Of(repository), cancellationToken);
        return list.Count == 0 ? null : await FindAsync(list, repository, cancellationToken);
    }

    /// <summary>The first immutable tag of any repository of the project; null when there is none.</summary>
    public async Task<ImmutableTagRefusal?> FindInProjectAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var list = await rules.ListAsync(project, cancellationToken);
        if (list.Count == 0)
        {
            return null;
        }

        string? last = null;
        while (true)
        {
            var page = await browser.ListRepositoriesAsync(project.Value, last, PageSize, cancellationToken);
            foreach (var repository in page.Repositories)
            {
                if (await FindAsync(list, repository.Name, cancellationToken) is { } refusal)
                {
                    return refusal;
                }
            }

            if (!page.HasMore || page.Repositories.Count == 0)
            {
                return null;
            }

            last = page.Repositories[^1].Name.Value;
        }
    }

    private async Task<ImmutableTagRefusal?> FindAsync(IReadOnlyList<ImmutabilityRule> list, RepositoryName repository, CancellationToken cancellationToken)
    {
        string? last = null;
        while (true)
        {
            var page = await manifests.ListTagsAsync(repository, last, PageSize, cancellationToken);
            if (page is null)
            {
                return null;
            }

            foreach (var name in page.Names)
            {
                if (Tag.TryParse(name, out var tag) && ImmutabilityPolicy.Check(list, repository, tag) is { } refusal)
                {
                    return refusal;
                }
            }

            if (!page.HasMore || page.Names.Count == 0)
            {
                return null;
            }

            last = page.Names[^1];
        }
    }
}
