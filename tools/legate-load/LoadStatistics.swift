import LegateCore
import LegateNet
import Synchronization

/// Counters and latency samples gathered from every delegate of a load run; safe from any loop.
final class LoadStatistics: Sendable {
    struct Snapshot: Sendable {
        var registered = 0
        var everRegistered = 0
        var registrations = 0
        var heartbeats: UInt64 = 0
        var errors: [String: Int] = [:]
        var selfDestructed = 0
        var stopped = 0
        var heartbeatLatency = LatencyHistogram()
        var registrationLatency = LatencyHistogram()
        var lastRegistrationAt: ContinuousClock.Instant?
    }

    private let state = Mutex(Snapshot())

    func registered(after duration: Duration, firstTime: Bool, at instant: ContinuousClock.Instant) {
        self.state.withLock { state in
            state.registered += 1
            state.registrations += 1
            if firstTime { state.everRegistered += 1 }
            state.registrationLatency.record(nanoseconds: Self.nanoseconds(duration))
            state.lastRegistrationAt = instant
        }
    }

    func heartbeat(roundTrip: Duration, measured: Bool) {
        self.state.withLock { state in
            state.heartbeats += 1
            if measured { state.heartbeatLatency.record(nanoseconds: Self.nanoseconds(roundTrip)) }
        }
    }

    func disconnected(reason: String, wasRegistered: Bool) {
        self.state.withLock { state in
            if wasRegistered { state.registered -= 1 }
            state.errors[Self.kind(of: reason), default: 0] += 1
        }
    }

    func selfDestructed(wasRegistered: Bool) {
        self.state.withLock { state in
            if wasRegistered { state.registered -= 1 }
            state.selfDestructed += 1
        }
    }

    func stopped(reason: String, wasRegistered: Bool) {
        self.state.withLock { state in
            if wasRegistered { state.registered -= 1 }
            state.stopped += 1
            state.errors["stopped: " + Self.kind(of: reason), default: 0] += 1
        }
    }

    /// Clears latency samples and the heartbeat counter (end of warm-up) and returns the old count.
    func resetHeartbeats() {
        self.state.withLock { state in
            state.heartbeats = 0
            state.heartbeatLatency = LatencyHistogram()
        }
    }

    func snapshot() -> Snapshot {
        self.state.withLock { $0 }
    }

    /// The first words of a reason, so errors group by kind rather than by detail.
    static func kind(of reason: String) -> String {
        String(reason.split(separator: ":", maxSplits: 1).first ?? Substring(reason)).prefix(60).description
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(max(0, duration.nanoseconds))
    }
}
