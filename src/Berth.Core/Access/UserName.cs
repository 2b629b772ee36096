using System.Diagnostics.CodeAnalysis;

namespace Berth.Core.Access;

/// <summary>
/// A user's sign-in name: 1 to <see cref="MaxLength"/> ASCII letters, digits and <c>. _ - @</c>, starting with a
/// letter or digit. Names are case-insensitive (ASCII), so equality ignores case; <see cref="Value"/> keeps the
/// spelling the user was created with. <c>+</c> is not allowed: it separates project and name in a robot
/// account's full name (<c>shop+ci</c>), so a sign-in name with <c>+</c> is always a robot's.
/// </summary>
public readonly record struct UserName
{
    public const int MaxLength = 128;

    private UserName(string value) => Value = value;

    public string Value { get; }

    public override string ToString() => Value ?? string.Empty;

    public bool Equals(UserName other) => string.Equals(Value, other.Value, StringComparison.OrdinalIgnoreCase);

    public override int GetHashCode() => Value is null ? 0 : StringComparer.OrdinalIgnoreCase.GetHashCode(Value);

    public static bool TryParse([NotNullWhen(true)] string? value, out UserName name)
    {
        name = default;
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength || !char.IsAsciiLetterOrDigit(value[0]))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-' or '@'))
            {
                return false;
            }
        }

        name = new UserName(value);
        return true;
    }

    public static UserName Parse(string value) =>
        TryParse(value, out var name) ? name : throw new FormatException($"'{value}' is not a valid user name.");
}
