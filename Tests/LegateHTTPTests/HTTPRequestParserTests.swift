import LegateHTTP
import Testing

/// Feeds `text` in one piece and collects every complete request.
private func parseAll(_ text: String, limits: HTTPLimits = .defaults) throws(HTTPParseError) -> [HTTPRequest] {
    var parser = HTTPRequestParser(limits: limits)
    parser.append(Array(text.utf8))
    var requests: [HTTPRequest] = []
    while let request = try parser.nextRequest() { requests.append(request) }
    return requests
}

/// The error the parser stops with, or nil.
private func parseError(_ bytes: [UInt8], limits: HTTPLimits = .defaults) -> HTTPParseError? {
    var parser = HTTPRequestParser(limits: limits)
    parser.append(bytes)
    do {
        while try parser.nextRequest() != nil {}
        return nil
    } catch {
        return error
    }
}

@Suite struct HTTPRequestParserTests {
    @Test func parsesASimpleGet() throws {
        let requests = try parseAll("GET /readyz?verbose HTTP/1.1\r\nHost: x\r\nAccept:  text/plain \r\n\r\n")
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request.method == "GET")
        #expect(request.path == "/readyz")
        #expect(request.query == "verbose")
        #expect(request.hasQueryItem("verbose"))
        #expect(!request.hasQueryItem("verb"))
        #expect(request.header("accept") == "text/plain")
        #expect(request.keepAlive)
        #expect(request.body.isEmpty)
    }

    @Test func keepAliveFollowsVersionAndConnectionHeader() throws {
        #expect(try parseAll("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0].keepAlive == false)
        #expect(try parseAll("GET / HTTP/1.0\r\n\r\n")[0].keepAlive == false)
        #expect(try parseAll("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")[0].keepAlive)
    }

    @Test func pipelinedRequestsComeOutInOrderWithTheirBodies() throws {
        let text = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n"
        let requests = try parseAll(text)
        #expect(requests.map(\.path) == ["/a", "/b", "/c"])
        #expect(requests[0].body == Array("hello".utf8))
    }

    @Test func aRequestArrivingByteByByteIsTheSame() throws {
        let text = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: y\r\n\r\n"
        var parser = HTTPRequestParser()
        var requests: [HTTPRequest] = []
        for byte in text.utf8 {
            parser.append([byte])
            while let request = try parser.nextRequest() { requests.append(request) }
        }
        #expect(requests == (try parseAll(text)))
        #expect(!parser.hasPartialRequest)
    }

    /// Many pipelined requests in small odd-sized pieces: the buffer is compacted while a head is half parsed.
    @Test func compactionMidHeadKeepsRequestsIntact() throws {
        let text = (0..<200).map { index in
            "GET /r\(index) HTTP/1.1\r\nHost: h\r\nX-Pad: \(String(repeating: "p", count: index % 50))\r\n\r\n"
        }.joined()
        let bytes = Array(text.utf8)
        var parser = HTTPRequestParser()
        var paths: [String] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 7)
            parser.append(Array(bytes[offset..<end]))
            offset = end
            while let request = try parser.nextRequest() { paths.append(request.path) }
        }
        #expect(paths == (0..<200).map { "/r\($0)" })
        #expect(parser.bufferedBytes == 0)
    }

    @Test func anOversizeRequestLineIsRefusedBeforeItEnds() {
        let limits = HTTPLimits(maxRequestLineBytes: 64)
        let line = "GET /" + String(repeating: "a", count: 100)
        #expect(parseError(Array(line.utf8), limits: limits) == .requestLineTooLong(limit: 64))
        #expect(parseError(Array(line.utf8), limits: limits)?.status.code == 414)
    }

    @Test func oversizeOrTooManyHeadersAreRefused() {
        let limits = HTTPLimits(maxHeaderBytes: 128, maxHeaderCount: 4)
        let big = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "v", count: 200)
        #expect(parseError(Array(big.utf8), limits: limits) == .headersTooLarge(limit: 128))
        let many = "GET / HTTP/1.1\r\n" + (0..<5).map { "H\($0): v\r\n" }.joined() + "\r\n"
        #expect(parseError(Array(many.utf8), limits: limits) == .tooManyHeaders(limit: 4))
        #expect(parseError(Array(many.utf8), limits: limits)?.status.code == 431)
    }

    @Test func bodiesAreBoundedAndChunkedIsRefused() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        let large = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
        #expect(parseError(Array(large.utf8), limits: limits) == .bodyTooLarge(length: 11, limit: 10))
        let chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(parseError(Array(chunked.utf8))?.status.code == 501)
        let twoLengths = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
        #expect(parseError(Array(twoLengths.utf8))?.status.code == 400)
        let signed = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
        #expect(parseError(Array(signed.utf8)) == .invalidContentLength("-1"))
        let huge = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"
        #expect(parseError(Array(huge.utf8))?.status.code == 400)
    }

    @Test func garbageIsRefused() {
        let cases: [String] = [
            "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\r\n\r\n",  // a TLS ClientHello on a plain port
            "GET\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\u{0}b\r\n\r\n",
            "GET /\u{7f} HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",  // no Host
            "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        for text in cases {
            #expect(parseError(Array(text.utf8))?.status.code == 400, "\(text.debugDescription)")
        }
        #expect(parseError(Array("GET / HTTP/2.0\r\n\r\n".utf8))?.status.code == 505)
    }

    @Test func aFailedParserStaysFailed() {
        var parser = HTTPRequestParser()
        parser.append(Array("BROKEN\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try parser.nextRequest() }
        parser.append(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try parser.nextRequest() }
        #expect(parser.bufferedBytes == 0)
    }
}
