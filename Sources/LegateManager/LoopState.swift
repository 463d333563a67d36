import LegateCore
import LegateNet
import LegateWire

/// What one event loop of the manager owns: its connections and a scratch buffer for encoding frames.
///
/// `@unchecked Sendable`: every member is read and written only on `loop.queue`; other threads reach it
/// through `loop.execute`.
final class LoopState: @unchecked Sendable {
    let loop: EventLoop
    private var connections: [ObjectIdentifier: ManagerConnection] = [:]
    /// Reused for every outgoing frame on this loop, so answering a heartbeat allocates no buffer.
    var scratch: [UInt8] = []
    /// This loop's delegate-path counters (heartbeats, registrations, auth failures); a scrape sums the loops.
    let metrics = LoopMetrics()

    init(loop: EventLoop) {
        self.loop = loop
        self.scratch.reserveCapacity(4096)
    }

    var connectionCount: Int { self.connections.count }

    func add(_ connection: ManagerConnection) {
        self.connections[ObjectIdentifier(connection)] = connection
    }

    func remove(_ connection: ManagerConnection) {
        self.connections[ObjectIdentifier(connection)] = nil
    }

    /// Checks every connection's deadlines.
    func tick(now: MonotonicInstant) {
        for connection in Array(self.connections.values) {
            connection.tick(now: now)
        }
    }

    /// Heartbeat times that changed since the last call.
    func collectHeartbeats() -> [HeartbeatMark] {
        self.connections.values.compactMap { $0.takeHeartbeatMark() }
    }

    /// Sends GOAWAY on every connection of this loop.
    func startDraining(reason: String, reconnectAfter: Duration) {
        for connection in Array(self.connections.values) {
            connection.startDraining(reason: reason, reconnectAfter: reconnectAfter)
        }
    }

    /// Encodes `message` as one frame into the scratch buffer and writes it to `connection`.
    func send(
        _ type: FrameType, method: UInt16, streamID: UInt32, message: some ProtoMessage, on connection: Connection
    ) {
        self.scratch.removeAll(keepingCapacity: true)
        FrameEncoder.encode(type, method: method, streamID: streamID, message: message, into: &self.scratch)
        self.scratch.withUnsafeBytes { connection.write($0) }
    }

    /// Encodes `frame` into the scratch buffer and writes it to `connection`.
    func send(_ frame: Frame, on connection: Connection) {
        self.scratch.removeAll(keepingCapacity: true)
        FrameEncoder.encode(frame, into: &self.scratch)
        self.scratch.withUnsafeBytes { connection.write($0) }
    }
}
