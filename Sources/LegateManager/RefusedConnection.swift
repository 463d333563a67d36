import LegateNet
import LegateWire

/// A connection the manager will not serve (e.g. over the per-address rate): as soon as TLS is up it gets an
/// ERROR frame on stream 0 saying why, and is closed.
final class RefusedConnection: ConnectionHandler {
    private let code: StatusCode
    private let message: String

    init(code: StatusCode, message: String) {
        self.code = code
        self.message = message
    }

    func connectionActive(_ connection: Connection) {
        var status = Status()
        status.code = self.code
        status.message = self.message
        var bytes: [UInt8] = []
        FrameEncoder.encode(.error, method: 0, streamID: 0, message: status, into: &bytes)
        connection.write(bytes)
        connection.close(flushFirst: true)
    }

    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {}

    func connectionWritabilityChanged(_ connection: Connection) {}

    func connectionClosed(_ connection: Connection, error: NetError?) {}
}
