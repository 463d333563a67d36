import LegateAuth
import LegateCore
import LegateNet
import LegateWire

/// An admin API key value, `lak_<16-char id>_<52-char secret>` (260 bits of secret), self-identifying like
/// delegate tokens so the manager finds the key by id and secret scanners can spot a leaked one.
public struct AdminAPIKey: Sendable, Equatable, CustomStringConvertible {
    /// The key id (stored in the clear).
    public let id: String
    /// The whole value; shown once, never stored or logged.
    public let value: String
    let secret: String

    static let idLength = 16
    static let secretLength = 52
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)

    /// A new random key.
    public static func generate() -> AdminAPIKey {
        let id = Self.randomText(Self.idLength)
        let secret = Self.randomText(Self.secretLength)
        return AdminAPIKey(id: id, value: "lak_\(id)_\(secret)", secret: secret)
    }

    /// Parses a key value; nil when it is not shaped like one (the caller says so without echoing it).
    public static func parse(_ value: String) -> AdminAPIKey? {
        let parts = value.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "lak", parts[1].utf8.count == Self.idLength,
            parts[2].utf8.count == Self.secretLength,
            (Array(parts[1].utf8) + Array(parts[2].utf8)).allSatisfy({ Self.alphabet.contains($0) })
        else { return nil }
        return AdminAPIKey(id: String(parts[1]), value: value, secret: String(parts[2]))
    }

    /// SHA-256 of the secret part: all the store keeps.
    public var secretHash: [UInt8] { Self.sha256(Array(self.secret.utf8)) }

    /// Redacted form for logs and errors.
    public var description: String { "lak_\(self.id)_****" }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        SHA256Digest.hash(bytes)
    }

    private static func randomText(_ count: Int) -> String {
        String(decoding: SecureRandom.bytes(count).map { Self.alphabet[Int($0 & 31)] }, as: UTF8.self)
    }
}
