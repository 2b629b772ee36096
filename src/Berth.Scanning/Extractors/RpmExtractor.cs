using System.Buffers.Binary;
using System.Text;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;
using Microsoft.Data.Sqlite;

namespace Berth.Scanning.Extractors;

/// <summary>
/// RPM packages from the SQLite rpm database (<c>var/lib/rpm/rpmdb.sqlite</c>, or <c>usr/lib/sysimage/rpm/rpmdb.sqlite</c>
/// where <c>var/lib/rpm</c> is a symlink to it as in RHEL 9 and Fedora). SQLite needs a file, so the database is written
/// to a private temporary folder, opened read-only and the folder deleted afterwards. Each row of the <c>Packages</c>
/// table is an rpm header (index entries, then a data store), read here directly. The Berkeley DB (<c>Packages</c>) and
/// ndb (<c>Packages.db</c>) formats are not read: finding one gives a warning, so the gap is visible.
/// </summary>
public sealed class RpmExtractor : PackageExtractor
{
    private const string BdbRequestName = "rpm database in Berkeley DB or ndb format (not supported)";
    private const int TagName = 1000;
    private const int TagVersion = 1001;
    private const int TagRelease = 1002;
    private const int TagEpoch = 1003;
    private const int TagLicense = 1014;
    private const int TagArch = 1022;
    private const int TagSourceRpm = 1044;

    private static readonly string[] SqlitePaths = ["var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite"];
    private static readonly string[] OtherFormats = ["var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages", "usr/lib/sysimage/rpm/Packages.db"];

    public override IReadOnlyList<FileRequest> Requests { get; } =
    [
        new FileRequest("rpm", p => SqlitePaths.Contains(p), 256L << 20, ExactPaths: SqlitePaths),
        new FileRequest(BdbRequestName, p => OtherFormats.Contains(p), 0, ExactPaths: OtherFormats),
    ];

    public override void Extract(ImageFile file, InventoryCollector collector)
    {
        if (file.Request.Name == BdbRequestName)
        {
            return;
        }

        try
        {
            var packages = ReadSqlite(file.Content, file.Path, file.LayerDigest);
            collector.SetPackages("rpm", file.Path, packages);
        }
        catch (SqliteException ex)
        {
            collector.Warn(file, $"rpm database could not be read: {ex.Message}");
        }
        catch (InvalidDataException ex)
        {
            collector.Warn(file, $"rpm database has a malformed package header: {ex.Message}");
        }
    }

    /// <summary>Reads every package of an rpmdb.sqlite file's bytes. Throws <see cref="SqliteException"/> for a file that is not one.</summary>
    public static IReadOnlyList<InstalledPackage> ReadSqlite(ReadOnlyMemory<byte> database, string filePath, string? layerDigest)
    {
        var folder = Path.Combine(Path.GetTempPath(), "berth-rpmdb-" + Guid.NewGuid().ToString("N"));
        var directory = Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows())
        {
            directory.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        }

        try
        {
            var copy = database.ToArray();
            if (copy.Length > 19 && copy[18] == 2 && copy[19] == 2)
            {
                // A WAL-mode database would make SQLite look for -wal/-shm files beside it; this private copy is switched to
                // rollback-journal mode in its header so it opens read-only on its own.
                copy[18] = 1;
                copy[19] = 1;
            }

            var path = Path.Combine(folder, "rpmdb.sqlite");
            File.WriteAllBytes(path, copy);
            var packages = new List<InstalledPackage>();
            var builder = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false };
            using (var connection = new SqliteConnection(builder.ToString()))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT blob FROM Packages";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    if (reader.IsDBNull(0))
                    {
                        continue;
                    }

                    var header = ParseHeader(reader.GetFieldValue<byte[]>(0));
                    if (header.Name is null || header.Version is null || header.Name == "gpg-pubkey")
                    {
                        continue;
                    }

                    packages.Add(header.ToPackage(filePath, layerDigest));
                }
            }

            return packages;
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: the folder is private and named uniquely.
            }
        }
    }

    /// <summary>The fields of one rpm header blob (as stored in the database: no lead, no header magic).</summary>
    public sealed record RpmHeader(string? Name, string? Version, string? Release, int? Epoch, string? License, string? Arch, string? SourceRpm)
    {
        public InstalledPackage ToPackage(string filePath, string? layerDigest)
        {
            var evr = (Epoch is { } e ? e + ":" : string.Empty) + Version + (Release is null ? string.Empty : "-" + Release);
            string? sourceName = null;
            string? sourceVersion = null;
            if (SourceRpm is { Length: > 0 } srpm)
            {
                // name-version-release.src.rpm
                var stem = srpm.EndsWith(".src.rpm", StringComparison.Ordinal) ? srpm[..^".src.rpm".Length]
                    : srpm.EndsWith(".nosrc.rpm", StringComparison.Ordinal) ? srpm[..^".nosrc.rpm".Length] : srpm;
                var releaseDash = stem.LastIndexOf('-');
                var versionDash = releaseDash > 0 ? stem.LastIndexOf('-', releaseDash - 1) : -1;
                if (versionDash > 0)
                {
                    sourceName = stem[..versionDash];
                    sourceVersion = stem[(versionDash + 1)..];
                }
            }

            var ownVersion = Version + (Release is null ? string.Empty : "-" + Release);
            return new InstalledPackage(
                Ecosystems.RedHat,
                Name!,
                evr,
                sourceName == Name ? null : sourceName,
                sourceVersion is null || sourceVersion == ownVersion ? null : sourceVersion,
                OsEcosystems.RpmType,
                filePath,
                layerDigest,
                string.IsNullOrWhiteSpace(License) ? null : [License]);
        }
    }

    /// <summary>Parses an rpm header: big-endian index count and data length, 16-byte index entries, then the data store.</summary>
    public static RpmHeader ParseHeader(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 8)
        {
            throw new InvalidDataException("header shorter than 8 bytes");
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(blob);
        var dataLength = BinaryPrimitives.ReadInt32BigEndian(blob[4..]);
        if (count < 1 || count > 65536 || dataLength < 0 || (long)8 + (16L * count) + dataLength > blob.Length)
        {
            throw new InvalidDataException($"index of {count} entries and {dataLength} data bytes does not fit the {blob.Length}-byte blob");
        }

        var data = blob.Slice(8 + (16 * count), dataLength);
        string? name = null, version = null, release = null, license = null, arch = null, sourceRpm = null;
        int? epoch = null;
        for (var i = 0; i < count; i++)
        {
            var entry = blob.Slice(8 + (16 * i), 16);
            var tag = BinaryPrimitives.ReadInt32BigEndian(entry);
            var type = BinaryPrimitives.ReadInt32BigEndian(entry[4..]);
            var offset = BinaryPrimitives.ReadInt32BigEndian(entry[8..]);
            if (offset < 0 || offset >= data.Length)
            {
                continue;
            }

            switch (tag)
            {
                case TagName:
                    name = ReadString(data, offset, type);
                    break;
                case TagVersion:
                    version = ReadString(data, offset, type);
                    break;
                case TagRelease:
                    release = ReadString(data, offset, type);
                    break;
                case TagLicense:
                    license = ReadString(data, offset, type);
                    break;
                case TagArch:
                    arch = ReadString(data, offset, type);
                    break;
                case TagSourceRpm:
                    sourceRpm = ReadString(data, offset, type);
                    break;
                case TagEpoch when type == 4 && offset + 4 <= data.Length:
                    epoch = BinaryPrimitives.ReadInt32BigEndian(data[offset..]);
                    break;
            }
        }

        return new RpmHeader(name, version, release, epoch, license, arch, sourceRpm);
    }

    private static string? ReadString(ReadOnlySpan<byte> data, int offset, int type)
    {
        // STRING (6), STRING_ARRAY (8: the first element), I18NSTRING (9: the first, untranslated element).
        if (type is not (6 or 8 or 9))
        {
            return null;
        }

        var rest = data[offset..];
        var nul = rest.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? rest[..nul] : rest);
    }
}
