import LegateAuth
import LegateWire
import Testing

@testable import LegateCore

/// The pure registration decision: one sentence per refusal and per way of being admitted.
@Suite struct RegistrationDecisionTests {
    let now: Int64 = 1_800_000_000_000

    func request(profile: String = "", hostname: String = "ci-7") -> RegisterRequest {
        var request = RegisterRequest()
        request.accountID = "acc"
        request.instanceID = "ins"
        request.delegateName = "builder"
        request.hostname = hostname
        request.profile = profile
        request.jwt = "h.p.s"
        return request
    }

    func verified(subject: String = "acc", issuer: String = "ins") -> VerifiedJWT {
        VerifiedJWT(
            keyID: "tok", claims: JWTClaims(
                subject: subject, issuer: issuer, audience: ["legate-manager"], issuedAt: 1, notBefore: 1,
                expiresAt: 2, jwtID: "j"))
    }

    func profile(_ name: String = "default", requiresApproval: Bool = false, rules: [ApprovalRule] = [])
        -> ProfileRecord
    {
        ProfileRecord(
            id: "prf", accountID: "acc", name: name, requiresApproval: requiresApproval, autoApproval: rules,
            createdAt: 0, updatedAt: 0)
    }

    func context(existing: DelegateRecord? = nil, profile: ProfileRecord?) -> RegistrationContext {
        RegistrationContext(
            existing: existing, profile: profile, peerAddress: "10.1.2.3:5555", now: self.now,
            pendingExpiry: .seconds(60), newDelegateID: "dlg_new")
    }

    func decide(_ request: RegisterRequest, _ verified: VerifiedJWT, _ context: RegistrationContext)
        -> Result<RegistrationAdmission, RegistrationRefusal>
    {
        RegistrationDecision.decide(request, verified: verified, context: context)
    }

    @Test func aNewDelegateOnAnOpenProfileIsActiveWithAFreshID() throws {
        let admission = try self.decide(self.request(), self.verified(), self.context(profile: self.profile())).get()
        #expect(admission.record.id == "dlg_new" && admission.record.status == .active)
        #expect(admission.record.tokenID == "tok" && admission.record.ipAddress == "10.1.2.3")
        #expect(admission.record.connectedSince == self.now && admission.note.isEmpty)
    }

    @Test func refusalsSayWhyWithTheirStatus() {
        var empty = self.request()
        empty.delegateName = ""
        let cases: [(RegisterRequest, VerifiedJWT, ProfileRecord?, StatusCode, String)] = [
            (empty, self.verified(), self.profile(), .invalidArgument, "delegate_name is required"),
            (self.request(), self.verified(subject: "other"), self.profile(), .unauthenticated, "does not belong"),
            (self.request(), self.verified(issuer: "other"), self.profile(), .unauthenticated, "issuer"),
            (self.request(profile: "gpu"), self.verified(), nil, .notFound, "profile gpu does not exist"),
        ]
        for (request, verified, profile, code, text) in cases {
            guard case .failure(let refusal) = self.decide(request, verified, self.context(profile: profile)) else {
                Issue.record("\(text): expected a refusal")
                continue
            }
            #expect(refusal.code == code, "\(text)")
            #expect(refusal.message.contains(text), "\(refusal.message)")
        }
    }

    @Test func aRejectedDelegateIsRefusedWithPermissionDeniedAndItsReason() {
        var rejected = self.record(status: .rejected)
        rejected.decisionReason = "unknown host"
        guard case .failure(let refusal) = self.decide(
            self.request(), self.verified(), self.context(existing: rejected, profile: self.profile()))
        else {
            Issue.record("a rejected delegate was admitted")
            return
        }
        #expect(refusal.code == .permissionDenied && refusal.message.contains("unknown host"))
    }

    @Test func approvalIsJudgedForNewDelegatesOnly() throws {
        let guarded = self.profile("prod", requiresApproval: true, rules: [ApprovalRule(hostnamePattern: "ci-*")])
        let auto = try self.decide(self.request(profile: "prod"), self.verified(), self.context(profile: guarded)).get()
        #expect(auto.record.status == .active && auto.note == " auto-approved by rule 1")
        let held = try self.decide(
            self.request(profile: "prod", hostname: "laptop"), self.verified(), self.context(profile: guarded)
        ).get()
        #expect(held.record.status == .pending && held.record.pendingExpiresAt == self.now + 60_000)
        // Known delegates keep what they had: pending stays pending (same expiry), approved stays approved.
        var pending = self.record(status: .pending)
        pending.pendingExpiresAt = 42
        let again = try self.decide(
            self.request(profile: "prod", hostname: "laptop"), self.verified(),
            self.context(existing: pending, profile: guarded)
        ).get()
        #expect(again.record.status == .pending && again.record.pendingExpiresAt == 42 && again.record.id == "dlg_old")
        let known = try self.decide(
            self.request(profile: "prod", hostname: "laptop"), self.verified(),
            self.context(existing: self.record(status: .disconnected), profile: guarded)
        ).get()
        #expect(known.record.status == .active && known.record.firstSeenAt == 7)
    }

    @Test func hostOfAnAddress() {
        #expect(RegistrationDecision.host(of: "10.0.0.1:443") == "10.0.0.1")
        #expect(RegistrationDecision.host(of: "[::1]:443") == "::1")
        #expect(RegistrationDecision.host(of: "unix") == "unix")
    }

    func record(status: DelegateStatus) -> DelegateRecord {
        DelegateRecord(
            id: "dlg_old", accountID: "acc", instanceID: "ins", name: "builder", hostname: "ci-7", ipAddress: "10.1.2.3",
            version: "", tags: [], taskTypes: [], profile: "prod", tokenID: "tok", status: status, firstSeenAt: 7,
            connectedSince: nil, lastHeartbeatAt: nil, disconnectedAt: nil, decisionReason: nil, pendingExpiresAt: nil)
    }
}
