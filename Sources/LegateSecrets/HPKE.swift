internal import LegateAuth

/// The output of HPKE single-shot sealing: the encapsulated ephemeral public key and the AEAD ciphertext (with tag).
public struct HPKESealed: Sendable, Hashable {
    /// `enc` of RFC 9180: the sender's ephemeral X25519 public key, 32 bytes.
    public var encapsulatedKey: [UInt8]
    /// AEAD ciphertext followed by its 16-byte tag.
    public var ciphertext: [UInt8]

    /// Wraps the two parts as received; they are checked when opened.
    public init(encapsulatedKey: [UInt8], ciphertext: [UInt8]) {
        self.encapsulatedKey = encapsulatedKey
        self.ciphertext = ciphertext
    }

    /// One byte string for storage: the 32-byte encapsulated key followed by the ciphertext.
    public var serialized: [UInt8] { self.encapsulatedKey + self.ciphertext }

    /// Splits `serialized` (encapsulated key || ciphertext); refuses input too short to hold both and a tag.
    public init(serialized: some Collection<UInt8>) throws(SecretsError) {
        let bytes = Array(serialized)
        let minimum = X25519PublicKey.byteCount + AESGCM.tagBytes
        guard bytes.count >= minimum else {
            throw .malformed(what: "HPKE sealed box", reason: "\(bytes.count) bytes, at least \(minimum) needed")
        }
        self.encapsulatedKey = Array(bytes.prefix(X25519PublicKey.byteCount))
        self.ciphertext = Array(bytes.dropFirst(X25519PublicKey.byteCount))
    }
}

/// HPKE base mode (RFC 9180) for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM, single-shot: one message
/// per encapsulation. Base mode authenticates the ciphertext to whoever knows the recipient's public key, not to a
/// particular sender.
public enum HPKE {
    /// Encrypts `plaintext` to `recipient`, binding `info` (into the key schedule) and `aad` (into the AEAD).
    public static func seal(to recipient: X25519PublicKey, info: [UInt8], aad: [UInt8], plaintext: [UInt8])
        throws(SecretsError) -> HPKESealed
    {
        try seal(to: recipient, info: info, aad: aad, plaintext: plaintext, suite: .x25519SHA256AES256GCM,
                 ephemeralKey: X25519PrivateKey.generate())
    }

    /// Decrypts `sealed` with the recipient's private key, given the same `info` and `aad` as the sender used.
    public static func open(_ sealed: HPKESealed, with recipient: X25519PrivateKey, info: [UInt8], aad: [UInt8])
        throws(SecretsError) -> [UInt8]
    {
        try open(sealed, with: recipient, info: info, aad: aad, suite: .x25519SHA256AES256GCM)
    }

    /// `seal` with a chosen suite and ephemeral key, so that tests can reproduce the RFC 9180 vectors.
    package static func seal(to recipient: X25519PublicKey, info: [UInt8], aad: [UInt8], plaintext: [UInt8],
                             suite: HPKESuite, ephemeralKey: X25519PrivateKey) throws(SecretsError) -> HPKESealed
    {
        var (enc, context) = try setupBaseSender(suite: suite, recipient: recipient, info: info,
                                                 ephemeralKey: ephemeralKey)
        return HPKESealed(encapsulatedKey: enc, ciphertext: try context.seal(aad: aad, plaintext: plaintext))
    }

    /// `open` with a chosen suite.
    package static func open(_ sealed: HPKESealed, with recipient: X25519PrivateKey, info: [UInt8], aad: [UInt8],
                             suite: HPKESuite) throws(SecretsError) -> [UInt8]
    {
        guard sealed.ciphertext.count >= AESGCM.tagBytes else {
            throw .malformed(what: "HPKE ciphertext", reason: "\(sealed.ciphertext.count) bytes is shorter than a tag")
        }
        var context = try setupBaseRecipient(suite: suite, encapsulatedKey: sealed.encapsulatedKey,
                                             recipient: recipient, info: info)
        return try context.open(aad: aad, ciphertext: sealed.ciphertext)
    }

    /// SetupBaseS (RFC 9180 §5.1.1): encapsulates to `recipient` with `ephemeralKey`; returns `enc` and the context.
    package static func setupBaseSender(suite: HPKESuite, recipient: X25519PublicKey, info: [UInt8],
                                        ephemeralKey: X25519PrivateKey) throws(SecretsError)
        -> (encapsulatedKey: [UInt8], context: HPKEContext)
    {
        var dh = try ephemeralKey.sharedSecret(with: recipient)
        defer { wipe(&dh) }
        let enc = ephemeralKey.publicKey.rawRepresentation
        var shared = suite.extractAndExpand(dh: dh, kemContext: enc + recipient.rawRepresentation)
        defer { wipe(&shared) }
        return (enc, suite.keySchedule(sharedSecret: shared, info: info))
    }

    /// SetupBaseR (RFC 9180 §5.1.1): decapsulates `encapsulatedKey` with `recipient`; returns the context.
    package static func setupBaseRecipient(suite: HPKESuite, encapsulatedKey: [UInt8], recipient: X25519PrivateKey,
                                           info: [UInt8]) throws(SecretsError) -> HPKEContext
    {
        guard encapsulatedKey.count == X25519PublicKey.byteCount else {
            throw .malformed(what: "HPKE encapsulated key",
                             reason: "\(encapsulatedKey.count) bytes, \(X25519PublicKey.byteCount) expected")
        }
        let ephemeral = X25519PublicKey(checked: encapsulatedKey)
        // A low-order `enc` gives no shared secret; the sender could not have made it, so report a failed open.
        var dh: [UInt8]
        do { dh = try recipient.sharedSecret(with: ephemeral) } catch { throw .openFailed(what: "HPKE sealed box") }
        defer { wipe(&dh) }
        var shared = suite.extractAndExpand(dh: dh, kemContext: encapsulatedKey + recipient.publicKey.rawRepresentation)
        defer { wipe(&shared) }
        return suite.keySchedule(sharedSecret: shared, info: info)
    }
}

/// An HPKE cipher suite: DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256 with AES-128-GCM or AES-256-GCM.
package struct HPKESuite: Sendable {
    /// KEM identifier (0x0020, DHKEM(X25519, HKDF-SHA256)).
    package let kemID: UInt16 = 0x0020
    /// KDF identifier (0x0001, HKDF-SHA256).
    package let kdfID: UInt16 = 0x0001
    /// AEAD identifier: 1 for AES-128-GCM, 2 for AES-256-GCM.
    package let aeadID: UInt16

    /// The suite Legate uses.
    package static let x25519SHA256AES256GCM = HPKESuite(aeadID: 2)
    /// The suite of RFC 9180 Appendix A.1.
    package static let x25519SHA256AES128GCM = HPKESuite(aeadID: 1)

    /// The suite for an AEAD identifier, or nil when it is not AES-128-GCM or AES-256-GCM.
    package init?(kemID: UInt16, kdfID: UInt16, aeadID: UInt16) {
        guard kemID == 0x0020, kdfID == 0x0001, aeadID == 1 || aeadID == 2 else { return nil }
        self.aeadID = aeadID
    }

    private init(aeadID: UInt16) { self.aeadID = aeadID }

    /// Nk: AEAD key bytes.
    var keyBytes: Int { self.aeadID == 1 ? 16 : 32 }

    private static let version = Array("HPKE-v1".utf8)

    private var kemSuiteID: [UInt8] { Array("KEM".utf8) + bigEndian(self.kemID) }
    private var suiteID: [UInt8] {
        Array("HPKE".utf8) + bigEndian(self.kemID) + bigEndian(self.kdfID) + bigEndian(self.aeadID)
    }

    /// ExtractAndExpand of DHKEM (RFC 9180 §4.1): the 32-byte KEM shared secret.
    package func extractAndExpand(dh: [UInt8], kemContext: [UInt8]) -> [UInt8] {
        var prk = Self.labeledExtract(suiteID: self.kemSuiteID, salt: [], label: "eae_prk", ikm: dh)
        defer { wipe(&prk) }
        return Self.labeledExpand(suiteID: self.kemSuiteID, prk: prk, label: "shared_secret", info: kemContext,
                                  length: 32)
    }

    /// DeriveKeyPair for X25519 (RFC 9180 §7.1.3): the private key bytes derived from `ikm`.
    package func deriveX25519PrivateKey(ikm: [UInt8]) -> [UInt8] {
        var prk = Self.labeledExtract(suiteID: self.kemSuiteID, salt: [], label: "dkp_prk", ikm: ikm)
        defer { wipe(&prk) }
        return Self.labeledExpand(suiteID: self.kemSuiteID, prk: prk, label: "sk", info: [], length: 32)
    }

    /// KeySchedule for mode_base with no PSK (RFC 9180 §5.1).
    package func keySchedule(sharedSecret: [UInt8], info: [UInt8]) -> HPKEContext {
        let context = self.keyScheduleContext(info: info)
        var secret = self.scheduleSecret(sharedSecret: sharedSecret)
        defer { wipe(&secret) }
        let suite = self.suiteID
        return HPKEContext(
            key: Self.labeledExpand(suiteID: suite, prk: secret, label: "key", info: context, length: self.keyBytes),
            baseNonce: Self.labeledExpand(suiteID: suite, prk: secret, label: "base_nonce", info: context,
                                          length: AESGCM.nonceBytes),
            exporterSecret: Self.labeledExpand(suiteID: suite, prk: secret, label: "exp", info: context, length: 32))
    }

    /// key_schedule_context for mode_base: mode || psk_id_hash || info_hash.
    package func keyScheduleContext(info: [UInt8]) -> [UInt8] {
        let pskIDHash = Self.labeledExtract(suiteID: self.suiteID, salt: [], label: "psk_id_hash", ikm: [])
        let infoHash = Self.labeledExtract(suiteID: self.suiteID, salt: [], label: "info_hash", ikm: info)
        return [0] + pskIDHash + infoHash
    }

    /// The key schedule's `secret`: LabeledExtract(shared_secret, "secret", psk) with an empty PSK.
    package func scheduleSecret(sharedSecret: [UInt8]) -> [UInt8] {
        Self.labeledExtract(suiteID: self.suiteID, salt: sharedSecret, label: "secret", ikm: [])
    }

    private static func labeledExtract(suiteID: [UInt8], salt: [UInt8], label: String, ikm: [UInt8]) -> [UInt8] {
        HMACKey(keyBytes: salt).authenticationCode(for: Self.version + suiteID + Array(label.utf8) + ikm)
    }

    private static func labeledExpand(suiteID: [UInt8], prk: [UInt8], label: String, info: [UInt8], length: Int)
        -> [UInt8]
    {
        let labeledInfo = bigEndian(UInt16(length)) + Self.version + suiteID + Array(label.utf8) + info
        // HKDF-Expand (RFC 5869 §2.3); every length asked here is at most 32 * 255.
        let key = HMACKey(keyBytes: prk)
        var output: [UInt8] = []
        var block: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < length {
            block = key.authenticationCode(for: block + labeledInfo + [counter])
            output += block
            counter &+= 1
        }
        return Array(output.prefix(length))
    }
}

/// An HPKE encryption context (RFC 9180 §5.2): AEAD key, base nonce, exporter secret and sequence number.
package struct HPKEContext: Sendable {
    /// The AEAD key.
    package let key: [UInt8]
    /// The base nonce, XORed with the sequence number for each message.
    package let baseNonce: [UInt8]
    /// The exporter secret (unused by Legate; exposed for the RFC vectors).
    package let exporterSecret: [UInt8]
    /// The number of messages sealed or opened so far.
    package private(set) var sequence: UInt64 = 0

    init(key: [UInt8], baseNonce: [UInt8], exporterSecret: [UInt8]) {
        self.key = key
        self.baseNonce = baseNonce
        self.exporterSecret = exporterSecret
    }

    /// Seals the next message.
    package mutating func seal(aad: [UInt8], plaintext: [UInt8]) throws(SecretsError) -> [UInt8] {
        let sealed = try AESGCM.seal(key: self.key, nonce: try self.nextNonce(), aad: aad, plaintext: plaintext)
        self.sequence += 1
        return sealed
    }

    /// Opens the next message.
    package mutating func open(aad: [UInt8], ciphertext: [UInt8]) throws(SecretsError) -> [UInt8] {
        let opened = try AESGCM.open(key: self.key, nonce: try self.nextNonce(), aad: aad, sealed: ciphertext,
                                     what: "HPKE sealed box")
        self.sequence += 1
        return opened
    }

    /// base_nonce XOR I2OSP(seq, Nn).
    private func nextNonce() throws(SecretsError) -> [UInt8] {
        guard self.sequence < UInt64.max else { throw .messageLimitReached }
        var nonce = self.baseNonce
        let sequence = bigEndian(self.sequence)
        for index in 0..<sequence.count { nonce[nonce.count - sequence.count + index] ^= sequence[index] }
        return nonce
    }
}

/// Big-endian bytes of an unsigned integer (I2OSP).
func bigEndian<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> [UInt8] {
    (0..<(T.bitWidth / 8)).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
}
