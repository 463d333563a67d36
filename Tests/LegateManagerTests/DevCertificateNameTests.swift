import Foundation
import LegateAdminClient
import LegateManager
import LegateNet
import LegateWire
import Testing

/// The dev certificate names the address the manager binds, so the printed delegate command works as printed.
@Suite(.serialized) struct DevCertificateNameTests {
    func connect(_ harness: ManagerHarness, host: String, key: String? = nil) throws(AdminClientError) -> AdminClient {
        // serverName nil: verified against the address connected to, as legate-delegate and legatectl do.
        try AdminClient.connect(
            host: host, port: harness.port, caFile: harness.caFile, serverName: nil,
            apiKey: key ?? harness.manager.report.newAdminKeyValue ?? "", loop: harness.group.next())
    }

    @Test func namesCoverLoopbackAndTheBindHost() {
        let ip = DevCertificates.serverNames(binding: ["127.0.0.2"])
        #expect(ip.hostNames == ["localhost"] && ip.ipAddresses == ["127.0.0.1", "::1", "127.0.0.2"])
        let v6 = DevCertificates.serverNames(binding: ["[fd00::1]", "::1"])
        #expect(v6.ipAddresses == ["127.0.0.1", "::1", "fd00::1"])
        let dns = DevCertificates.serverNames(binding: ["Manager.Example.com", "0.0.0.0", "::"])
        #expect(dns.hostNames == ["localhost", "manager.example.com"] && dns.ipAddresses == ["127.0.0.1", "::1"])
    }

    @Test func aManagerBoundToAnotherLoopbackAddressIsVerifiedByThatAddress() throws {
        let harness = try ManagerHarness { $0.host = "127.0.0.2" }
        let admin = try self.connect(harness, host: "127.0.0.2")
        _ = try admin.call(.tokenList, TokenListRequest(), as: TokenListResponse.self)
        let files = DevCertificates.files(in: harness.dataDirectory + "/tls")
        #expect(DevCertificates.covers(
            certificateFile: files.certificateFile, hostNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1", "127.0.0.2"]))
    }

    @Test func aNewBindHostReissuesTheServerCertificateUnderTheSameCA() throws {
        let harness = try ManagerHarness()
        let adminKey = harness.manager.report.newAdminKeyValue ?? ""
        let files = DevCertificates.files(in: harness.dataDirectory + "/tls")
        let ca = try Data(contentsOf: URL(fileURLWithPath: files.caFile))
        let firstLeaf = try Data(contentsOf: URL(fileURLWithPath: files.certificateFile))
        #expect(!DevCertificates.covers(
            certificateFile: files.certificateFile, hostNames: [], ipAddresses: ["127.0.0.3"]))

        // Same host again: the certificate is kept as it is.
        try harness.restart()
        #expect(try Data(contentsOf: URL(fileURLWithPath: files.certificateFile)) == firstLeaf)

        harness.configuration.host = "127.0.0.3"
        harness.configuration.port = 0
        harness.manager.shutdown()
        harness.manager = try Manager.start(configuration: harness.configuration, log: harness.log, clock: harness.clock)
        #expect(try Data(contentsOf: URL(fileURLWithPath: files.caFile)) == ca)
        #expect(try Data(contentsOf: URL(fileURLWithPath: files.certificateFile)) != firstLeaf)
        let admin = try self.connect(harness, host: "127.0.0.3", key: adminKey)
        _ = try admin.call(.tokenList, TokenListRequest(), as: TokenListResponse.self)
        let mode = try FileManager.default.attributesOfItem(atPath: files.privateKeyFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
