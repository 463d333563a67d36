import LegateCore
import LegateStore
import LegateTestSupport
import Testing

@testable import LegateManager

/// The audit service keeps the audit bounded: repeated failures of one unauthenticated address become one row
/// per window, and rows past the retention are deleted, both on the manual clock.
@Suite struct AuditServiceTests {
    func rows(_ fixture: ServiceFixture) throws -> [AuditRecord] {
        fixture.services.writer.flush()
        return try fixture.store.auditRecords(accountID: nil, limit: 10_000).reversed()
    }

    @Test func repeatedPeerFailuresCostOneRowPerWindow() throws {
        let fixture = try ServiceFixture()
        let audit = fixture.services.audit
        for _ in 0..<1000 {
            audit.recordPeerFailure(
                address: "203.0.113.9", action: "auth.failure", reason: "unknownKeyID", accountID: "acc-1")
        }
        audit.recordPeerFailure(address: "203.0.113.10", action: "auth.failure", reason: "unknownKeyID", accountID: "")
        var rows = try self.rows(fixture)
        #expect(rows.count == 2, "one row per address while the window is open, not 1,001")
        #expect(rows.allSatisfy { $0.action == "auth.failure" && $0.outcome == "denied" })
        #expect(rows.map(\.actor) == ["peer:203.0.113.9", "peer:203.0.113.10"])

        // Nothing is summarised before the window closes; after it, one summary counts the other 999.
        audit.closeFailureWindows()
        #expect(try self.rows(fixture).count == 2)
        fixture.clock.advance(by: .seconds(61))
        audit.closeFailureWindows()
        rows = try self.rows(fixture)
        #expect(rows.count == 3)
        #expect(rows.last?.detail.contains("repeated 999 more times") == true)
        #expect(rows.last?.actor == "peer:203.0.113.9")
    }

    @Test func openWindowsAreSummarisedAtShutdown() throws {
        let fixture = try ServiceFixture()
        let audit = fixture.services.audit
        for _ in 0..<3 {
            audit.recordPeerFailure(address: "198.51.100.1", action: "auth.failure", reason: "badSignature", accountID: "")
        }
        audit.closeAllFailureWindows()
        let rows = try self.rows(fixture)
        #expect(rows.count == 2)
        #expect(rows.last?.detail.contains("repeated 2 more times") == true)
    }

    @Test func rowsPastTheRetentionAreDeleted() throws {
        let fixture = try ServiceFixture { $0.auditRetention = AuditRetention(days: 30) }
        fixture.services.audit.record(.bootstrapAdminKeyCreated(keyID: "k-1"), accountID: "acc-1", actor: "system")
        fixture.services.writer.flush()
        fixture.clock.advance(by: .seconds(10 * 86_400))
        fixture.services.audit.record(.bootstrapAdminKeyCreated(keyID: "k-2"), accountID: "acc-1", actor: "system")
        fixture.services.writer.flush()
        #expect(try fixture.services.audit.applyRetention() == 0)
        fixture.clock.advance(by: .seconds(25 * 86_400))
        #expect(try fixture.services.audit.applyRetention() == 1, "the 35-day-old row goes, the 25-day-old one stays")
        #expect(try self.rows(fixture).count == 1)
    }

    @Test func noRetentionKeepsEveryRow() throws {
        let fixture = try ServiceFixture { $0.auditRetention = AuditRetention(days: nil) }
        fixture.services.audit.record(.bootstrapAdminKeyCreated(keyID: "k-1"), accountID: "acc-1", actor: "system")
        fixture.services.writer.flush()
        fixture.clock.advance(by: .seconds(3650 * 86_400))
        #expect(try fixture.services.audit.applyRetention() == 0)
        #expect(try self.rows(fixture).count == 1)
    }
}
