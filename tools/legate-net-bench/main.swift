// legate-net-bench: a LegateNet TLS server speaking tools/bench/pingpong.c's protocol (64-byte requests,
// 16-byte responses, responses batched per read), so the C client measures it against the C server:
//
//   swift build -c release --product legate-net-bench
//   .build/release/legate-net-bench server 18403 [loops=1] [seconds=900] &
//   /tmp/pingpong client 18403 1000 1 5 tls $!      # round trips/s, latency, server CPU per request
//   /tmp/pingpong idle 18403 1000 5 tls             # then read VmRSS of the server pid before/after
import Dispatch
import Foundation
import LegateNet

/// Answers every complete 64-byte request with 16 bytes; writes made in `received` are coalesced.
final class PingPongHandler: ConnectionHandler {
    static let requestBytes = 64
    static let response = [UInt8](repeating: 0x5a, count: 16 * 4096)
    private var partial = 0

    func connectionActive(_ connection: Connection) {}

    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        let total = self.partial + bytes.count
        let requests = total / Self.requestBytes
        self.partial = total % Self.requestBytes
        var remaining = requests * 16
        while remaining > 0 {
            let n = min(remaining, Self.response.count)
            Self.response.withUnsafeBytes { connection.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            remaining -= n
        }
    }

    func connectionWritabilityChanged(_ connection: Connection) {}
    func connectionClosed(_ connection: Connection, error: NetError?) {}
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, arguments[1] == "server", let port = Int(arguments[2]) else {
    print("usage: legate-net-bench server PORT [loops=1] [seconds=900]")
    exit(2)
}
let loops = arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1
let seconds = arguments.count > 4 ? Int(arguments[4]) ?? 900 : 900
_ = System.raiseOpenFileLimit()
do {
    let files = try DevCertificates.generate(in: NSTemporaryDirectory() + "legate-net-bench-\(getpid())")
    let tls = try TLSServerContext(TLSServerConfiguration(certificateChainFile: files.certificateFile,
                                                          privateKeyFile: files.privateKeyFile,
                                                          alpnProtocols: []))
    let listener = Listener(host: "127.0.0.1", port: port, tls: tls, group: EventLoopGroup(loopCount: loops),
                            limits: .defaults, maxConnections: 20_000, makeHandler: { _ in PingPongHandler() })
    let bound = try listener.start()
    print("legate-net-bench listening on 127.0.0.1:\(bound) pid \(getpid()) loops \(loops)")
    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds)) {
        print("connections at exit: \(listener.connectionCount)")
        exit(0)
    }
    dispatchMain()
} catch {
    print("legate-net-bench: \(error)")
    exit(1)
}
