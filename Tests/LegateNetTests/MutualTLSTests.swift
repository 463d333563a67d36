import Dispatch
import Foundation
import Testing
@testable import LegateNet
import LegateTestSupport

/// Mutual TLS over loopback: the server requires a certificate signed by its client CA.
@Suite struct MutualTLSTests {
    func startServer(_ files: DevCertificates.Files, recorders: ServerRecorders) throws -> (Listener, Int) {
        let tls = try TLSServerContext(TLSServerConfiguration(
            certificateChainFile: files.certificateFile, privateKeyFile: files.privateKeyFile,
            clientCAFile: files.caFile, requireClientCertificate: true))
        let listener = Listener(host: "127.0.0.1", port: 0, tls: tls, group: EventLoopGroup(loopCount: 1),
                                limits: .defaults, maxConnections: 10, makeHandler: recorders.handlerFactory)
        return (listener, try listener.start())
    }

    @Test func clientCertificateIsVerifiedAndVisible() throws {
        let files = try TestCertificates.make()
        let directory = NSTemporaryDirectory() + "legate-net-client-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let client = try DevCertificates.generateClient(in: directory, commonName: "delegate-7", signedBy: files)
        let recorders = ServerRecorders()
        let (listener, port) = try startServer(files, recorders: recorders)
        defer { listener.stop() }
        let tls = try TLSClientContext(TLSClientConfiguration(
            caFile: files.caFile, certificateFile: client.certificateFile, privateKeyFile: client.privateKeyFile))
        let recorder = Recorder(expectBytes: 4)
        guard case .success(let connection) = connectSync(port: port, tls: tls, loop: EventLoop(), handler: recorder)
        else {
            Issue.record("mutual TLS connect failed")
            return
        }
        connection.loop.execute { connection.write(Array("ping".utf8)) }
        #expect(wait(recorder.receivedSignal))
        #expect(wait(recorders.created))
        #expect(recorders.first?.snapshot.peerSubject?.contains("delegate-7") == true)
        connection.loop.execute { connection.close() }
        #expect(wait(recorder.closedSignal))
    }

    @Test func serverRefusesClientWithoutCertificate() throws {
        let files = try TestCertificates.make()
        let recorders = ServerRecorders()
        let (listener, port) = try startServer(files, recorders: recorders)
        defer { listener.stop() }
        let recorder = Recorder()
        let tls = try TestCertificates.clientContext(files)
        let result = connectSync(port: port, tls: tls, loop: EventLoop(), handler: recorder)
        if case .success = result {
            // TLS 1.3: the client finishes first and learns of the refusal from the server's alert.
            #expect(wait(recorder.closedSignal))
            #expect(recorder.snapshot.closeError != nil)
        }
        #expect(wait(recorders.created))
        guard let serverSide = recorders.first else { return }
        #expect(wait(serverSide.closedSignal))
        guard case .tls = serverSide.snapshot.closeError else {
            Issue.record("expected a TLS error on the server, got \(String(describing: serverSide.snapshot.closeError))")
            return
        }
        #expect(serverSide.snapshot.active == false)
    }

    @Test func writesDuringReceiveAreCoalescedIntoOneRecord() throws {
        let files = try TestCertificates.make()
        let recorders = ServerRecorders {
            let recorder = Recorder()
            recorder.tripleReply = true
            return recorder
        }
        let listener = Listener(host: "127.0.0.1", port: 0, tls: try TestCertificates.serverContext(files),
                                group: EventLoopGroup(loopCount: 1), limits: .defaults, maxConnections: 10,
                                makeHandler: recorders.handlerFactory)
        let port = try listener.start()
        defer { listener.stop() }
        let recorder = Recorder(expectBytes: 13)
        guard case .success(let connection) = connectSync(port: port, tls: try TestCertificates.clientContext(files),
                                                          loop: EventLoop(), handler: recorder)
        else {
            Issue.record("connect failed")
            return
        }
        connection.loop.execute { connection.write(Array("go".utf8)) }
        #expect(wait(recorder.receivedSignal))
        #expect(recorder.snapshot.received == Array("one-two-three".utf8))
        // One SSL_write -> one TLS record -> one plaintext chunk on the client.
        #expect(recorder.snapshot.chunks == 1)
    }
}
