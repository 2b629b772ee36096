using System.Diagnostics.CodeAnalysis;
using Berth.Core.Access;
using Berth.Core.Registry;

namespace Berth.Auth.Tokens;

public static class AccessTokenScopes
{
    /// <summary>The registry actions the scope allows.</summary>
    public static RegistryActions ToActions(this AccessTokenScope scope) => (RegistryActions)scope;

    /// <summary>The wire form: <c>pull</c>, <c>pull,push</c> or <c>pull,push,delete</c>.</summary>
    public static string Format(AccessTokenScope scope) => scope switch
    {
        AccessTokenScope.Pull => "pull",
        AccessTokenScope.PullPush => "pull,push",
        AccessTokenScope.PullPushDelete => "pull,push,delete",
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, null),
    };

    /// <summary>
    /// Reads a comma-separated action list in any order (<c>push,pull</c> is <c>pull,push</c>). Only the three
    /// levels exist: a set without pull, or with delete but not push, or with unknown actions is rejected.
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out AccessTokenScope scope)
    {
        scope = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var actions = RegistryActions.None;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            switch (part)
            {
                case "pull": actions |= RegistryActions.Pull; break;
                case "push": actions |= RegistryActions.Push; break;
                case "delete": actions |= RegistryActions.Delete; break;
                default: return false;
            }
        }

        var candidate = (AccessTokenScope)actions;
        if (!Enum.IsDefined(candidate))
        {
            return false;
        }

        scope = candidate;
        return true;
    }
}
