// Schema migrations, in order. To change the schema append ONE entry to `all` (in this file only):
// the next version number and its SQL. Never edit an entry that has shipped.
// Version 3: profiles with approval rules. Version 4: tasks and task logs. Version 5: admin key expiry.
// Version 6: the destroyed delegate state. Version 7: device keys, key rings, secrets. Version 8: the task status
// check without an IN list. Version 9: nodes, the control queue between them, task owners.

/// One schema step, applied in its own transaction together with `PRAGMA user_version = version`.
struct Migration {
    /// The `user_version` the database has after this step.
    let version: Int
    /// DDL run by the step.
    let sql: String

    /// Every migration, oldest first; versions are 1, 2, 3... without gaps.
    static let all: [Migration] = [
        Migration(
            version: 1,
            sql: """
                CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
                CREATE TABLE tokens (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    name TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    sealed_value BLOB NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
                    created_at INTEGER NOT NULL,
                    created_by TEXT NOT NULL,
                    revoked_at INTEGER,
                    expires_at INTEGER,
                    last_used_at INTEGER
                );
                CREATE INDEX tokens_by_account ON tokens (account_id);
                CREATE TABLE delegates (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    instance_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    hostname TEXT NOT NULL,
                    ip_address TEXT NOT NULL,
                    version TEXT NOT NULL,
                    tags TEXT NOT NULL,
                    task_types TEXT NOT NULL,
                    profile TEXT NOT NULL,
                    token_id TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('active', 'pending', 'disconnected', 'rejected')),
                    first_seen_at INTEGER NOT NULL,
                    connected_since INTEGER,
                    last_heartbeat_at INTEGER,
                    disconnected_at INTEGER,
                    UNIQUE (account_id, instance_id)
                );
                CREATE INDEX delegates_by_token ON delegates (token_id);
                CREATE TABLE audit (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    account_id TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE INDEX audit_by_account ON audit (account_id, sequence);
                """),
        Migration(
            version: 2,
            sql: """
                CREATE TABLE admin_keys (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    name TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    secret_hash BLOB NOT NULL,
                    permissions TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    created_by TEXT NOT NULL,
                    revoked_at INTEGER
                );
                CREATE INDEX admin_keys_by_account ON admin_keys (account_id);
                """),
        Migration(
            version: 3,
            sql: """
                CREATE TABLE profiles (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    name TEXT NOT NULL,
                    requires_approval INTEGER NOT NULL,
                    startup_script TEXT NOT NULL,
                    auto_approval TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    UNIQUE (account_id, name)
                );
                ALTER TABLE delegates ADD COLUMN decision_reason TEXT;
                ALTER TABLE delegates ADD COLUMN pending_expires_at INTEGER;
                """),
        Migration(
            version: 4,
            sql: """
                CREATE TABLE tasks (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    type TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    selectors TEXT NOT NULL,
                    target_delegate_id TEXT,
                    timeout_ms INTEGER NOT NULL,
                    idempotency_key TEXT,
                    max_attempts INTEGER NOT NULL,
                    submitted_by TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    scope TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('queued', 'assigned', 'acknowledged', 'running',
                        'succeeded', 'failed', 'timed_out', 'cancelled')),
                    attempt INTEGER NOT NULL,
                    delegate_id TEXT,
                    lost_attempts INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    finished_at INTEGER,
                    progress_percent INTEGER NOT NULL,
                    message TEXT NOT NULL,
                    output BLOB NOT NULL,
                    error TEXT NOT NULL,
                    exit_code INTEGER NOT NULL,
                    cancel_requested INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX tasks_by_idempotency_key ON tasks (account_id, idempotency_key)
                    WHERE idempotency_key IS NOT NULL;
                CREATE INDEX tasks_by_account ON tasks (account_id, created_at);
                CREATE INDEX tasks_unfinished ON tasks (id) WHERE finished_at IS NULL;
                CREATE TABLE task_logs (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    task_id TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    at INTEGER NOT NULL,
                    data BLOB NOT NULL
                );
                CREATE INDEX task_logs_by_task ON task_logs (task_id, sequence);
                """),
        Migration(
            version: 5,
            sql: """
                ALTER TABLE admin_keys ADD COLUMN expires_at INTEGER;
                """),
        // SQLite cannot change a CHECK constraint in place: the table is rebuilt with the same columns.
        Migration(
            version: 6,
            sql: """
                CREATE TABLE delegates_v6 (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    instance_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    hostname TEXT NOT NULL,
                    ip_address TEXT NOT NULL,
                    version TEXT NOT NULL,
                    tags TEXT NOT NULL,
                    task_types TEXT NOT NULL,
                    profile TEXT NOT NULL,
                    token_id TEXT NOT NULL,
                    status TEXT NOT NULL
                        CHECK (status IN ('active', 'pending', 'disconnected', 'rejected', 'destroyed')),
                    first_seen_at INTEGER NOT NULL,
                    connected_since INTEGER,
                    last_heartbeat_at INTEGER,
                    disconnected_at INTEGER,
                    decision_reason TEXT,
                    pending_expires_at INTEGER,
                    UNIQUE (account_id, instance_id)
                );
                INSERT INTO delegates_v6 (id, account_id, instance_id, name, hostname, ip_address, version, tags,
                    task_types, profile, token_id, status, first_seen_at, connected_since, last_heartbeat_at,
                    disconnected_at, decision_reason, pending_expires_at)
                SELECT id, account_id, instance_id, name, hostname, ip_address, version, tags, task_types, profile,
                    token_id, status, first_seen_at, connected_since, last_heartbeat_at, disconnected_at,
                    decision_reason, pending_expires_at FROM delegates;
                DROP TABLE delegates;
                ALTER TABLE delegates_v6 RENAME TO delegates;
                CREATE INDEX delegates_by_token ON delegates (token_id);
                """),
        // Secrets only delegates can open: device public keys, key rings with sealed ring key copies, secrets with
        // sealed versions, and which secrets a task uses.
        Migration(
            version: 7,
            sql: """
                ALTER TABLE delegates ADD COLUMN device_public_key BLOB NOT NULL DEFAULT x'';
                ALTER TABLE tasks ADD COLUMN secrets TEXT NOT NULL DEFAULT '';
                CREATE TABLE key_rings (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    name TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    member_rule TEXT NOT NULL,
                    ring_version INTEGER NOT NULL,
                    public_key BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    created_by TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    UNIQUE (account_id, name)
                );
                CREATE TABLE ring_key_copies (
                    ring_id TEXT NOT NULL,
                    ring_version INTEGER NOT NULL,
                    delegate_id TEXT NOT NULL,
                    device_key_fingerprint TEXT NOT NULL,
                    encapsulated_key BLOB NOT NULL,
                    ciphertext BLOB NOT NULL,
                    PRIMARY KEY (ring_id, ring_version, delegate_id)
                );
                CREATE TABLE secrets (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    name TEXT NOT NULL,
                    ring_id TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    created_by TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    last_used_at INTEGER,
                    UNIQUE (account_id, name)
                );
                CREATE TABLE secret_versions (
                    secret_id TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    ring_version INTEGER NOT NULL,
                    allowed_task_types TEXT NOT NULL,
                    envelope BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (secret_id, version)
                );
                """),
        // SQLite evaluates `status IN (...)` by building a temporary index on every INSERT and UPDATE that checks it
        // (three per task); the same check as a chain of comparisons costs a few instructions. Rebuilt as in 6,
        // with the secrets column of 7.
        Migration(
            version: 8,
            sql: """
                CREATE TABLE tasks_v8 (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    type TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    selectors TEXT NOT NULL,
                    target_delegate_id TEXT,
                    timeout_ms INTEGER NOT NULL,
                    idempotency_key TEXT,
                    max_attempts INTEGER NOT NULL,
                    submitted_by TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    scope TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status = 'queued' OR status = 'assigned' OR status = 'acknowledged'
                        OR status = 'running' OR status = 'succeeded' OR status = 'failed' OR status = 'timed_out'
                        OR status = 'cancelled'),
                    attempt INTEGER NOT NULL,
                    delegate_id TEXT,
                    lost_attempts INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    finished_at INTEGER,
                    progress_percent INTEGER NOT NULL,
                    message TEXT NOT NULL,
                    output BLOB NOT NULL,
                    error TEXT NOT NULL,
                    exit_code INTEGER NOT NULL,
                    cancel_requested INTEGER NOT NULL,
                    secrets TEXT NOT NULL DEFAULT ''
                );
                INSERT INTO tasks_v8 (id, account_id, type, payload, selectors, target_delegate_id, timeout_ms,
                    idempotency_key, max_attempts, submitted_by, created_at, scope, status, attempt, delegate_id,
                    lost_attempts, updated_at, finished_at, progress_percent, message, output, error, exit_code,
                    cancel_requested, secrets)
                SELECT id, account_id, type, payload, selectors, target_delegate_id, timeout_ms, idempotency_key,
                    max_attempts, submitted_by, created_at, scope, status, attempt, delegate_id, lost_attempts,
                    updated_at, finished_at, progress_percent, message, output, error, exit_code, cancel_requested,
                    secrets
                FROM tasks;
                DROP TABLE tasks;
                ALTER TABLE tasks_v8 RENAME TO tasks;
                CREATE UNIQUE INDEX tasks_by_idempotency_key ON tasks (account_id, idempotency_key)
                    WHERE idempotency_key IS NOT NULL;
                CREATE INDEX tasks_by_account ON tasks (account_id, created_at);
                CREATE INDEX tasks_unfinished ON tasks (id) WHERE finished_at IS NULL;
                """),
        // Several managers on one database: the node table with its leases, which node holds each delegate's
        // connection, and the control queue between nodes. SQLite has one node but runs the same code.
        Migration(
            version: 9,
            sql: """
                ALTER TABLE delegates ADD COLUMN node_id TEXT;
                CREATE TABLE nodes (
                    id TEXT PRIMARY KEY, address TEXT NOT NULL, started_at INTEGER NOT NULL,
                    last_seen_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE node_controls (
                    id TEXT PRIMARY KEY, node_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
                    detail TEXT NOT NULL, created_at INTEGER NOT NULL, done_at INTEGER,
                    connected INTEGER NOT NULL, told INTEGER NOT NULL, acknowledged INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX node_controls_queued ON node_controls (node_id, created_at) WHERE done_at IS NULL;
                CREATE TABLE task_owners (
                    task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE, node_id TEXT NOT NULL
                );
                """),
    ]

    /// The newest schema version this build understands.
    static var latestVersion: Int { Self.all.last?.version ?? 0 }

    /// Brings the database to `latestVersion`; refuses one from a newer build. Returns the final version.
    static func migrate(_ connection: SQLiteConnection) throws(StoreError) -> Int {
        let found = Int(try connection.scalarInt("PRAGMA user_version", operation: "read schema version"))
        if found > Self.latestVersion {
            throw .schemaTooNew(found: found, supported: Self.latestVersion)
        }
        for migration in Self.all where migration.version > found {
            try connection.transaction { () throws(StoreError) in
                // Re-read inside the write lock: another process may have migrated meanwhile.
                let current = Int(try connection.scalarInt("PRAGMA user_version", operation: "read schema version"))
                guard current < migration.version else { return }
                try connection.execute(migration.sql, operation: "migrate to schema \(migration.version)")
                try connection.execute(
                    "PRAGMA user_version = \(migration.version)", operation: "set schema \(migration.version)")
            }
        }
        return Int(try connection.scalarInt("PRAGMA user_version", operation: "read schema version"))
    }
}
