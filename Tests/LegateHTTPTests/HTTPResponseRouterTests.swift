import LegateHTTP
import Testing

@Suite struct HTTPResponseRouterTests {
    @Test func encodesStatusHeadersLengthAndClose() {
        var response = HTTPResponse.text(.ok, "hi\n")
        response.headers.append(HTTPHeader(name: "X-Evil", value: "a\r\nSet-Cookie: b"))
        let text = String(decoding: response.encoded(keepAlive: false), as: UTF8.self)
        #expect(
            text == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Evil: aSet-Cookie: b\r\n"
                + "Content-Length: 3\r\nConnection: close\r\n\r\nhi\n")
        let headBytes = HTTPResponse.text(.ok, "hi").encoded(keepAlive: true, headOnly: true)
        let head = String(decoding: headBytes, as: UTF8.self)
        #expect(head.hasSuffix("Content-Length: 2\r\n\r\n"))
    }

    @Test func routesByMethodAndPath() {
        var router = HTTPRouter()
        router.get("/livez") { _ in .text(.ok, "ok\n") }
        router.add("POST", "/echo") { request in HTTPResponse(status: .ok, body: request.body) }
        #expect(router.respond(to: HTTPRequest(method: "GET", target: "/livez")).status == .ok)
        #expect(router.respond(to: HTTPRequest(method: "HEAD", target: "/livez")).status == .ok)
        #expect(router.respond(to: HTTPRequest(method: "GET", target: "/nope")).status == .notFound)
        let refused = router.respond(to: HTTPRequest(method: "DELETE", target: "/livez?x"))
        #expect(refused.status == .methodNotAllowed)
        #expect(refused.header("allow") == "GET, HEAD")
        #expect(router.respond(to: HTTPRequest(method: "POST", target: "/echo", body: [1, 2])).body == [1, 2])
        #expect(router.paths == ["/echo", "/livez"])
    }
}
