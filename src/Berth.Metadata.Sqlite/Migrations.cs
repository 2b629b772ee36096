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

        // 2: access control. Owners are referenced by id with ON DELETE CASCADE, so deleting a project, user or
        // robot removes what hangs off it in the same statement. User names compare case-insensitively (NOCASE
        // folds ASCII, and user names are ASCII). The audit log references nothing: it outlives what it names.
        """
        CREATE TABLE projects (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            visibility  TEXT NOT NULL CHECK (visibility IN ('private', 'public')),
            created_at  INTEGER NOT NULL
        );
        CREATE TABLE users (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT,
            is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
            disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            created_at    INTEGER NOT NULL
        );
        CREATE INDEX ix_users_admins ON users(is_admin, disabled) WHERE is_admin = 1;
        CREATE TABLE project_members (
            project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role        TEXT NOT NULL CHECK (role IN ('reader', 'developer', 'maintainer', 'owner')),
            added_at    INTEGER NOT NULL,
            PRIMARY KEY (project_id, user_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_project_members_user ON project_members(user_id);
        CREATE TABLE robot_accounts (
            id          INTEGER PRIMARY KEY,
            project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            name        TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            actions     INTEGER NOT NULL CHECK (actions BETWEEN 0 AND 7),
            disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            created_at  INTEGER NOT NULL,
            UNIQUE (project_id, name)
        );
        CREATE TABLE access_tokens (
            id             INTEGER PRIMARY KEY,
            lookup_id      TEXT NOT NULL UNIQUE,
            secret_hash    TEXT NOT NULL,
            name           TEXT NOT NULL,
            owner_user_id  INTEGER REFERENCES users(id) ON DELETE CASCADE,
            owner_robot_id INTEGER REFERENCES robot_accounts(id) ON DELETE CASCADE,
            scope          INTEGER NOT NULL CHECK (scope IN (1, 3, 7)),
            projects       TEXT CHECK (projects IS NULL OR json_valid(projects)),
            created_at     INTEGER NOT NULL,
            expires_at     INTEGER NOT NULL,
            revoked_at     INTEGER,
            last_used_at   INTEGER,
            CHECK ((owner_user_id IS NULL) <> (owner_robot_id IS NULL))
        );
        CREATE INDEX ix_access_tokens_user ON access_tokens(owner_user_id, id) WHERE owner_user_id IS NOT NULL;
        CREATE INDEX ix_access_tokens_robot ON access_tokens(owner_robot_id, id) WHERE owner_robot_id IS NOT NULL;
        CREATE UNIQUE INDEX ux_access_tokens_user_name ON access_tokens(owner_user_id, name) WHERE owner_user_id IS NOT NULL AND revoked_at IS NULL;
        CREATE UNIQUE INDEX ux_access_tokens_robot_name ON access_tokens(owner_robot_id, name) WHERE owner_robot_id IS NOT NULL AND revoked_at IS NULL;
        CREATE TABLE ip_allow_rules (
            id          INTEGER PRIMARY KEY,
            project_id  INTEGER REFERENCES projects(id) ON DELETE CASCADE,
            network     TEXT NOT NULL,
            note        TEXT,
            created_at  INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX ux_ip_allow_rules ON ip_allow_rules(IFNULL(project_id, 0), network);
        CREATE INDEX ix_ip_allow_rules_project ON ip_allow_rules(project_id);
        CREATE TABLE audit_log (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            at             INTEGER NOT NULL,
            actor_kind     TEXT NOT NULL CHECK (actor_kind IN ('anonymous', 'user', 'robot', 'system')),
            actor_name     TEXT NOT NULL COLLATE NOCASE,
            action         TEXT NOT NULL,
            project        TEXT,
            repository     TEXT,
            detail         TEXT CHECK (detail IS NULL OR json_valid(detail)),
            client_address TEXT
        );
        CREATE INDEX ix_audit_log_project ON audit_log(project, id) WHERE project IS NOT NULL;
        CREATE INDEX ix_audit_log_actor ON audit_log(actor_name, id);
        CREATE INDEX ix_audit_log_action ON audit_log(action, id);
        CREATE INDEX ix_audit_log_at ON audit_log(at);
        """,

        // 3: token binding and lock-out protection. Every user gets a random security stamp (existing ones too), which
        // refresh tokens and password-based registry tokens carry; known_networks remembers where each user signed in
        // successfully, so the per-account login limit does not lock the owner out (cascade with the user).
        """
        ALTER TABLE users ADD COLUMN security_stamp TEXT NOT NULL DEFAULT '';
        UPDATE users SET security_stamp = lower(hex(randomblob(16)));
        CREATE TABLE known_networks (
            user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            network         TEXT NOT NULL,
            last_sign_in_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, network)
        ) WITHOUT ROWID;
        CREATE INDEX ix_known_networks_at ON known_networks(last_sign_in_at);
        """,

        // 4: upload sessions carry their acknowledged offset (advanced by compare-and-set, so two nodes cannot both
        // append) and the running SHA-256 state (so another node continues the hash without re-reading the data).
        // Sessions from before keep NULL: their data's length is their offset and their hash is rebuilt by reading.
        """
        ALTER TABLE uploads ADD COLUMN acknowledged INTEGER;
        ALTER TABLE uploads ADD COLUMN hash_state BLOB;
        """,

        // 5: the upload store's state for the session (an object store's multipart upload and parts), saved with the
        // offset and hash state in the same compare-and-set. NULL for the file store and for sessions from before.
        """
        ALTER TABLE uploads ADD COLUMN store_state TEXT;
        """,

        // 6: tag immutability rules (issue 13). A rule belongs to its project (cascade: a later project of the same name
        // starts without rules); AUTOINCREMENT so a removed rule's id, which refusals and the audit log name, is never
        // given to another. Each filter list is one text column of patterns joined by newlines (StoredPatterns).
        """
        CREATE TABLE immutability_rules (
            id                     INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id             INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            repositories_matching  TEXT NOT NULL DEFAULT '',
            repositories_excluding TEXT NOT NULL DEFAULT '',
            tags_matching          TEXT NOT NULL DEFAULT '',
            tags_excluding         TEXT NOT NULL DEFAULT '',
            created_at             INTEGER NOT NULL
        );
        CREATE INDEX ix_immutability_rules_project ON immutability_rules(project_id, id);
        """,

        // 7: retention (issue 13): a project's policy (a preset name or explicit rules as JSON, RetentionRulesText; a
        // cron schedule; when the scheduler last handled it) and its run history with the artifacts each run deleted
        // or would delete. All cascade with the project, so a later project of the same name starts without either;
        // items cascade with their run, which is how the history cap (newest 100 runs) removes them.
        """
        CREATE TABLE retention_policies (
            project_id        INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
            preset            TEXT,
            rules             TEXT NOT NULL DEFAULT '[]',
            schedule          TEXT NOT NULL,
            enabled           INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            updated_at        INTEGER NOT NULL,
            last_scheduled_at INTEGER
        );
        CREATE TABLE retention_runs (
            id                INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            trigger           TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
            dry_run           INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
            actor             TEXT NOT NULL,
            started_at        INTEGER NOT NULL,
            finished_at       INTEGER,
            status            TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
            artifacts_deleted INTEGER NOT NULL DEFAULT 0,
            skipped           INTEGER NOT NULL DEFAULT 0,
            bytes_freed       INTEGER NOT NULL DEFAULT 0,
            error             TEXT
        );
        CREATE INDEX ix_retention_runs_project ON retention_runs(project_id, id);
        CREATE TABLE retention_run_items (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id      INTEGER NOT NULL REFERENCES retention_runs(id) ON DELETE CASCADE,
            repository  TEXT NOT NULL,
            digest      TEXT NOT NULL,
            tags        TEXT NOT NULL DEFAULT '',
            size        INTEGER NOT NULL,
            outcome     TEXT NOT NULL CHECK (outcome IN ('would_delete', 'deleted', 'skipped')),
            reason      TEXT NOT NULL
        );
        CREATE INDEX ix_retention_run_items_run ON retention_run_items(run_id, id);
        """,

        // 8: garbage collection's markers (issue 13 item 3). A digest whose rows a collection deleted has a row here
        // until its bytes are deleted (finished_at NULL: links of the digest are refused), then for a day (finished:
        // links of the digest check the bytes still exist). No foreign key: the blob row is gone by design.
        """
        CREATE TABLE blob_collections (
            digest       TEXT PRIMARY KEY,
            started_at   INTEGER NOT NULL,
            finished_at  INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX ix_blob_collections_unfinished ON blob_collections(started_at) WHERE finished_at IS NULL;
        CREATE INDEX ix_blob_collections_finished ON blob_collections(finished_at) WHERE finished_at IS NOT NULL;
        """,

        // 9: storage quotas per project (issue 13), null = unlimited;
        // uploads indexed by repository name, so a project's uploads in progress are a range read for its usage.
        """
        ALTER TABLE projects ADD COLUMN quota_bytes INTEGER CHECK (quota_bytes IS NULL OR quota_bytes >= 0);
        CREATE INDEX ix_uploads_repository ON uploads(repository);
        """,

        // 10: vulnerability scanning (issue 14). The advisory database: OSV records stored whole (compact JSON text)
        // by id, with an index of the (ecosystem with release, lookup name) pairs each names, and the imports that
        // wrote them (the database version is the id of the last finished import). Scan results per manifest digest
        // (global: no foreign key, the same digest is the same content everywhere), which are also the scan queue.
        // Per project: the scanning policy and CVE allowlist entries (project_id NULL: server-wide), cascading with
        // the project; ids compare case-insensitively within a scope.
        """
        CREATE TABLE vulndb_imports (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            source      TEXT NOT NULL,
            actor       TEXT NOT NULL,
            status      TEXT NOT NULL CHECK (status IN ('running', 'finished', 'abandoned')),
            started_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL,
            finished_at INTEGER,
            added       INTEGER NOT NULL DEFAULT 0,
            updated     INTEGER NOT NULL DEFAULT 0,
            unchanged   INTEGER NOT NULL DEFAULT 0,
            withdrawn   INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_vulndb_imports_status ON vulndb_imports(status, id);
        CREATE INDEX ix_vulndb_imports_source ON vulndb_imports(source, id);
        CREATE TABLE vulndb_records (
            id           TEXT PRIMARY KEY,
            modified     INTEGER NOT NULL,
            withdrawn    INTEGER,
            source       TEXT NOT NULL,
            import_id    INTEGER NOT NULL,
            body         TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ix_vulndb_records_source ON vulndb_records(source);
        CREATE TABLE vulndb_packages (
            ecosystem    TEXT NOT NULL,
            lookup_name  TEXT NOT NULL,
            record_id    TEXT NOT NULL REFERENCES vulndb_records(id) ON DELETE CASCADE,
            name         TEXT NOT NULL,
            PRIMARY KEY (ecosystem, lookup_name, record_id, name)
        ) WITHOUT ROWID;
        CREATE INDEX ix_vulndb_packages_record ON vulndb_packages(record_id);
        CREATE TABLE scan_results (
            digest           TEXT PRIMARY KEY,
            status           TEXT NOT NULL CHECK (status IN ('queued', 'scanning', 'done', 'failed', 'unsupported')),
            error            TEXT,
            db_version       INTEGER,
            scanned_at       INTEGER,
            inventory        TEXT,
            findings         TEXT,
            count_unknown    INTEGER NOT NULL DEFAULT 0,
            count_low        INTEGER NOT NULL DEFAULT 0,
            count_medium     INTEGER NOT NULL DEFAULT 0,
            count_high       INTEGER NOT NULL DEFAULT 0,
            count_critical   INTEGER NOT NULL DEFAULT 0,
            worst_ids        TEXT,
            updated_at       INTEGER NOT NULL,
            queued_at        INTEGER,
            claimed_at       INTEGER,
            claimed_by       TEXT
        ) WITHOUT ROWID;
        CREATE INDEX ix_scan_results_queue ON scan_results(queued_at, digest) WHERE status IN ('queued', 'scanning');
        CREATE TABLE scan_policies (
            project_id      INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
            scan_on_push    INTEGER NOT NULL CHECK (scan_on_push IN (0, 1)),
            block_severity  TEXT CHECK (block_severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
            block_unscanned INTEGER NOT NULL CHECK (block_unscanned IN (0, 1)),
            sbom_on_push    INTEGER NOT NULL CHECK (sbom_on_push IN (0, 1)),
            updated_at      INTEGER NOT NULL
        );
        CREATE TABLE cve_allowlist (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id  INTEGER REFERENCES projects(id) ON DELETE CASCADE,
            cve_id      TEXT NOT NULL,
            reason      TEXT NOT NULL DEFAULT '',
            expires_at  INTEGER,
            created_by  TEXT NOT NULL,
            created_at  INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX ux_cve_allowlist ON cve_allowlist(IFNULL(project_id, 0), cve_id COLLATE NOCASE);
        """,

        // 11: manifests by digest alone: the scan runner finds a repository holding a manifest it is to scan
        // (scan results are per digest, manifest bodies per repository; FindRepositoryOfManifestAsync).
        """
        CREATE INDEX ix_manifests_digest ON manifests(digest);
        """,

        // 12: signatures (issue 15). Trusted keys and X.509 roots per project (project_id NULL: server-wide), cascading
        // with the project; names compare case-insensitively within a scope; identities are a JSON array of text
        // (empty for a key). The scanning policy gains the signed-only pull switch.
        """
        CREATE TABLE trust_entries (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id  INTEGER REFERENCES projects(id) ON DELETE CASCADE,
            name        TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('key', 'root')),
            pem         TEXT NOT NULL,
            identities  TEXT NOT NULL DEFAULT '[]',
            fingerprint TEXT NOT NULL,
            created_by  TEXT NOT NULL,
            created_at  INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX ux_trust_entries ON trust_entries(IFNULL(project_id, 0), name COLLATE NOCASE);
        ALTER TABLE scan_policies ADD COLUMN signed_only INTEGER NOT NULL DEFAULT 0 CHECK (signed_only IN (0, 1));
        """,
    ];

    public static int Latest => Steps.Length;

    /// <summary>The schema version of the database (0 when it has none yet).</summary>
    public static int CurrentVersion(SqliteConnection connection)
    {
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'";
        if ((long)read.ExecuteScalar()! == 0)
        {
            return 0;
        }

        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        return checked((int)(long)read.ExecuteScalar()!);
    }

    /// <summary>
    /// Throws the one-line <see cref="Core.StartupException"/> unless the schema is exactly the one this Berth knows:
    /// the stores open only a migrated database (the migrator runs first, at start-up).
    /// </summary>
    public static void EnsureCurrent(SqliteConnection connection)
    {
        var current = CurrentVersion(connection);
        if (current > Steps.Length)
        {
            throw Newer(current);
        }

        if (current < Steps.Length)
        {
            throw new Core.StartupException($"berth.db has schema version {current}, older than this Berth needs ({Steps.Length}): it has not been migrated (berth serve and berth admin migrate it when they start)");
        }
    }

    // Not a bug but the operator's situation (a data folder written by a newer Berth): one line, no stack trace.
    private static Core.StartupException Newer(int current) =>
        new($"berth.db has schema version {current}, newer than this Berth knows ({Steps.Length}): it was written by a newer Berth; run that version (or newer)");

    public static Core.Metadata.MetadataMigration Apply(SqliteConnection connection)
    {
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
            create.ExecuteNonQuery();
        }

        var current = CurrentVersion(connection);
        if (current > Steps.Length)
        {
            throw Newer(current);
        }

        for (var version = current + 1; version <= Steps.Length; version++)
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

        return new Core.Metadata.MetadataMigration(current, Steps.Length);
    }
}
