// PostgreSQL schema migrations, in order. To change the schema append ONE entry to `all` (in this file only):
// the next version number and its SQL. Never edit an entry that has shipped. Version 1 is the SQLite schema at
// its version 4 (accounts, tokens, delegates, audit, admin keys, profiles, tasks, task logs).
//
// Text columns use the "C" collation so ordering by id or name is bytewise, as in SQLite, whatever the
// database's locale. Audit sequences come from a counter row updated in the writing transaction, so a rolled-back
// batch does not consume a number (a PostgreSQL sequence would).

/// One PostgreSQL schema step, applied in the migration transaction together with the new version number.
struct PostgreSQLMigration {
    /// The schema version after this step.
    let version: Int
    /// DDL run by the step.
    let sql: String

    /// Every migration, oldest first; versions are 1, 2, 3... without gaps.
    static let all: [PostgreSQLMigration] = [
        PostgreSQLMigration(
            version: 1,
            sql: """
                CREATE TABLE legate_counters (name TEXT COLLATE "C" PRIMARY KEY, value BIGINT NOT NULL);
                INSERT INTO legate_counters (name, value) VALUES ('audit', 0);
                CREATE TABLE metadata (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE accounts (
                    id TEXT COLLATE "C" PRIMARY KEY, name TEXT COLLATE "C" NOT NULL, created_at BIGINT NOT NULL);
                CREATE TABLE tokens (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    name TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    sealed_value BYTEA NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    revoked_at BIGINT,
                    expires_at BIGINT,
                    last_used_at BIGINT
                );
                CREATE INDEX tokens_by_account ON tokens (account_id);
                CREATE TABLE delegates (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    instance_id TEXT COLLATE "C" NOT NULL,
                    name TEXT NOT NULL,
                    hostname TEXT NOT NULL,
                    ip_address TEXT NOT NULL,
                    version TEXT NOT NULL,
                    tags TEXT NOT NULL,
                    task_types TEXT NOT NULL,
                    profile TEXT NOT NULL,
                    token_id TEXT COLLATE "C" NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('active', 'pending', 'disconnected', 'rejected')),
                    first_seen_at BIGINT NOT NULL,
                    connected_since BIGINT,
                    last_heartbeat_at BIGINT,
                    disconnected_at BIGINT,
                    decision_reason TEXT,
                    pending_expires_at BIGINT,
                    UNIQUE (account_id, instance_id)
                );
                CREATE INDEX delegates_by_token ON delegates (token_id);
                CREATE TABLE audit (
                    sequence BIGINT PRIMARY KEY,
                    at BIGINT NOT NULL,
                    account_id TEXT COLLATE "C" NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE INDEX audit_by_account ON audit (account_id, sequence);
                CREATE TABLE admin_keys (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    name TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    secret_hash BYTEA NOT NULL,
                    permissions TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    revoked_at BIGINT
                );
                CREATE INDEX admin_keys_by_account ON admin_keys (account_id);
                CREATE TABLE profiles (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    name TEXT COLLATE "C" NOT NULL,
                    requires_approval BIGINT NOT NULL,
                    startup_script TEXT NOT NULL,
                    auto_approval TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    UNIQUE (account_id, name)
                );
                CREATE TABLE tasks (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    type TEXT NOT NULL,
                    payload BYTEA NOT NULL,
                    selectors TEXT NOT NULL,
                    target_delegate_id TEXT,
                    timeout_ms BIGINT NOT NULL,
                    idempotency_key TEXT COLLATE "C",
                    max_attempts BIGINT NOT NULL,
                    submitted_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    scope TEXT COLLATE "C" NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('queued', 'assigned', 'acknowledged', 'running',
                        'succeeded', 'failed', 'timed_out', 'cancelled')),
                    attempt BIGINT NOT NULL,
                    delegate_id TEXT,
                    lost_attempts BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    finished_at BIGINT,
                    progress_percent BIGINT NOT NULL,
                    message TEXT NOT NULL,
                    output BYTEA NOT NULL,
                    error TEXT NOT NULL,
                    exit_code BIGINT NOT NULL,
                    cancel_requested BIGINT NOT NULL
                );
                CREATE UNIQUE INDEX tasks_by_idempotency_key ON tasks (account_id, idempotency_key)
                    WHERE idempotency_key IS NOT NULL;
                CREATE INDEX tasks_by_account ON tasks (account_id, created_at);
                CREATE INDEX tasks_unfinished ON tasks (id) WHERE finished_at IS NULL;
                CREATE TABLE task_logs (
                    sequence BIGSERIAL PRIMARY KEY,
                    task_id TEXT COLLATE "C" NOT NULL,
                    attempt BIGINT NOT NULL,
                    at BIGINT NOT NULL,
                    data BYTEA NOT NULL
                );
                CREATE INDEX task_logs_by_task ON task_logs (task_id, sequence);
                """),
        // Admin keys that expire; the destroyed delegate state (told to self-destruct, kept until pruned).
        PostgreSQLMigration(
            version: 2,
            sql: """
                ALTER TABLE admin_keys ADD COLUMN expires_at BIGINT;
                ALTER TABLE delegates DROP CONSTRAINT delegates_status_check;
                ALTER TABLE delegates ADD CONSTRAINT delegates_status_check
                    CHECK (status IN ('active', 'pending', 'disconnected', 'rejected', 'destroyed'));
                """),
        // Secrets only delegates can open: device public keys, key rings with sealed ring key copies, secrets with
        // sealed versions, and which secrets a task uses.
        PostgreSQLMigration(
            version: 3,
            sql: """
                ALTER TABLE delegates ADD COLUMN device_public_key BYTEA NOT NULL DEFAULT ''::bytea;
                ALTER TABLE tasks ADD COLUMN secrets TEXT NOT NULL DEFAULT '';
                CREATE TABLE key_rings (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    name TEXT COLLATE "C" NOT NULL,
                    scope TEXT NOT NULL,
                    member_rule TEXT NOT NULL,
                    ring_version BIGINT NOT NULL,
                    public_key BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    UNIQUE (account_id, name)
                );
                CREATE TABLE ring_key_copies (
                    ring_id TEXT COLLATE "C" NOT NULL,
                    ring_version BIGINT NOT NULL,
                    delegate_id TEXT COLLATE "C" NOT NULL,
                    device_key_fingerprint TEXT NOT NULL,
                    encapsulated_key BYTEA NOT NULL,
                    ciphertext BYTEA NOT NULL,
                    PRIMARY KEY (ring_id, ring_version, delegate_id)
                );
                CREATE TABLE secrets (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    name TEXT COLLATE "C" NOT NULL,
                    ring_id TEXT COLLATE "C" NOT NULL,
                    scope TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    last_used_at BIGINT,
                    UNIQUE (account_id, name)
                );
                CREATE TABLE secret_versions (
                    secret_id TEXT COLLATE "C" NOT NULL,
                    version BIGINT NOT NULL,
                    ring_version BIGINT NOT NULL,
                    allowed_task_types TEXT NOT NULL,
                    envelope BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (secret_id, version)
                );
                """),
        // Several managers on one database: the node table with its leases, which node holds each delegate's
        // connection, and the control queue between nodes.
        PostgreSQLMigration(
            version: 4,
            sql: """
                ALTER TABLE delegates ADD COLUMN node_id TEXT COLLATE "C";
                CREATE INDEX delegates_by_node ON delegates (node_id) WHERE node_id IS NOT NULL;
                CREATE TABLE nodes (
                    id TEXT COLLATE "C" PRIMARY KEY, address TEXT NOT NULL, started_at BIGINT NOT NULL,
                    last_seen_at BIGINT NOT NULL
                );
                CREATE TABLE node_controls (
                    id TEXT COLLATE "C" PRIMARY KEY, node_id TEXT COLLATE "C" NOT NULL, kind TEXT NOT NULL,
                    subject TEXT NOT NULL, detail TEXT NOT NULL, created_at BIGINT NOT NULL, done_at BIGINT,
                    connected BIGINT NOT NULL, told BIGINT NOT NULL, acknowledged BIGINT NOT NULL
                );
                CREATE INDEX node_controls_queued ON node_controls (node_id, created_at) WHERE done_at IS NULL;
                CREATE TABLE task_owners (
                    task_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE, node_id TEXT NOT NULL
                );
                """),
    ]

    /// The newest schema version this build understands.
    static var latestVersion: Int { Self.all.last?.version ?? 0 }

    /// Key of the advisory lock that serialises managers migrating the same database at once.
    static let lockKey: Int64 = 0x4C45_4741_5445_0001

    /// Brings the database to `latestVersion` in one transaction; refuses one from a newer build. Returns the
    /// final version.
    static func migrate(_ connection: PostgreSQLConnection) throws(StoreError) -> Int {
        try connection.transaction { () throws(StoreError) -> Int in
            _ = try connection.query(
                "SELECT pg_advisory_xact_lock(?::bigint)", [.int(Self.lockKey)], operation: "lock schema") { _ in 0 }
            try connection.execute(
                "CREATE TABLE IF NOT EXISTS legate_schema_version (version BIGINT NOT NULL)",
                operation: "create schema version table")
            let found = Int(
                try connection.query(
                    "SELECT version FROM legate_schema_version", [], operation: "read schema version"
                ) { $0.int(0) }.first ?? 0)
            if found > Self.latestVersion {
                throw .schemaTooNew(found: found, supported: Self.latestVersion)
            }
            for migration in Self.all where migration.version > found {
                try connection.execute(migration.sql, operation: "migrate to schema \(migration.version)")
            }
            try connection.run("DELETE FROM legate_schema_version", [], operation: "set schema version")
            try connection.run(
                "INSERT INTO legate_schema_version (version) VALUES (?::bigint)", [.int(Int64(Self.latestVersion))],
                operation: "set schema version")
            return Self.latestVersion
        }
    }
}
