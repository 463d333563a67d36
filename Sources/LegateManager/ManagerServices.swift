import LegateAuth
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

    init(
        configuration: ManagerConfiguration, tokens: TokenDirectory, registry: DelegateRegistry,
        writer: StoreWriter, log: any LogSink
    ) {
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

    /// A fresh random identifier with a readable prefix, e.g. `dlg_3k9x...`.
    static func newID(prefix: String) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
        let bytes = SecureRandom.bytes(16)
        return prefix + "_" + String(decoding: bytes.map { alphabet[Int($0 & 31)] }, as: UTF8.self)
    }
}
