using System.Diagnostics.CodeAnalysis;
using Berth.Oci;

namespace Berth.Core.Access;

/// <summary>
/// A project name: the first component of the names of the project's repositories, so it follows the grammar of one
/// <see cref="RepositoryName"/> component (lower-case alphanumerics joined by <c>.</c>, <c>_</c>, <c>__</c> or runs
/// of <c>-</c>, no <c>/</c>).
/// </summary>
public readonly record struct ProjectName : IComparable<ProjectName>
{
    private ProjectName(string value) => Value = value;

    public string Value { get; }

    public override string ToString() => Value ?? string.Empty;

    public static bool TryParse([NotNullWhen(true)] string? value, out ProjectName name)
    {
        name = default;
        if (value is null || value.Contains('/', StringComparison.Ordinal) || !RepositoryName.TryParse(value, out _))
        {
            return false;
        }

        name = new ProjectName(value);
        return true;
    }

    public static ProjectName Parse(string value) =>
        TryParse(value, out var name) ? name : throw new FormatException($"'{value}' is not a valid project name.");

    /// <summary>The project <paramref name="repository"/> belongs to.</summary>
    public static ProjectName Of(RepositoryName repository) => new(repository.Project);

    /// <summary>Ordinal order, the order project listings use.</summary>
    public int CompareTo(ProjectName other) => string.CompareOrdinal(Value, other.Value);
}
