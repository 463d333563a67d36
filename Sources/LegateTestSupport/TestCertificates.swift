import Foundation
import LegateNet

/// Dev certificates made per test run in a fresh temporary directory, and TLS contexts over them.
public enum TestCertificates {
    /// A CA, a server certificate for localhost/127.0.0.1 and its key, in a new directory.
    public static func make() throws -> DevCertificates.Files {
        try DevCertificates.generate(in: NSTemporaryDirectory() + "legate-test-\(UUID().uuidString)")
    }

    /// A server context presenting the certificate in `files`.
    public static func serverContext(_ files: DevCertificates.Files) throws -> TLSServerContext {
        try TLSServerContext(
            TLSServerConfiguration(certificateChainFile: files.certificateFile, privateKeyFile: files.privateKeyFile))
    }

    /// A client context trusting the CA in `files`.
    public static func clientContext(_ files: DevCertificates.Files) throws -> TLSClientContext {
        try TLSClientContext(TLSClientConfiguration(caFile: files.caFile))
    }
}
