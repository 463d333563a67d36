import Foundation
import LegateManager
import LegateNet
import LegateTestSupport
import Testing

/// The HTTP endpoint against hostile and awkward clients: pipelining, garbage, oversize heads, slow and idle
/// clients, and more clients than it admits, while the delegate port keeps working.
@Suite(.serialized) struct HTTPEndpointTests {
    static func harness(_ configure: (inout HTTPEndpointConfiguration) -> Void = { _ in }) throws -> ManagerHarness {
        try ManagerHarness {
            var http = HTTPEndpointConfiguration(port: 0, plain: true)
            configure(&http)
            $0.http = http
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let harness = try Self.harness()
        let port = try #require(harness.manager.httpPort)
        let socket = try #require(PlainSocket(port: port))
        socket.send(
            Array(
                ("GET /livez HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "HEAD /readyz HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /livez HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    .utf8))
        var pending: [UInt8] = []
        let answers = (0..<4).compactMap { socket.readResponse(pending: &pending, headOnly: $0 == 2) }
        #expect(answers.map(\.status) == [200, 404, 200, 200])
        #expect(answers.map(\.body) == ["ok\n", "no such path: /nope\n", "", "ok\n"], "HEAD has no body")
        #expect(answers[3].headers["connection"] == "close")
        #expect(socket.awaitClose(timeout: .seconds(5)))
    }

    @Test func garbageAndOversizeHeadsGetAnErrorAndAClose() throws {
        let harness = try Self.harness { $0.limits.maxHeaderBytes = 1024 }
        let port = try #require(harness.manager.httpPort)
        let garbage = try #require(PlainSocket(port: port))
        let refused = try #require(garbage.exchange("\u{16}\u{03}\u{01} garbage\r\n\r\n"))
        #expect(refused.status == 400)
        #expect(garbage.awaitClose(timeout: .seconds(5)))

        let big = try #require(PlainSocket(port: port))
        let answer = try #require(
            big.exchange("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "x", count: 4096) + "\r\n\r\n"))
        #expect(answer.status == 431)
        #expect(big.awaitClose(timeout: .seconds(5)))

        let long = try #require(PlainSocket(port: port))
        let tooLong = try #require(long.exchange("GET /" + String(repeating: "a", count: 10_000) + " HTTP/1.1\r\n"))
        #expect(tooLong.status == 414)
    }

    @Test func aSlowClientGetsRequestTimeoutAndAnIdleOneIsClosed() throws {
        let harness = try Self.harness {
            $0.requestTimeout = .seconds(1)
            $0.idleTimeout = .seconds(1)
        }
        let port = try #require(harness.manager.httpPort)
        let slow = try #require(PlainSocket(port: port))
        let started = ContinuousClock.now
        slow.send(Array("GET /metrics HTTP/1.1\r\nHost: a\r\n".utf8))  // and never the blank line
        var pending: [UInt8] = []
        let timedOut = try #require(slow.readResponse(pending: &pending))
        #expect(timedOut.status == 408)
        #expect(slow.awaitClose(timeout: .seconds(5)))
        #expect(ContinuousClock.now - started >= .seconds(1))

        let silent = try #require(PlainSocket(port: port))
        var nothing: [UInt8] = []
        #expect(silent.readResponse(pending: &nothing)?.status == 408, "a silent client's first request is due too")
        #expect(silent.awaitClose(timeout: .seconds(5)))

        let idle = try #require(PlainSocket(port: port))
        #expect(idle.exchange("GET /livez HTTP/1.1\r\nHost: a\r\n\r\n")?.status == 200)
        #expect(idle.awaitClose(timeout: .seconds(5)), "an idle keep-alive connection is closed")
    }

    @Test func clientsBeyondTheCapAreRefusedWhileDelegatesStillRegister() throws {
        let harness = try Self.harness { $0.maxConnections = 2 }
        let port = try #require(harness.manager.httpPort)
        let holders = (0..<2).compactMap { _ in PlainSocket(port: port) }
        #expect(holders.count == 2)
        for holder in holders { holder.send(Array("GET /livez HTTP/1.1\r\n".utf8)) }  // half a request each
        #expect(PlainSocket.sendAndAwaitClose(port: port, bytes: Array("GET /livez HTTP/1.1\r\nHost: a\r\n\r\n".utf8)))
        let (client, events) = try harness.startDelegate(harness.delegateConfiguration(name: "beside-http"))
        #expect(events.first(where: \.isRegistered) != nil)
        #expect(events.first(where: \.isHeartbeat) != nil)
        client.stop()
    }
}
