using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Client;

/// <summary>
/// One stored login, as the contract names it: <c>{"url","user","secret"}</c>, with <c>"caCert"</c> (the absolute path
/// of the PEM file given to <c>--ca-cert</c>) or <c>"insecure": true</c> when the server's certificate is checked
/// against that file or not at all (<see cref="ServerTrust"/>); both are left out otherwise.
/// </summary>
internal sealed record Login(
    string Url,
    string User,
    string Secret,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CaCert = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Insecure = false);

/// <summary>
/// The whole <c>credentials.json</c>: the logins, oldest first, and <c>current</c>, the URL logged in last (the
/// default server of every command).
/// </summary>
internal sealed record CredentialsFile(string? Current, IReadOnlyList<Login> Logins);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(CredentialsFile))]
internal sealed partial class CredentialsJsonContext : JsonSerializerContext;

/// <summary>
/// Reads and writes <c>credentials.json</c> in the config folder. The folder is created with mode 0700 and the file
/// always has mode 0600: it is written to a temporary file created with that mode, then renamed over the old one,
/// so a reader never sees a half-written file and the secret is never readable by others, not even for a moment.
/// </summary>
internal sealed class CredentialStore(string directory)
{
    public const string FileName = "credentials.json";

    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode SecretFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string FilePath => Path.Combine(directory, FileName);

    /// <summary>The stored logins; an empty file when there is none yet.</summary>
    /// <exception cref="ClientException">The file exists but is not valid JSON of the expected shape.</exception>
    public CredentialsFile Read()
    {
        if (!File.Exists(FilePath))
        {
            return new CredentialsFile(null, []);
        }

        try
        {
            var file = JsonSerializer.Deserialize(File.ReadAllText(FilePath), CredentialsJsonContext.Default.CredentialsFile);
            return file is null ? new CredentialsFile(null, []) : file with { Logins = file.Logins ?? [] };
        }
        catch (JsonException)
        {
            throw new ClientException($"{FilePath} is not valid; remove it and log in again");
        }
    }

    /// <summary>The login stored for <paramref name="url"/> (already normalised), or null.</summary>
    public Login? Find(string url) => Read().Logins.FirstOrDefault(l => l.Url == url);

    /// <summary>
    /// Stores <paramref name="login"/>, replacing any login for the same URL; a new login becomes the current one and
    /// the last in the list, an update (<paramref name="makeCurrent"/> false) changes only the secret.
    /// </summary>
    public void Save(Login login, bool makeCurrent = true)
    {
        var file = Read();
        if (!makeCurrent && file.Logins.Any(l => l.Url == login.Url))
        {
            Write(file with { Logins = file.Logins.Select(l => l.Url == login.Url ? login : l).ToList() });
            return;
        }

        var logins = file.Logins.Where(l => l.Url != login.Url).Append(login).ToList();
        Write(new CredentialsFile(login.Url, logins));
    }

    /// <summary>
    /// Removes the login for <paramref name="url"/>. When it was the current one, the most recent remaining login
    /// becomes current. Returns false when there was none.
    /// </summary>
    public bool Remove(string url)
    {
        var file = Read();
        var logins = file.Logins.Where(l => l.Url != url).ToList();
        if (logins.Count == file.Logins.Count)
        {
            return false;
        }

        var current = file.Current == url ? logins.LastOrDefault()?.Url : file.Current;
        Write(new CredentialsFile(current, logins));
        return true;
    }

    private void Write(CredentialsFile file)
    {
        if (!Directory.Exists(directory))
        {
            // An existing folder keeps its mode: BERTH_CONFIG_DIR may point at a folder that is not ours.
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, FolderMode);
            }
        }

        var json = JsonSerializer.Serialize(file, CredentialsJsonContext.Default.CredentialsFile);
        var temporary = Path.Combine(directory, $".{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = SecretFileMode;
            }

            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(json);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows())
            {
                // The create mode is filtered by the umask; a umask never widens it, but say it exactly.
                File.SetUnixFileMode(temporary, SecretFileMode);
            }

            File.Move(temporary, FilePath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
