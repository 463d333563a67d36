import Dispatch
import LegateNet
import Synchronization

/// One TLS connection to the manager before any delegate starts, so a manager that is down or unreachable ends
/// the run at once with the reason instead of after the whole connect phase and duration.
final class Preflight: ConnectionHandler, Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<String?>(nil)

    /// Connects to `host:port` with `tls` and closes again; throws the reason the connection failed.
    static func check(
        host: String, port: Int, tls: TLSClientContext, serverName: String?, loop: EventLoop,
        timeout: Duration = .seconds(10)
    ) throws(PreflightError) {
        let probe = Preflight()
        Connector.connect(
            host: host, port: port, tls: tls, serverName: serverName, loop: loop, limits: .defaults, handler: probe
        ) { outcome in
            if case .failure(let error) = outcome { probe.finish("\(error)") }
        }
        guard probe.done.wait(timeout: .now() + timeout.dispatchInterval) == .success else {
            throw PreflightError(reason: "no TLS connection within \(timeout)")
        }
        if let reason = probe.result.withLock({ $0 }), !reason.isEmpty { throw PreflightError(reason: reason) }
    }

    private func finish(_ reason: String) {
        let first = self.result.withLock { slot -> Bool in
            guard slot == nil else { return false }
            slot = reason
            return true
        }
        if first { self.done.signal() }
    }

    /// The handshake finished: the manager is there; let go at once.
    func connectionActive(_ connection: Connection) {
        self.finish("")
        connection.close(flushFirst: false)
    }
    /// Not used: the probe closes at once.
    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {}
    /// Not used.
    func connectionWritabilityChanged(_ connection: Connection) {}
    /// A close before the handshake ended is a failure.
    func connectionClosed(_ connection: Connection, error: NetError?) {
        self.finish(error.map { "\($0)" } ?? "the manager closed the connection during the TLS handshake")
    }
}

/// Why the manager could not be reached.
struct PreflightError: Error, CustomStringConvertible {
    /// What the connection attempt said.
    let reason: String

    /// A sentence an operator can act on.
    var description: String { "cannot reach the manager: \(reason); check --manager and --ca-file" }
}
