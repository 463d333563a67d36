import Foundation
import LegateAuth
import LegateCore
import LegateNet
import LegateStore

/// What a manager found or created in its data directory on start; printed by the executable.
public struct BootstrapReport: Sendable, Equatable {
    /// The data directory in use.
    public let dataDirectory: String
    /// CA file delegates must trust (the dev CA, or nil when the operator supplied certificates).
    public let caFile: String?
    /// The first account (created on first start).
    public let accountID: String
    /// The default token's id.
    public let defaultTokenID: String
    /// The default token value; only on the start that created it (shown once, never again).
    public let newDefaultTokenValue: String?
    /// True when this start created the database.
    public let isFirstStart: Bool
    /// The bootstrap admin API key (all permissions); only on the start that created it (shown once).
    public let newAdminKeyValue: String?
}

/// Prepares a data directory: master key, dev TLS certificate, SQLite store, default account and token.
enum ManagerBootstrap {
    static let masterKeyFileName = "master.key"
    static let databaseFileName = "legate.db"
    static let tlsDirectoryName = "tls"

    struct Prepared {
        let store: any StateStore
        let masterKey: MasterKey
        let tlsFiles: (certificate: String, key: String, ca: String?)
        let report: BootstrapReport
    }

    /// Prepares the data directory; the store is `store` when given (any `StateStore` backend), else PostgreSQL
    /// when `storeURL` is set, else the SQLite file in the data directory.
    static func prepare(
        _ configuration: ManagerConfiguration, store given: (any StateStore)?, clock: any ServiceClock
    ) throws(ManagerError) -> Prepared {
        let directory = configuration.dataDirectory
        try self.makeDirectory(directory)
        let masterKey = try self.loadOrCreateMasterKey(at: directory + "/" + self.masterKeyFileName)
        let tlsFiles = try self.tlsFiles(configuration)
        let store: any StateStore
        if let given {
            store = given
        } else {
            store = try self.openStore(directory, url: configuration.storeURL)
        }
        // A first start shows the default token and admin key once; if it then failed to listen they would be
        // created but never seen. So the port is tried before anything shown-once exists.
        let hasAccount: Bool
        do {
            hasAccount = try !store.accounts().isEmpty
        } catch {
            throw .store(error.description)
        }
        if !hasAccount, configuration.port != 0 {
            try PortProbe.check(host: configuration.host, port: configuration.port)
        }
        let (account, tokenID, newValue, adminKey) = try self.ensureDefaultAccount(
            store: store, masterKey: masterKey, name: configuration.defaultAccountName, now: clock.unixMilliseconds())
        let report = BootstrapReport(
            dataDirectory: directory, caFile: tlsFiles.ca, accountID: account.id, defaultTokenID: tokenID,
            newDefaultTokenValue: newValue, isFirstStart: newValue != nil, newAdminKeyValue: adminKey)
        return Prepared(store: store, masterKey: masterKey, tlsFiles: tlsFiles, report: report)
    }

    /// The SQLite store of a data directory.
    /// The store: PostgreSQL at `url` when given, else the SQLite file in `directory`.
    static func openStore(_ directory: String, url: String? = nil) throws(ManagerError) -> any StateStore {
        do {
            if let url { return try PostgreSQLStateStore(url: url) }
            return try SQLiteStateStore(path: directory + "/" + self.databaseFileName)
        } catch {
            throw .store(error.description)
        }
    }

    private static func makeDirectory(_ path: String) throws(ManagerError) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .dataDirectory(path: path, reason: error.localizedDescription)
        }
    }

    /// The master key lives outside the database (a stolen database alone reveals no token), readable by the
    /// manager's user only.
    private static func loadOrCreateMasterKey(at path: String) throws(ManagerError) -> MasterKey {
        if FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .masterKey(path: path, reason: "cannot be read")
            }
            do {
                return try MasterKey(bytes: [UInt8](data))
            } catch {
                throw .masterKey(path: path, reason: error.description)
            }
        }
        let key = MasterKey.generate()
        let created = FileManager.default.createFile(
            atPath: path, contents: Data(key.bytes), attributes: [.posixPermissions: 0o600])
        guard created else { throw .masterKey(path: path, reason: "cannot be created") }
        return key
    }

    private static func tlsFiles(_ configuration: ManagerConfiguration) throws(ManagerError)
        -> (certificate: String, key: String, ca: String?)
    {
        if let certificate = configuration.certificateFile, let key = configuration.privateKeyFile {
            return (certificate, key, nil)
        }
        let directory = configuration.dataDirectory + "/" + self.tlsDirectoryName
        // The certificate must name every address a client is told to use: the bind host (the banner prints it)
        // and the HTTP endpoint's host, or a delegate given that address fails with a name mismatch.
        let names = DevCertificates.serverNames(binding: [configuration.host] + [configuration.http?.host].compactMap { $0 })
        let existing = DevCertificates.existing(in: directory)
        if let files = existing, DevCertificates.covers(
            certificateFile: files.certificateFile, hostNames: names.hostNames, ipAddresses: names.ipAddresses)
        {
            return (files.certificateFile, files.privateKeyFile, files.caFile)
        }
        try self.makeDirectory(directory)
        do {
            let files = existing == nil
                ? try DevCertificates.generate(in: directory, hostNames: names.hostNames, ipAddresses: names.ipAddresses)
                : try DevCertificates.reissueServer(
                    in: directory, hostNames: names.hostNames, ipAddresses: names.ipAddresses)
            return (files.certificateFile, files.privateKeyFile, files.caFile)
        } catch {
            throw .tls("could not generate the development certificate: \(error)")
        }
    }

    private static func ensureDefaultAccount(store: any StateStore, masterKey: MasterKey, name: String, now: Int64)
        throws(ManagerError) -> (AccountRecord, tokenID: String, newValue: String?, adminKey: String?)
    {
        do {
            if let account = try store.accounts().first {
                let tokenID = try store.tokens(accountID: account.id).first?.id ?? "-"
                return (account, tokenID, nil, nil)
            }
            let account = AccountRecord(id: ManagerServices.newID(prefix: "acc"), name: name, createdAt: now)
            let token = DelegateToken.generate()
            let record = TokenRecord(
                id: token.id, accountID: account.id, name: "default", scope: "account",
                sealedValue: TokenSealing.seal(token, tokenID: token.id, with: masterKey), status: .active,
                createdAt: now, createdBy: "system", revokedAt: nil, expiresAt: nil, lastUsedAt: nil)
            let audit = AuditEvent.accountCreated(accountID: account.id, redactedToken: token.redacted).record(
                accountID: account.id, actor: "system", at: now)
            let adminKey = AdminAPIKey.generate()
            let adminRecord = AdminKeyRecord(
                id: adminKey.id, accountID: account.id, name: "bootstrap", scope: "account",
                secretHash: adminKey.secretHash, permissions: AdminPermission.allCases.map(\.rawValue),
                createdAt: now, createdBy: "system")
            let adminAudit = AuditEvent.bootstrapAdminKeyCreated(keyID: adminKey.id).record(
                accountID: account.id, actor: "system", at: now)
            try store.apply([
                .insertAccount(account), .insertToken(record), .appendAudit(audit), .upsertAdminKey(adminRecord),
                .appendAudit(adminAudit),
            ])
            return (account, token.id, token.value, adminKey.value)
        } catch {
            throw .store(error.description)
        }
    }
}

/// Token values at rest: AES-256-GCM under the master key, bound to the token id.
enum TokenSealing {
    static func seal(_ token: DelegateToken, tokenID: String, with key: MasterKey) -> [UInt8] {
        key.seal(Array(token.value.utf8), associatedData: Array(("legate-token:" + tokenID).utf8))
    }

    static func open(_ record: TokenRecord, with key: MasterKey) throws(ManagerError) -> DelegateToken {
        do {
            let plain = try key.open(record.sealedValue, associatedData: Array(("legate-token:" + record.id).utf8))
            return try DelegateToken.parse(String(decoding: plain, as: UTF8.self))
        } catch {
            throw .masterKey(
                path: "master.key", reason: "token \(record.id) cannot be decrypted (\(error)); wrong master key?")
        }
    }
}
