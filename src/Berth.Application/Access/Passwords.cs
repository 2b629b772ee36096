namespace Berth.Application.Access;

/// <summary>Password rules for passwords set through the API and for the first administrator's.</summary>
public static class Passwords
{
    public const int MinLength = 8;
    public const int MaxLength = 1024;

    /// <summary>What is wrong with <paramref name="password"/> (e.g. "must be at least 8 characters"); null when it is fine.</summary>
    public static string? Check(string password) =>
        password.Length < MinLength ? $"must be at least {MinLength} characters"
        : password.Length > MaxLength ? $"must be at most {MaxLength} characters"
        : null;
}
