using Berth.Signing.Keys;

namespace Berth.Client;

/// <summary>
/// <c>berth key generate NAME</c>: an ECDSA P-256 key pair for <c>berth sign</c>, as <c>cosign generate-key-pair</c>
/// writes it: <c>NAME.key</c> in cosign's <c>ENCRYPTED SIGSTORE PRIVATE KEY</c> format (mode 0600) and <c>NAME.pub</c>
/// (PEM <c>PUBLIC KEY</c>). Works offline; talks to no server.
/// </summary>
internal static class KeyCommands
{
    public static readonly CommandSpec Generate = new()
    {
        Path = "key generate",
        Arguments = ["NAME"],
        Summary = "Write a signing key pair: NAME.key (encrypted, cosign's format, mode 0600) and NAME.pub.",
        Details = $"""
            NAME may be a path (keys/ci writes keys/ci.key and keys/ci.pub); its folder must exist.
            The passphrase comes from {KeyPassphrase.Variable}, else {KeyPassphrase.CosignVariable}, else the terminal (asked
            twice), else one line of standard input. An empty passphrase is allowed only as an explicitly set, empty
            variable ({KeyPassphrase.Variable}= berth key generate NAME), as cosign allows it.
            Existing files are never replaced without --force. cosign reads the keys, and berth reads cosign's.
            Examples:
              berth key generate ci
              printf '%s\n' "$PASS" | berth key generate keys/release
            """,
        ServerOptions = false,
        Options = [new("--force", null, null, "replace NAME.key and NAME.pub if they exist")],
        Run = GenerateAsync,
    };

    public static IReadOnlyList<CommandSpec> All => [Generate];

    private static async Task<int> GenerateAsync(CommandRun run)
    {
        var name = run.Argument(0);
        if (name.EndsWith(".key", StringComparison.Ordinal) || name.EndsWith(".pub", StringComparison.Ordinal))
        {
            name = name[..^4];
        }

        var keyFile = name + ".key";
        var pubFile = name + ".pub";
        var folder = Path.GetDirectoryName(Path.GetFullPath(keyFile));
        if (name.Length == 0 || name.EndsWith('/') || Path.GetFileName(name).Length == 0)
        {
            throw new CommandLineException($"'{run.Argument(0)}' is not a key name (for example ci or keys/ci)");
        }

        if (folder is not null && !Directory.Exists(folder))
        {
            throw new CommandLineException($"the folder {folder} does not exist");
        }

        var force = run.Switch("--force");
        foreach (var file in new[] { keyFile, pubFile })
        {
            if (!force && (File.Exists(file) || Directory.Exists(file)))
            {
                throw new ClientException($"{file} exists; not replacing it (use --force to replace it)");
            }
        }

        var passphrase = KeyPassphrase.ForNewKey(run, keyFile);
        using var key = SigningPrivateKey.GenerateEcdsaP256();
        KeyFiles.Write(keyFile, key.ToCosignPem(passphrase), secret: true, replace: force);
        KeyFiles.Write(pubFile, key.PublicKey.ToPem(), secret: false, replace: force);

        await run.Out.WriteLineAsync($"Private key written to {keyFile} (encrypted{(passphrase.Length == 0 ? " with an EMPTY passphrase" : "")}, mode 0600)");
        await run.Out.WriteLineAsync($"Public key written to {pubFile}");
        await run.Out.WriteLineAsync($"Key id: {key.PublicKey.KeyId}");
        return 0;
    }
}
