using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Auth.Scopes;

/// <summary>
/// Docker token scopes (<c>type:name:actions</c>) as a token request carries them in <c>scope=</c> parameters,
/// read into <see cref="RegistryPermission"/> values. Understood: <c>repository:&lt;name&gt;:&lt;actions&gt;</c> with
/// actions <c>pull</c>, <c>push</c>, <c>delete</c> and <c>*</c> (all three), and <c>registry:catalog:*</c>.
/// A resource class (<c>repository(plugin):…</c>) is ignored. Anything else is skipped, never an error: a client
/// that asks for something Berth does not know simply does not get it.
/// </summary>
public static class DockerScope
{
    public const string RepositoryType = "repository";
    public const string RegistryType = "registry";
    public const string CatalogName = "catalog";
    public const string AllActions = "*";

    /// <summary>
    /// Reads every scope in the given <c>scope</c> query values; each value may hold several scopes separated by
    /// spaces. Malformed and unknown scopes are skipped; scopes for the same resource are merged (actions united),
    /// in first-seen order. An empty result is normal (a login asks for no scope at all).
    /// </summary>
    /// <param name="registryHosts">Host names this registry answers to (without port), stripped from names as described at <see cref="TryParse"/>.</param>
    public static IReadOnlyList<RegistryPermission> ParseAll(IEnumerable<string?> scopeValues, IReadOnlyCollection<string>? registryHosts = null)
    {
        ArgumentNullException.ThrowIfNull(scopeValues);
        var parsed = new List<RegistryPermission>();
        foreach (var value in scopeValues)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var scope in value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (TryParse(scope, out var permission, registryHosts))
                {
                    parsed.Add(permission);
                }
            }
        }

        return PermissionLists.Merge(parsed);
    }

    /// <summary>
    /// Reads one scope. The type ends at the first <c>:</c> and the actions start after the last one, so a name may
    /// hold a <c>host:port</c>. A leading host is dropped, so <c>repository:127.0.0.1:5000/shop/api:pull</c> is
    /// <c>shop/api</c>: a first path component is a host when it has a <c>:</c> (a port, which no repository name
    /// can contain) or equals one of <paramref name="registryHosts"/> (case-insensitive). A dotted first component
    /// without a port is otherwise kept, because <c>my.team/api</c> is a valid repository name here.
    /// False when the scope is malformed, of an unknown type, or names no known action.
    /// </summary>
    public static bool TryParse(string? scope, out RegistryPermission permission, IReadOnlyCollection<string>? registryHosts = null)
    {
        permission = null!;
        if (string.IsNullOrEmpty(scope))
        {
            return false;
        }

        var first = scope.IndexOf(':', StringComparison.Ordinal);
        var last = scope.LastIndexOf(':');
        if (first <= 0 || last <= first + 1 || last == scope.Length - 1)
        {
            return false;
        }

        var type = scope.AsSpan(0, first);
        var paren = type.IndexOf('(');
        if (paren >= 0)
        {
            if (type[^1] != ')')
            {
                return false;
            }

            type = type[..paren];
        }

        var name = scope[(first + 1)..last];
        var actions = ParseActions(scope.AsSpan(last + 1));
        if (actions == RegistryActions.None)
        {
            return false;
        }

        if (type.SequenceEqual(RegistryType))
        {
            // Only the catalog exists at registry level, and Docker asks for it with '*'.
            if (name != CatalogName || scope.AsSpan(last + 1).IndexOf(AllActions, StringComparison.Ordinal) < 0)
            {
                return false;
            }

            permission = RegistryPermission.Catalog;
            return true;
        }

        if (!type.SequenceEqual(RepositoryType) || !RepositoryName.TryParse(StripHost(name, registryHosts), out var repository))
        {
            return false;
        }

        permission = new RegistryPermission(repository, actions);
        return true;
    }

    /// <summary>The scope text for a permission: <c>repository:shop/api:pull,push</c> or <c>registry:catalog:*</c>.</summary>
    public static string Format(RegistryPermission permission)
    {
        ArgumentNullException.ThrowIfNull(permission);
        return permission.Repository is { } repository
            ? $"{RepositoryType}:{repository}:{string.Join(',', ActionNames(permission.Actions))}"
            : $"{RegistryType}:{CatalogName}:{AllActions}";
    }

    /// <summary>The action names of a set, in the order pull, push, delete.</summary>
    public static IReadOnlyList<string> ActionNames(RegistryActions actions)
    {
        var names = new List<string>(3);
        if (actions.HasFlag(RegistryActions.Pull))
        {
            names.Add("pull");
        }

        if (actions.HasFlag(RegistryActions.Push))
        {
            names.Add("push");
        }

        if (actions.HasFlag(RegistryActions.Delete))
        {
            names.Add("delete");
        }

        return names;
    }

    /// <summary>The set named by action names; unknown names are ignored, <c>*</c> means all three.</summary>
    public static RegistryActions ParseActions(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var actions = RegistryActions.None;
        foreach (var name in names)
        {
            actions |= ParseAction(name);
        }

        return actions;
    }

    private static RegistryActions ParseActions(ReadOnlySpan<char> list)
    {
        var actions = RegistryActions.None;
        foreach (var range in list.Split(','))
        {
            actions |= ParseAction(list[range].Trim().ToString());
        }

        return actions;
    }

    private static RegistryActions ParseAction(string name) => name switch
    {
        "pull" => RegistryActions.Pull,
        "push" => RegistryActions.Push,
        "delete" => RegistryActions.Delete,
        AllActions => RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete,
        _ => RegistryActions.None,
    };

    private static string StripHost(string name, IReadOnlyCollection<string>? registryHosts)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return name;
        }

        var head = name[..slash];
        var isHost = head.Contains(':', StringComparison.Ordinal)
            || (registryHosts is not null && registryHosts.Any(h => string.Equals(h, head, StringComparison.OrdinalIgnoreCase)));
        return isHost ? name[(slash + 1)..] : name;
    }
}
