import LegateAuth
import LegateCore
public import LegateSecrets
import LegateWire

/// How a delegate finds, authenticates to and talks with its manager.
public struct DelegateConfiguration: Sendable {
    /// Manager host name or IP literal.
    public var managerHost: String
    /// Manager port.
    public var managerPort: Int
    /// Further managers sharing the same store, tried in turn after `managerHost:managerPort` whenever the
    /// connection fails, is lost or the manager sends GOAWAY; the delegate keeps its identity across them.
    public var otherManagers: [ManagerEndpoint] = []
    /// Name to verify in the manager's certificate; defaults to the host being connected to.
    public var serverName: String?
    /// PEM CA bundle that signed the manager's certificate.
    public var caFile: String
    /// Client certificate and key for mutual TLS, if the manager requires it.
    public var clientCertificateFile: String?
    /// Private key for `clientCertificateFile`.
    public var clientPrivateKeyFile: String?
    /// The account the delegate belongs to (JWT `sub`).
    public var accountID: String
    /// The delegate token: the JWT key. Never sent on the wire.
    public var token: DelegateToken
    /// File the token was read from; when set, a token the manager rotates to replaces its content (atomically)
    /// before the rotation is acknowledged, so a restart uses the new token. Nil: the new token lives in memory only.
    public var tokenFile: String?
    /// Display name of the delegate.
    public var name: String
    /// Host name reported to the manager.
    public var hostname: String
    /// Address reported to the manager (empty: the manager uses the address it sees).
    public var ipAddress: String = ""
    /// Software version reported.
    public var version: String = "0.1.0"
    /// Tags used by task selectors.
    public var tags: [String] = []
    /// Task types announced at registration; empty (the default): the types of the installed handlers (built-in
    /// ones from `builtInTaskTypes` plus those added with `DelegateClient.register(_:)`).
    public var taskTypes: [String] = []
    /// Built-in task handlers to install, by name: `echo`, `shell` (`TaskHandlerRegistry.builtInTypes`; other names
    /// are ignored). Default `["echo"]`: an embedding program opts in to running manager-supplied commands
    /// (`legate-delegate` enables both unless `--task-types` says otherwise).
    public var builtInTaskTypes: [String] = ["echo"]
    /// Profile to register with.
    public var profile: String = ""
    /// Task attempts it runs at once; more are refused with a FAILED result. Default 4: a fixed number rather
    /// than the core count, so a fleet behaves the same on every host (shell tasks mostly wait on processes).
    public var capacity: UInt32 = 4
    /// A task attempt that ends within this reports only its result (no separate `started` update); longer ones
    /// report `started` at this point. Default 20 ms; zero reports every start at once.
    public var taskStartReportDelay: Duration = .milliseconds(20)
    /// The PUSH_ACK of a TASK_ASSIGN is held up to this long so a quick result travels in the same write (one TLS
    /// record, one send). The manager's lease is seconds. Default 5 ms; zero acknowledges at once.
    public var taskAcknowledgementDelay: Duration = .milliseconds(5)
    /// Stable id of this delegate process (JWT `iss`); the manager keeps one record per instance.
    public var instanceID: String
    /// Audience the manager expects in JWTs. Default `legate-manager`.
    public var audience: String = "legate-manager"
    /// Lifetime of minted JWTs; re-minted at half-life. Default 30 min (the manager allows at most 1 h).
    public var jwtLifetime: Duration = .seconds(1800)
    /// Backoff between reconnect attempts.
    public var backoff: ReconnectBackoff = .defaults
    /// Overrides the manager's heartbeat interval (`.zero`: beat again as soon as a beat is answered, for load
    /// tests). Nil: obey the manager.
    public var heartbeatIntervalOverride: Duration?
    /// Largest frame accepted from the manager.
    public var maxFrameBytes: Int = FrameLimits.defaultMaxFrameBytes
    /// The X25519 device key secrets are sealed to; its public half is presented at registration. Nil: the
    /// delegate presents none and cannot be a key ring member.
    public var deviceKey: X25519PrivateKey?
    /// Directory holding the device key file; SELF_DESTRUCT deletes the key there.
    public var stateDirectory: String?
    /// Software name sent in HELLO.
    public var agent: String = "legate-delegate/0.1.0"

    /// Creates a configuration with the required settings; the rest have documented defaults.
    public init(
        managerHost: String, managerPort: Int, caFile: String, accountID: String, token: DelegateToken,
        name: String, hostname: String, instanceID: String = DelegateConfiguration.newInstanceID()
    ) {
        self.managerHost = managerHost
        self.managerPort = managerPort
        self.caFile = caFile
        self.accountID = accountID
        self.token = token
        self.name = name
        self.hostname = hostname
        self.instanceID = instanceID
    }

    /// Every manager to try, in order: the first one, then `otherManagers`.
    public var managers: [ManagerEndpoint] {
        [ManagerEndpoint(host: self.managerHost, port: self.managerPort)] + self.otherManagers
    }

    /// A fresh random instance id.
    public static func newInstanceID() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
        return "ins_" + String(decoding: SecureRandom.bytes(16).map { alphabet[Int($0 & 31)] }, as: UTF8.self)
    }
}

/// One manager address a delegate may connect to.
public struct ManagerEndpoint: Sendable, Equatable {
    /// Host name or IP literal.
    public var host: String
    /// TCP port.
    public var port: Int

    /// Creates an endpoint.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// What became of a token rotation the manager pushed; delivered on the delegate's event loop.
public enum TokenRotationEvent: Sendable, Equatable {
    /// The delegate now signs with `newTokenID` (and saved it to `savedTo`, if a token file is configured).
    case switched(oldTokenID: String, newTokenID: String, savedTo: String?)
    /// The new token could not be saved to the token file: the delegate kept the old one and did not acknowledge,
    /// so the manager reports it as not switched.
    case notSaved(newTokenID: String, error: TokenFileError)
}

/// What a running delegate tells the program that embeds it; delivered on the delegate's event loop.
public enum DelegateEvent: Sendable, Equatable {
    /// A connection attempt is starting (1 for the first).
    case connecting(attempt: Int)
    /// Registered with the manager.
    case registered(delegateID: String, state: DelegateState)
    /// A heartbeat was answered after `roundTrip`.
    case heartbeatAcknowledged(roundTrip: Duration)
    /// The manager refused a heartbeat's JWT (e.g. minted on a wrong clock); the client re-mints and beats again.
    case heartbeatRefused(reason: String)
    /// An admin decided on this pending delegate.
    case approvalDecided(approved: Bool, reason: String)
    /// The connection is gone; the next attempt starts after `retryIn`.
    case disconnected(reason: String, retryIn: Duration)
    /// The manager ordered this delegate to stop for good (e.g. its token was revoked).
    case selfDestructed(reason: String)
    /// The delegate stopped because the manager refused it for a reason retries will not fix, or `stop()`.
    case stopped(code: StatusCode, message: String)
}
