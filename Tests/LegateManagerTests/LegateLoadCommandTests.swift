import Foundation
import LegateManager
import LegateTestSupport
import Testing

/// `legate-load` as scripts use it: `--json` is one JSON document, an unreachable manager ends the run at once.
@Suite(.serialized) struct LegateLoadCommandTests {
    let load = ExecutableRunner(name: "legate-load")

    @Test(.enabled(if: ExecutableRunner.path("legate-load") != nil)) func jsonOutputIsOnlyJSONWithSnakeCaseKeys() throws {
        let harness = try ManagerHarness()
        let environment = [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ACCOUNT_ID": harness.accountID, "LEGATE_DELEGATE_TOKEN": harness.token.value,
        ]
        let run = try self.load.run(
            ["--delegates", "1", "--duration", "0.2", "--warmup", "0", "--loops", "1", "--json"],
            environment: environment)
        #expect(run.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        #expect(object["delegates_registered"] as? Int == 1)
        #expect(object["heartbeats_per_second"] != nil && object["heartbeat_latency"] != nil)
        #expect(object.keys.allSatisfy { $0 == $0.lowercased() })
        #expect(run.error.contains("reproduce: legate-load"))
        #expect(!run.error.contains(harness.token.value))
    }

    @Test(.enabled(if: ExecutableRunner.path("legate-load") != nil)) func anUnreachableManagerStopsTheRunAtOnce() throws {
        let harness = try ManagerHarness()
        let environment = [
            // Port 1 refuses connections; the run would otherwise take its whole connect phase and duration.
            "LEGATE_MANAGER": "127.0.0.1:1", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ACCOUNT_ID": harness.accountID, "LEGATE_DELEGATE_TOKEN": harness.token.value,
        ]
        let started = ContinuousClock.now
        let run = try self.load.run(["--delegates", "1", "--duration", "60", "--json"], environment: environment)
        #expect(run.status == 3)
        #expect(run.error.contains("cannot reach the manager"))
        #expect(run.output.isEmpty)
        #expect(ContinuousClock.now - started < .seconds(15))
        var missingCA = environment
        missingCA["LEGATE_CA_FILE"] = "/nonexistent/ca.pem"
        #expect(try self.load.run(["--delegates", "1"], environment: missingCA).status == 2)
    }
}
