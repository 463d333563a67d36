import Foundation
import LegateAdminClient
import LegateNet
import LegateDelegate
import LegateTestSupport
import LegateWire
import Testing

/// A rotated token survives a restart of the real `legate-delegate`: it is saved to `--token-file` (atomically,
/// mode 0600) before the rotation is acknowledged, and a restart reads it from there.
@Suite(.serialized) struct DelegateTokenFileTests {
    @Test(.enabled(if: DelegateProcess.isBuilt)) func restartAfterRotationAndRevocationRegistersWithTheNewToken()
        throws
    {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        let directory = try DelegateStopTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokenFile = directory + "/token"
        // The original environment of the install, kept for the restart: the old token value and the file.
        var environment = DelegateStopTests.environment(harness, drainTimeout: "0")
        environment["LEGATE_DELEGATE_TOKEN_FILE"] = tokenFile
        let first = try DelegateProcess(environment: environment, logPath: directory + "/first.log")
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        #expect(try TokenFile.read(tokenFile) == harness.manager.report.newDefaultTokenValue)  // seeded

        var rotate = TokenRotateRequest()
        rotate.tokenID = harness.token.id
        let rotated = try admin.call(.tokenRotate, rotate, as: TokenRotateResponse.self)
        #expect(rotated.acknowledged == 1)
        let newTokenID = try #require(rotated.token?.id)
        #expect(try TokenFile.read(tokenFile) == rotated.value)
        let attributes = try FileManager.default.attributesOfItem(atPath: tokenFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(eventually { first.log.contains("token rotated by the manager") })
        #expect(first.log.contains("new_token.id=\(newTokenID)"))
        #expect(!first.log.contains(rotated.value))  // the switch is logged, never the value
        kill(first.process.processIdentifier, SIGTERM)
        #expect(first.waitForExit(timeout: .seconds(10)) == 0)
        #expect(eventually { harness.manager.connectedDelegates == 0 })

        var revoke = TokenRevokeRequest()
        revoke.tokenID = harness.token.id
        _ = try admin.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self)

        let second = try DelegateProcess(environment: environment, logPath: directory + "/second.log")
        #expect(eventually { harness.manager.connectedDelegates == 1 }, "log: \(second.log)")
        #expect(eventually { second.log.contains("registered") && second.log.contains("lgt_\(newTokenID)_") })
        #expect(!second.log.contains("SELF_DESTRUCT"))
        kill(second.process.processIdentifier, SIGTERM)
        #expect(second.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test func aTokenThatCannotBeSavedIsNotAcknowledged() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        var configuration = harness.delegateConfiguration(name: "unsaved")
        configuration.tokenFile = NSTemporaryDirectory() + "legate-missing-" + UUID().uuidString + "/token"
        let rotations = Mailbox<TokenRotationEvent>()
        let tls = try DelegateClient.makeTLSContext(configuration)
        let client = DelegateClient(configuration: configuration, tls: tls, loop: harness.group.next()) { _ in }
        client.onTokenRotation { rotations.put($0) }
        client.start()
        #expect(eventually { harness.manager.connectedDelegates == 1 })

        var rotate = TokenRotateRequest()
        rotate.tokenID = harness.token.id
        rotate.overlapSeconds = 60
        let rotated = try admin.call(.tokenRotate, rotate, as: TokenRotateResponse.self)
        #expect(rotated.told == 1 && rotated.acknowledged == 0)
        guard case .notSaved(let newTokenID, let error)? = rotations.next() else {
            Issue.record("expected a notSaved rotation event")
            return
        }
        #expect(newTokenID == rotated.token?.id)
        #expect(!"\(error)".contains(rotated.value))
        #expect(client.currentTokenID == harness.token.id)  // kept the old one
        client.stop()
    }
}
