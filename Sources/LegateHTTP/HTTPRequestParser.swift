// A push-style HTTP/1.1 request parser: bytes in, complete requests out, with every size bounded before it is
// buffered. Pipelined requests come out one per call, in order.

/// Parses requests from a byte stream. Feed bytes with `append`, then call `nextRequest` until it returns nil.
/// After an error the parser stays failed: answer with the error's status and close the connection.
public struct HTTPRequestParser: Sendable {
    private enum State: Sendable {
        case head
        case body(HTTPRequest, length: Int)
        case failed(HTTPParseError)
    }

    /// The limits in force.
    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the end of the request line or head resumes, so a head arriving a byte at a time is
    /// not rescanned from its start on every call.
    private var scanned = 0
    /// Where the request line of the head being parsed ends, once found.
    private var lineEnd: Int?
    private var state: State = .head

    /// Creates a parser with `limits`.
    public init(limits: HTTPLimits = .defaults) {
        self.limits = limits
    }

    /// Bytes received and not yet consumed by a returned request.
    public var bufferedBytes: Int { self.buffer.count - self.start }

    /// True when part of a request has arrived (a client that stops here is mid-request).
    public var hasPartialRequest: Bool {
        if case .body = self.state { return true }
        return self.bufferedBytes > 0
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = self.state { return }
        self.compact()
        self.buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.append($0) }
    }

    /// The next complete request, nil when more bytes are needed.
    public mutating func nextRequest() throws(HTTPParseError) -> HTTPRequest? {
        switch self.state {
        case .failed(let error):
            throw error
        case .body(let request, let length):
            return self.takeBody(request, length: length)
        case .head:
            do throws(HTTPParseError) {
                guard let request = try self.parseHead() else { return nil }
                return self.takeBody(request.request, length: request.length)
            } catch {
                self.state = .failed(error)
                self.buffer = []
                self.start = 0
                self.scanned = 0
                self.lineEnd = nil
                throw error
            }
        }
    }

    private mutating func takeBody(_ request: HTTPRequest, length: Int) -> HTTPRequest? {
        guard self.bufferedBytes >= length else {
            self.state = .body(request, length: length)
            return nil
        }
        var complete = request
        complete.body = Array(self.buffer[self.start..<(self.start + length)])
        self.start += length
        self.scanned = self.start
        self.state = .head
        return complete
    }

    private mutating func compact() {
        guard self.start > 0 else { return }
        if self.start == self.buffer.count {
            self.buffer.removeAll(keepingCapacity: true)
        } else if self.start >= 4096 {
            self.buffer.removeFirst(self.start)
        } else {
            return
        }
        self.scanned -= self.start
        if let lineEnd = self.lineEnd { self.lineEnd = lineEnd - self.start }
        self.start = 0
    }

    // MARK: - Head

    private mutating func parseHead() throws(HTTPParseError) -> (request: HTTPRequest, length: Int)? {
        let lineEnd: Int
        if let known = self.lineEnd {
            lineEnd = known
        } else {
            // Empty lines before a request line are ignored (a client may send CRLF after a body).
            while self.bufferedBytes >= 2, self.buffer[self.start] == 13, self.buffer[self.start + 1] == 10 {
                self.start += 2
            }
            if self.bufferedBytes == 1, self.buffer[self.start] == 13 { return nil }
            guard let found = self.find(crlf: false, from: max(self.scanned, self.start)) else {
                self.scanned = max(self.start, self.buffer.count - 1)
                if self.bufferedBytes > self.limits.maxRequestLineBytes {
                    throw .requestLineTooLong(limit: self.limits.maxRequestLineBytes)
                }
                return nil
            }
            guard found - self.start <= self.limits.maxRequestLineBytes else {
                throw .requestLineTooLong(limit: self.limits.maxRequestLineBytes)
            }
            lineEnd = found
            self.lineEnd = found
            self.scanned = found + 2
        }
        let headerStart = lineEnd + 2
        let headEnd: Int
        if headerStart + 1 < self.buffer.count, self.buffer[headerStart] == 13, self.buffer[headerStart + 1] == 10 {
            headEnd = headerStart  // no header fields at all
        } else if let end = self.find(crlf: true, from: max(self.scanned, headerStart)) {
            headEnd = end + 2
        } else {
            self.scanned = max(headerStart, self.buffer.count - 3)
            if self.buffer.count - headerStart > self.limits.maxHeaderBytes {
                throw .headersTooLarge(limit: self.limits.maxHeaderBytes)
            }
            return nil
        }
        guard headEnd - headerStart <= self.limits.maxHeaderBytes else {
            throw .headersTooLarge(limit: self.limits.maxHeaderBytes)
        }
        let (method, target, version) = try Self.requestLine(self.buffer[self.start..<lineEnd])
        let headers = try self.headerFields(self.buffer[headerStart..<headEnd])
        self.start = headEnd + 2
        self.scanned = self.start
        self.lineEnd = nil
        let request = HTTPRequest(method: method, target: target, version: version, headers: headers)
        return (request, try self.bodyLength(request))
    }

    /// Index of the next CRLF (or CRLFCRLF) at or after `from`.
    private func find(crlf double: Bool, from: Int) -> Int? {
        let needed = double ? 4 : 2
        var index = from
        while index + needed <= self.buffer.count {
            if self.buffer[index] == 13, self.buffer[index + 1] == 10,
                !double || (self.buffer[index + 2] == 13 && self.buffer[index + 3] == 10)
            {
                return index
            }
            index += 1
        }
        return nil
    }

    private static func requestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError)
        -> (String, String, HTTPVersion)
    {
        let parts = line.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformedRequestLine("expected three parts separated by single spaces") }
        guard !parts[0].isEmpty, parts[0].allSatisfy(HTTPText.isTokenByte) else {
            throw .malformedRequestLine("invalid method")
        }
        let target = parts[1]
        guard let first = target.first, first == UInt8(ascii: "/") || (target.count == 1 && first == UInt8(ascii: "*"))
        else {
            throw .malformedRequestLine("the target must be an absolute path")
        }
        guard target.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw .malformedRequestLine("the target holds a control, space or non-ASCII byte")
        }
        let versionText = String(decoding: parts[2], as: UTF8.self)
        let version: HTTPVersion
        switch versionText {
        case "HTTP/1.1": version = .http11
        case "HTTP/1.0": version = .http10
        default:
            let bytes = Array(parts[2])
            if bytes.count == 8, versionText.hasPrefix("HTTP/"), HTTPText.isDigit(bytes[5]), bytes[6] == 46,
                HTTPText.isDigit(bytes[7])
            {
                throw .unsupportedVersion(versionText)
            }
            throw .malformedRequestLine("invalid HTTP version")
        }
        return (String(decoding: parts[0], as: UTF8.self), String(decoding: target, as: UTF8.self), version)
    }

    private func headerFields(_ section: ArraySlice<UInt8>) throws(HTTPParseError) -> [HTTPHeader] {
        var headers: [HTTPHeader] = []
        var index = section.startIndex
        while index < section.endIndex {
            var end = index
            while end + 1 < section.endIndex, !(section[end] == 13 && section[end + 1] == 10) { end += 1 }
            if end + 1 >= section.endIndex { end = section.endIndex }
            let line = section[index..<end]
            index = end + 2
            guard headers.count < self.limits.maxHeaderCount else {
                throw .tooManyHeaders(limit: self.limits.maxHeaderCount)
            }
            guard let first = line.first, first != 32, first != 9 else {
                throw .malformedHeader("line folding is not allowed")
            }
            guard let colon = line.firstIndex(of: 58) else { throw .malformedHeader("no colon") }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(HTTPText.isTokenByte) else {
                throw .malformedHeader("invalid field name")
            }
            let value = line[(colon + 1)...]
            guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
                throw .malformedHeader("control byte in the value of \(String(decoding: name, as: UTF8.self))")
            }
            headers.append(
                HTTPHeader(
                    name: String(decoding: name, as: UTF8.self),
                    value: HTTPText.trimmed(Substring(String(decoding: value, as: UTF8.self)))))
        }
        return headers
    }

    private func bodyLength(_ request: HTTPRequest) throws(HTTPParseError) -> Int {
        var length: Int?
        for header in request.headers {
            let name = header.name.lowercased()
            if name == "transfer-encoding" { throw .transferEncodingNotSupported }
            guard name == "content-length" else { continue }
            let utf8 = Array(header.value.utf8)
            guard !utf8.isEmpty, utf8.count <= 18, utf8.allSatisfy(HTTPText.isDigit), let value = Int(header.value)
            else {
                throw .invalidContentLength(String(header.value.prefix(32)))
            }
            if let previous = length, previous != value { throw .invalidContentLength("(two different lengths)") }
            length = value
        }
        if request.version == .http11, request.header("host") == nil { throw .missingHost }
        let bodyLength = length ?? 0
        guard bodyLength <= self.limits.maxBodyBytes else {
            throw .bodyTooLarge(length: bodyLength, limit: self.limits.maxBodyBytes)
        }
        return bodyLength
    }
}

/// Byte classes of RFC 9110 and small text helpers, without Foundation.
enum HTTPText {
    /// `tchar` of RFC 9110 §5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    /// An ASCII digit.
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    /// `text` without leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> String {
        var slice = text[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
