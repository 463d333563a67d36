#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import LegateTestSupport
import Testing
@testable import LegateNet

/// After a connection storm the listener hands freed heap back to the system, once the count has fallen well
/// below its peak and not more often than the policy allows.
@Suite struct MemoryTrimmerTests {
    static let policy = TrimPolicy(minimumPeak: 100, fallDivisor: 4, minimumInterval: .seconds(10))

    @Test func trimsOnceTheCountFallsToAQuarterOfItsPeak() {
        var tracker = TrimTracker(policy: Self.policy)
        let t0 = ContinuousClock.now
        for count in 1...400 { #expect(tracker.countChanged(count, now: t0) == .none) }
        #expect(tracker.countChanged(101, now: t0 + .seconds(1)) == .none)
        #expect(tracker.countChanged(100, now: t0 + .seconds(2)) == .trim)
        // The peak starts again from the count at the trim.
        #expect(tracker.peak == 100)
        #expect(tracker.countChanged(25, now: t0 + .seconds(3)) == .checkAgain(at: t0 + .seconds(12)))
        // One recheck is pending: further closes do not schedule more.
        #expect(tracker.countChanged(24, now: t0 + .seconds(4)) == .none)
        #expect(tracker.recheck(now: t0 + .seconds(12)) == .trim)
    }

    @Test func smallPeaksNeverTrim() {
        var tracker = TrimTracker(policy: Self.policy)
        let t0 = ContinuousClock.now
        for count in 1...99 { #expect(tracker.countChanged(count, now: t0) == .none) }
        #expect(tracker.countChanged(0, now: t0 + .seconds(60)) == .none)
    }

    @Test func aRecheckAfterTheCountRoseAgainDoesNotTrim() {
        var tracker = TrimTracker(policy: TrimPolicy(minimumPeak: 100, fallDivisor: 4, minimumInterval: .seconds(10)))
        let t0 = ContinuousClock.now
        _ = tracker.countChanged(400, now: t0)
        #expect(tracker.countChanged(0, now: t0) == .trim)
        _ = tracker.countChanged(400, now: t0 + .seconds(1))
        #expect(tracker.countChanged(10, now: t0 + .seconds(2)) == .checkAgain(at: t0 + .seconds(10)))
        _ = tracker.countChanged(300, now: t0 + .seconds(3))
        #expect(tracker.recheck(now: t0 + .seconds(10)) == .none)
    }

    /// Raw TCP connections that sent a real ClientHello and then went silent (half-open TLS).
    static func halfOpen(_ count: Int, port: Int, hello: [UInt8]) -> [PlainSocket] {
        (0..<count).compactMap { _ in
            let socket = PlainSocket(port: port)
            socket?.send(hello)
            return socket
        }
    }

    static func clientHello(_ files: DevCertificates.Files) throws -> [UInt8] {
        let session = try TLSSession(client: try TestCertificates.clientContext(files), serverName: "localhost")
        _ = [UInt8]().withUnsafeBytes { session.handshake(feeding: $0) }
        return session.takeOutput()
    }

    /// Waits (bounded) until the listener holds `count` connections.
    static func waitForCount(_ listener: Listener, _ count: Int) -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        let tick = DispatchSemaphore(value: 0)
        while listener.connectionCount != count {
            guard ContinuousClock.now < deadline else { return false }
            _ = tick.wait(timeout: .now() + .milliseconds(5))
        }
        return true
    }

    @Test func aStormOfHalfOpenConnectionsEndsInATrim() throws {
        let files = try TestCertificates.make()
        let events = Mailbox<ListenerEvent>()
        let policy = TrimPolicy(minimumPeak: 40, fallDivisor: 4, minimumInterval: .zero)
        let listener = Listener(host: "127.0.0.1", port: 0, tls: try TestCertificates.serverContext(files),
                                group: EventLoopGroup(loopCount: 2), limits: .defaults, maxConnections: 1000,
                                onEvent: { events.put($0) }, trimPolicy: policy, makeHandler: { _ in Recorder() })
        let port = try listener.start()
        defer { listener.stop() }
        var sockets = Self.halfOpen(48, port: port, hello: try Self.clientHello(files))
        #expect(sockets.count == 48)
        #expect(Self.waitForCount(listener, 48))
        #expect(listener.memoryTrimmer?.trimCount == 0)
        sockets.removeAll()  // closes them
        let returned = events.first(timeout: .seconds(20)) {
            if case .memoryReturned = $0 { return true }
            return false
        }
        guard case .memoryReturned(let before, let after) = returned else {
            Issue.record("no memory returned after the storm")
            return
        }
        #expect(before > 0 && after > 0)
        #expect(listener.memoryTrimmer?.trimCount == 1)
    }

    /// The storm of the field report, for figures: `LEGATE_MEASURE_RSS=off|on swift test --filter residentSize`.
    /// Six waves of 2,500 half-open TLS connections; `off`: no trimming, then the resident size before and after
    /// one trim by hand; `on`: the default policy, which trims after each wave.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LEGATE_MEASURE_RSS"] != nil))
    func residentSizeAfterWavesOfHalfOpenConnections() throws {
        let files = try TestCertificates.make()
        let trimming = ProcessInfo.processInfo.environment["LEGATE_MEASURE_RSS"] == "on"
        let events = Mailbox<ListenerEvent>()
        let listener = Listener(host: "127.0.0.1", port: 0, tls: try TestCertificates.serverContext(files),
                                group: EventLoopGroup(loopCount: 2), limits: .defaults, maxConnections: 20_000,
                                onEvent: { events.put($0) }, trimPolicy: trimming ? .defaults : nil,
                                makeHandler: { _ in Recorder() })
        let port = try listener.start()
        defer { listener.stop() }
        let hello = try Self.clientHello(files)
        let megabyte = Double(1 << 20)
        print(String(format: "rss at start: %.1f MB", Double(System.residentBytes()) / megabyte))
        for wave in 1...6 {
            var sockets = Self.halfOpen(2500, port: port, hello: hello)
            #expect(Self.waitForCount(listener, sockets.count))
            let peak = System.residentBytes()
            sockets.removeAll()  // closes them
            #expect(Self.waitForCount(listener, 0))
            if trimming {
                // The policy trims at a quarter of the peak; wait for it (rate limit: at most 10 s).
                let trimmed = events.first(timeout: .seconds(15)) {
                    if case .memoryReturned = $0 { return true }
                    return false
                }
                #expect(trimmed != nil)
            }
            print(String(format: "wave %d: %d connections, rss %.1f MB open, %.1f MB after close", wave,
                         sockets.count, Double(peak) / megabyte, Double(System.residentBytes()) / megabyte))
        }
        let before = System.residentBytes()
        #expect(System.returnFreedMemory())
        let after = System.residentBytes()
        print(String(format: "idle: rss %.1f MB before trim, %.1f MB after", Double(before) / megabyte,
                     Double(after) / megabyte))
        if !trimming { #expect(after < before) }
    }
}
