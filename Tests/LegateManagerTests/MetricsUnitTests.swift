import LegateAuth
import LegateCore
import LegateNet
import LegateTestSupport
import Testing

@testable import LegateManager

@Suite struct MetricsUnitTests {
    @Test func histogramBucketsAreCumulativeWithInfinity() {
        let histogram = MetricHistogram(bounds: [0.1, 1])
        for seconds in [0.05, 0.1, 0.5, 3, -1] { histogram.observe(seconds: seconds) }
        histogram.observe(.milliseconds(250))
        let snapshot = histogram.snapshot
        #expect(snapshot.cumulative == [3, 5, 6])
        #expect(snapshot.count == 6)
        #expect(abs(snapshot.sum - 3.9) < 1e-9)
    }

    @Test func textFormatEscapesLabelsAndHelp() {
        var text = PrometheusText()
        text.family("x_total", "counter", "a \\ b\nc")
        text.sample("x_total", [("token_id", "a\"b\\c\nd")], 3)
        text.sample("y", [], 0.25)
        text.sample("z", [], Double.infinity)
        #expect(
            text.text == "# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\n"
                + "x_total{token_id=\"a\\\"b\\\\c\\nd\"} 3\ny 0.25\nz +Inf\n")
    }

    @Test func authFailureReasonsAreCoarse() {
        #expect(AuthFailureReason(.unknownKeyID("k"), revoked: false) == .unknownToken)
        #expect(AuthFailureReason(.unknownKeyID("k"), revoked: true) == .revokedToken)
        #expect(AuthFailureReason(.expired(expiresAt: 1, now: 2, leeway: 0), revoked: false) == .timeWindow)
        #expect(AuthFailureReason(.signatureMismatch, revoked: false) == .badSignature)
        #expect(AuthFailureReason(.replayedJWTID, revoked: false) == .replayed)
        #expect(AuthFailureReason(.subjectMismatch, revoked: false) == .claims)
        #expect(AuthFailureReason(.wrongSegmentCount(found: 2), revoked: false) == .malformed)
    }

    /// The lease counter matches the reason the task board gives; if the board rewords it, this fails.
    @Test func aLeaseThatEndsIsCounted() throws {
        let fixture = try ServiceFixture()
        let (service, _, first) = try TaskClockTests().assigned(fixture)
        #expect(first.attempt == 1)
        let metrics = service.queue.sync { service.metrics }
        #expect(metrics.taskDispatchLatency.snapshot.count == 1)
        fixture.clock.advance(by: service.configuration.board.lease)
        service.sweep()
        #expect(service.queue.sync { service.board.task(id: "t1")?.attempt } == 2)
        #expect(metrics.leaseExpirations.current == 1)
        #expect(metrics.taskDispatchLatency.snapshot.count == 1, "only the first assignment is dispatch latency")
    }

    @Test func perLoopCountersAreSummedAtScrape() throws {
        let fixture = try ServiceFixture()
        let loops = [LoopMetrics(), LoopMetrics()]
        loops[0].heartbeatsReceived.increment()
        loops[1].heartbeatsReceived.increment(by: 2)
        loops[1].registrations.increment(.pending)
        let text = MetricsExposition(services: fixture.services, loopMetrics: loops, openConnections: { 7 }).render()
        #expect(text.contains("\nlegate_heartbeats_received_total 3\n"))
        #expect(text.contains("\nlegate_registrations_total{result=\"pending\"} 1\n"))
        #expect(text.contains("\nlegate_connections_open 7\n"))
    }
}
