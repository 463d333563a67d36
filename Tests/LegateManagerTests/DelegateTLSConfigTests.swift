import Foundation
import LegateNet
import LegateTestSupport
import Testing

/// The real `legate-delegate` against a manager requiring mutual TLS, its settings from a configuration file, the
/// environment and flags (a flag wins over the environment, which wins over the file).
@Suite(.serialized) struct DelegateTLSConfigTests {
    struct Setup {
        let harness: ManagerHarness
        let server: DevCertificates.Files
        let client: DevCertificates.Files
        let directory: String
    }

    static func mutualTLSManager() throws -> Setup {
        let directory = try DelegateStopTests.temporaryDirectory()
        let server = try DevCertificates.generate(in: directory)
        let client = try DevCertificates.generateClient(in: directory, commonName: "delegate-1", signedBy: server)
        let harness = try ManagerHarness { configuration in
            configuration.certificateFile = server.certificateFile
            configuration.privateKeyFile = server.privateKeyFile
            configuration.clientCAFile = server.caFile
        }
        return Setup(harness: harness, server: server, client: client, directory: directory)
    }

    /// A configuration file whose manager address is wrong (the environment overrides it) and which alone names the
    /// CA and the server name.
    static func writeConfig(_ setup: Setup, extra: String = "") throws -> String {
        let path = setup.directory + "/delegate.conf"
        let text = """
            # legate-delegate settings
            manager = 127.0.0.1:1
            ca_file = \(setup.server.caFile)
            server_name = "localhost"
            task_types = echo
            log_format = text
            \(extra)
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func environment(_ setup: Setup) -> [String: String] {
        [
            "LEGATE_MANAGER": "127.0.0.1:\(setup.harness.port)", "LEGATE_ACCOUNT_ID": setup.harness.accountID,
            "LEGATE_DELEGATE_TOKEN": setup.harness.manager.report.newDefaultTokenValue ?? "",
            "LEGATE_LOG_FORMAT": "json",
        ]
    }

    @Test(.enabled(if: DelegateProcess.isBuilt)) func mutualTLSWithAClientCertificateFromFlags() throws {
        let setup = try Self.mutualTLSManager()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        let config = try Self.writeConfig(setup)
        let delegate = try DelegateProcess(
            environment: Self.environment(setup),
            arguments: [
                "--config", config, "--client-cert", setup.client.certificateFile,
                "--client-key", setup.client.privateKeyFile, "--log-format", "text",
            ],
            logPath: setup.directory + "/mtls.log")
        #expect(eventually { setup.harness.manager.connectedDelegates == 1 }, "log: \(delegate.log)")
        // The flag (text) won over the environment (json): lines carry time and level.
        let first = try #require(delegate.log.split(separator: "\n").first)
        let timeAndLevel = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info connecting "#
        #expect(first.range(of: timeAndLevel, options: .regularExpression) != nil, "\(first)")
        kill(delegate.process.processIdentifier, SIGTERM)
        #expect(delegate.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test(.enabled(if: DelegateProcess.isBuilt)) func withoutAClientCertificateTheManagerRefusesTheHandshake() throws {
        let setup = try Self.mutualTLSManager()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        let config = try Self.writeConfig(setup)
        let delegate = try DelegateProcess(
            environment: Self.environment(setup), arguments: ["--config", config],
            logPath: setup.directory + "/plain.log")
        #expect(eventually { delegate.log.contains("\"message\":\"disconnected\"") }, "log: \(delegate.log)")
        #expect(setup.harness.manager.connectedDelegates == 0)
        // The environment (json) won over the file (text): one JSON object per line.
        let first = try #require(delegate.log.split(separator: "\n").first)
        let object = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]
        #expect(object?["level"] as? String == "info")
        #expect(object?["time"] as? String != nil)
        kill(delegate.process.processIdentifier, SIGTERM)
        #expect(delegate.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test(.enabled(if: DelegateProcess.isBuilt)) func aServerNameTheCertificateDoesNotCarryIsRefused() throws {
        let setup = try Self.mutualTLSManager()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        let config = try Self.writeConfig(setup)
        var environment = Self.environment(setup)
        environment["LEGATE_SERVER_NAME"] = "manager.example.com"
        environment["LEGATE_CLIENT_CERT"] = setup.client.certificateFile
        environment["LEGATE_CLIENT_KEY"] = setup.client.privateKeyFile
        let delegate = try DelegateProcess(
            environment: environment, arguments: ["--config", config], logPath: setup.directory + "/name.log")
        #expect(eventually { delegate.log.contains("\"message\":\"disconnected\"") }, "log: \(delegate.log)")
        #expect(setup.harness.manager.connectedDelegates == 0)
        kill(delegate.process.processIdentifier, SIGTERM)
        #expect(delegate.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test(.enabled(if: DelegateProcess.isBuilt)) func anUnknownConfigurationKeyIsRefusedWithItsLine() throws {
        let setup = try Self.mutualTLSManager()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        let config = try Self.writeConfig(setup, extra: "capacty = 3")
        let delegate = try DelegateProcess(
            environment: Self.environment(setup), arguments: ["--config", config],
            logPath: setup.directory + "/unknown.log")
        #expect(delegate.waitForExit(timeout: .seconds(10)) == 2)
        #expect(delegate.log.contains("line 7: unknown key 'capacty'"), "log: \(delegate.log)")
    }

    @Test func withoutACAFileTheSystemTrustStoreIsUsedAndItDoesNotTrustTheDevCA() throws {
        let setup = try Self.mutualTLSManager()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        var configuration = setup.harness.delegateConfiguration(name: "system-trust")
        configuration.caFile = ""
        configuration.clientCertificateFile = setup.client.certificateFile
        configuration.clientPrivateKeyFile = setup.client.privateKeyFile
        let (client, events) = try setup.harness.startDelegate(configuration)
        let outcome = events.first { event in
            switch event {
            case .disconnected, .registered: return true
            default: return false
            }
        }
        guard case .disconnected(let reason, _)? = outcome else {
            Issue.record("expected the handshake to fail, got \(String(describing: outcome))")
            return
        }
        #expect(reason.contains("certificate"), "\(reason)")
        client.stop()
    }
}
