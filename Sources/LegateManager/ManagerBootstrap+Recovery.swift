import Foundation
import LegateCore
import LegateStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Local recovery of a data directory, without a running manager or a network: for an operator who lost every
/// admin key (or never saw the first one).
public enum DataDirectoryRecovery {
    /// Creates an admin API key with every permission in the data directory's account, audited as done locally;
    /// returns it (its value is shown once, only its hash is stored). Works while the manager runs too: keys are
    /// read from the store at each authentication.
    public static func createAdminKey(dataDirectory: String, name: String, now: Int64) throws(ManagerError)
        -> AdminAPIKey
    {
        let path = dataDirectory + "/" + ManagerBootstrap.databaseFileName
        guard FileManager.default.fileExists(atPath: path) else {
            throw .dataDirectory(
                path: dataDirectory, reason: "holds no manager database (\(ManagerBootstrap.databaseFileName)); "
                    + "give the --data-dir the manager runs with")
        }
        let store = try ManagerBootstrap.openStore(dataDirectory)
        do {
            guard let account = try store.accounts().first else {
                throw ManagerError.dataDirectory(
                    path: dataDirectory, reason: "has no account yet; start the manager once to create it")
            }
            let key = AdminAPIKey.generate()
            let permissions = AdminPermission.allCases.map(\.rawValue)
            let actor = "local:data-dir"
            let record = AdminKeyRecord(
                id: key.id, accountID: account.id, name: name, scope: "account", secretHash: key.secretHash,
                permissions: permissions, createdAt: now, createdBy: actor)
            let event = AuditEvent.adminKeyCreated(
                keyID: key.id, name: name, scope: "account", permissions: permissions)
            let audit = event.record(accountID: account.id, actor: actor, at: now)
            try store.apply([.upsertAdminKey(record), .appendAudit(audit)])
            return key
        } catch let error as ManagerError {
            throw error
        } catch {
            throw .store("\(error)")
        }
    }
}

/// Tries to bind the manager's address and lets go at once, so a busy port fails a first start before it
/// creates credentials it would show only once.
enum PortProbe {
    static func check(host: String, port: Int) throws(ManagerError) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            // Resolution problems are the listener's to report, with its own wording.
            return
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            throw .network(
                "cannot listen on \(host):\(port): \(reason); nothing was created, so the first start that succeeds "
                    + "still shows the account id, default token and admin key (use another --port, or stop what "
                    + "holds this one)")
        }
    }
}
