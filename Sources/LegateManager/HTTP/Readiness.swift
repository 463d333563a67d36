import LegateHTTP
import LegateNet
import LegateStore
import Synchronization

/// What `/readyz` checks: the delegate listener is up, the manager is not draining, the store takes a write.
final class Readiness: Sendable {
    private let listening = Atomic<Bool>(false)
    private let draining = Atomic<Bool>(false)
    private let probing = Atomic<Bool>(false)
    private let services: ManagerServices

    init(services: ManagerServices) {
        self.services = services
    }

    /// The delegate listener is bound and accepting.
    func markListening() { self.listening.store(true, ordering: .releasing) }

    /// Shutdown began: new work should go elsewhere.
    func markDraining() { self.draining.store(true, ordering: .releasing) }

    /// One named check and its failure, if any.
    struct Check {
        let name: String
        let failure: String?
    }

    /// Runs every check; the store check writes a probe row and waits until it is durable (off the loops). While
    /// another probe is still waiting, the last store write's outcome stands in for a new probe.
    func checks() -> [Check] {
        var checks = [
            Check(
                name: "listener",
                failure: self.listening.load(ordering: .acquiring) ? nil : "the delegate listener is not up yet"),
            Check(
                name: "draining", failure: self.draining.load(ordering: .acquiring) ? "the manager is draining" : nil),
        ]
        checks.append(Check(name: "store", failure: self.probeStore()))
        return checks
    }

    private func probeStore() -> String? {
        guard !self.probing.exchange(true, ordering: .acquiringAndReleasing) else {
            return self.services.metrics.isStoreWritable ? nil : "the last store write failed"
        }
        defer { self.probing.store(false, ordering: .releasing) }
        do {
            try self.services.writer.writeDurably([
                .setMetadata(key: "readyz.probe", value: "\(self.services.clock.unixMilliseconds())")
            ])
            return nil
        } catch {
            return "the store cannot be written (\(error))"
        }
    }

    /// The `/readyz` answer: 200 when every check passes, else 503; `?verbose` lists each check.
    func response(verbose: Bool) -> HTTPResponse {
        let checks = self.checks()
        let failed = checks.contains { $0.failure != nil }
        var body = ""
        if verbose || failed {
            for check in checks {
                body += check.failure.map { "[-]\(check.name) failed: \($0)\n" } ?? "[+]\(check.name) ok\n"
            }
        }
        body += failed ? "readyz check failed\n" : (verbose ? "readyz check passed\n" : "ok\n")
        return .text(failed ? .serviceUnavailable : .ok, body)
    }
}
