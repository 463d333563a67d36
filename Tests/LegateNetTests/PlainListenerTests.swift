import Foundation
import LegateTestSupport
import Synchronization
import Testing
@testable import LegateNet

@Suite struct PlainListenerTests {
    /// A listener without a TLS context serves plain TCP: bytes pass through unencrypted both ways, and an
    /// orderly close from the server flushes its output first.
    @Test func plainConnectionsEchoAndCloseOrderly() throws {
        let group = EventLoopGroup(loopCount: 1)
        let server = Mutex<Connection?>(nil)
        let recorders = ServerRecorders {
            Recorder(echo: true, expectBytes: 11) { _, connection in server.withLock { $0 = connection } }
        }
        let listener = Listener(
            host: "127.0.0.1", port: 0, tls: nil, group: group, limits: .defaults, maxConnections: 4,
            makeHandler: recorders.handlerFactory)
        let port = try listener.start()
        defer { listener.stop() }
        let client = try #require(PlainSocket(port: port, receiveTimeout: .seconds(10)))
        client.send(Array("hello plain".utf8))
        var echoed: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while echoed.count < 11 {
            let count = buffer.withUnsafeMutableBytes { read(client.fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            echoed += buffer[0..<count]
        }
        #expect(String(decoding: echoed, as: UTF8.self) == "hello plain")
        let recorder = try #require(recorders.first)
        #expect(wait(recorder.receivedSignal))
        #expect(recorder.snapshot.active)
        #expect(recorder.snapshot.alpn == nil)
        let connection = try #require(server.withLock { $0 })
        #expect(!connection.isEncrypted)
        connection.loop.execute {
            connection.write(Array("bye".utf8))
            connection.close(flushFirst: true)
        }
        #expect(String(decoding: client.readToEnd(), as: UTF8.self) == "bye")
        #expect(wait(recorder.closedSignal))
        #expect(recorder.snapshot.closeError == nil)
        #expect(listener.connectionCount == 0)
    }
}
