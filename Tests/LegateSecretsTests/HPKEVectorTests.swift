internal import COpenSSL
import Foundation
@testable import LegateSecrets
import Testing

/// The vector file (see Vectors/README.md).
struct HPKEVectorFile: Decodable {
    /// An RFC 9180 Appendix A entry with every intermediate value.
    struct Full: Decodable, Sendable, CustomStringConvertible {
        struct Encryption: Decodable, Sendable {
            let sequence_number: UInt64
            let pt: String, aad: String, nonce: String, ct: String
        }
        let kem_id: UInt16, kdf_id: UInt16, aead_id: UInt16
        let info: String, ikmE: String, pkEm: String, skEm: String, ikmR: String, pkRm: String, skRm: String
        let enc: String, shared_secret: String, key_schedule_context: String, secret: String
        let key: String, base_nonce: String, exporter_secret: String
        let encryptions: [Encryption]
        var description: String { "aead \(self.aead_id)" }
    }

    /// A CFRG entry whose 1,000 encryptions are accumulated into one SHAKE128 value.
    struct Accumulated: Decodable, Sendable, CustomStringConvertible {
        let kem_id: UInt16, kdf_id: UInt16, aead_id: UInt16
        let info: String, ikmE: String, ikmR: String, skRm: String, pkRm: String, enc: String
        let encryptions_accumulated: String
        var description: String { "aead \(self.aead_id)" }
    }

    let full: [Full]
    let accumulated: [Accumulated]

    static func load() -> HPKEVectorFile? {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/hpke-rfc9180-x25519-sha256.json")
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(HPKEVectorFile.self, from: data)
    }
}

/// Bytes of a hex string; empty for malformed input (the vector checks then fail visibly).
func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
        guard let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return [] }
        out.append(value)
    }
    return out
}

/// SHAKE128 of `input`, `count` output bytes (libcrypto).
func shake128(_ input: [UInt8], count: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    guard let context = EVP_MD_CTX_new() else { return [] }
    defer { EVP_MD_CTX_free(context) }
    guard EVP_DigestInit_ex(context, EVP_shake128(), nil) == 1,
          EVP_DigestUpdate(context, input, input.count) == 1,
          EVP_DigestFinalXOF(context, &out, count) == 1
    else { return [] }
    return out
}

@Suite struct HPKEVectorTests {
    static let file = HPKEVectorFile.load()
    static let full = file?.full ?? []
    static let accumulated = file?.accumulated ?? []

    @Test func vectorFileLoads() {
        #expect(Self.full.map(\.aead_id) == [1])
        #expect(Self.accumulated.map(\.aead_id) == [2])
    }

    @Test(arguments: full)
    func fullVector(_ vector: HPKEVectorFile.Full) throws {
        let suite = try #require(HPKESuite(kemID: vector.kem_id, kdfID: vector.kdf_id, aeadID: vector.aead_id))
        #expect(suite.deriveX25519PrivateKey(ikm: hex(vector.ikmE)) == hex(vector.skEm))
        #expect(suite.deriveX25519PrivateKey(ikm: hex(vector.ikmR)) == hex(vector.skRm))
        let recipient = try X25519PrivateKey(rawRepresentation: hex(vector.skRm))
        let ephemeral = try X25519PrivateKey(rawRepresentation: hex(vector.skEm))
        #expect(recipient.publicKey.rawRepresentation == hex(vector.pkRm))
        #expect(ephemeral.publicKey.rawRepresentation == hex(vector.pkEm))

        // Key schedule intermediates.
        let dh = try ephemeral.sharedSecret(with: recipient.publicKey)
        let shared = suite.extractAndExpand(dh: dh, kemContext: hex(vector.enc) + hex(vector.pkRm))
        #expect(shared == hex(vector.shared_secret))
        #expect(suite.keyScheduleContext(info: hex(vector.info)) == hex(vector.key_schedule_context))
        #expect(suite.scheduleSecret(sharedSecret: shared) == hex(vector.secret))

        var (enc, sender) = try HPKE.setupBaseSender(suite: suite, recipient: recipient.publicKey,
                                                     info: hex(vector.info), ephemeralKey: ephemeral)
        #expect(enc == hex(vector.enc))
        #expect(sender.key == hex(vector.key))
        #expect(sender.baseNonce == hex(vector.base_nonce))
        #expect(sender.exporterSecret == hex(vector.exporter_secret))
        var receiver = try HPKE.setupBaseRecipient(suite: suite, encapsulatedKey: enc, recipient: recipient,
                                                   info: hex(vector.info))
        #expect(receiver.key == hex(vector.key))
        #expect(vector.encryptions.count == 6)
        for encryption in vector.encryptions {
            // Advance both contexts to the vector's sequence number.
            while sender.sequence < encryption.sequence_number {
                let skipped = try sender.seal(aad: [], plaintext: [])
                _ = try receiver.open(aad: [], ciphertext: skipped)
            }
            let sealed = try sender.seal(aad: hex(encryption.aad), plaintext: hex(encryption.pt))
            #expect(sealed == hex(encryption.ct), "sequence \(encryption.sequence_number)")
            let opened = try receiver.open(aad: hex(encryption.aad), ciphertext: hex(encryption.ct))
            #expect(opened == hex(encryption.pt))
        }

        // The single-shot API is sequence number 0.
        let first = try #require(vector.encryptions.first)
        let single = try HPKE.seal(to: recipient.publicKey, info: hex(vector.info), aad: hex(first.aad),
                                   plaintext: hex(first.pt), suite: suite, ephemeralKey: ephemeral)
        #expect(single == HPKESealed(encapsulatedKey: hex(vector.enc), ciphertext: hex(first.ct)))
        #expect(try HPKE.open(single, with: recipient, info: hex(vector.info), aad: hex(first.aad), suite: suite)
            == hex(first.pt))
    }

    @Test(arguments: accumulated)
    func accumulatedVector(_ vector: HPKEVectorFile.Accumulated) throws {
        let suite = try #require(HPKESuite(kemID: vector.kem_id, kdfID: vector.kdf_id, aeadID: vector.aead_id))
        let ephemeral = try X25519PrivateKey(rawRepresentation: suite.deriveX25519PrivateKey(ikm: hex(vector.ikmE)))
        let derivedRecipient = try X25519PrivateKey(
            rawRepresentation: suite.deriveX25519PrivateKey(ikm: hex(vector.ikmR)))
        let recipient = try X25519PrivateKey(rawRepresentation: hex(vector.skRm))
        #expect(derivedRecipient.publicKey.rawRepresentation == hex(vector.pkRm))
        #expect(recipient.publicKey.rawRepresentation == hex(vector.pkRm))

        var (enc, sender) = try HPKE.setupBaseSender(suite: suite, recipient: recipient.publicKey,
                                                     info: hex(vector.info), ephemeralKey: ephemeral)
        #expect(enc == hex(vector.enc))
        var receiver = try HPKE.setupBaseRecipient(suite: suite, encapsulatedKey: enc, recipient: recipient,
                                                   info: hex(vector.info))
        // Inputs: a SHAKE128 stream read as (length byte, bytes) pairs; 1,000 messages need at most 512,000 bytes.
        let source = shake128([], count: 1000 * 2 * 256)
        var cursor = 0
        func draw() -> [UInt8] {
            let length = Int(source[cursor])
            defer { cursor += 1 + length }
            return Array(source[(cursor + 1)..<(cursor + 1 + length)])
        }
        var ciphertexts: [UInt8] = []
        var firstSealed: HPKESealed?
        for _ in 0..<1000 {
            let aad = draw()
            let plaintext = draw()
            let sealed = try sender.seal(aad: aad, plaintext: plaintext)
            if firstSealed == nil { firstSealed = HPKESealed(encapsulatedKey: enc, ciphertext: sealed) }
            ciphertexts += sealed
            #expect(try receiver.open(aad: aad, ciphertext: sealed) == plaintext)
        }
        #expect(shake128(ciphertexts, count: 16) == hex(vector.encryptions_accumulated))

        // Legate's suite is this one: the public single-shot open reads sequence number 0 of the vector.
        let sealed = try #require(firstSealed)
        cursor = 0
        let aad = draw()
        let plaintext = draw()
        #expect(try HPKE.open(sealed, with: recipient, info: hex(vector.info), aad: aad) == plaintext)
    }
}
