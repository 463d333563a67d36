import LegateCore
import LegateWire

// MARK: - Profiles and approval (issue 5): admin calls 111...118.

extension Manager {
    /// Serves the profile and approval admin calls (issue 5). Blocking: runs on the admin queue.
    func performApprovalCall(_ call: AdminMethod, payload: [UInt8], session: AdminSession) throws -> [UInt8] {
        throw AdminRefusal(code: .unimplemented, message: "\(call) is not available in this build yet")
    }
}
