using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Berth.Oci;

/// <summary>A tag: <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.</summary>
public readonly partial record struct Tag
{
    private Tag(string value) => Value = value;

    public string Value { get; }

    public override string ToString() => Value ?? string.Empty;

    public static bool TryParse([NotNullWhen(true)] string? value, out Tag tag)
    {
        tag = default;
        if (string.IsNullOrEmpty(value) || value.Length > 128 || !Pattern().IsMatch(value))
        {
            return false;
        }

        tag = new Tag(value);
        return true;
    }

    public static Tag Parse(string value) =>
        TryParse(value, out var tag) ? tag : throw new FormatException($"'{value}' is not a valid tag.");

    [GeneratedRegex(@"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
