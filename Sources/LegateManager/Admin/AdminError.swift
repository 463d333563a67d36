import LegateStore
import LegateWire

/// Why an admin call or an authentication was refused: the status the peer gets and a sentence it can act on.
/// Every service behind the admin API throws this one type; other errors map into it once, below.
public struct AdminError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Wire status code.
    public let code: StatusCode
    /// What happened and what to do.
    public let message: String

    /// Creates an admin error.
    public init(code: StatusCode, message: String) {
        self.code = code
        self.message = message
    }

    /// The code and the sentence, for logs and test failures.
    public var description: String { "\(self.code): \(self.message)" }

    /// NOT_FOUND with `message`.
    static func notFound(_ message: String) -> AdminError { AdminError(code: .notFound, message: message) }
    /// INVALID_ARGUMENT with `message`.
    static func invalidArgument(_ message: String) -> AdminError {
        AdminError(code: .invalidArgument, message: message)
    }
    /// FAILED_PRECONDITION with `message`.
    static func failedPrecondition(_ message: String) -> AdminError {
        AdminError(code: .failedPrecondition, message: message)
    }
    /// PERMISSION_DENIED with `message`.
    static func permissionDenied(_ message: String) -> AdminError {
        AdminError(code: .permissionDenied, message: message)
    }
    /// ALREADY_EXISTS with `message`.
    static func alreadyExists(_ message: String) -> AdminError { AdminError(code: .alreadyExists, message: message) }
    /// UNAVAILABLE with `message`.
    static func unavailable(_ message: String) -> AdminError { AdminError(code: .unavailable, message: message) }
}

extension WireError {
    /// A request that does not decode is the caller's mistake.
    var adminError: AdminError { .invalidArgument("request is malformed: \(self)") }
}

extension StoreError {
    /// A store that cannot be read or written is a passing condition the caller may retry.
    var adminError: AdminError { .unavailable("the manager could not use its store (\(self)); retry later") }
}

extension ManagerError {
    /// Sealing and configuration failures behind an admin call: the manager cannot serve it now.
    var adminError: AdminError { .unavailable(self.description) }
}
