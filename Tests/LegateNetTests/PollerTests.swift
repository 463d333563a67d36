import Dispatch
import Glibc
import Synchronization
import Testing
@testable import LegateNet
import LegateTestSupport

/// One end of a socketpair registered in a Poller: counts its events, drains its fd, runs `onEvent`.
private final class Probe: PollTarget {
    let fd: Int32
    let peer: Int32
    var token: PollToken?
    var events = 0
    var onEvent: ((Probe) -> Void)?
    /// Events to answer "read budget spent, data left" without reading (the fd stays ready).
    var busyEvents = 0

    init() throws {
        var fds: [Int32] = [-1, -1]
        let rc = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds)
        try #require(rc == 0)
        self.fd = fds[0]
        self.peer = fds[1]
    }

    func pollEvents(_ events: UInt32) -> Bool {
        self.events += 1
        if self.busyEvents > 0 {
            self.busyEvents -= 1
            self.onEvent?(self)
            return true
        }
        var buffer = [UInt8](repeating: 0, count: 256)
        _ = read(self.fd, &buffer, buffer.count)
        self.onEvent?(self)
        return false
    }

    func register(in poller: Poller) throws {
        self.token = try poller.register(self.fd, events: Poller.readable, target: self)
    }

    /// "DEL, then close", as Connection does; the peer end stays open.
    func close(in poller: Poller) {
        if let token = self.token { poller.deregister(self.fd, token: token) }
        self.token = nil
        _ = Glibc.close(self.fd)
    }

    func poke() {
        var byte: UInt8 = 1
        _ = write(self.peer, &byte, 1)
    }
}

@Suite("Poller registration edge cases")
struct PollerTests {
    @Test("targets closed by another target's handler in the same batch get no event; reused fd and slot do not see stale events")
    func closedByAnotherHandlerAndFDReuse() throws {
        let loop = EventLoop(label: "poller-test")
        try loop.queue.sync {
            let poller = loop.poller
            let probes = try (0..<3).map { _ in try Probe() }
            for probe in probes { try probe.register(in: poller) }
            for probe in probes { probe.poke() }  // all three are ready in one epoll_wait batch
            var replacement: Probe?
            var freedFDs: Set<Int32> = []
            var freedTokens: [PollToken] = []
            for probe in probes {
                probe.onEvent = { first in
                    guard replacement == nil else { return }
                    for other in probes where other !== first {
                        freedFDs.insert(other.fd)
                        if let token = other.token { freedTokens.append(token) }
                        other.close(in: poller)
                    }
                    // The lowest free fd number is one just closed, and the newest free slot is reused.
                    let fresh = try? Probe()
                    try? fresh?.register(in: poller)
                    replacement = fresh
                }
            }
            poller.poll()
            #expect(probes.map(\.events).reduce(0, +) == 1)
            let fresh = try #require(replacement)
            // The kernel hands out the lowest free fd number, usually one just closed here; a test running in
            // parallel may take it first, so fd reuse is not asserted. Safety does not depend on it: events carry
            // slot + generation, never the fd, and the checks below prove a reused slot sees no stale event.
            if !freedFDs.contains(fresh.fd) {
                print("note: fd \(fresh.fd) was not one of \(freedFDs) (another test took the freed number)")
            }
            let token = try #require(fresh.token)
            #expect(freedTokens.contains { $0.index == token.index && $0.generation != token.generation })
            #expect(fresh.events == 0)
            // The reused fd and slot work normally afterwards.
            fresh.poke()
            poller.poll()
            #expect(fresh.events == 1)
            #expect(poller.registeredCount == 2)
            fresh.close(in: poller)
            for probe in probes where probe.token != nil { probe.close(in: poller) }
            for probe in probes + [fresh] { _ = Glibc.close(probe.peer) }
            #expect(poller.registeredCount == 0)
        }
    }

    @Test("a target that closes itself during its event leaves the rest of the batch intact")
    func closeDuringOwnEvent() throws {
        let loop = EventLoop(label: "poller-test")
        try loop.queue.sync {
            let poller = loop.poller
            let probes = try (0..<4).map { _ in try Probe() }
            for probe in probes {
                try probe.register(in: poller)
                probe.onEvent = { $0.close(in: poller) }
                probe.poke()
            }
            poller.poll()
            #expect(probes.map(\.events) == [1, 1, 1, 1])
            #expect(poller.registeredCount == 0)
            poller.poll()  // nothing left, nothing stale
            #expect(probes.map(\.events) == [1, 1, 1, 1])
            for probe in probes { _ = Glibc.close(probe.peer) }
        }
    }

    @Test("a target whose read budget ran out is polled again: bounded rounds now, the rest on a later turn")
    func budgetHitIsRepolled() throws {
        let loop = EventLoop(label: "poller-test")
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var probe: Probe?
        try loop.queue.sync {
            let busy = try Probe()
            busy.busyEvents = Poller.roundsPerTurn + 2
            busy.onEvent = { if $0.events == Poller.roundsPerTurn + 3 { done.signal() } }
            try busy.register(in: loop.poller)
            busy.poke()
            loop.poller.poll()
            #expect(busy.events == Poller.roundsPerTurn)  // level-triggered: seen once per round, then yields
            probe = busy
        }
        #expect(wait(done))
        loop.queue.sync {
            guard let busy = probe else { return }
            #expect(busy.events == Poller.roundsPerTurn + 3)
            busy.close(in: loop.poller)
            _ = Glibc.close(busy.peer)
        }
    }

    @Test("deregistering twice, or with a stale token after the slot was reused, touches nothing")
    func staleTokenIsIgnored() throws {
        let loop = EventLoop(label: "poller-test")
        try loop.queue.sync {
            let poller = loop.poller
            let first = try Probe()
            try first.register(in: poller)
            let stale = try #require(first.token)
            first.close(in: poller)
            let second = try Probe()
            try second.register(in: poller)
            #expect(second.token?.index == stale.index)
            poller.deregister(second.fd, token: stale)  // stale generation: must not remove `second`
            #expect(poller.registeredCount == 1)
            second.poke()
            poller.poll()
            #expect(second.events == 1)
            second.close(in: poller)
            for probe in [first, second] { _ = Glibc.close(probe.peer) }
        }
    }
}

/// Server-side connections of one test on a one-loop group; the first to receive closes all the others.
///
/// `@unchecked Sendable`: `connections` and the counters sit in Mutexes; handlers run on the one server loop.
private final class NeighbourRegistry: @unchecked Sendable {
    struct State {
        var connections: [Connection] = []
        var receivers: [UInt64] = []
        var closes: [UInt64: [NetError?]] = [:]
    }
    let state = Mutex(State())
    let active = DispatchSemaphore(value: 0)
    let closed = DispatchSemaphore(value: 0)
}

private final class NeighbourCloser: ConnectionHandler {
    let registry: NeighbourRegistry
    init(_ registry: NeighbourRegistry) { self.registry = registry }

    func connectionActive(_ connection: Connection) { self.registry.active.signal() }

    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        let victims: [Connection] = self.registry.state.withLock { state in
            state.receivers.append(connection.id)
            return state.receivers.count == 1 ? state.connections.filter { $0 !== connection } : []
        }
        for victim in victims { victim.close(flushFirst: false) }
        connection.write(bytes)
    }

    func connectionWritabilityChanged(_ connection: Connection) {}

    func connectionClosed(_ connection: Connection, error: NetError?) {
        self.registry.state.withLock { $0.closes[connection.id, default: []].append(error) }
        self.registry.closed.signal()
    }
}

@Suite("Connections closed inside an epoll batch")
struct BatchCloseTests {
    @Test("connections closed by another connection's handler in the same batch close once, quietly")
    func closedByNeighbourInSameBatch() throws {
        let files = try TestCertificates.make()
        let group = EventLoopGroup(loopCount: 1)
        let registry = NeighbourRegistry()
        let serverTLS = try TestCertificates.serverContext(files)
        let listener = Listener(host: "127.0.0.1", port: 0, tls: serverTLS, group: group,
                                limits: .defaults, maxConnections: 100) { connection in
            registry.state.withLock { $0.connections.append(connection) }
            return NeighbourCloser(registry)
        }
        let port = try listener.start()
        defer { listener.stop() }
        let tls = try TestCertificates.clientContext(files)
        let clientLoop = EventLoop(label: "batch-clients")
        var clients: [(Recorder, Connection)] = []
        for _ in 0..<4 {
            let recorder = Recorder(expectBytes: 4)
            guard case .success(let connection) = connectSync(port: port, tls: tls, serverName: "localhost",
                                                              loop: clientLoop, handler: recorder) else {
                Issue.record("connect failed")
                return
            }
            clients.append((recorder, connection))
        }
        for _ in 0..<4 { #expect(wait(registry.active)) }
        // Hold the server loop so all four requests are ready in one epoll_wait batch.
        let blocked = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        group.loops[0].execute {
            blocked.signal()
            _ = gate.wait(timeout: .now() + 10)
        }
        #expect(wait(blocked))
        for (_, connection) in clients { connection.loop.execute { connection.write(Array("ping".utf8)) } }
        let serverFDs = registry.state.withLock { $0.connections.map(\.fd) }
        for fd in serverFDs {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            #expect(Glibc.poll(&entry, 1, 10_000) == 1)
        }
        gate.signal()
        for _ in 0..<3 { #expect(wait(registry.closed)) }
        let state = registry.state.withLock { $0 }
        #expect(state.receivers.count == 1)
        #expect(state.closes.count == 3)
        #expect(state.closes.values.allSatisfy { $0.count == 1 && $0[0] == nil })
        // The survivor answered; the three victims' clients see their connection end.
        var echoed = 0
        for (recorder, _) in clients {
            // Either signal ends the wait (bounded: 1,000 x 10 ms).
            var ended = false
            for _ in 0..<1000 where !ended {
                ended = wait(recorder.receivedSignal, seconds: 0.005) || wait(recorder.closedSignal, seconds: 0.005)
            }
            #expect(ended)
            if recorder.snapshot.received == Array("ping".utf8) { echoed += 1 }
        }
        #expect(echoed == 1)
        for (_, connection) in clients { connection.loop.execute { connection.close() } }
    }
}
