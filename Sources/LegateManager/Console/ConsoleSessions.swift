import LegateAuth
import LegateCore
import LegateNet
import Synchronization

/// One signed-in browser: the admin session of the key it signed in with and the CSRF token of its forms.
struct ConsoleSession: Sendable, Equatable {
    /// The key's account, permissions and scope, as the admin protocol would hold them.
    let admin: AdminSession
    /// Every POST must carry this value (compared in constant time).
    let csrfToken: String
    /// Sign-in time, Unix ms (the absolute expiry counts from here).
    let createdAt: Int64
    /// Last request, Unix ms (the idle expiry counts from here).
    var lastSeenAt: Int64
}

/// How long console sessions live.
struct ConsoleSessionPolicy: Sendable, Equatable {
    /// A session unused this long ends (default 30 min).
    var idleTimeout: Duration = .seconds(30 * 60)
    /// A session ends this long after sign-in however busy (default 12 h).
    var absoluteTimeout: Duration = .seconds(12 * 3600)
    /// Most sessions held at once; signing in beyond it ends the least recently used one.
    var maxSessions = 1000
}

/// Server-side console sessions, in memory and keyed by the SHA-256 of the cookie value, so the table holds no
/// value a browser could present. Thread-safe; time comes from the injected clock.
final class ConsoleSessions: Sendable {
    /// The cookie that carries the session id.
    static let cookieName = "legate_console"

    private let clock: any ServiceClock
    private let policy: ConsoleSessionPolicy
    /// Whether a key may still act (not revoked, not expired): a key that may not ends its sessions.
    private let keyIsUsable: @Sendable (_ keyID: String, _ now: Int64) -> Bool
    private let sessions = Mutex<[[UInt8]: ConsoleSession]>([:])

    /// Creates the table; `keyIsUsable` is asked on every look-up.
    init(
        clock: any ServiceClock, policy: ConsoleSessionPolicy = ConsoleSessionPolicy(),
        keyIsUsable: @escaping @Sendable (_ keyID: String, _ now: Int64) -> Bool
    ) {
        self.clock = clock
        self.policy = policy
        self.keyIsUsable = keyIsUsable
    }

    /// Starts a session for `admin`; returns the cookie value (shown to the browser only) and the session.
    func create(for admin: AdminSession) -> (id: String, session: ConsoleSession) {
        let id = Self.randomHex()
        let now = self.clock.unixMilliseconds()
        let session = ConsoleSession(
            admin: admin, csrfToken: Self.randomHex(), createdAt: now, lastSeenAt: now)
        self.sessions.withLock { table in
            table = table.filter { self.isLive($0.value, now: now) }
            if table.count >= self.policy.maxSessions,
                let oldest = table.min(by: { $0.value.lastSeenAt < $1.value.lastSeenAt })
            {
                table[oldest.key] = nil
            }
            table[SHA256Digest.hash(Array(id.utf8))] = session
        }
        return (id, session)
    }

    /// The live session for a cookie value, its idle time renewed; nil (and forgotten) when it expired, was
    /// signed out, or its key was revoked or expired.
    func session(id: String) -> ConsoleSession? {
        let key = SHA256Digest.hash(Array(id.utf8))
        let now = self.clock.unixMilliseconds()
        guard let found = self.sessions.withLock({ $0[key] }) else { return nil }
        guard self.isLive(found, now: now), self.keyIsUsable(found.admin.keyID, now) else {
            self.sessions.withLock { $0[key] = nil }
            return nil
        }
        return self.sessions.withLock { table -> ConsoleSession? in
            guard var current = table[key] else { return nil }
            current.lastSeenAt = max(current.lastSeenAt, now)
            table[key] = current
            return current
        }
    }

    /// Ends the session of a cookie value (sign-out); later requests with it are refused.
    func end(id: String) {
        let key = SHA256Digest.hash(Array(id.utf8))
        _ = self.sessions.withLock { $0.removeValue(forKey: key) }
    }

    /// Sessions held now (expired ones included until the next sign-in sweeps them).
    var count: Int { self.sessions.withLock { $0.count } }

    /// Whether `presented` is the session's CSRF token (constant time; an empty value never matches).
    static func csrfMatches(_ presented: String, session: ConsoleSession) -> Bool {
        !presented.isEmpty && ConstantTime.equals(Array(presented.utf8), Array(session.csrfToken.utf8))
    }

    /// 32 random bytes as 64 lowercase hex digits (a cookie- and form-safe secret).
    static func randomHex() -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var text = ""
        for byte in SecureRandom.bytes(32) {
            text.unicodeScalars.append(digits[Int(byte >> 4)])
            text.unicodeScalars.append(digits[Int(byte & 15)])
        }
        return text
    }

    private func isLive(_ session: ConsoleSession, now: Int64) -> Bool {
        now - session.lastSeenAt < self.policy.idleTimeout.int64Milliseconds
            && now - session.createdAt < self.policy.absoluteTimeout.int64Milliseconds
    }
}
