import Dispatch
import LegateHTTP
import LegateNet
import Synchronization

/// The HTTP listener of the manager: its own port, its own event loop and connection cap, so slow or many HTTP
/// clients cannot take anything from the delegate port; handlers run on `queue`, off every event loop.
final class HTTPEndpoint: Sendable {
    let configuration: HTTPEndpointConfiguration
    let router: HTTPRouter
    /// Handlers run here (concurrent: a readiness probe waiting on the store does not hold up `/livez`).
    let queue = DispatchQueue(label: "legate.http", attributes: .concurrent)
    private let group = EventLoopGroup(loopCount: 1)
    private let connections = Mutex<[ObjectIdentifier: HTTPConnection]>([:])
    private let listener = Mutex<Listener?>(nil)

    init(configuration: HTTPEndpointConfiguration, router: HTTPRouter) {
        self.configuration = configuration
        self.router = router
    }

    /// Binds and starts serving; returns the bound port. `tls` nil serves plain HTTP.
    func start(tls: TLSServerContext?) throws(ManagerError) -> Int {
        let timeout = self.configuration.requestTimeout
        let limits = ConnectionLimits(
            handshakeTimeout: timeout, maxBufferedWriteBytes: 1 << 20, writeTimeout: max(timeout, .seconds(30)))
        let listener = Listener(
            host: self.configuration.host, port: self.configuration.port, tls: tls, group: self.group,
            limits: limits, maxConnections: self.configuration.maxConnections,
            makeHandler: { [self] connection in HTTPConnection(endpoint: self, connection: connection) })
        do {
            let port = try listener.start()
            self.listener.withLock { $0 = listener }
            return port
        } catch {
            throw .network(
                "cannot listen for HTTP on \(self.configuration.host):\(self.configuration.port): \(error); "
                    + "pass another --http-port")
        }
    }

    /// Stops accepting and closes every open HTTP connection.
    func stop() {
        // Dropping the listener also drops its handler factory, which refers back to this endpoint.
        self.listener.withLock { listener in
            listener?.stop()
            listener = nil
        }
        let open = self.connections.withLock { $0 }
        for loop in self.group.loops {
            loop.queue.sync {
                for connection in open.values { connection.close() }
            }
        }
    }

    /// Open HTTP connections.
    var openConnections: Int { self.connections.withLock { $0.count } }

    func track(_ handler: HTTPConnection, connection: Connection) {
        self.connections.withLock { $0[ObjectIdentifier(connection)] = handler }
    }

    func untrack(_ connection: Connection) {
        _ = self.connections.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }
}
