using Berth.Signing.Keys;

namespace Berth.Client;

/// <summary>
/// The passphrase of a signing key, as <c>berth key generate</c> and <c>berth sign</c> find it: <c>BERTH_KEY_PASSWORD</c>,
/// else <c>COSIGN_PASSWORD</c> (cosign's variable, so scripts written for cosign keep working), else asked on the
/// terminal, else one line of standard input. A variable that is set counts even when empty: that is how an empty
/// passphrase is given on purpose (cosign allows one). <c>key generate</c> refuses an empty passphrase typed or piped
/// in, so a stray empty line never writes a key that is not really protected.
/// </summary>
internal static class KeyPassphrase
{
    public const string Variable = "BERTH_KEY_PASSWORD";
    public const string CosignVariable = "COSIGN_PASSWORD";

    /// <summary>The passphrase for a new key: asked twice (and compared) on a terminal.</summary>
    /// <exception cref="CommandLineException">No passphrase given, an empty one typed or piped in, or the two differ.</exception>
    public static string ForNewKey(CommandRun run, string keyFile)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (FromEnvironment(run) is { } given)
        {
            return given;
        }

        string? passphrase;
        if (run.Context.Prompt is not null)
        {
            passphrase = run.PromptSecret($"Enter a passphrase for {keyFile}: ");
            var again = passphrase is null ? null : run.PromptSecret("Enter it again: ");
            if (passphrase is not null && again != passphrase)
            {
                throw new CommandLineException("the two passphrases differ; nothing written");
            }
        }
        else
        {
            passphrase = run.Context.In.ReadLine();
        }

        if (string.IsNullOrEmpty(passphrase))
        {
            throw new CommandLineException(
                $"no passphrase: give one on standard input or in {Variable} (an empty passphrase only as {Variable}= set explicitly)");
        }

        return passphrase;
    }

    /// <summary>The passphrase to read an existing key: asked once on a terminal; an empty line is an empty passphrase.</summary>
    /// <exception cref="CommandLineException">Nothing on standard input.</exception>
    public static string ForExistingKey(CommandRun run, string keyFile)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (FromEnvironment(run) is { } given)
        {
            return given;
        }

        var passphrase = run.Context.Prompt is not null
            ? run.PromptSecret($"Enter the passphrase for {keyFile}: ")
            : run.Context.In.ReadLine();
        return passphrase
            ?? throw new CommandLineException($"{keyFile} is encrypted: give its passphrase in {Variable} (or {CosignVariable}) or on standard input");
    }

    /// <summary>
    /// Reads the private key in <paramref name="path"/> (cosign's encrypted format, PKCS#8, EC), asking for the
    /// passphrase only when the file is encrypted.
    /// </summary>
    /// <exception cref="CommandLineException">The file is missing or unreadable, or holds no private key we read.</exception>
    /// <exception cref="ClientException">The passphrase is wrong.</exception>
    public static SigningPrivateKey ReadPrivateKey(CommandRun run, string path)
    {
        ArgumentNullException.ThrowIfNull(run);
        var pem = KeyFiles.ReadText(path, "--key");
        var encrypted = pem.Contains("-----BEGIN ENCRYPTED", StringComparison.Ordinal);
        var passphrase = encrypted ? ForExistingKey(run, path) : null;
        try
        {
            return SigningPrivateKey.FromPem(pem, passphrase);
        }
        catch (KeyFormatException ex) when (encrypted && ex.Message.Contains("passphrase", StringComparison.OrdinalIgnoreCase))
        {
            throw new ClientException($"--key {path}: {ex.Message}");
        }
        catch (KeyFormatException ex)
        {
            throw new CommandLineException($"--key {path}: not a private key berth can read ({ex.Message})");
        }
    }

    private static string? FromEnvironment(CommandRun run) =>
        run.Context.EnvironmentVariable(Variable) ?? run.Context.EnvironmentVariable(CosignVariable);
}
