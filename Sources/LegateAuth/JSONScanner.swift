internal import COpenSSLShims

/// A minimal, strict JSON scanner over decoded JWT segments (RFC 8259); no Foundation on the hot path.
struct JSONScanner {
    /// Deepest nesting accepted inside a skipped value.
    static let maxDepth = 16
    /// Most members accepted in any object of a header or claims set (bounds the duplicate check).
    static let maxMembers = 32

    let bytes: UnsafeRawBufferPointer
    let segment: String
    var index = 0

    init(_ bytes: UnsafeRawBufferPointer, segment: String) {
        self.bytes = bytes
        self.segment = segment
    }

    func fail(_ reason: String) -> AuthError { .malformedJSON(segment: self.segment, offset: self.index, reason: reason) }

    @inline(__always)
    mutating func skipWhitespace() {
        while self.index < self.bytes.count {
            let c = self.bytes[self.index]
            guard c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 else { return }
            self.index += 1
        }
    }

    @inline(__always)
    mutating func peek() -> UInt8? {
        self.skipWhitespace()
        return self.index < self.bytes.count ? self.bytes[self.index] : nil
    }

    /// Consumes `{`; a non-object top level is `notAnObject`.
    mutating func beginObject() throws(AuthError) {
        guard self.peek() == UInt8(ascii: "{") else { throw .notAnObject(segment: self.segment) }
        self.index += 1
    }

    /// The next member name as a range of raw bytes, or nil at `}`. Names with escapes are refused.
    mutating func nextKey(first: Bool) throws(AuthError) -> Range<Int>? {
        guard let c = self.peek() else { throw self.fail("unterminated object") }
        if c == UInt8(ascii: "}") {
            self.index += 1
            return nil
        }
        if !first {
            guard c == UInt8(ascii: ",") else { throw self.fail("expected ',' or '}'") }
            self.index += 1
            guard self.peek() != nil else { throw self.fail("unterminated object") }
        } else if c == UInt8(ascii: ",") {
            throw self.fail("unexpected ','")
        }
        guard self.peek() == UInt8(ascii: "\"") else { throw self.fail("expected a member name") }
        self.index += 1
        let start = self.index
        while self.index < self.bytes.count {
            let b = self.bytes[self.index]
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") { throw self.fail("escapes in member names are not accepted") }
            if b < 0x20 { throw self.fail("control character in member name") }
            self.index += 1
        }
        guard self.index < self.bytes.count else { throw self.fail("unterminated member name") }
        let range = start..<self.index
        self.index += 1
        guard self.peek() == UInt8(ascii: ":") else { throw self.fail("expected ':'") }
        self.index += 1
        return range
    }

    /// True when the raw bytes in `range` equal the ASCII `name`.
    @inline(__always)
    func matches(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        let pointer = name.utf8Start
        for offset in 0..<range.count where self.bytes[range.lowerBound + offset] != pointer[offset] { return false }
        return true
    }

    /// True when the next value is a string.
    mutating func atString() -> Bool { self.peek() == UInt8(ascii: "\"") }

    /// Reads a string value (escapes decoded, UTF-8 validated). When the value has no escapes and its bytes
    /// equal `reuse`, returns `reuse` itself (no allocation).
    mutating func readString(reusing reuse: String? = nil) throws(AuthError) -> String {
        guard self.peek() == UInt8(ascii: "\""), let base = self.bytes.baseAddress else {
            throw self.fail("expected a string")
        }
        let count = self.bytes.count
        let start = self.index + 1
        // Local cursor over a raw pointer: keeps the loop in registers.
        let pointer = base.assumingMemoryBound(to: UInt8.self)
        var index = start
        var hasEscape = false
        var highBits: UInt8 = 0
        var lowest: UInt8 = 0xff
        // SWAR fast path: skip 8 plain bytes at a time (no quote, backslash, control or non-ASCII byte).
        let raw8 = UnsafeRawPointer(pointer)
        while index + 8 <= count {
            let w = raw8.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let high: UInt64 = 0x8080_8080_8080_8080
            let quote = w ^ (ones &* 0x22)
            let slash = w ^ (ones &* 0x5c)
            let special = ((quote &- ones) & ~quote) | ((slash &- ones) & ~slash) | ((w &- ones &* 0x20) & ~w) | w
            if special & high != 0 { break }
            index += 8
        }
        while index < count {
            let b = pointer[index]
            if b == 0x22 { break }
            highBits |= b
            lowest = min(lowest, b)
            if b == 0x5c {
                hasEscape = true
                index += 1
            }
            index += 1
        }
        self.index = index
        guard index < count else { throw self.fail("unterminated string") }
        guard lowest >= 0x20 else { throw self.fail("control character in string") }
        let raw = UnsafeRawBufferPointer(start: pointer + start, count: index - start)
        self.index = index + 1
        if !hasEscape {
            // Pure ASCII needs no validation; anything else is checked as UTF-8.
            if var reuse, reuse.utf8.count == raw.count,
               reuse.withUTF8({ text in
                   guard let a = text.baseAddress, let b = raw.baseAddress else { return raw.isEmpty }
                   return legate_memcmp(a, b, raw.count) == 0
               }) {
                return reuse
            }
            if highBits & 0x80 == 0 { return String(decoding: raw, as: UTF8.self) }
            guard let text = String(validating: raw, as: UTF8.self) else { throw self.fail("invalid UTF-8") }
            return text
        }
        return try self.unescape(raw)
    }

    private func unescape(_ raw: UnsafeRawBufferPointer) throws(AuthError) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= raw.count else { return nil }
            var value: UInt32 = 0
            for k in 0..<4 {
                let c = raw[at + k]
                let digit: UInt32
                switch c {
                case 0x30...0x39: digit = UInt32(c - 0x30)
                case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
                case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
                default: return nil
                }
                value = value << 4 | digit
            }
            return value
        }
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\") else {
                output.append(b)
                i += 1
                continue
            }
            guard i + 1 < raw.count else { throw self.fail("bad escape") }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(e)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0c)
            case UInt8(ascii: "n"): output.append(0x0a)
            case UInt8(ascii: "r"): output.append(0x0d)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(i) else { throw self.fail("bad \\u escape") }
                i += 4
                if scalar >= 0xd800 && scalar < 0xdc00 {
                    guard i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u"),
                          let low = hex4(i + 2), low >= 0xdc00 && low < 0xe000
                    else { throw self.fail("unpaired surrogate") }
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw self.fail("unpaired surrogate") }
                output.append(contentsOf: Array(String(Character(unicode)).utf8))
            default: throw self.fail("bad escape")
            }
        }
        guard let text = String(validating: output, as: UTF8.self) else { throw self.fail("invalid UTF-8") }
        return text
    }

    /// Reads an integer NumericDate (the minter's form); nil (nothing consumed) when the next value is not a
    /// number or not an integer.
    mutating func readInteger() throws(AuthError) -> Int64? {
        guard let c = self.peek(), c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39),
              let base = self.bytes.baseAddress else { return nil }
        let count = self.bytes.count
        let start = self.index
        var index = start
        let negative = c == UInt8(ascii: "-")
        if negative { index &+= 1 }
        let firstDigit = index
        if index &+ 1 < count, base.load(fromByteOffset: index, as: UInt8.self) == 0x30,
           base.load(fromByteOffset: index &+ 1, as: UInt8.self) &- 0x30 <= 9 {
            self.index = index
            throw self.fail("leading zero")
        }
        var value: Int64 = 0
        while index < count {
            let digit = base.load(fromByteOffset: index, as: UInt8.self) &- 0x30
            guard digit <= 9 else { break }
            value = value &* 10 &+ Int64(digit)
            index &+= 1
            guard index &- firstDigit <= 15 else {
                self.index = index
                throw self.fail("number out of range")
            }
        }
        let digits = index &- firstDigit
        self.index = index
        guard digits > 0 else { throw self.fail("bad number") }
        if index < count {
            let n = base.load(fromByteOffset: index, as: UInt8.self)
            if n == UInt8(ascii: ".") || n == UInt8(ascii: "e") || n == UInt8(ascii: "E") {
                self.index = start
                return nil
            }
        }
        return negative ? -value : value
    }

    /// Skips any value, bounded by `maxDepth`.
    mutating func skipValue(depth: Int = 1) throws(AuthError) {
        guard depth <= Self.maxDepth else { throw .nestingTooDeep(segment: self.segment, limit: Self.maxDepth) }
        guard let c = self.peek() else { throw self.fail("expected a value") }
        switch c {
        case UInt8(ascii: "\""):
            _ = try self.readString()
        case UInt8(ascii: "{"):
            self.index += 1
            // Member names are unique at every depth (RFC 7515 §4, RFC 7519 §4), with the same bound as the
            // top level.
            try withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.maxMembers) { ranges throws(AuthError) in
                var seen = SeenKeys(ranges: ranges)
                var first = true
                while let key = try self.nextKey(first: first) {
                    first = false
                    try seen.insert(key, scanner: self)
                    try self.skipValue(depth: depth + 1)
                }
            }
        case UInt8(ascii: "["):
            self.index += 1
            if self.peek() == UInt8(ascii: "]") {
                self.index += 1
                return
            }
            while true {
                try self.skipValue(depth: depth + 1)
                guard let n = self.peek() else { throw self.fail("unterminated array") }
                self.index += 1
                if n == UInt8(ascii: "]") { return }
                guard n == UInt8(ascii: ",") else { throw self.fail("expected ',' or ']'") }
            }
        case UInt8(ascii: "t"): try self.literal("true")
        case UInt8(ascii: "f"): try self.literal("false")
        case UInt8(ascii: "n"): try self.literal("null")
        default:
            try self.skipNumber()
        }
    }

    private mutating func literal(_ word: StaticString) throws(AuthError) {
        let count = word.utf8CodeUnitCount
        guard self.index + count <= self.bytes.count else { throw self.fail("bad literal") }
        for k in 0..<count where self.bytes[self.index + k] != word.utf8Start[k] { throw self.fail("bad literal") }
        self.index += count
    }

    private mutating func skipNumber() throws(AuthError) {
        let start = self.index
        if self.bytes[self.index] == UInt8(ascii: "-") { self.index += 1 }
        var sawDigit = false
        while self.index < self.bytes.count {
            let b = self.bytes[self.index]
            if b >= 0x30 && b <= 0x39 {
                sawDigit = true
            } else if !(b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
                || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")) {
                break
            }
            self.index += 1
        }
        guard sawDigit, self.index > start else { throw self.fail("unexpected character") }
    }

    /// After the top-level object: only whitespace may follow.
    mutating func end() throws(AuthError) {
        guard self.peek() == nil else { throw self.fail("trailing data after the object") }
    }
}

/// Remembers member names of one object to reject duplicates without allocating.
struct SeenKeys {
    /// Packed `start << 32 | count` of each name seen.
    var ranges: UnsafeMutableBufferPointer<Int>
    var count = 0

    /// Records `key`; throws on a repeat or when the object has too many members.
    mutating func insert(_ key: Range<Int>, scanner: JSONScanner) throws(AuthError) {
        for k in 0..<self.count where self.ranges[k] & 0xffff_ffff == key.count {
            if memcmpEqual(scanner.bytes, self.ranges[k] >> 32, key.lowerBound, key.count) {
                throw .duplicateKey(segment: scanner.segment, key: AuthError.clip(scanner.bytes[key]))
            }
        }
        guard self.count < self.ranges.count else {
            throw scanner.fail("more than \(JSONScanner.maxMembers) members")
        }
        self.ranges[self.count] = key.lowerBound << 32 | key.count
        self.count += 1
    }
}

@inline(__always)
func memcmpEqual(_ bytes: UnsafeRawBufferPointer, _ a: Int, _ b: Int, _ count: Int) -> Bool {
    for k in 0..<count where bytes[a + k] != bytes[b + k] { return false }
    return true
}
