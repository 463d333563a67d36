// How the scheduler answers reports and requests it does not accept, and how delegates say an attempt ended.

extension TaskBoard {
    /// Why a delegate's report or an admin's request was not accepted.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// Status to answer with.
        public var code: Refusal.Code
        /// What happened and what to do.
        public var message: String

        /// Refusal kinds, mapped to gRPC status codes by the caller.
        public enum Code: Sendable, Equatable {
            /// No such task (in this account).
            case notFound
            /// The report is for an attempt that is no longer current (ABORTED).
            case staleAttempt
            /// The reporter does not hold the current attempt (PERMISSION_DENIED).
            case notHolder
            /// The task is already final (FAILED_PRECONDITION).
            case alreadyFinal
        }

        /// The message.
        public var description: String { self.message }
    }

    /// How a delegate says an attempt ended.
    public enum Outcome: Sendable, Equatable {
        /// Succeeded.
        case succeeded
        /// Failed.
        case failed
        /// Stopped because it was cancelled.
        case cancelled
        /// Stopped by the delegate's own timeout.
        case timedOut
    }
}
