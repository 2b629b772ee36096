using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

/// <summary>Schema migrations, applied in order at start-up; each runs once, in its own transaction.</summary>
internal static class Migrations
{
    private static readonly string[] Steps =
    [
        // 1: the registry core
        """
        CREATE TABLE repositories (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            created_at  INTEGER NOT NULL
        );
        CREATE TABLE blobs (
            digest      TEXT PRIMARY KEY,
            size        INTEGER NOT NULL,
            created_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE repository_blobs (
            repository_id INTEGER NOT NULL REFERENCES repositories(id),
            digest        TEXT NOT NULL REFERENCES blobs(digest),
            size          INTEGER NOT NULL,
            linked_at     INTEGER NOT NULL,
            PRIMARY KEY (repository_id, digest)
        ) WITHOUT ROWID;
        CREATE INDEX ix_repository_blobs_digest ON repository_blobs(digest);
        CREATE TABLE manifests (
            id             INTEGER PRIMARY KEY,
            repository_id  INTEGER NOT NULL REFERENCES repositories(id),
            digest         TEXT NOT NULL,
            media_type     TEXT NOT NULL,
            size           INTEGER NOT NULL,
            body           BLOB NOT NULL,
            artifact_type  TEXT,
            subject        TEXT,
            annotations    TEXT,
            pushed_at      INTEGER NOT NULL,
            last_pulled_at INTEGER,
            UNIQUE (repository_id, digest)
        );
        CREATE INDEX ix_manifests_subject ON manifests(repository_id, subject) WHERE subject IS NOT NULL;
        CREATE TABLE manifest_references (
            repository_id   INTEGER NOT NULL,
            manifest_digest TEXT NOT NULL,
            digest          TEXT NOT NULL,
            is_manifest     INTEGER NOT NULL,
            PRIMARY KEY (repository_id, manifest_digest, digest)
        ) WITHOUT ROWID;
        CREATE INDEX ix_manifest_references_digest ON manifest_references(digest);
        CREATE TABLE tags (
            repository_id   INTEGER NOT NULL REFERENCES repositories(id),
            name            TEXT NOT NULL,
            manifest_digest TEXT NOT NULL,
            updated_at      INTEGER NOT NULL,
            last_pulled_at  INTEGER,
            PRIMARY KEY (repository_id, name)
        ) WITHOUT ROWID;
        CREATE INDEX ix_tags_manifest ON tags(repository_id, manifest_digest);
        CREATE TABLE uploads (
            id          TEXT PRIMARY KEY,
            repository  TEXT NOT NULL,
            started_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ix_uploads_updated ON uploads(updated_at);
        """,
    ];

    public static int Latest => Steps.Length;

    public static void Apply(SqliteConnection connection)
    {
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
            create.ExecuteNonQuery();
        }

        long current;
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
            current = (long)read.ExecuteScalar()!;
        }

        if (current > Steps.Length)
        {
            throw new InvalidOperationException($"The metadata database has schema version {current}, newer than this Berth ({Steps.Length}). Upgrade Berth.");
        }

        for (var version = (int)current + 1; version <= Steps.Length; version++)
        {
            using var transaction = connection.BeginTransaction();
            using (var step = connection.CreateCommand())
            {
                step.Transaction = transaction;
                step.CommandText = Steps[version - 1];
                step.ExecuteNonQuery();
            }

            using (var mark = connection.CreateCommand())
            {
                mark.Transaction = transaction;
                mark.CommandText = "INSERT INTO schema_version (version) VALUES ($v)";
                mark.Parameters.AddWithValue("$v", version);
                mark.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }
}
