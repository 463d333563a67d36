import LegateAdminClient
import LegateCore
import LegateStore
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// Successful admin sign-ins cost one audit row per key per hour, and the audit list filters by action, actor and
/// time window.
@Suite(.serialized) struct AuditSignInTests {
    func rows(_ fixture: ServiceFixture) throws -> [AuditRecord] {
        fixture.services.writer.flush()
        return try fixture.store.auditRecords(accountID: nil, limit: 10_000).reversed()
    }

    @Test func repeatedSignInsOfAKeyAreSummarisedPerHour() throws {
        let fixture = try ServiceFixture()
        let audit = fixture.services.audit
        for index in 0..<50 {
            audit.record(
                .adminAuthenticated(keyID: "k-1", peer: "10.0.0.\(index % 3)", scope: .account), accountID: "acc-1",
                actor: "key:k-1")
        }
        audit.record(.adminAuthenticated(keyID: "k-2", peer: "10.0.0.9", scope: .account), accountID: "acc-1", actor: "key:k-2")
        var rows = try self.rows(fixture)
        #expect(rows.map(\.target) == ["k-1", "k-2"], "one row per key while the hour is open, not 51")
        #expect(rows.allSatisfy { $0.action == "admin.auth" && $0.outcome == "ok" })

        fixture.clock.advance(by: .seconds(3599))
        audit.closeFailureWindows()
        #expect(try self.rows(fixture).count == 2)
        fixture.clock.advance(by: .seconds(2))
        audit.closeFailureWindows()
        rows = try self.rows(fixture)
        #expect(rows.count == 3, "k-2 signed in once: nothing to summarise")
        let summary = try #require(rows.last)
        #expect(summary.target == "k-1" && summary.actor == "key:k-1")
        #expect(summary.detail.contains("signed in 49 more times"))
        #expect(summary.detail.contains("peers=10.0.0.1,10.0.0.2,10.0.0.0"))

        // The next hour starts with a row of its own; shutdown summarises what is open.
        audit.record(.adminAuthenticated(keyID: "k-1", peer: "10.0.0.1", scope: .account), accountID: "acc-1", actor: "key:k-1")
        audit.record(.adminAuthenticated(keyID: "k-1", peer: "10.0.0.1", scope: .account), accountID: "acc-1", actor: "key:k-1")
        audit.closeAllFailureWindows()
        rows = try self.rows(fixture)
        #expect(rows.count == 5 && rows.last?.detail.contains("signed in 1 more times") == true)
    }

    @Test func refusedSignInsAreStillRecordedEachTime() throws {
        let fixture = try ServiceFixture()
        for _ in 0..<3 {
            fixture.services.audit.record(
                .adminAuthRefused(keyID: "k-1", reason: "wrong secret or revoked key"), accountID: "acc-1",
                actor: "peer:10.0.0.1")
        }
        #expect(try self.rows(fixture).count == 3)
    }

    @Test func theAuditListFiltersThroughTheAdminAPI() throws {
        let harness = try ManagerHarness()
        let key = harness.manager.report.newAdminKeyValue ?? ""
        func client() throws -> AdminClient {
            try AdminClient.connect(
                host: "127.0.0.1", port: harness.port, caFile: harness.caFile, serverName: "localhost", apiKey: key,
                loop: harness.group.next())
        }
        let admin = try client()
        for name in ["a", "b"] {
            var create = TokenCreateRequest()
            create.name = name
            _ = try admin.call(.tokenCreate, create, as: TokenCreateResponse.self)
        }
        // Four more sign-ins of the same key within the hour.
        for _ in 0..<4 { try client().close() }

        var request = AuditListRequest()
        request.action = "token.create"
        var entries = try admin.call(.auditList, request, as: AuditListResponse.self).entries
        #expect(entries.count == 2 && entries.allSatisfy { $0.action == "token.create" })
        request.action = "admin.*"
        entries = try admin.call(.auditList, request, as: AuditListResponse.self).entries
        #expect(entries.map(\.action) == ["admin.auth"], "five sign-ins, one row: \(entries.map(\.detail))")
        let actor = try #require(entries.first?.actor)

        request = AuditListRequest()
        request.actor = actor
        entries = try admin.call(.auditList, request, as: AuditListResponse.self).entries
        #expect(!entries.isEmpty && entries.allSatisfy { $0.actor == actor })
        #expect(entries.contains { $0.action == "api.tokenCreate" })

        let newest = try #require(entries.first?.atMs)
        request = AuditListRequest()
        request.sinceMs = newest + 60_000
        #expect(try admin.call(.auditList, request, as: AuditListResponse.self).entries.isEmpty)
        request = AuditListRequest()
        request.untilMs = 1
        #expect(try admin.call(.auditList, request, as: AuditListResponse.self).entries.isEmpty)
        admin.close()
    }
}
