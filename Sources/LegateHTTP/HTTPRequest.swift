// The request a parser produces and the limits it enforces: plain values, no I/O.

/// The HTTP versions the parser accepts.
public enum HTTPVersion: Sendable, Equatable {
    case http10
    case http11
}

/// One header field as received (the name keeps its case; look-ups ignore it).
public struct HTTPHeader: Sendable, Equatable {
    /// The field name, as sent.
    public var name: String
    /// The field value, optional whitespace trimmed.
    public var value: String

    /// Creates a header field.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A complete request: request line, header fields and body.
public struct HTTPRequest: Sendable, Equatable {
    /// The method token, e.g. `GET`.
    public var method: String
    /// The request target as sent, e.g. `/readyz?verbose`.
    public var target: String
    /// The target's path, before any `?`.
    public var path: String
    /// The target's query, after the first `?` (nil when there is no `?`).
    public var query: String?
    /// HTTP/1.0 or HTTP/1.1.
    public var version: HTTPVersion
    /// Header fields in arrival order.
    public var headers: [HTTPHeader]
    /// The body (Content-Length bytes; empty without one).
    public var body: [UInt8]

    /// Creates a request; `path` and `query` are split from `target`.
    public init(
        method: String, target: String, version: HTTPVersion = .http11, headers: [HTTPHeader] = [], body: [UInt8] = []
    ) {
        self.method = method
        self.target = target
        if let mark = target.firstIndex(of: "?") {
            self.path = String(target[..<mark])
            self.query = String(target[target.index(after: mark)...])
        } else {
            self.path = target
            self.query = nil
        }
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive), if present.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return self.headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// True when the query names `item` as a bare flag or as `item=...` (`?verbose`, `?verbose=1`).
    public func hasQueryItem(_ item: String) -> Bool {
        guard let query = self.query else { return false }
        return query.split(separator: "&").contains { part in
            part == item || part.hasPrefix(item + "=")
        }
    }

    /// Whether the connection stays open after the response (HTTP/1.1 unless `Connection: close`; HTTP/1.0
    /// only with `Connection: keep-alive`).
    public var keepAlive: Bool {
        let tokens = (self.header("connection") ?? "").lowercased().split(separator: ",").map {
            HTTPText.trimmed(Substring($0))
        }
        switch self.version {
        case .http11: return !tokens.contains("close")
        case .http10: return tokens.contains("keep-alive")
        }
    }
}

/// Bounds on what one request may hold; the parser refuses anything larger before buffering it.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line, CRLF excluded (default 8 KiB).
    public var maxRequestLineBytes: Int
    /// Largest header section after the request line (default 16 KiB).
    public var maxHeaderBytes: Int
    /// Most header fields (default 64).
    public var maxHeaderCount: Int
    /// Largest body (default 64 KiB).
    public var maxBodyBytes: Int

    /// Builds limits; every argument defaults to `defaults`.
    public init(
        maxRequestLineBytes: Int = 8 << 10, maxHeaderBytes: Int = 16 << 10, maxHeaderCount: Int = 64,
        maxBodyBytes: Int = 64 << 10
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }

    /// 8 KiB request line, 16 KiB and 64 fields of headers, 64 KiB body.
    public static let defaults = HTTPLimits()
}

/// Why bytes are not an acceptable request; the connection answers with `status` and closes.
public enum HTTPParseError: Error, Equatable, CustomStringConvertible {
    case requestLineTooLong(limit: Int)
    case headersTooLarge(limit: Int)
    case tooManyHeaders(limit: Int)
    case bodyTooLarge(length: Int, limit: Int)
    case malformedRequestLine(String)
    case malformedHeader(String)
    case unsupportedVersion(String)
    case invalidContentLength(String)
    case missingHost
    case transferEncodingNotSupported

    /// The status the peer is answered with.
    public var status: HTTPStatus {
        switch self {
        case .requestLineTooLong: return .uriTooLong
        case .headersTooLarge, .tooManyHeaders: return .requestHeaderFieldsTooLarge
        case .bodyTooLarge: return .payloadTooLarge
        case .unsupportedVersion: return .httpVersionNotSupported
        case .transferEncodingNotSupported: return .notImplemented
        case .malformedRequestLine, .malformedHeader, .invalidContentLength, .missingHost: return .badRequest
        }
    }

    /// What was wrong and what the client should do instead.
    public var description: String {
        switch self {
        case .requestLineTooLong(let limit):
            return "request line longer than \(limit) bytes; shorten the URL"
        case .headersTooLarge(let limit):
            return "header section larger than \(limit) bytes; send fewer or shorter headers"
        case .tooManyHeaders(let limit):
            return "more than \(limit) header fields; send fewer headers"
        case .bodyTooLarge(let length, let limit):
            return "body of \(length) bytes exceeds \(limit) bytes"
        case .malformedRequestLine(let why):
            return "malformed request line: \(why); send METHOD /path HTTP/1.1"
        case .malformedHeader(let why):
            return "malformed header field: \(why)"
        case .unsupportedVersion(let version):
            return "HTTP version \(version) is not supported; use HTTP/1.1 or HTTP/1.0"
        case .invalidContentLength(let value):
            return "invalid Content-Length \(value); send one non-negative decimal length"
        case .missingHost:
            return "HTTP/1.1 request without a Host header; add one"
        case .transferEncodingNotSupported:
            return "Transfer-Encoding request bodies are not supported; send Content-Length"
        }
    }
}
