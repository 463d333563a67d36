import Dispatch
import Foundation
import Synchronization
import Testing
@testable import LegateNet
import LegateTestSupport

/// Real sockets on loopback, port 0, with TLS. Every wait has a deadline.
@Suite struct LoopbackTests {
    struct Server {
        let listener: Listener
        let port: Int
        let recorders: ServerRecorders
    }

    func startServer(group: EventLoopGroup, files: DevCertificates.Files, host: String = "127.0.0.1",
                     limits: ConnectionLimits = .defaults, maxConnections: Int = 1000,
                     recorders: ServerRecorders = ServerRecorders()) throws -> Server {
        let tls = try TestCertificates.serverContext(files)
        let listener = Listener(host: host, port: 0, tls: tls, group: group, limits: limits,
                                maxConnections: maxConnections, makeHandler: recorders.handlerFactory)
        let port = try listener.start()
        return Server(listener: listener, port: port, recorders: recorders)
    }

    @Test func echoOverManyConnections() throws {
        let files = try TestCertificates.make()
        let group = EventLoopGroup(loopCount: 2)
        let server = try startServer(group: group, files: files)
        defer { server.listener.stop() }
        #expect(server.port > 0)
        let tls = try TestCertificates.clientContext(files)
        let clients = EventLoopGroup(loopCount: 2)
        var pairs: [(Recorder, Connection, [UInt8])] = []
        for _ in 0..<40 {
            let payload = randomBytes(3000)
            let recorder = Recorder(expectBytes: payload.count)
            guard case .success(let connection) = connectSync(
                port: server.port, tls: tls, serverName: "localhost", loop: clients.next(), handler: recorder)
            else {
                Issue.record("connect failed")
                return
            }
            #expect(connection.negotiatedALPN == "legate/1")
            connection.loop.execute { connection.write(payload) }
            pairs.append((recorder, connection, payload))
        }
        for (recorder, connection, payload) in pairs {
            #expect(wait(recorder.receivedSignal))
            let isWhole = recorder.snapshot.received == payload  // a Bool: a failing #expect would diff megabytes
            #expect(isWhole)
            connection.loop.execute { connection.close() }
            #expect(wait(recorder.closedSignal))
            #expect(recorder.snapshot.closeError == nil)
        }
        #expect(server.recorders.first?.snapshot.alpn == "legate/1")
    }

    @Test func largeWritesArriveWholeThroughBackpressure() throws {
        let files = try TestCertificates.make()
        let group = EventLoopGroup(loopCount: 1)
        let limits = ConnectionLimits(maxBufferedWriteBytes: 64 << 10)
        let server = try startServer(group: group, files: files, limits: limits)
        defer { server.listener.stop() }
        let payload = randomBytes(6 << 20)
        let recorder = Recorder(expectBytes: payload.count)
        let loop = EventLoop()
        guard case .success(let connection) = connectSync(
            port: server.port, tls: try TestCertificates.clientContext(files), loop: loop, handler: recorder,
            limits: limits)
        else {
            Issue.record("connect failed")
            return
        }
        connection.loop.execute { recorder.stream(payload, on: connection) }
        #expect(wait(recorder.receivedSignal, seconds: 60))
        let received = recorder.snapshot.received
        #expect(received.count == payload.count)
        let isWhole = received == payload  // a Bool: a failing #expect would diff megabytes for minutes
        #expect(isWhole)
        #expect(recorder.snapshot.closed == false)
    }

    @Test func closeFlushesPendingOutput() throws {
        let files = try TestCertificates.make()
        let payload = randomBytes(300 << 10)
        let recorders = ServerRecorders {
            Recorder(onActive: { recorder, connection in recorder.stream(payload, on: connection, closeAfter: true) })
        }
        let server = try startServer(group: EventLoopGroup(loopCount: 1), files: files, recorders: recorders)
        defer { server.listener.stop() }
        let recorder = Recorder(expectBytes: payload.count)
        guard case .success = connectSync(
            port: server.port, tls: try TestCertificates.clientContext(files), loop: EventLoop(), handler: recorder)
        else {
            Issue.record("connect failed")
            return
        }
        #expect(wait(recorder.closedSignal))
        let isWhole = recorder.snapshot.received == payload  // a Bool: a failing #expect would diff every byte
        #expect(isWhole)
        #expect(recorder.snapshot.closeError == nil)
    }

    @Test func peerThatStopsReadingIsClosedByWriteTimeout() throws {
        let files = try TestCertificates.make()
        let limits = ConnectionLimits(maxBufferedWriteBytes: 64 << 10, writeTimeout: .milliseconds(300))
        let flood = randomBytes(32 << 20)
        let recorders = ServerRecorders {
            Recorder(onActive: { recorder, connection in recorder.stream(flood, on: connection) })
        }
        let server = try startServer(group: EventLoopGroup(loopCount: 1), files: files, limits: limits,
                                     recorders: recorders)
        defer { server.listener.stop() }
        guard let raw = PlainSocket(port: server.port) else {
            Issue.record("raw connect failed")
            return
        }
        let session = try TLSSession(client: TestCertificates.clientContext(files), serverName: "127.0.0.1")
        #expect(raw.handshake(session))
        #expect(wait(recorders.created))
        guard let serverSide = recorders.first else { return }
        #expect(wait(serverSide.closedSignal, seconds: 30))
        #expect(serverSide.snapshot.closeError == .writeTimeout(.milliseconds(300)))
        _ = raw
    }

    @Test func garbageInsteadOfTLSClosesWithError() throws {
        let files = try TestCertificates.make()
        let server = try startServer(group: EventLoopGroup(loopCount: 1), files: files)
        defer { server.listener.stop() }
        guard let raw = PlainSocket(port: server.port) else {
            Issue.record("raw connect failed")
            return
        }
        raw.send(Array("GET / HTTP/1.1\r\nHost: legate\r\n\r\n".utf8))
        #expect(wait(server.recorders.created))
        guard let serverSide = server.recorders.first else { return }
        #expect(wait(serverSide.closedSignal))
        guard case .tls(.handshakeFailed) = serverSide.snapshot.closeError else {
            Issue.record("expected a handshake failure, got \(String(describing: serverSide.snapshot.closeError))")
            return
        }
        _ = raw.readToEnd()  // the server closed: EOF, no hang
        #expect(serverSide.snapshot.active == false)
    }

    @Test func silentClientHitsHandshakeDeadline() throws {
        let files = try TestCertificates.make()
        let limits = ConnectionLimits(handshakeTimeout: .milliseconds(200))
        let server = try startServer(group: EventLoopGroup(loopCount: 1), files: files, limits: limits)
        defer { server.listener.stop() }
        guard let raw = PlainSocket(port: server.port) else {
            Issue.record("raw connect failed")
            return
        }
        #expect(wait(server.recorders.created))
        guard let serverSide = server.recorders.first else { return }
        #expect(wait(serverSide.closedSignal))
        #expect(serverSide.snapshot.closeError == .handshakeTimeout(.milliseconds(200)))
        #expect(raw.readToEnd().isEmpty)
        #expect(server.listener.connectionCount == 0)
    }

    @Test func maxConnectionsRefusesTheExtraOne() throws {
        let files = try TestCertificates.make()
        let server = try startServer(group: EventLoopGroup(loopCount: 1), files: files, maxConnections: 2)
        defer { server.listener.stop() }
        let tls = try TestCertificates.clientContext(files)
        let loop = EventLoop()
        var open: [Connection] = []
        for _ in 0..<2 {
            guard case .success(let connection) = connectSync(port: server.port, tls: tls, loop: loop,
                                                              handler: Recorder())
            else {
                Issue.record("connect failed")
                return
            }
            open.append(connection)
        }
        #expect(server.listener.connectionCount == 2)
        let third = connectSync(port: server.port, tls: tls, loop: loop, handler: Recorder())
        guard case .failure = third else {
            Issue.record("third connection should fail: \(String(describing: third)) refused \(server.listener.refusedCount) count \(server.listener.connectionCount)")
            return
        }
        #expect(server.listener.refusedCount == 1)
        #expect(server.listener.connectionCount == 2)
        _ = open
    }

    @Test func clientRejectsWrongNameAndWrongCA() throws {
        let files = try TestCertificates.make()
        let server = try startServer(group: EventLoopGroup(loopCount: 1), files: files)
        defer { server.listener.stop() }
        let loop = EventLoop()
        let wrongName = connectSync(port: server.port, tls: try TestCertificates.clientContext(files),
                                    serverName: "evil.example", loop: loop, handler: Recorder())
        guard case .failure(.tls(.verificationFailed)) = wrongName else {
            Issue.record("expected verification failure, got \(String(describing: wrongName))")
            return
        }
        let otherCA = try TestCertificates.clientContext(TestCertificates.make())
        let wrongCA = connectSync(port: server.port, tls: otherCA, loop: loop, handler: Recorder())
        guard case .failure(.tls(.verificationFailed)) = wrongCA else {
            Issue.record("expected verification failure, got \(String(describing: wrongCA))")
            return
        }
    }

    @Test func ipv6LoopbackAndSessionResumption() throws {
        let files = try TestCertificates.make()
        let server: Server
        do {
            server = try startServer(group: EventLoopGroup(loopCount: 1), files: files, host: "::1")
        } catch {
            return  // no IPv6 on this host
        }
        defer { server.listener.stop() }
        let tls = try TestCertificates.clientContext(files)
        let loop = EventLoop()
        for round in 0..<2 {
            let recorder = Recorder(expectBytes: 5)
            guard case .success(let connection) = connectSync(port: server.port, host: "::1", tls: tls, loop: loop,
                                                              handler: recorder)
            else {
                Issue.record("connect over ::1 failed")
                return
            }
            #expect(connection.peerAddress == "[::1]:\(server.port)")
            if round == 1 { #expect(connection.isSessionResumed) }
            connection.loop.execute { connection.write(Array("hello".utf8)) }
            #expect(wait(recorder.receivedSignal))
            connection.loop.execute { connection.close() }
            #expect(wait(recorder.closedSignal))
        }
    }
}
