import LegateCore
import LegateWire

// MARK: - Secret calls of a registered delegate: openings reported, ring work pushed and answered.

extension ManagerConnection {
    /// A SecretOpened report: accepted from the holder of the attempt for a version it was sent (audited: task,
    /// attempt, delegate, secret, version) and answered CallAck; otherwise refused on the call and audited as a
    /// refused report.
    func secretOpenedReceived(streamID: UInt32, report: SecretOpened) {
        guard let identity = self.machine.registeredIdentity else { return }
        self.services.secrets.opened(report, identity: identity) { refusal in
            self.loopState.loop.execute {
                self.deliverOnLoop([
                    .answer(
                        method: CallMethod.secretOpened.rawValue, streamID: streamID,
                        refusal: refusal.map { ($0.code, $0.message) })
                ])
            }
        }
    }
}

extension ManagerConnection {
    /// Pushes RING_KEY_SHARE or RING_ROTATE to this member (from any thread).
    func pushRingWork(_ kind: PushKind, ringID: String, _ message: some ProtoMessage & Sendable) {
        self.loopState.loop.execute {
            guard !self.machine.isClosed else { return }
            self.push(.ringWork(kind: kind.rawValue, ringID: ringID), message)
        }
    }

    /// A member answered RING_KEY_SHARE or RING_ROTATE: checked and stored off the loop, then answered CallAck
    /// (or FAILED_PRECONDITION saying why it was refused).
    func ringWorkAnswered(streamID: UInt32, shared: RingKeyShared?, rotated: RingRotated?) {
        guard let identity = self.machine.registeredIdentity else { return }
        let method = (shared != nil ? CallMethod.ringKeyShared : CallMethod.ringRotated).rawValue
        let secrets = self.services.secrets
        secrets.workQueue.async {
            let problem: String?
            if let shared {
                problem = secrets.ringKeyShared(shared, identity: identity)
            } else if let rotated {
                problem = secrets.ringRotated(rotated, identity: identity)
            } else {
                problem = nil
            }
            self.loopState.loop.execute {
                self.deliverOnLoop([
                    .answer(method: method, streamID: streamID, refusal: problem.map { (.failedPrecondition, $0) })
                ])
            }
        }
    }
}
