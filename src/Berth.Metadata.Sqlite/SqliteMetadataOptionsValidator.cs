using Microsoft.Extensions.Options;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// Checks <see cref="SqliteMetadataOptions"/> at start-up, each failure one line naming the provider and the path: the
/// database path names a file (it need not exist yet) whose folder exists or can be created.
/// </summary>
internal sealed class SqliteMetadataOptionsValidator : IValidateOptions<SqliteMetadataOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteMetadataOptions options)
    {
        var path = options.DatabasePath;
        if (string.IsNullOrWhiteSpace(path))
        {
            return ValidateOptionsResult.Fail($"metadata: sqlite: database path is empty (set {SqliteMetadataOptions.Section}:DatabasePath or --data)");
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Fail("metadata: sqlite: database path contains a NUL character");
        }

        if (Directory.Exists(path))
        {
            return ValidateOptionsResult.Fail($"metadata: sqlite: database path {path} is a folder, not a file");
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && File.Exists(folder))
        {
            return ValidateOptionsResult.Fail($"metadata: sqlite: database path {path}: {folder} is a file, not a folder");
        }

        return ValidateOptionsResult.Success;
    }
}
