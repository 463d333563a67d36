import LegateHTTP
import LegateNet

/// One connection to the HTTP endpoint: parses requests as bytes arrive, answers them one at a time in order
/// (pipelined ones wait their turn), and closes slow, idle or misbehaving clients.
///
/// `@unchecked Sendable`: all mutable state is touched only on `connection.loop`, where LegateNet calls the
/// handler; handlers run on the endpoint's queue and hop back to the loop with their response.
final class HTTPConnection: ConnectionHandler, @unchecked Sendable {
    private let endpoint: HTTPEndpoint
    private let connection: Connection
    private var parser: HTTPRequestParser
    /// A request is with its handler; later ones stay in the parser until it is answered.
    private var busy = false
    private var closing = false
    private var requestTimer: ScheduledTimer?
    private var idleTimer: ScheduledTimer?
    /// Unparsed bytes beyond this close the connection: a client pipelining faster than it reads answers.
    private let maxBufferedBytes: Int

    init(endpoint: HTTPEndpoint, connection: Connection) {
        self.endpoint = endpoint
        self.connection = connection
        let limits = endpoint.configuration.limits
        self.parser = HTTPRequestParser(limits: limits)
        self.maxBufferedBytes = 2 * (limits.maxRequestLineBytes + limits.maxHeaderBytes + limits.maxBodyBytes)
    }

    func connectionActive(_ connection: Connection) {
        self.endpoint.track(self, connection: connection)
        // The first request is due within the request timeout: a client that connects and stays silent does not
        // hold one of the endpoint's few connections for a whole idle period.
        self.armRequestTimer()
    }

    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        guard !self.closing else { return }
        self.parser.append(bytes)
        guard self.parser.bufferedBytes <= self.maxBufferedBytes else {
            self.closing = true
            connection.close(flushFirst: false)
            return
        }
        self.processNext()
    }

    func connectionWritabilityChanged(_ connection: Connection) {
        if connection.isWritable { self.processNext() }
    }

    func connectionClosed(_ connection: Connection, error: NetError?) {
        self.closing = true
        self.cancelTimers()
        self.endpoint.untrack(connection)
    }

    /// Closes the connection (endpoint shutdown); on the loop.
    func close() {
        self.closing = true
        self.cancelTimers()
        self.connection.close(flushFirst: !self.busy)
    }

    private func processNext() {
        guard !self.busy, !self.closing, self.connection.isWritable else { return }
        let request: HTTPRequest
        do {
            guard let next = try self.parser.nextRequest() else {
                if self.parser.hasPartialRequest { self.armRequestTimer() } else { self.armIdleTimer() }
                return
            }
            request = next
        } catch {
            self.finish(with: .text(error.status, error.description + "\n"), keepAlive: false, headOnly: false)
            return
        }
        self.cancelTimers()
        self.busy = true
        let router = self.endpoint.router
        let loop = self.connection.loop
        self.endpoint.queue.async {
            // The console's security headers go on every answer of the port, its 404s and the metrics alike.
            let response = ConsoleLayout.withSecurityHeaders(router.respond(to: request))
            loop.execute {
                self.busy = false
                guard !self.closing else { return }
                self.finish(with: response, keepAlive: request.keepAlive, headOnly: request.method == "HEAD")
            }
        }
    }

    private func finish(with response: HTTPResponse, keepAlive: Bool, headOnly: Bool) {
        var output: [UInt8] = []
        response.encode(keepAlive: keepAlive, headOnly: headOnly, into: &output)
        self.connection.write(output)
        if keepAlive {
            self.processNext()
        } else {
            self.closing = true
            self.cancelTimers()
            self.connection.close(flushFirst: true)
        }
    }

    // MARK: - Deadlines

    /// From the first byte of a request, the whole of it must arrive within the request timeout.
    private func armRequestTimer() {
        self.idleTimer?.cancel()
        self.idleTimer = nil
        guard self.requestTimer == nil else { return }
        self.requestTimer = self.connection.loop.schedule(after: self.endpoint.configuration.requestTimeout) {
            [weak self] in
            guard let self else { return }
            self.requestTimer = nil
            guard !self.busy, !self.closing else { return }
            self.finish(
                with: .text(.requestTimeout, "the request did not arrive within the time allowed\n"),
                keepAlive: false, headOnly: false)
        }
    }

    /// Between requests, a connection may stay open for the idle timeout.
    private func armIdleTimer() {
        self.requestTimer?.cancel()
        self.requestTimer = nil
        self.idleTimer?.cancel()
        self.idleTimer = self.connection.loop.schedule(after: self.endpoint.configuration.idleTimeout) {
            [weak self] in
            guard let self else { return }
            self.idleTimer = nil
            guard !self.busy, !self.closing else { return }
            self.closing = true
            self.connection.close(flushFirst: true)
        }
    }

    private func cancelTimers() {
        self.requestTimer?.cancel()
        self.requestTimer = nil
        self.idleTimer?.cancel()
        self.idleTimer = nil
    }
}
