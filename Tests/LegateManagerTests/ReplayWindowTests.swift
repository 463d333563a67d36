import Foundation
import LegateAuth
import LegateCore
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// Registration `jti`s are remembered per token: a holder of one token who floods registrations fills only that
/// token's window, is told UNAVAILABLE (retryable, never a replay), and every other token keeps registering.
@Suite struct ReplayWindowTests {
    /// Sends HELLO and `frame` on a new raw connection; the registration's answer: nil for a RESPONSE, else the
    /// refusal.
    func register(_ harness: ManagerHarness, _ frame: Frame) throws -> Status? {
        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        raw.send(frame)
        let answer = raw.frames.first(timeout: .seconds(10)) { $0.type == .response || $0.type == .error }
        guard let answer, answer.type == .error else { return nil }
        return try Status(protoBytes: answer.payload)
    }

    @Test func oneTokenFillsOnlyItsOwnWindow() throws {
        let harness = try ManagerHarness { $0.replayWindowPerToken = 3 }
        let other = try harness.manager.services.tokenService.create(
            accountID: harness.accountID, name: "other", actor: "test")
        let otherToken = try DelegateToken.parse(other.value)

        for index in 0..<3 {
            #expect(try self.register(harness, harness.registerFrame(instanceID: "flood-\(index)")) == nil)
        }
        let full = try self.register(harness, harness.registerFrame(instanceID: "flood-3"))
        #expect(full?.code == .unavailable, "a full window is retryable, got \(String(describing: full))")
        #expect(full?.message.contains("retry") == true)
        #expect(full?.message.contains("already used") == false)

        // Another token of the same account is untouched by the flood.
        let fresh = harness.registerFrame(token: otherToken, instanceID: "other-0")
        #expect(try self.register(harness, fresh) == nil)
    }

    @Test func aRefusedRegistrationDoesNotSpendItsJWT() throws {
        let harness = try ManagerHarness()
        // A registration naming a profile that does not exist is refused before its jti is remembered, so the same
        // JWT registers once the request is corrected.
        let good = harness.registerFrame(instanceID: "profile-fix")
        var request = try RegisterRequest(protoBytes: good.payload)
        request.profile = "missing"
        var refusedFrame = good
        refusedFrame.payload = request.protoBytes()
        #expect(try self.register(harness, refusedFrame)?.code == .notFound)
        #expect(try self.register(harness, good) == nil, "the JWT was not spent by the refused registration")
        // Spent now: the same JWT again is a replay.
        #expect(try self.register(harness, good)?.code == .unauthenticated)
    }
}
