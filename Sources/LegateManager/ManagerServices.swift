import Dispatch
import LegateAuth
import Synchronization
import LegateCore
import LegateNet
import LegateStore

/// The shared parts every connection of a manager uses; immutable references to thread-safe objects.
final class ManagerServices: Sendable {
    let configuration: ManagerConfiguration
    let validator: JWTValidator
    let tokens: TokenDirectory
    let registry: DelegateRegistry
    let replay: ReplayCache
    let writer: StoreWriter
    let log: any LogSink
    /// Task dispatch (issue 6).
    let tasks: TaskService
    /// Delegate profiles of every account (issue 5).
    let profiles = ProfileDirectory()
    /// The manager these services belong to, for the admin API (set once the manager is built).
    let manager = ManagerReference()
    /// Admin calls block (store reads, a revoke waiting for acknowledgements), so they run here, off the loops.
    let adminQueue = DispatchQueue(label: "legate.admin", attributes: .concurrent)
    /// Held from a token name's uniqueness check to its durable insert, so two concurrent admin calls cannot both
    /// create the same name in one scope (the store has no unique index over (account, scope, name)).
    let tokenCreation = Mutex(())

    init(
        configuration: ManagerConfiguration, tokens: TokenDirectory, registry: DelegateRegistry,
        writer: StoreWriter, log: any LogSink, tasks: TaskService
    ) {
        self.tasks = tasks
        self.configuration = configuration
        self.tokens = tokens
        self.registry = registry
        self.writer = writer
        self.log = log
        var policy = JWTPolicy.defaults(audience: configuration.audience)
        policy.leewaySeconds = configuration.jwtLeewaySeconds
        self.validator = JWTValidator(policy: policy, resolver: tokens)
        self.replay = ReplayCache()
    }

    /// Records an audit row without waiting for it (audit of failures must not slow the refusal).
    func audit(accountID: String, actor: String, action: String, target: String, outcome: String, detail: String) {
        let record = AuditRecord(
            sequence: 0, at: WallClock.unixMilliseconds(), accountID: accountID, actor: actor, action: action,
            target: target, outcome: outcome, detail: detail)
        self.writer.submit([.appendAudit(record)])
    }

    /// A fresh identifier that sorts by creation time (10 characters of Unix milliseconds, then 16 random ones), so
    /// the store appends to its indexes instead of writing all over them, e.g. `tsk_2b4x...`.
    static func newTimeOrderedID(prefix: String, now: Int64) -> String {
        let alphabet = Array("23456789abcdefghijkmnpqrstuvwxyz".utf8)  // ASCII order, so the text sorts like the time
        var time = UInt64(max(0, now))
        var characters = [UInt8](repeating: 0, count: 10)
        for index in (0..<10).reversed() {
            characters[index] = alphabet[Int(time & 31)]
            time >>= 5
        }
        characters += SecureRandom.bytes(16).map { alphabet[Int($0 & 31)] }
        return prefix + "_" + String(decoding: characters, as: UTF8.self)
    }

    /// A fresh random identifier with a readable prefix, e.g. `dlg_3k9x...`.
    static func newID(prefix: String) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
        let bytes = SecureRandom.bytes(16)
        return prefix + "_" + String(decoding: bytes.map { alphabet[Int($0 & 31)] }, as: UTF8.self)
    }
}

/// A weak reference to the manager, settable once it exists (services are built before it).
final class ManagerReference: Sendable {
    private struct Weak: Sendable {
        weak var manager: Manager?
    }

    private let reference = Mutex(Weak())

    /// The manager, while it exists.
    var current: Manager? { self.reference.withLock { $0.manager } }

    func set(_ manager: Manager) {
        self.reference.withLock { $0.manager = manager }
    }
}
