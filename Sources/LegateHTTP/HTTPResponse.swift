// Responses and their wire encoding.

/// A status code and its reason phrase.
public struct HTTPStatus: Sendable, Equatable {
    /// The three-digit code.
    public var code: Int
    /// The reason phrase sent after it.
    public var reason: String

    /// Creates a status.
    public init(code: Int, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// 200 OK.
    public static let ok = HTTPStatus(code: 200, reason: "OK")
    /// 400 Bad Request.
    public static let badRequest = HTTPStatus(code: 400, reason: "Bad Request")
    /// 404 Not Found.
    public static let notFound = HTTPStatus(code: 404, reason: "Not Found")
    /// 405 Method Not Allowed.
    public static let methodNotAllowed = HTTPStatus(code: 405, reason: "Method Not Allowed")
    /// 408 Request Timeout.
    public static let requestTimeout = HTTPStatus(code: 408, reason: "Request Timeout")
    /// 413 Content Too Large.
    public static let payloadTooLarge = HTTPStatus(code: 413, reason: "Content Too Large")
    /// 414 URI Too Long.
    public static let uriTooLong = HTTPStatus(code: 414, reason: "URI Too Long")
    /// 431 Request Header Fields Too Large.
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431, reason: "Request Header Fields Too Large")
    /// 500 Internal Server Error.
    public static let internalServerError = HTTPStatus(code: 500, reason: "Internal Server Error")
    /// 501 Not Implemented.
    public static let notImplemented = HTTPStatus(code: 501, reason: "Not Implemented")
    /// 503 Service Unavailable.
    public static let serviceUnavailable = HTTPStatus(code: 503, reason: "Service Unavailable")
    /// 505 HTTP Version Not Supported.
    public static let httpVersionNotSupported = HTTPStatus(code: 505, reason: "HTTP Version Not Supported")
}

/// A response: status, header fields and body. `Content-Length` and `Connection` are added when encoding.
public struct HTTPResponse: Sendable, Equatable {
    /// The status line's code and reason.
    public var status: HTTPStatus
    /// Header fields besides Content-Length and Connection.
    public var headers: [HTTPHeader]
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: HTTPStatus, headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A UTF-8 text response (`text/plain` unless another content type is given).
    public static func text(
        _ status: HTTPStatus, _ body: String, contentType: String = "text/plain; charset=utf-8"
    ) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [HTTPHeader(name: "Content-Type", value: contentType)], body: Array(body.utf8))
    }

    /// The first value of header `name` (case-insensitive), if present.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return self.headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// Appends the response to `output`; `headOnly` leaves the body out (HEAD), `keepAlive` false adds
    /// `Connection: close`. CR and LF in header names and values are dropped, so a value cannot split the head.
    public func encode(keepAlive: Bool, headOnly: Bool = false, into output: inout [UInt8]) {
        output.append(contentsOf: "HTTP/1.1 \(self.status.code) ".utf8)
        Self.appendClean(self.status.reason, to: &output)
        output.append(contentsOf: [13, 10])
        for header in self.headers {
            let name = header.name.lowercased()
            if name == "content-length" || name == "connection" || name == "transfer-encoding" { continue }
            Self.appendClean(header.name, to: &output)
            output.append(contentsOf: ": ".utf8)
            Self.appendClean(header.value, to: &output)
            output.append(contentsOf: [13, 10])
        }
        output.append(contentsOf: "Content-Length: \(self.body.count)\r\n".utf8)
        if !keepAlive { output.append(contentsOf: "Connection: close\r\n".utf8) }
        output.append(contentsOf: [13, 10])
        if !headOnly { output.append(contentsOf: self.body) }
    }

    /// The encoded response as one array.
    public func encoded(keepAlive: Bool, headOnly: Bool = false) -> [UInt8] {
        var output: [UInt8] = []
        self.encode(keepAlive: keepAlive, headOnly: headOnly, into: &output)
        return output
    }

    private static func appendClean(_ text: String, to output: inout [UInt8]) {
        for byte in text.utf8 where byte != 13 && byte != 10 { output.append(byte) }
    }
}
