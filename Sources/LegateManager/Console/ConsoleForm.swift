import LegateHTTP

// Decoding what a browser sends: form bodies, query strings and cookies. Pure.

/// Name/value pairs of an `application/x-www-form-urlencoded` body or a query string.
struct ConsoleForm: Sendable, Equatable {
    /// The pairs in order; a name may repeat (checkboxes).
    let pairs: [(String, String)]

    /// Decodes `text` (`a=1&b=x+y&c=%3C`); malformed escapes are kept as typed.
    init(encoded text: String) {
        self.pairs = text.split(separator: "&", omittingEmptySubsequences: true).map { part in
            let halves = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(halves[0])
            return (name, halves.count > 1 ? Self.decode(halves[1]) : "")
        }
    }

    /// The body of a POST, or the query of a GET.
    init(request: HTTPRequest) {
        if request.method == "POST" {
            self.init(encoded: String(decoding: request.body, as: UTF8.self))
        } else {
            self.init(encoded: request.query ?? "")
        }
    }

    /// Same pairs in the same order.
    static func == (lhs: ConsoleForm, rhs: ConsoleForm) -> Bool {
        lhs.pairs.map { [$0.0, $0.1] } == rhs.pairs.map { [$0.0, $0.1] }
    }

    /// The first value of `name`, trimmed of surrounding spaces; "" when absent.
    subscript(_ name: String) -> String {
        guard let value = self.pairs.first(where: { $0.0 == name })?.1 else { return "" }
        return value.trimmingSpaces
    }

    /// The first value of `name` exactly as sent (scripts and payloads keep their whitespace).
    func raw(_ name: String) -> String {
        self.pairs.first { $0.0 == name }?.1 ?? ""
    }

    /// Every non-empty value of `name`.
    func all(_ name: String) -> [String] {
        self.pairs.filter { $0.0 == name && !$0.1.isEmpty }.map(\.1)
    }

    private static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(32)
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2, let high = Self.hex(utf8[utf8.startIndex]),
                let low = Self.hex(utf8[utf8.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension HTTPRequest {
    /// The value of cookie `name` from the `Cookie` header(s), if sent.
    func cookie(_ name: String) -> String? {
        for header in self.headers where header.name.lowercased() == "cookie" {
            for part in header.value.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if pair.count == 2, pair[0].trimmingSpaces == name { return pair[1].trimmingSpaces }
            }
        }
        return nil
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    var trimmingSpaces: String {
        // `Character.isWhitespace`, so a CRLF pair (one Character) is trimmed too.
        let isSpace: (Character) -> Bool = { $0.isWhitespace }
        guard let first = self.firstIndex(where: { !isSpace($0) }), let last = self.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(self[first...last])
    }
}
