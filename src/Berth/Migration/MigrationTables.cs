namespace Berth.Migration;

/// <summary>How a column's SQLite value becomes its PostgreSQL value.</summary>
internal enum ColumnKind
{
    /// <summary>INTEGER → bigint (ids, times in Unix ms, sizes).</summary>
    Int64,

    /// <summary>INTEGER → integer (robot actions, token scope).</summary>
    Int32,

    /// <summary>TEXT → text.</summary>
    Text,

    /// <summary>INTEGER 0/1 → boolean.</summary>
    Boolean,

    /// <summary>BLOB → bytea.</summary>
    Bytes,

    /// <summary>JSON TEXT → jsonb (token project lists: queried with jsonb operators).</summary>
    Json,

    /// <summary>JSON TEXT → json, the text kept as written (the audit detail: jsonb would reorder keys and refuse <c>\u0000</c>).</summary>
    JsonText,
}

/// <summary>A copied column: the same name in both schemas.</summary>
internal sealed record MigrationColumn(string Name, ColumnKind Kind);

/// <summary>
/// A table <c>berth admin migrate</c> copies: its columns (same names in the SQLite and the PostgreSQL schema) and
/// whether <c>id</c> is an identity column whose sequence is set past the copied ids.
/// </summary>
internal sealed record MigrationTable(string Name, bool HasIdentity, IReadOnlyList<MigrationColumn> Columns);

/// <summary>
/// The tables of the SQLite schema (migration 12) as PostgreSQL's migrations 1 and 3 to 9 mirror them, in an order that inserts
/// every referenced row before its references. Not copied: <c>uploads</c> (sessions of uploads in progress, whose
/// bytes are in the source's upload folder and not in the target store: the client starts those uploads again) and
/// PostgreSQL's own <c>job_leases</c> and <c>login_failures</c> (the shared login throttle; the embedded server counts
/// failed sign-ins in memory, so there is nothing to copy). A test compares this list with both schemas, so a later migration that adds a
/// column or table fails until it is listed here.
/// </summary>
internal static class MigrationTables
{
    private static MigrationColumn I(string name) => new(name, ColumnKind.Int64);

    private static MigrationColumn I32(string name) => new(name, ColumnKind.Int32);

    private static MigrationColumn T(string name) => new(name, ColumnKind.Text);

    private static MigrationColumn B(string name) => new(name, ColumnKind.Boolean);

    public static readonly IReadOnlyList<MigrationTable> All =
    [
        new("projects", true, [I("id"), T("name"), T("description"), T("visibility"), I("created_at"), I("quota_bytes")]),
        new("users", true, [I("id"), T("name"), T("password_hash"), B("is_admin"), B("disabled"), I("created_at"), T("security_stamp")]),
        new("project_members", false, [I("project_id"), I("user_id"), T("role"), I("added_at")]),
        new("robot_accounts", true, [I("id"), I("project_id"), T("name"), T("description"), I32("actions"), B("disabled"), I("created_at")]),
        new("access_tokens", true,
        [
            I("id"), T("lookup_id"), T("secret_hash"), T("name"), I("owner_user_id"), I("owner_robot_id"), I32("scope"),
            new("projects", ColumnKind.Json), I("created_at"), I("expires_at"), I("revoked_at"), I("last_used_at"),
        ]),
        new("ip_allow_rules", true, [I("id"), I("project_id"), T("network"), T("note"), I("created_at")]),
        new("immutability_rules", true,
            [I("id"), I("project_id"), T("repositories_matching"), T("repositories_excluding"), T("tags_matching"), T("tags_excluding"), I("created_at")]),
        new("retention_policies", false, [I("project_id"), T("preset"), T("rules"), T("schedule"), B("enabled"), I("updated_at"), I("last_scheduled_at")]),
        new("retention_runs", true,
        [
            I("id"), I("project_id"), T("trigger"), B("dry_run"), T("actor"), I("started_at"), I("finished_at"), T("status"),
            I("artifacts_deleted"), I("skipped"), I("bytes_freed"), T("error"),
        ]),
        new("retention_run_items", true, [I("id"), I("run_id"), T("repository"), T("digest"), T("tags"), I("size"), T("outcome"), T("reason")]),
        new("known_networks", false, [I("user_id"), T("network"), I("last_sign_in_at")]),
        new("audit_log", true,
        [
            I("id"), I("at"), T("actor_kind"), T("actor_name"), T("action"), T("project"), T("repository"),
            new("detail", ColumnKind.JsonText), T("client_address"),
        ]),
        new("repositories", true, [I("id"), T("name"), I("created_at")]),
        new("blobs", false, [T("digest"), I("size"), I("created_at")]),
        new("repository_blobs", false, [I("repository_id"), T("digest"), I("size"), I("linked_at")]),
        new("manifests", true,
        [
            I("id"), I("repository_id"), T("digest"), T("media_type"), I("size"), new("body", ColumnKind.Bytes), T("artifact_type"),
            T("subject"), T("annotations"), I("pushed_at"), I("last_pulled_at"),
        ]),
        new("manifest_references", false, [I("repository_id"), T("manifest_digest"), T("digest"), B("is_manifest")]),
        new("tags", false, [I("repository_id"), T("name"), T("manifest_digest"), I("updated_at"), I("last_pulled_at")]),

        // Garbage collection's markers (migration 8): a finished one makes a link of its digest check the bytes, an
        // unfinished one (a collector stopped midway) is finished by the target's next collection.
        new("blob_collections", false, [T("digest"), I("started_at"), I("finished_at")]),

        // Vulnerability scanning (migration 10): the advisory database with its imports (the version is the last
        // finished import's id, so copying the ids keeps it), scan results per digest (the queue among them), and the
        // projects' scanning policies and CVE allowlists (server-wide entries have no project).
        new("vulndb_imports", true,
        [
            I("id"), T("source"), T("actor"), T("status"), I("started_at"), I("updated_at"), I("finished_at"), I("added"), I("updated"), I("unchanged"), I("withdrawn"),
        ]),
        new("vulndb_records", false, [T("id"), I("modified"), I("withdrawn"), T("source"), I("import_id"), T("body")]),
        new("vulndb_packages", false, [T("ecosystem"), T("lookup_name"), T("record_id"), T("name")]),
        new("scan_results", false,
        [
            T("digest"), T("status"), T("error"), I("db_version"), I("scanned_at"), T("inventory"), T("findings"), I32("count_unknown"), I32("count_low"),
            I32("count_medium"), I32("count_high"), I32("count_critical"), T("worst_ids"), I("updated_at"), I("queued_at"), I("claimed_at"), T("claimed_by"),
        ]),
        new("scan_policies", false, [I("project_id"), B("scan_on_push"), T("block_severity"), B("block_unscanned"), B("sbom_on_push"), I("updated_at"), B("signed_only")]),
        new("cve_allowlist", true, [I("id"), I("project_id"), T("cve_id"), T("reason"), I("expires_at"), T("created_by"), I("created_at")]),

        // Signatures (SQLite migration 12, PostgreSQL 9): the projects' and the server's trusted keys and roots (the
        // identities stay JSON text in both), and the policy's signed-only switch (above).
        new("trust_entries", true, [I("id"), I("project_id"), T("name"), T("kind"), T("pem"), T("identities"), T("fingerprint"), T("created_by"), I("created_at")]),
    ];

    /// <summary>Tables of either schema that are deliberately not copied.</summary>
    public static readonly IReadOnlyList<string> NotCopied = ["uploads", "job_leases", "login_failures", "schema_version", "berth_schema_version", "berth_migration"];
}
