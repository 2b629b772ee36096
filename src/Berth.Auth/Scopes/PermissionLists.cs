using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Auth.Scopes;

/// <summary>Set operations over lists of <see cref="RegistryPermission"/> (what was asked, what is granted, what is needed).</summary>
public static class PermissionLists
{
    /// <summary>
    /// One entry per resource (a repository, or the catalog) with the union of its actions, in first-seen order;
    /// entries with no action are dropped.
    /// </summary>
    public static IReadOnlyList<RegistryPermission> Merge(IEnumerable<RegistryPermission> permissions)
    {
        ArgumentNullException.ThrowIfNull(permissions);
        var order = new List<RepositoryName?>();
        var actions = new Dictionary<RepositoryName, RegistryActions>();
        var catalog = RegistryActions.None;
        foreach (var permission in permissions)
        {
            if (permission.Actions == RegistryActions.None)
            {
                continue;
            }

            if (permission.Repository is not { } repository)
            {
                if (catalog == RegistryActions.None)
                {
                    order.Add(null);
                }

                catalog |= permission.Actions;
            }
            else if (actions.TryGetValue(repository, out var existing))
            {
                actions[repository] = existing | permission.Actions;
            }
            else
            {
                order.Add(repository);
                actions[repository] = permission.Actions;
            }
        }

        return order.Select(r => r is { } repository ? new RegistryPermission(repository, actions[repository]) : new RegistryPermission(null, catalog)).ToArray();
    }

    /// <summary>
    /// The grant for a token request: for each requested resource, the requested actions that
    /// <paramref name="held"/> says the caller holds there. <paramref name="held"/> is asked once per resource
    /// (after merging). Resources left with no action are dropped; a partial or empty grant is a normal result,
    /// never an error (the token then carries <c>access: []</c> and the registry answers 401/403 later).
    /// </summary>
    public static IReadOnlyList<RegistryPermission> Intersect(IEnumerable<RegistryPermission> requested, Func<RegistryPermission, RegistryActions> held)
    {
        ArgumentNullException.ThrowIfNull(held);
        var granted = new List<RegistryPermission>();
        foreach (var permission in Merge(requested))
        {
            var allowed = permission.Actions & held(permission);
            if (allowed != RegistryActions.None)
            {
                granted.Add(permission with { Actions = allowed });
            }
        }

        return granted;
    }

    /// <summary>Everything <paramref name="granted"/> allows on one resource (<paramref name="repository"/> null for the catalog).</summary>
    public static RegistryActions ActionsOn(IEnumerable<RegistryPermission> granted, RepositoryName? repository)
    {
        ArgumentNullException.ThrowIfNull(granted);
        var actions = RegistryActions.None;
        foreach (var permission in granted)
        {
            if (permission.Repository == repository)
            {
                actions |= permission.Actions;
            }
        }

        return actions;
    }

    /// <summary>True when every entry of <paramref name="needed"/> is fully allowed by <paramref name="granted"/> (an empty need is covered).</summary>
    public static bool Covers(IReadOnlyCollection<RegistryPermission> granted, IEnumerable<RegistryPermission> needed)
    {
        ArgumentNullException.ThrowIfNull(needed);
        return needed.All(n => (ActionsOn(granted, n.Repository) & n.Actions) == n.Actions);
    }
}
