namespace Berth.Auth.Passwords;

/// <summary>Password hashing settings (section <c>Berth:Auth:Passwords</c>).</summary>
public sealed class PasswordHasherOptions
{
    public const string Section = "Berth:Auth:Passwords";

    /// <summary>The OWASP recommendation (2023) for PBKDF2-HMAC-SHA256.</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>
    /// PBKDF2 iterations for new hashes. Raising it later is safe: older hashes still verify and
    /// <see cref="PasswordHasher.NeedsRehash"/> reports them so they can be re-hashed at the next successful login.
    /// Must be between <see cref="PasswordHasher.MinIterations"/> and <see cref="PasswordHasher.MaxIterations"/>.
    /// </summary>
    public int Iterations { get; set; } = DefaultIterations;
}
