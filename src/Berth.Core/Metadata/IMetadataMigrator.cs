namespace Berth.Core.Metadata;

/// <summary>
/// Brings a metadata store's schema to the version this Berth needs. The composition root calls it once at start-up
/// (<c>berth serve</c> and the offline <c>berth admin</c> commands) before any store is opened; the stores never
/// migrate, and refuse a schema that is not the current one.
/// </summary>
public interface IMetadataMigrator
{
    /// <summary>
    /// Applies the missing migrations, each in its own transaction, and answers the versions before and after (equal
    /// when the schema was current: nothing is written). A schema newer than this Berth knows is left alone and is a
    /// <see cref="StartupException"/> naming both versions.
    /// </summary>
    MetadataMigration Migrate();
}

/// <summary>The schema version found and the version the schema has now.</summary>
public readonly record struct MetadataMigration(int FromVersion, int ToVersion)
{
    /// <summary>True when nothing needed to be applied.</summary>
    public bool WasCurrent => FromVersion == ToVersion;
}
