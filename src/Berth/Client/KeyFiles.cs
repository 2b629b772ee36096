using Berth.Signing.Keys;
using Berth.Signing.Trust;

namespace Berth.Client;

/// <summary>Reading and writing the key files of <c>berth key generate</c>, <c>sign</c> and <c>verify</c>.</summary>
internal static class KeyFiles
{
    /// <summary>A PEM key file is a few KiB; anything over this is not one.</summary>
    private const int MaxKeyFileBytes = 256 * 1024;

    private const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The text of a key file named by <paramref name="option"/>.</summary>
    /// <exception cref="CommandLineException">Missing, unreadable, too large, or not text.</exception>
    public static string ReadText(string path, string option)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new CommandLineException($"{option} {path}: no such file");
            }

            if (info.Length > MaxKeyFileBytes)
            {
                throw new CommandLineException($"{option} {path}: {info.Length} bytes is too large for a key file");
            }

            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandLineException($"{option} {path}: cannot be read ({ex.Message})");
        }
    }

    /// <summary>The public key of a <c>PUBLIC KEY</c> PEM file (berth's or cosign's <c>.pub</c>), named after the file.</summary>
    /// <exception cref="CommandLineException">The file cannot be read or holds no public key berth reads.</exception>
    public static TrustedKey ReadPublicKey(string path)
    {
        var pem = ReadText(path, "--key");
        if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            throw new CommandLineException($"--key {path}: is a private key; berth verify takes the public key (NAME.pub)");
        }

        try
        {
            return new TrustedKey(Path.GetFileName(path), SigningPublicKey.FromPem(pem));
        }
        catch (KeyFormatException ex)
        {
            throw new CommandLineException($"--key {path}: not a public key berth can read ({ex.Message})");
        }
    }

    /// <summary>
    /// Writes <paramref name="text"/> to a new file (mode 0600 when <paramref name="secret"/>, from its creation on). An
    /// existing file is replaced only when <paramref name="replace"/>; it is removed first, so the new file gets the
    /// mode whatever the old one had.
    /// </summary>
    public static void Write(string path, string text, bool secret, bool replace)
    {
        if (replace && File.Exists(path))
        {
            File.Delete(path);
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateMode;
        }

        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }

        if (secret && !OperatingSystem.IsWindows())
        {
            // The create mode is filtered by the umask; a umask never widens it, but say it exactly.
            File.SetUnixFileMode(path, PrivateMode);
        }
    }
}
