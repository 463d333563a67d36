// Per-connection limits and the handler protocol every connection reports to.

/// Per-connection limits (slow or silent peers cannot hold resources).
public struct ConnectionLimits: Sendable, Equatable {
    /// Connect + TLS handshake must finish within this (default 10 s).
    public var handshakeTimeout: Duration = .seconds(10)
    /// Above this many unsent bytes the connection reports not writable (default 256 KiB); 4x this closes it.
    public var maxBufferedWriteBytes: Int = 256 << 10
    /// A peer that does not read our pending output for this long is closed (default 30 s).
    public var writeTimeout: Duration = .seconds(30)
    /// 10 s handshake, 256 KiB write buffer (1 MiB hard cap), 30 s write timeout.
    public static let defaults = ConnectionLimits()

    /// Builds limits; every argument defaults to `defaults`.
    public init(handshakeTimeout: Duration = .seconds(10), maxBufferedWriteBytes: Int = 256 << 10,
                writeTimeout: Duration = .seconds(30)) {
        self.handshakeTimeout = handshakeTimeout
        self.maxBufferedWriteBytes = maxBufferedWriteBytes
        self.writeTimeout = writeTimeout
    }

    /// Output beyond this closes the connection with `.writeBufferOverflow`.
    var hardWriteCap: Int { self.maxBufferedWriteBytes.multipliedReportingOverflow(by: 4).partialValue }
}

/// Receives a connection's events; every call happens on `connection.loop`.
public protocol ConnectionHandler: AnyObject {
    /// The TLS handshake finished; the connection is writable.
    func connectionActive(_ connection: Connection)
    /// Decrypted bytes from the peer, valid only during the call.
    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer)
    /// `connection.isWritable` changed.
    func connectionWritabilityChanged(_ connection: Connection)
    /// The connection closed; called exactly once (nil = orderly). Not called when a client connect fails.
    func connectionClosed(_ connection: Connection, error: NetError?)
}
