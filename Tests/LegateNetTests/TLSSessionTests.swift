import Foundation
import Testing
@testable import LegateNet
import LegateTestSupport

/// Shuttles bytes between two in-memory sessions until both finish the handshake.
private func interact(_ client: TLSSession, _ server: TLSSession) -> (TLSResult, TLSResult) {
    var clientResult = client.handshake(feeding: UnsafeRawBufferPointer(start: nil, count: 0))
    var serverResult = TLSResult.wantRead
    for _ in 0..<10 {
        let toServer = client.takeOutput()
        if !toServer.isEmpty { serverResult = toServer.withUnsafeBytes { server.handshake(feeding: $0) } }
        let toClient = server.takeOutput()
        if !toClient.isEmpty { clientResult = toClient.withUnsafeBytes { client.handshake(feeding: $0) } }
        if case .failed = clientResult { break }
        if case .failed = serverResult { break }
        if clientResult == .complete, serverResult == .complete { break }
    }
    return (clientResult, serverResult)
}

@Suite struct TLSSessionTests {
    @Test func handshakeInMemoryNegotiatesALPNAndMovesData() throws {
        let files = try TestCertificates.make()
        let server = try TLSSession(server: TestCertificates.serverContext(files))
        let client = try TLSSession(client: TestCertificates.clientContext(files), serverName: "localhost")
        let (clientResult, serverResult) = interact(client, server)
        #expect(clientResult == .complete)
        #expect(serverResult == .complete)
        #expect(client.negotiatedALPN == "legate/1")
        #expect(server.negotiatedALPN == "legate/1")
        #expect(client.peerCertificateSubject?.contains("localhost") == true)

        #expect(client.write(UnsafeRawBufferPointer(start: nil, count: 0)) == .complete)
        let message = Array("heartbeat".utf8)
        #expect(message.withUnsafeBytes { client.write($0) } == .complete)
        let ciphertext = client.takeOutput()
        #expect(ciphertext.count > message.count)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        var received: [UInt8] = []
        let result = ciphertext.withUnsafeBytes {
            server.feed($0, scratch: scratch) { chunk in
                received.append(contentsOf: chunk)
                return true
            }
        }
        #expect(result == .wantRead)
        #expect(received == message)
        // Fed byte by byte, the same record still arrives whole.
        #expect(message.withUnsafeBytes { server.write($0) } == .complete)
        var back: [UInt8] = []
        let fromServer = server.takeOutput()
        for byte in fromServer {
            let result = [byte].withUnsafeBytes {
                client.feed($0, scratch: scratch) { chunk in
                    back.append(contentsOf: chunk)
                    return true
                }
            }
            #expect(result == .wantRead)
        }
        #expect(back == message)
    }

    @Test(arguments: ["wrong.example", "10.9.8.7"])
    func clientRejectsWrongServerName(_ name: String) throws {
        let files = try TestCertificates.make()
        let server = try TLSSession(server: TestCertificates.serverContext(files))
        let client = try TLSSession(client: TestCertificates.clientContext(files), serverName: name)
        let (clientResult, _) = interact(client, server)
        guard case .failed(.verificationFailed(let reason)) = clientResult else {
            Issue.record("expected a verification failure, got \(clientResult)")
            return
        }
        #expect(reason.contains("mismatch"))
    }

    @Test func clientRejectsUnknownCA() throws {
        let files = try TestCertificates.make()
        let other = try TestCertificates.make()
        let server = try TLSSession(server: TestCertificates.serverContext(files))
        let client = try TLSSession(client: TestCertificates.clientContext(other), serverName: "localhost")
        let (clientResult, _) = interact(client, server)
        guard case .failed(.verificationFailed) = clientResult else {
            Issue.record("expected a verification failure, got \(clientResult)")
            return
        }
    }

    @Test func garbageInsteadOfClientHelloFails() throws {
        let files = try TestCertificates.make()
        let server = try TLSSession(server: TestCertificates.serverContext(files))
        let garbage = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let result = garbage.withUnsafeBytes { server.handshake(feeding: $0) }
        guard case .failed(.handshakeFailed) = result else {
            Issue.record("expected a handshake failure, got \(result)")
            return
        }
    }

    @Test func missingFilesAreReportedWithPath() throws {
        let configuration = TLSServerConfiguration(certificateChainFile: "/nonexistent/cert.pem",
                                                   privateKeyFile: "/nonexistent/key.pem")
        #expect(throws: TLSError.file(path: "/nonexistent/cert.pem", problem: "file missing or not readable")) {
            _ = try TLSServerContext(configuration)
        }
    }

    @Test func privateKeysAreMode0600() throws {
        let files = try TestCertificates.make()
        let attributes = try FileManager.default.attributesOfItem(atPath: files.privateKeyFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
