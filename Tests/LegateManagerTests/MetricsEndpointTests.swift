import Foundation
import LegateAdminClient
import LegateCore
import LegateDelegate
import LegateManager
import LegateNet
import LegateStore
import LegateTestSupport
import LegateWire
import Testing

/// The manager's `/metrics`, `/livez` and `/readyz` against a running manager with delegates and tasks, parsed by
/// the official Prometheus parser.
@Suite(.serialized) struct MetricsEndpointTests {
    static func plainHTTP(_ configuration: inout ManagerConfiguration) {
        configuration.http = HTTPEndpointConfiguration(port: 0, plain: true)
    }

    @Test func scrapeParsesAndMatchesWhatTheAdminAPIReports() throws {
        let harness = try ManagerHarness(configure: Self.plainHTTP)
        let httpPort = try #require(harness.manager.httpPort)
        let admin = try TaskProtocolTests.admin(harness)
        var fleet: [DelegateClient] = []
        for index in 0..<3 {
            let (client, events) = try harness.startDelegate(harness.delegateConfiguration(name: "m-\(index)"))
            #expect(events.first(where: \.isRegistered) != nil)
            #expect(events.first(where: \.isHeartbeat) != nil)
            fleet.append(client)
        }
        #expect(eventually { harness.manager.connectedDelegates == 3 })
        let ids = try admin.submitTasks((0..<5).map { TaskProtocolTests.spec(payload: "m\($0)") }).map(\.id)
        var finals: [TaskInfo] = []
        for _ in 0..<20 where finals.count < ids.count {
            finals = try admin.waitForTasks(ids: ids, timeoutMs: 5_000).filter(\.state.isFinal)
        }
        #expect(finals.count == 5)
        fleet[2].stop()
        #expect(eventually { harness.manager.connectedDelegates == 2 })
        harness.manager.flushStore()

        let scrape = try ParsedScrape.scrape("http://127.0.0.1:\(httpPort)/metrics")
        #expect(scrape.contentType == "text/plain; version=0.0.4; charset=utf-8")
        let delegates = try admin.call(.delegateList, DelegateListRequest(), as: DelegateListResponse.self).delegates
        for state in ["active", "pending", "disconnected", "rejected"] {
            let listed = delegates.filter { $0.status == state }.count
            #expect(scrape.value("legate_delegates", ["state": state]) == Double(listed), "state \(state)")
        }
        #expect(scrape.value("legate_delegates_connected") == Double(delegates.filter(\.connected).count))
        #expect(scrape.value("legate_delegates_connected") == 2)
        let succeeded = try admin.tasks(state: .succeeded).count
        #expect(scrape.value("legate_tasks_completed_total", ["outcome": "succeeded"]) == Double(succeeded))
        #expect(succeeded == 5)
        let queued = try admin.tasks(state: .queued).count
        #expect(scrape.value("legate_tasks", ["state": "queued"]) == Double(queued))
        #expect(scrape.value("legate_task_dispatch_latency_seconds_count") == 5)
        #expect(scrape.value("legate_task_duration_seconds_count") == 5)
        #expect(scrape.value("legate_task_duration_seconds_bucket", ["le": "+Inf"]) == 5)
        #expect(scrape.value("legate_registrations_total", ["result": "accepted"]) == 3)
        #expect((scrape.value("legate_heartbeats_received_total") ?? 0) >= 3)
        #expect((scrape.value("legate_store_apply_duration_seconds_count") ?? 0) > 0)
        #expect(scrape.value("legate_build_info", ["protocol": "1"]) == 1)
        #expect((scrape.value("process_resident_memory_bytes") ?? 0) > 0)
        #expect((scrape.value("process_open_fds") ?? 0) > 0)
        #expect(scrape.value("process_cpu_seconds_total") != nil)
        #expect(scrape.families["legate_heartbeats_received"] == "counter")
        #expect(scrape.families["legate_task_dispatch_latency_seconds"] == "histogram")
        // No delegate id appears anywhere in the exposition.
        let text = try #require(PlainSocket(port: httpPort)?.exchange("GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n"))
        #expect(delegates.allSatisfy { !text.body.contains($0.id) })
        for client in fleet { client.stop() }
    }

    @Test func tokenExpiriesAndRevocationFanOutsAreExposed() throws {
        let harness = try ManagerHarness(configure: Self.plainHTTP)
        let httpPort = try #require(harness.manager.httpPort)
        let admin = try TaskProtocolTests.admin(harness)
        var create = TokenCreateRequest()
        create.name = "expiring"
        create.expiresInSeconds = 3_600
        let expiring = try #require(try admin.call(.tokenCreate, create, as: TokenCreateResponse.self).token)
        create.name = "doomed"
        create.expiresInSeconds = 0
        let doomed = try #require(try admin.call(.tokenCreate, create, as: TokenCreateResponse.self).token)
        var revoke = TokenRevokeRequest()
        revoke.tokenID = doomed.id
        _ = try admin.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self)
        let scrape = try ParsedScrape.scrape("http://127.0.0.1:\(httpPort)/metrics")
        #expect(
            scrape.value("legate_token_expiry_timestamp_seconds", ["token_id": expiring.id])
                == Double(expiring.expiresAtMs) / 1000)
        #expect(scrape.value("legate_token_expiry_timestamp_seconds", ["token_id": doomed.id]) == nil)
        #expect(scrape.value("legate_token_revocation_fanout_duration_seconds_count") == 1)
    }

    @Test func authFailuresAndRefusedRegistrationsAreCounted() throws {
        let harness = try ManagerHarness(configure: Self.plainHTTP)
        let httpPort = try #require(harness.manager.httpPort)
        let peer = try #require(harness.rawClient())
        #expect(peer.hello() != nil)
        peer.send(harness.registerFrame(jwt: "not.a.jwt"))
        #expect(peer.frames.next() != nil)  // the refusal
        let scrape = try ParsedScrape.scrape("http://127.0.0.1:\(httpPort)/metrics")
        #expect(scrape.value("legate_auth_failures_total", ["reason": "malformed"]) == 1)
        #expect(scrape.value("legate_registrations_total", ["result": "unauthenticated"]) == 1)
        #expect(scrape.value("legate_registrations_total", ["result": "accepted"]) == 0)
    }

    @Test func aSilentDelegateCountsAsAMissedHeartbeat() throws {
        let harness = try ManagerHarness {
            Self.plainHTTP(&$0)
            $0.connection.heartbeatGrace = .milliseconds(300)
        }
        let httpPort = try #require(harness.manager.httpPort)
        let peer = try #require(harness.rawClient())
        #expect(peer.hello() != nil)
        peer.send(harness.registerFrame())
        #expect(peer.frames.next()?.type == .response)
        #expect(peer.closed.next() != nil)  // never beats: closed after the grace
        #expect(
            eventually {
                (try? ParsedScrape.scrape("http://127.0.0.1:\(httpPort)/metrics"))?
                    .value("legate_heartbeats_missed_total") == 1
            })
    }

    @Test func readyzTurnsUnavailableWhileTheStoreCannotBeWrittenAndRecovers() throws {
        let directory = NSTemporaryDirectory() + "legate-readyz-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FaultInjectingStore(wrapping: InMemoryStateStore(), fault: nil)
        var configuration = ManagerConfiguration.defaults
        configuration.port = 0
        configuration.dataDirectory = directory
        Self.plainHTTP(&configuration)
        let manager = try Manager.start(configuration: configuration, log: InMemoryLogSink(), store: store)
        defer { manager.shutdown() }
        let httpPort = try #require(manager.httpPort)
        let client = try #require(PlainSocket(port: httpPort))
        let ready = try #require(client.exchange("GET /readyz HTTP/1.1\r\nHost: m\r\n\r\n"))
        #expect(ready.status == 200)
        #expect(ready.body == "ok\n")

        store.setFault(
            FaultInjectingStore.Fault(
                failingApply: 1, error: .diskFull(path: "test"), isTransient: false))
        let failing = try #require(client.exchange("GET /readyz?verbose HTTP/1.1\r\nHost: m\r\n\r\n"))
        #expect(failing.status == 503)
        #expect(failing.body.contains("[-]store failed"))
        #expect(failing.body.contains("[+]listener ok"))
        let live = try #require(client.exchange("GET /livez HTTP/1.1\r\nHost: m\r\n\r\n"))
        #expect(live.status == 200, "liveness does not depend on the store")

        store.setFault(nil)
        let recovered = try #require(client.exchange("GET /readyz?verbose HTTP/1.1\r\nHost: m\r\n\r\n"))
        #expect(recovered.status == 200)
        #expect(recovered.body.contains("[+]store ok"))
        let scrape = try ParsedScrape.scrape("http://127.0.0.1:\(httpPort)/metrics")
        #expect((scrape.value("legate_store_apply_failures_total") ?? 0) >= 1)
    }

    @Test func readyzTurnsUnavailableWhileDraining() throws {
        let harness = try ManagerHarness {
            Self.plainHTTP(&$0)
            $0.drainTimeout = .seconds(3)
        }
        let httpPort = try #require(harness.manager.httpPort)
        #expect(PlainSocket(port: httpPort)?.exchange("GET /readyz HTTP/1.1\r\nHost: m\r\n\r\n")?.status == 200)
        // A registered peer that ignores GOAWAY keeps the drain open until its timeout.
        let peer = try #require(harness.rawClient())
        #expect(peer.hello() != nil)
        peer.send(harness.registerFrame())
        #expect(peer.frames.next()?.type == .response)
        let stopped = Mailbox<Bool>()
        let manager = harness.manager
        DispatchQueue.global().async {
            manager.shutdown()
            stopped.put(true)
        }
        var draining: ReceivedHTTPResponse?
        #expect(
            eventually {
                draining = PlainSocket(port: httpPort)?.exchange("GET /readyz?verbose HTTP/1.1\r\nHost: m\r\n\r\n")
                return draining?.status == 503
            })
        #expect(draining?.body.contains("[-]draining failed") == true)
        #expect(stopped.next() == true)
        #expect(PlainSocket(port: httpPort) == nil, "the endpoint stops with the manager")
    }

    @Test func httpsWithTheManagersCertificateParsesToo() throws {
        let harness = try ManagerHarness { $0.http = HTTPEndpointConfiguration(port: 0) }
        let httpPort = try #require(harness.manager.httpPort)
        let scrape = try ParsedScrape.scrape("https://127.0.0.1:\(httpPort)/metrics", caFile: harness.caFile)
        #expect(scrape.value("legate_delegates_connected") == 0)
        #expect(PlainSocket.sendAndAwaitClose(port: httpPort, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8)))
    }

    @Test func plainHTTPIsRefusedBeyondLoopback() {
        var configuration = ManagerConfiguration.defaults
        configuration.http = HTTPEndpointConfiguration(port: 9100, host: "0.0.0.0", plain: true)
        #expect(throws: ManagerError.self) { try configuration.validate() }
        configuration.http?.plain = false
        #expect(throws: Never.self) { try configuration.validate() }
    }
}
