using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Berth.Oci;

/// <summary>
/// A repository name as the distribution spec defines it: path components of lower-case
/// alphanumerics joined by <c>.</c>, <c>_</c>, <c>__</c> or runs of <c>-</c>, separated by
/// <c>/</c>, at most 255 characters. The first component is the project.
/// </summary>
public readonly partial record struct RepositoryName
{
    public const int MaxLength = 255;

    private RepositoryName(string value) => Value = value;

    public string Value { get; }

    /// <summary>The first path component, which names the project the repository belongs to.</summary>
    public string Project
    {
        get
        {
            var slash = Value.IndexOf('/', StringComparison.Ordinal);
            return slash < 0 ? Value : Value[..slash];
        }
    }

    public override string ToString() => Value ?? string.Empty;

    public static bool TryParse([NotNullWhen(true)] string? value, out RepositoryName name)
    {
        name = default;
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength || !Pattern().IsMatch(value))
        {
            return false;
        }

        name = new RepositoryName(value);
        return true;
    }

    public static RepositoryName Parse(string value) =>
        TryParse(value, out var name) ? name : throw new FormatException($"'{value}' is not a valid repository name.");

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
