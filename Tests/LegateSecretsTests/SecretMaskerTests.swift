import Foundation
@testable import LegateSecrets
import Testing

/// The masking rule applied to a whole text at once, naively: every occurrence of every pattern, overlapping or
/// touching occurrences joined, each joined run replaced by `***`.
func referenceMask(_ text: [UInt8], patterns: [[UInt8]]) -> [UInt8] {
    var covered = [Bool](repeating: false, count: text.count)
    for pattern in patterns where !pattern.isEmpty && pattern.count <= text.count {
        for start in 0...(text.count - pattern.count)
        where text[start..<(start + pattern.count)].elementsEqual(pattern) {
            // Covered bytes form runs, so occurrences that overlap or touch become one run.
            for index in start..<(start + pattern.count) { covered[index] = true }
        }
    }
    var out: [UInt8] = []
    var index = 0
    while index < text.count {
        if covered[index] {
            out += SecretMasker.replacement
            while index < text.count && covered[index] { index += 1 }
        } else {
            out.append(text[index])
            index += 1
        }
    }
    return out
}

/// Runs `masker` over `chunks` and `finish()`.
func streamed(_ masker: SecretMasker, _ chunks: [[UInt8]]) -> [UInt8] {
    var masker = masker
    var out: [UInt8] = []
    for chunk in chunks { out += masker.mask(chunk) }
    return out + masker.finish()
}

@Suite struct SecretMaskerTests {
    static let secret = Array("s3cr3t-P4ss".utf8)

    @Test func masksValueAcrossEverySplitPoint() throws {
        let masker = try SecretMasker(values: [Self.secret])
        let text = Array("user=admin pass=s3cr3t-P4ss; again s3cr3t-P4sss3cr3t-P4ss end".utf8)
        let expected = Array("user=admin pass=***; again *** end".utf8)
        #expect(streamed(masker, [text]) == expected)
        for split in 0...text.count {
            #expect(streamed(masker, [Array(text[..<split]), Array(text[split...])]) == expected, "split \(split)")
        }
        for first in 0...text.count {
            for second in first...text.count {
                let chunks = [Array(text[..<first]), Array(text[first..<second]), Array(text[second...])]
                #expect(streamed(masker, chunks) == expected)
            }
        }
        #expect(streamed(masker, text.map { [$0] }) == expected)
    }

    @Test func masksLinesAndEncodedForms() throws {
        let value = Array("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\r\nshort\n-----END KEY-----".utf8)
        let masker = try SecretMasker(values: [value])
        let line = Array("log: MIIEvQIBADANBgkqhkiG9w0BAQEF was read, short stays".utf8)
        #expect(streamed(masker, [line]) == Array("log: *** was read, short stays".utf8))
        for alphabet in [Base64.Alphabet.standard, .url] {
            for padding in [true, false] {
                let encoded = Base64.encodeBytes(value, alphabet: alphabet, padding: padding)
                #expect(streamed(masker, [Array("x ".utf8) + encoded + Array(" y".utf8)]) == Array("x *** y".utf8))
            }
        }
    }

    @Test func masksBase64OfTheValueInsideLongerBase64AtEveryAlignment() throws {
        let password = Array("correct-horse-battery".utf8)
        let masker = try SecretMasker(values: [password])
        for prefix in ["", "u:", "user:", "a", "ab", "abc", "abcd"] {
            for suffix in ["", "!", "!!", "!!!"] {
                let plain = Array(prefix.utf8) + password + Array(suffix.utf8)
                for alphabet in [Base64.Alphabet.standard, .url] {
                    let encoded = Base64.encodeBytes(plain, alphabet: alphabet, padding: true)
                    let header = Array("Authorization: Basic ".utf8) + encoded
                    let masked = streamed(masker, [header])
                    #expect(masked != header)
                    // At most two characters at each end of the embedded value's encoding stay visible.
                    let middle = SecretMasker.patterns(for: password).filter { $0.count >= 20 }
                    #expect(!middle.contains { pattern in contains(masked, pattern) })
                    let unmaskedRun = longestRunWithout(masked)
                    #expect(unmaskedRun <= "Authorization: Basic ".utf8.count + 4 + 4)
                }
            }
        }
    }

    @Test func randomDataMatchesTheReferenceUnderRandomChunking() throws {
        var random = SplitMix64(state: 42)
        for round in 0..<60 {
            // Small alphabet so that partial matches and overlaps are frequent.
            let alphabet = Array("ab=+/AQ\n".utf8)
            let values = (0..<(1 + Int(random.next() % 3))).map { _ in
                (0..<(6 + Int(random.next() % 8))).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            }
            let masker = try SecretMasker(values: values)
            let patterns = values.flatMap { SecretMasker.patterns(for: $0) }
            var text: [UInt8] = []
            for _ in 0..<(Int(random.next() % 400)) {
                if random.next() % 8 == 0, let pattern = patterns.randomElement(using: &random) {
                    text += pattern
                } else {
                    text.append(alphabet[Int(random.next() % UInt64(alphabet.count))])
                }
            }
            let expected = referenceMask(text, patterns: patterns)
            #expect(streamed(masker, [text]) == expected, "round \(round)")
            var chunks: [[UInt8]] = []
            var index = 0
            while index < text.count {
                let size = min(text.count - index, Int(random.next() % 17))
                chunks.append(Array(text[index..<(index + size)]))
                index += size
            }
            #expect(streamed(masker, chunks) == expected, "round \(round) chunked")
            if round % 10 == 0 {
                for split in 0...text.count {
                    #expect(streamed(masker, [Array(text[..<split]), Array(text[split...])]) == expected)
                }
            }
        }
    }

    @Test func holdsBackLessThanTheLongestPattern() throws {
        let masker = try SecretMasker(values: [Self.secret, Array("another-longer-secret-value".utf8)])
        var running = masker
        let text = [UInt8](repeating: UInt8(ascii: "a"), count: 500) + Array("another-longer-secret".utf8)
        var released = 0
        var fed = 0
        for byte in text {
            fed += 1
            released += running.mask([byte]).count
            #expect(fed - released <= masker.longestPatternLength - 1)
        }
        released += running.finish().count
        #expect(released == text.count)
        // The masker starts a fresh stream after finish().
        #expect(streamed(running, [Self.secret]) == SecretMasker.replacement)
    }

    @Test func refusesShortValuesAndPassesThroughWithoutValues() throws {
        #expect(SecretMasker.minimumValueLength == 6)
        #expect(throws: SecretsError.valueTooShortToMask(length: 5, minimum: 6)) {
            try SecretMasker.validate(value: Array("12345".utf8))
        }
        #expect(throws: SecretsError.self) { try SecretMasker(values: [Self.secret, Array("abc".utf8)]) }
        try SecretMasker.validate(value: Array("123456".utf8))
        var empty = try SecretMasker(values: [])
        #expect(empty.mask(Array("nothing to hide".utf8)) == Array("nothing to hide".utf8))
        #expect(empty.finish().isEmpty)
    }
}

/// True when `pattern` occurs in `text`.
func contains(_ text: [UInt8], _ pattern: [UInt8]) -> Bool {
    guard pattern.count <= text.count else { return false }
    return (0...(text.count - pattern.count)).contains { text[$0..<($0 + pattern.count)].elementsEqual(pattern) }
}

/// Length of the longest stretch of `text` without `*`.
func longestRunWithout(_ text: [UInt8]) -> Int {
    var best = 0
    var run = 0
    for byte in text {
        run = byte == UInt8(ascii: "*") ? 0 : run + 1
        best = max(best, run)
    }
    return best
}
