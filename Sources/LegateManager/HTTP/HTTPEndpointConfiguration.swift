import LegateHTTP

/// The manager's HTTP endpoint for metrics and health checks: its own port, loopback by default, TLS with the
/// manager's certificate unless `plain` (allowed on loopback only).
public struct HTTPEndpointConfiguration: Sendable, Equatable {
    /// Address to bind. Default `127.0.0.1`.
    public var host: String
    /// Port to bind; 0 lets the OS choose (tests).
    public var port: Int
    /// Serve plain HTTP instead of HTTPS; refused unless `host` is a loopback address.
    public var plain: Bool
    /// Connections beyond this are closed at accept, so scrapers cannot crowd out anything else. Default 64.
    public var maxConnections: Int = 64
    /// A request (and the TLS handshake before it) must arrive whole within this; then 408 and close. Default 10 s.
    public var requestTimeout: Duration = .seconds(10)
    /// A keep-alive connection with no request for this long is closed. Default 60 s.
    public var idleTimeout: Duration = .seconds(60)
    /// Request line, header and body limits.
    public var limits = HTTPLimits(maxBodyBytes: 64 << 10)

    /// An endpoint on `host:port`.
    public init(port: Int, host: String = "127.0.0.1", plain: Bool = false) {
        self.port = port
        self.host = host
        self.plain = plain
    }

    /// True for addresses that only this machine can reach.
    var isLoopback: Bool {
        self.host == "localhost" || self.host == "::1" || self.host.hasPrefix("127.")
    }

    /// Refuses settings that cannot work or would expose plain HTTP beyond this machine.
    func validate() throws(ManagerError) {
        guard (0...65_535).contains(self.port) else {
            throw .invalidConfiguration("HTTP port \(self.port) is outside 0...65535; pass --http-port N")
        }
        guard !self.plain || self.isLoopback else {
            throw .invalidConfiguration(
                "--http-plain is allowed on a loopback address only (\(self.host) is not): the web console's "
                    + "admin sign-in and session cookie must not cross a network unencrypted; drop --http-plain to "
                    + "serve HTTPS, or bind with --http-host 127.0.0.1")
        }
        guard self.maxConnections > 0 else { throw .invalidConfiguration("HTTP max connections must be positive") }
        guard self.requestTimeout > .zero, self.idleTimeout > .zero else {
            throw .invalidConfiguration("HTTP request and idle timeouts must be positive")
        }
    }
}
