import LegateAuth
import LegateCore
import LegateStore
import LegateWire

/// Everything a manager needs to run; built by the executable from flags, validated before start.
public struct ManagerConfiguration: Sendable, Equatable {
    /// Address to bind. Default `127.0.0.1` (embedded dev default; never all interfaces by surprise).
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 lets the OS choose (tests). Default 7443.
    public var port: Int = 7443
    /// Directory holding the SQLite database, the master key and the dev certificate. Default `./legate-data`.
    public var dataDirectory: String = "legate-data"
    /// PostgreSQL server holding the state (`postgresql://user@host:port/database`); nil keeps the SQLite file
    /// `legate.db` in `dataDirectory`. The master key and certificates stay in `dataDirectory` either way.
    public var storeURL: String?
    /// PEM certificate chain; nil means use (and on first start generate) the dev certificate.
    public var certificateFile: String?
    /// PEM private key for `certificateFile`.
    public var privateKeyFile: String?
    /// CA bundle for client certificates; set to require mutual TLS.
    public var clientCAFile: String?
    /// JWT audience delegates must name. Default `legate-manager`.
    public var audience: String = "legate-manager"
    /// Allowed clock skew when checking JWT times. Default 60 s.
    public var jwtLeewaySeconds: Int64 = 60
    /// Event loops (threads). Default: one per core.
    public var eventLoops: Int = 0
    /// Connections beyond this are closed at accept. Default 20,000.
    public var maxConnections: Int = 20_000
    /// New connections (so registrations) per second per peer address (DESIGN.md §3).
    public var connectionRate: AddressRateLimiter.Configuration = .defaults
    /// Connection timing and frame limits.
    public var connection: ServerConnectionMachine.Configuration = .defaults
    /// How often in-memory heartbeat times are written to the store. Default 5 s.
    public var heartbeatFlushInterval: Duration = .seconds(5)
    /// How often deadlines are checked on every loop. Default 500 ms.
    public var tickInterval: Duration = .milliseconds(500)
    /// How long in-flight calls may finish after GOAWAY. Default 5 s.
    public var drainTimeout: Duration = .seconds(5)
    /// Task dispatch: leases, timeouts, retry policy, log bounds.
    public var tasks = TaskConfiguration()
    /// How long a registration may wait for approval before it is rejected. Default 24 h.
    public var pendingExpiry: Duration = .seconds(86_400)
    /// Registration `jti`s remembered per token within their lifetime; registrations beyond are refused
    /// UNAVAILABLE (retryable) until some expire. Default 100,000: ten thousand delegates on one token can each
    /// register several times an hour.
    public var replayWindowPerToken: Int = ReplayCache.defaultPerTokenCapacity
    /// How long audit rows are kept (default 90 days; `days: nil` keeps every row).
    public var auditRetention: AuditRetention = .defaults
    /// How often rows past the retention are deleted. Default 1 hour.
    public var auditPruneInterval: Duration = .seconds(3600)
    /// Name of the account created on first start.
    public var defaultAccountName: String = "default"
    /// The HTTP endpoint for `/metrics`, `/livez` and `/readyz`; nil (the default) serves none.
    public var http: HTTPEndpointConfiguration?
    /// This manager as a node of a fleet sharing one store (its id, advertised address, lease).
    public var nodes = NodeConfiguration()

    /// The documented defaults.
    public static let defaults = ManagerConfiguration()

    /// Creates the default configuration.
    public init() {}

    /// The defaults with some fields changed.
    public static func defaults(configure: (inout ManagerConfiguration) -> Void) -> ManagerConfiguration {
        var configuration = ManagerConfiguration()
        configure(&configuration)
        return configuration
    }

    /// Refuses configurations that cannot work, saying which setting to change.
    public func validate() throws(ManagerError) {
        guard (0...65_535).contains(self.port) else {
            throw .invalidConfiguration("port \(self.port) is outside 0...65535")
        }
        guard !self.audience.isEmpty else { throw .invalidConfiguration("audience must not be empty") }
        guard (0...300).contains(self.jwtLeewaySeconds) else {
            throw .invalidConfiguration("JWT leeway of \(self.jwtLeewaySeconds) s is outside 0...300 s")
        }
        guard self.maxConnections > 0 else { throw .invalidConfiguration("maxConnections must be positive") }
        guard (self.certificateFile == nil) == (self.privateKeyFile == nil) else {
            throw .invalidConfiguration("give both --cert and --key, or neither to use the dev certificate")
        }
        let limit = self.connection.maxFrameBytes
        guard (FrameLimits.maxPreAuthFrameBytes...FrameLimits.maxFrameBytesCeiling).contains(limit) else {
            throw .invalidConfiguration(
                "max frame of \(limit) bytes is outside \(FrameLimits.maxPreAuthFrameBytes)..."
                    + "\(FrameLimits.maxFrameBytesCeiling)")
        }
        guard self.connection.heartbeatInterval >= .milliseconds(10) else {
            throw .invalidConfiguration("heartbeat interval must be at least 10 ms")
        }
        guard self.pendingExpiry >= .seconds(1) else {
            throw .invalidConfiguration("pending expiry must be at least 1 s; pass --pending-expiry SECONDS")
        }
        guard self.connection.heartbeatGrace > self.connection.heartbeatInterval else {
            throw .invalidConfiguration("heartbeat grace must be longer than the heartbeat interval")
        }
        try self.http?.validate()
        try self.nodes.validate()
    }
}

/// Why the manager could not start or serve, with what to do about it.
public enum ManagerError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case dataDirectory(path: String, reason: String)
    case masterKey(path: String, reason: String)
    case store(String)
    case network(String)
    case tls(String)

    /// A sentence an operator can act on.
    public var description: String {
        switch self {
        case .invalidConfiguration(let reason):
            return "invalid configuration: \(reason)"
        case .dataDirectory(let path, let reason):
            return "data directory \(path) is unusable: \(reason); pass --data-dir with a writable directory"
        case .masterKey(let path, let reason):
            return "master key \(path) is unusable: \(reason); restore the key file that encrypted this database"
        case .store(let reason):
            return "store: \(reason)"
        case .network(let reason):
            return "network: \(reason)"
        case .tls(let reason):
            return "TLS: \(reason)"
        }
    }
}
