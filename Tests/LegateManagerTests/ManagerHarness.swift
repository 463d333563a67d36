import Foundation
import LegateAuth
import LegateCore
import LegateDelegate
import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire

/// A manager on 127.0.0.1 port 0 in a fresh temporary data directory, plus helpers to run delegates.
final class ManagerHarness: @unchecked Sendable {
    // `@unchecked Sendable`: `manager` is replaced only by the test thread (restart), read by it too.
    let dataDirectory: String
    let log = InMemoryLogSink()
    var manager: Manager
    let token: DelegateToken
    let accountID: String
    let caFile: String
    let group = EventLoopGroup(loopCount: 2)
    var configuration: ManagerConfiguration
    /// The services' clock: the system clock, or a manual one the test moves (then `manager.sweep()` runs the
    /// expiry sweeps at its time, with no waiting).
    let clock: any ServiceClock

    init(clock: (any ServiceClock)? = nil, configure: (inout ManagerConfiguration) -> Void = { _ in }) throws {
        self.dataDirectory = NSTemporaryDirectory() + "legate-test-" + UUID().uuidString
        var configuration = ManagerConfiguration.defaults
        configuration.port = 0
        configuration.dataDirectory = self.dataDirectory
        configuration.connection.heartbeatInterval = .milliseconds(100)
        configuration.connection.heartbeatGrace = .seconds(2)
        configuration.tickInterval = .milliseconds(50)
        configuration.heartbeatFlushInterval = .milliseconds(200)
        configuration.drainTimeout = .seconds(1)
        configure(&configuration)
        self.configuration = configuration
        self.clock = clock ?? SystemClock()
        self.manager = try Manager.start(configuration: configuration, log: self.log, clock: self.clock)
        let report = self.manager.report
        self.token = try DelegateToken.parse(report.newDefaultTokenValue ?? "")
        self.accountID = report.accountID
        self.caFile = report.caFile ?? ""
    }

    deinit {
        self.manager.shutdown()
        try? FileManager.default.removeItem(atPath: self.dataDirectory)
    }

    var port: Int { self.manager.port }

    /// Stops the manager gracefully and starts a new one on the same data directory and port.
    func restart() throws {
        let port = self.manager.port
        self.manager.shutdown()
        self.configuration.port = port
        self.manager = try Manager.start(configuration: self.configuration, log: self.log, clock: self.clock)
    }

    func delegateConfiguration(name: String = "d", token: DelegateToken? = nil, accountID: String? = nil)
        -> DelegateConfiguration
    {
        var configuration = DelegateConfiguration(
            managerHost: "127.0.0.1", managerPort: self.port, caFile: self.caFile,
            accountID: accountID ?? self.accountID, token: token ?? self.token, name: name, hostname: "test-host")
        configuration.serverName = "localhost"
        configuration.backoff = ReconnectBackoff(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(500))
        return configuration
    }

    /// Starts a delegate whose events land in the returned mailbox.
    func startDelegate(_ configuration: DelegateConfiguration) throws -> (DelegateClient, Mailbox<DelegateEvent>) {
        let events = Mailbox<DelegateEvent>()
        let tls = try DelegateClient.makeTLSContext(configuration)
        let client = DelegateClient(configuration: configuration, tls: tls, loop: self.group.next()) { event in
            events.put(event)
        }
        client.start()
        return (client, events)
    }

    func rawClient() -> ProtocolPeer? {
        ProtocolPeer.connect(port: self.port, caFile: self.caFile, loop: self.group.next())
    }

    /// A registration request for the raw client, with a JWT minted as a delegate would.
    func registerFrame(
        token: DelegateToken? = nil, accountID: String? = nil, subject: String? = nil, instanceID: String = "ins-raw",
        jwt: String? = nil, streamID: UInt32 = 1
    ) -> Frame {
        Self.registerFrame(
            token: token ?? self.token, accountID: accountID ?? self.accountID, subject: subject,
            instanceID: instanceID, jwt: jwt, streamID: streamID)
    }

    /// A registration request for `accountID` signed with `token`, as a delegate would send it.
    static func registerFrame(
        token: DelegateToken, accountID: String, subject: String? = nil, instanceID: String = "ins-raw",
        jwt: String? = nil, streamID: UInt32 = 1
    ) -> Frame {
        let now = WallClock.unixSeconds()
        let claims = JWTClaims(
            subject: subject ?? accountID, issuer: instanceID, audience: ["legate-manager"],
            issuedAt: now, notBefore: now, expiresAt: now + 600, jwtID: UUID().uuidString)
        var request = RegisterRequest()
        request.accountID = accountID
        request.instanceID = instanceID
        request.delegateName = "raw"
        request.hostname = "raw-host"
        request.jwt = jwt ?? JWTMinter.mint(claims: claims, keyID: token.id, key: token.hmacKey)
        return Frame(type: .request, method: CallMethod.register.rawValue, streamID: streamID,
                     payload: request.protoBytes())
    }
}

extension DelegateEvent {
    var isRegistered: Bool {
        if case .registered = self { return true }
        return false
    }

    var isHeartbeat: Bool {
        if case .heartbeatAcknowledged = self { return true }
        return false
    }

    var registeredID: String? {
        if case .registered(let id, _) = self { return id }
        return nil
    }
}
