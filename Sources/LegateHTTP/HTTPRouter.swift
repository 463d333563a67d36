// Method + path routing to handlers; built before the server starts, read-only afterwards.

/// Maps a method and an exact path to a handler. HEAD is served by the GET handler (without the body); an
/// unknown path is 404, a known path with another method 405 with `Allow`.
public struct HTTPRouter: Sendable {
    /// Turns a request into a response. Runs off the event loops, so it may block briefly (store probes).
    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    private var routes: [String: [String: Handler]] = [:]

    /// Creates an empty router.
    public init() {}

    /// Routes `method` requests for `path` to `handler` (a later registration of the same pair replaces it).
    public mutating func add(_ method: String, _ path: String, _ handler: @escaping Handler) {
        self.routes[path, default: [:]][method] = handler
    }

    /// Routes GET (and so HEAD) requests for `path` to `handler`.
    public mutating func get(_ path: String, _ handler: @escaping Handler) {
        self.add("GET", path, handler)
    }

    /// The paths routed, sorted.
    public var paths: [String] { self.routes.keys.sorted() }

    /// The handler's response, or 404 / 405.
    public func respond(to request: HTTPRequest) -> HTTPResponse {
        guard let methods = self.routes[request.path] else {
            return .text(.notFound, "no such path: \(request.path)\n")
        }
        let method = request.method == "HEAD" && methods["HEAD"] == nil ? "GET" : request.method
        guard let handler = methods[method] else {
            var allowed = methods.keys.sorted()
            if methods["GET"] != nil, methods["HEAD"] == nil { allowed.append("HEAD") }
            var response = HTTPResponse.text(.methodNotAllowed, "\(request.method) is not allowed on \(request.path)\n")
            response.headers.append(HTTPHeader(name: "Allow", value: allowed.joined(separator: ", ")))
            return response
        }
        return handler(request)
    }
}
