import Foundation
import LegateAuth
import LegateCore
@testable import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// The manager as Proto/FRAMING.md §1.2, §2 and §4 describe it, driven frame by frame over loopback TLS.
@Suite struct ConnectionConformanceTests {
    /// A raw client that said HELLO and registered on stream 1.
    final class Registered {
        let client: ProtocolPeer
        let delegateID: String
        let instanceID: String
        private(set) var nextStreamID: UInt32 = 3

        init?(_ harness: ManagerHarness, instanceID: String) {
            guard let client = harness.rawClient(), client.hello() != nil else { return nil }
            client.send(harness.registerFrame(instanceID: instanceID))
            guard let answer = client.frames.first(where: { $0.streamID == 1 }), answer.type == .response,
                let response = try? RegisterResponse(protoBytes: answer.payload)
            else { return nil }
            self.client = client
            self.delegateID = response.delegateID
            self.instanceID = instanceID
        }

        func allocateStreamID() -> UInt32 {
            defer { self.nextStreamID += 2 }
            return self.nextStreamID
        }

        /// Sends a heartbeat with `jwt` on the next stream (or `streamID`) and returns that stream.
        @discardableResult
        func beat(jwt: String, streamID: UInt32? = nil) -> UInt32 {
            let stream = streamID ?? self.allocateStreamID()
            var heartbeat = Heartbeat()
            heartbeat.jwt = jwt
            heartbeat.delegateID = self.delegateID
            heartbeat.sequence = UInt64(stream)
            self.client.send(
                Frame(type: .request, method: CallMethod.heartbeat.rawValue, streamID: stream,
                      payload: heartbeat.protoBytes()))
            return stream
        }

        /// The answer on `streamID`: nil status for a RESPONSE, else the ERROR's status.
        func answer(on streamID: UInt32) -> (isError: Bool, status: Status?)? {
            guard let frame = self.client.frames.first(where: { $0.streamID == streamID }) else { return nil }
            return (frame.type == .error, frame.type == .error ? try? Status(protoBytes: frame.payload) : nil)
        }

        /// The connection-fatal ERROR on stream 0.
        func fatalStatus() -> Status? {
            self.client.frames.first { $0.type == .error && $0.streamID == 0 }.flatMap {
                try? Status(protoBytes: $0.payload)
            }
        }
    }

    /// A JWT for `instanceID` signed with `token`, valid from `issuedAt` for `lifetime` seconds.
    static func jwt(_ harness: ManagerHarness, instanceID: String, token: DelegateToken? = nil,
                    issuedAt: Int64 = WallClock.unixSeconds(), lifetime: Int64 = 600) -> String {
        let claims = JWTClaims(
            subject: harness.accountID, issuer: instanceID, audience: ["legate-manager"], issuedAt: issuedAt,
            notBefore: issuedAt, expiresAt: issuedAt + lifetime, jwtID: UUID().uuidString)
        let key = token ?? harness.token
        return JWTMinter.mint(claims: claims, keyID: key.id, key: key.hmacKey)
    }

    @Test func heartbeatWithABadJWTIsRefusedOnTheCallUntilTheBoundThenTheConnectionCloses() throws {
        let harness = try ManagerHarness()
        let delegate = try #require(Registered(harness, instanceID: "drifted"))
        let expired = Self.jwt(harness, instanceID: "drifted", issuedAt: WallClock.unixSeconds() - 1_000, lifetime: 600)
        let refused = delegate.answer(on: delegate.beat(jwt: expired))
        #expect(refused?.isError == true && refused?.status?.code == .unauthenticated)
        #expect(refused?.status?.message.contains("clock") == true)
        // The clock was fixed and the delegate re-minted: the connection is still there and the beat is answered.
        let fresh = delegate.answer(on: delegate.beat(jwt: Self.jwt(harness, instanceID: "drifted")))
        #expect(fresh?.isError == false)
        // Unknown kid, then expired, then expired again: the third refusal in a row is fatal.
        let stranger = DelegateToken.generate()
        let unknown = delegate.answer(on: delegate.beat(jwt: Self.jwt(harness, instanceID: "drifted", token: stranger)))
        #expect(unknown?.isError == true && unknown?.status?.code == .unauthenticated)
        let second = delegate.answer(on: delegate.beat(jwt: expired))
        #expect(second?.isError == true && second?.status?.code == .unauthenticated)
        delegate.beat(jwt: expired)
        #expect(delegate.fatalStatus()?.code == .unauthenticated)
        #expect(delegate.client.waitUntilClosed())
    }

    @Test func acknowledgedSelfDestructEndsWithAFatalPermissionDenied() throws {
        let harness = try ManagerHarness()
        let delegate = try #require(Registered(harness, instanceID: "told"))
        let report = Mailbox<RevokeReport>()
        let manager = harness.manager
        let tokenID = harness.token.id
        Thread.detachNewThread {
            if let result = try? manager.services.tokenService.revoke(id: tokenID, actor: "test") { report.put(result) }
        }
        let push = try #require(delegate.client.frames.first { $0.type == .push })
        #expect(push.method == PushKind.selfDestruct.rawValue && push.streamID % 2 == 0)
        var ack = PushAck()
        ack.kind = UInt32(push.method)
        delegate.client.send(Frame(type: .pushAck, method: push.method, streamID: push.streamID, payload: ack.protoBytes()))
        #expect(delegate.fatalStatus()?.code == .permissionDenied)
        #expect(delegate.client.waitUntilClosed())
        #expect(report.next()?.acknowledged == 1)
    }

    @Test func unacknowledgedSelfDestructEndsWithAFatalPermissionDeniedAtTheDeadline() throws {
        let harness = try ManagerHarness()
        let delegate = try #require(Registered(harness, instanceID: "deaf"))
        let report = try harness.manager.services.tokenService.revoke(
            id: harness.token.id, actor: "test", deadline: .milliseconds(200))
        #expect(report.told == 1 && report.acknowledged == 0)
        #expect(delegate.client.frames.first { $0.type == .push }?.method == PushKind.selfDestruct.rawValue)
        #expect(delegate.fatalStatus()?.code == .permissionDenied)
        #expect(delegate.client.waitUntilClosed())
    }

    @Test func heartbeatWithARevokedTokenIsAnsweredAndEndsWithTheSelfDestructSequence() throws {
        let harness = try ManagerHarness()
        let delegate = try #require(Registered(harness, instanceID: "beats-after-revoke"))
        // Revoked where the fan-out cannot reach this connection first: only its next beat can tell it.
        #expect(harness.manager.tokens.markRevoked(tokenID: harness.token.id))
        let stream = delegate.beat(jwt: Self.jwt(harness, instanceID: "beats-after-revoke"))
        let push = try #require(delegate.client.frames.first { $0.type == .push })
        #expect(push.method == PushKind.selfDestruct.rawValue)
        let answer = delegate.answer(on: stream)
        #expect(answer?.isError == true && answer?.status?.code == .permissionDenied, "the heartbeat is answered")
        var ack = PushAck()
        ack.kind = UInt32(push.method)
        delegate.client.send(Frame(type: .pushAck, method: push.method, streamID: push.streamID, payload: ack.protoBytes()))
        #expect(delegate.fatalStatus()?.code == .permissionDenied)
        #expect(delegate.client.waitUntilClosed())
    }

    @Test(arguments: [[UInt32(2)], [0], [3, 3], [5, 3]])
    func callsOnStreamsThatAreNotOddAndIncreasingAreFatal(_ streams: [UInt32]) throws {
        let harness = try ManagerHarness()
        let delegate = try #require(Registered(harness, instanceID: "streams-\(streams.map(String.init).joined())"))
        let jwt = Self.jwt(harness, instanceID: delegate.instanceID)
        for (index, stream) in streams.enumerated() {
            delegate.beat(jwt: jwt, streamID: stream)
            if index < streams.count - 1 { #expect(delegate.answer(on: stream)?.isError == false) }
        }
        let status = delegate.fatalStatus()
        #expect(status?.code == .invalidArgument)
        #expect(status?.message.contains("odd, strictly increasing") == true)
        #expect(delegate.client.waitUntilClosed())
    }

    @Test func goAwayNamesTheLastCallProcessedAndLaterHeartbeatsAreRefused() throws {
        let harness = try ManagerHarness { $0.drainTimeout = .seconds(2) }
        let delegate = try #require(Registered(harness, instanceID: "drained"))
        let jwt = Self.jwt(harness, instanceID: "drained")
        #expect(delegate.answer(on: delegate.beat(jwt: jwt))?.isError == false)
        #expect(delegate.answer(on: delegate.beat(jwt: jwt))?.isError == false)  // stream 5
        let manager = harness.manager
        let stopped = Mailbox<Bool>()
        Thread.detachNewThread {
            manager.shutdown(reason: "test drain")
            stopped.put(true)
        }
        let frame = try #require(delegate.client.frames.first { $0.type == .goAway })
        let goAway = try GoAway(protoBytes: frame.payload)
        #expect(goAway.lastStreamID == 5)
        let late = delegate.answer(on: delegate.beat(jwt: jwt))
        #expect(late?.isError == true && late?.status?.code == .unavailable)
        delegate.client.close()
        #expect(stopped.next() == true)
    }

    @Test func aRefusedRegistrationDoesNotSpendItsJWTID() throws {
        let harness = try ManagerHarness()
        let jwt = Self.jwt(harness, instanceID: "retry-profile")
        func register(profile: String) throws -> ProtocolPeer {
            let client = try #require(harness.rawClient())
            #expect(client.hello() != nil)
            var request = RegisterRequest()
            request.accountID = harness.accountID
            request.instanceID = "retry-profile"
            request.delegateName = "retry"
            request.profile = profile
            request.jwt = jwt
            client.send(Frame(type: .request, method: CallMethod.register.rawValue, streamID: 1,
                              payload: request.protoBytes()))
            return client
        }
        let first = try register(profile: "no-such-profile")
        #expect(first.nextError()?.code == .notFound)
        let second = try register(profile: "")
        let answer = try #require(second.frames.first { $0.streamID == 1 || $0.streamID == 0 })
        #expect(answer.type == .response, "the first attempt was refused before its jti was recorded")
        let third = try register(profile: "")
        #expect(third.nextError()?.message.contains("already used") == true)
    }
}
