import Foundation
import LegateAuth
import Testing

@Suite struct DelegateTokenTests {
    @Test func generatedTokensParseAndRedact() throws {
        let token = DelegateToken.generate()
        #expect(token.value.hasPrefix("lgt_\(token.id)_"))
        #expect(token.id.utf8.count == DelegateToken.idLength)
        #expect(try DelegateToken.parse(token.value) == token)
        #expect(token.redacted == "lgt_\(token.id)_****")
        #expect("\(token)" == token.redacted)
        #expect(DelegateToken.generate().value != token.value)
        let fixed = DelegateToken.generate(id: "abcdefghijklmnop")
        #expect(try DelegateToken.parse(fixed.value).id == "abcdefghijklmnop")
    }

    @Test func mistypedValuesNameTheProblem() {
        let value = DelegateToken.generate(id: "abcdefghijklmnop").value
        let parts = value.split(separator: "_").map(String.init)
        let cases: [(String, AuthError)] = [
            ("xyz_" + value.dropFirst(4), .tokenMissingPrefix),
            (String(value.prefix(30)), .tokenWrongPartCount(found: 3)),
            (value + "_x", .tokenWrongPartCount(found: 5)),
            ("lgt_abcdefghijklmnoP_\(parts[2])_\(parts[3])", .tokenInvalidCharacter(part: "id", offset: 15)),
            ("lgt_abcdefghijklmno_\(parts[2])_\(parts[3])", .tokenIDLength(found: 15, expected: 16)),
            ("lgt_abcdefghijklmnop_\(parts[2].dropLast())_\(parts[3])", .tokenSecretTooShort(found: 51, minimum: 52)),
            ("lgt_abcdefghijklmnop_\(parts[2])_\(parts[3].dropLast())", .tokenChecksumLength(found: 7, expected: 8)),
            ("lgt_abcdefghijklmnop_\(parts[2].dropLast())a_\(parts[3])", .tokenChecksumMismatch),
            (value.replacingOccurrences(of: "_\(parts[3])", with: "_\(parts[3].dropFirst())1"),
             .tokenInvalidCharacter(part: "checksum", offset: 7)),
        ]
        for (input, expected) in cases where input != value {
            #expect(throws: expected) { try DelegateToken.parse(input) }
            if let error = try? DelegateToken.parse(input) { Issue.record("accepted \(error.redacted)") }
            #expect(!expected.description.contains(parts[2]), "secret in message")
        }
    }
}

@Suite struct CryptoTests {
    @Test func hmacMatchesRFC4231Case2() {
        let key = HMACKey(keyBytes: Array("Jefe".utf8))
        let mac = key.authenticationCode(for: Array("what do ya want for nothing?".utf8))
        #expect(mac.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let long = HMACKey(keyBytes: [UInt8](repeating: 0xaa, count: 131))
        let mac6 = long.authenticationCode(for: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
        #expect(mac6.prefix(4) == [0x60, 0xe4, 0x31, 0x59])
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2], [1, 2, 3]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(SecureRandom.bytes(32).count == 32)
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }

    @Test func masterKeySealsAndOpens() throws {
        let key = MasterKey.generate()
        let plaintext = Array("lgt_secret_value".utf8)
        let sealed = key.seal(plaintext, associatedData: Array("token:1".utf8))
        #expect(sealed.count == 12 + plaintext.count + 16)
        #expect(try key.open(sealed, associatedData: Array("token:1".utf8)) == plaintext)
        #expect(throws: AuthError.decryptionFailed) { try key.open(sealed, associatedData: Array("token:2".utf8)) }
        var tampered = sealed
        tampered[14] ^= 1
        #expect(throws: AuthError.decryptionFailed) { try key.open(tampered, associatedData: Array("token:1".utf8)) }
        #expect(throws: AuthError.decryptionFailed) {
            try MasterKey.generate().open(sealed, associatedData: Array("token:1".utf8))
        }
        #expect(throws: AuthError.sealedBoxTooShort(found: 5, minimum: 28)) { try key.open([1, 2, 3, 4, 5], associatedData: []) }
        #expect(throws: AuthError.invalidMasterKeyLength(found: 16)) { try MasterKey(bytes: [UInt8](repeating: 0, count: 16)) }
        #expect(try MasterKey(bytes: key.bytes) == key)
        let empty = key.seal([], associatedData: [])
        #expect(try key.open(empty, associatedData: []) == [])
    }

    @Test func replayCacheRefusesRepeatsUntilExpiry() {
        let cache = ReplayCache(perTokenCapacity: 2)
        #expect(cache.insert(jwtID: "a", keyID: "t", expiresAt: 100, now: 0) == .fresh)
        #expect(cache.insert(jwtID: "a", keyID: "t", expiresAt: 100, now: 50) == .replayed)
        #expect(cache.insert(jwtID: "b", keyID: "t", expiresAt: 200, now: 50) == .fresh)
        // Full of live entries: refused as retryable, never as a replay.
        #expect(cache.insert(jwtID: "c", keyID: "t", expiresAt: 200, now: 60) == .windowFull)
        // After "a" expires it is purged and may be used again; memory stays bounded.
        #expect(cache.insert(jwtID: "c", keyID: "t", expiresAt: 300, now: 101) == .fresh)
        #expect(cache.count == 2)
        #expect(cache.insert(jwtID: "a", keyID: "t", expiresAt: 400, now: 201) == .fresh)
        #expect(AuthError.replayedJWTID.code == "replayedJWTID")
    }
}
