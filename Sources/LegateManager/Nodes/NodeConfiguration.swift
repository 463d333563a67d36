/// How a manager takes part in a fleet of managers sharing one store: its identity, the address it advertises,
/// its lease, and how often it looks at its control queue.
public struct NodeConfiguration: Sendable, Equatable {
    /// The node's id; nil reads (or on first start creates) the `node-id` file in the data directory.
    public var nodeID: String?
    /// The `host:port` other managers and delegates reach this node at; nil uses the listening address.
    public var advertisedAddress: String?
    /// A node whose lease was not renewed for this long is removed by any live node, and its delegates'
    /// sessions are cleared. Default 15 s.
    public var lease: Duration = .seconds(15)
    /// How often the lease is renewed and expired nodes are looked for. Default 2 s.
    public var renewInterval: Duration = .seconds(2)
    /// How often the control queue is read (a notification wakes it sooner). Default 250 ms.
    public var pollInterval: Duration = .milliseconds(250)
    /// How long an admin action waits for other nodes to report what they reached. Default 3 s.
    public var outcomeDeadline: Duration = .seconds(3)

    /// The defaults.
    public init() {}

    /// Refuses timings that cannot work, naming the setting.
    func validate() throws(ManagerError) {
        guard self.renewInterval >= .milliseconds(10), self.lease > self.renewInterval * 2 else {
            throw .invalidConfiguration("the node lease must be longer than two renew intervals")
        }
        guard self.pollInterval >= .milliseconds(10), self.pollInterval <= .seconds(1) else {
            throw .invalidConfiguration("the control poll interval must be within 10 ms...1 s")
        }
        if let nodeID, !NodeIdentity.isValid(nodeID) {
            throw .invalidConfiguration(
                "node id \"\(nodeID.prefix(80))\" must be 1...64 letters, digits, '-', '_' or '.'")
        }
    }
}

/// Where a node's id comes from.
enum NodeIdentity {
    /// The file in the data directory holding the node id across restarts.
    static let fileName = "node-id"

    /// Whether `id` can name a node (it is also part of a notification channel name).
    static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.utf8.allSatisfy { byte in
                let letter = byte | 0x20
                return (0x30...0x39).contains(byte) || (0x61...0x7A).contains(letter) || [0x2D, 0x5F, 0x2E].contains(byte)
            }
    }
}
