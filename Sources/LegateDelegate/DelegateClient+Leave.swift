import Foundation
import LegateCore
import LegateNet
import LegateWire

/// How far a leave has got (on the loop).
struct LeaveState: Sendable {
    /// Why the delegate stops, sent in the Leave call.
    var reason: String
    /// Running tasks may finish (and report) until then; afterwards they are killed.
    var drainDeadline: ContinuousClock.Instant
    /// Killed task processes get until then to be gone before they are sent SIGKILL.
    var killDeadline: ContinuousClock.Instant?
    /// The Leave call's stream once sent; the client stops when it is answered or at `answerDeadline`.
    var streamID: UInt32?
    /// The manager's answer is waited for until then.
    var answerDeadline: ContinuousClock.Instant?
}

extension DelegateClient {
    /// How often a leave checks whether tasks and their processes are gone.
    static let leavePollInterval: Duration = .milliseconds(20)
    /// How long killed task processes get to exit on SIGTERM before SIGKILL, and the manager to answer Leave.
    static let leaveGrace: Duration = .seconds(2)

    /// Stops taking work, lets running tasks finish for up to `drainTimeout`, kills what still runs (whole process
    /// groups), tells the manager it is leaving (so what it held is re-queued at once), then closes and reports
    /// `.stopped(.cancelled, ...)` (from any thread). Calling it again while leaving stops at once.
    public func leave(reason: String, drainTimeout: Duration) {
        self.loop.execute {
            guard !self.isStopped else { return }
            if self.leaving != nil {
                self.leaving?.drainDeadline = self.loop.now
                self.leaving?.killDeadline = self.loop.now
                self.leaving?.answerDeadline = self.loop.now
                self.leaveStep()
                return
            }
            self.leaving = LeaveState(reason: reason, drainDeadline: self.loop.now + drainTimeout)
            self.leaveStep()
        }
    }

    /// One step of a leave: drain, kill, say Leave, wait for its answer, stop. Re-arms itself until stopped.
    func leaveStep() {
        guard !self.isStopped, var state = self.leaving else { return }
        let now = self.loop.now
        if state.killDeadline == nil {
            if self.tasks.runningCount > 0, now < state.drainDeadline { return self.leaveAgain() }
            // Abandoned attempts are not reported: the Leave call below makes the manager re-queue them.
            self.abandonTasks(reason: "the delegate is stopping (\(state.reason))")
            state.killDeadline = now + Self.leaveGrace
        }
        if let killDeadline = state.killDeadline, !ProcessGroups.running.isEmpty {
            if now < killDeadline {
                self.leaving = state
                return self.leaveAgain()
            }
            ProcessGroups.signalAll(SIGKILL)
        }
        if state.streamID == nil {
            guard self.connection != nil, let streamID = self.machine.allocateCallStreamID() else {
                return self.finish(code: .cancelled, message: "stopped (\(state.reason)); not connected to say so")
            }
            var request = Leave()
            request.reason = state.reason
            self.send(.request, method: CallMethod.leave.rawValue, streamID: streamID, message: request)
            state.streamID = streamID
            state.answerDeadline = min(state.answerDeadline ?? (now + Self.leaveGrace), now + Self.leaveGrace)
        }
        if let answerDeadline = state.answerDeadline, now >= answerDeadline {
            return self.finish(code: .cancelled, message: "stopped (\(state.reason)); the manager did not answer Leave")
        }
        self.leaving = state
        self.leaveAgain()
    }

    /// The manager answered Leave: it re-queued what this delegate held; stop now.
    func leaveAnswered(_ frame: Frame) {
        guard let state = self.leaving else { return }
        if frame.type == .response {
            self.finish(code: .cancelled, message: "stopped (\(state.reason)); the manager re-queued its tasks")
        } else {
            let status = (try? Status(protoBytes: frame.payload)) ?? Status()
            self.finish(
                code: .cancelled, message: "stopped (\(state.reason)); the manager refused Leave: \(status.message)")
        }
    }

    private func leaveAgain() {
        _ = self.loop.schedule(after: Self.leavePollInterval) {
            self.loop.execute { self.leaveStep() }
        }
    }
}
