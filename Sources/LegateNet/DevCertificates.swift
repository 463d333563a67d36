internal import COpenSSL
internal import COpenSSLShims
internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

/// Development and test certificates made with libcrypto: a P-256 CA and leaves signed by it.
public enum DevCertificates {
    /// PEM files on disk (each mode 0600): the CA to trust, and a certificate + key signed by it.
    public struct Files: Sendable, Equatable {
        /// The CA certificate (PEM).
        public let caFile: String
        /// The leaf certificate (PEM).
        public let certificateFile: String
        /// The leaf private key (PEM, mode 0600).
        public let privateKeyFile: String
        /// The CA private key (PEM, mode 0600), used to sign client certificates.
        public let caKeyFile: String
    }

    /// Where `generate(in:)` puts its files in `directory`.
    public static func files(in directory: String) -> Files {
        Files(
            caFile: directory + "/ca.pem", certificateFile: directory + "/server.pem",
            privateKeyFile: directory + "/server-key.pem", caKeyFile: directory + "/ca-key.pem")
    }

    /// The files a previous `generate(in:)` left in `directory`, if all of them are there.
    public static func existing(in directory: String) -> Files? {
        let files = Self.files(in: directory)
        let paths = [files.caFile, files.certificateFile, files.privateKeyFile]
        return paths.allSatisfy { FileManager.default.fileExists(atPath: $0) } ? files : nil
    }

    /// Makes a CA and a server leaf with the given SANs in `directory` (created if needed).
    public static func generate(in directory: String, hostNames: [String] = ["localhost"],
                                ipAddresses: [String] = ["127.0.0.1", "::1"], validDays: Int = 365)
        throws(TLSError) -> Files
    {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw TLSError.file(path: directory, problem: "cannot create directory")
        }
        let caKey = try makeKey()
        defer { EVP_PKEY_free(caKey) }
        let ca = try makeCertificate(
            commonName: "Legate dev CA", key: caKey, issuer: nil, issuerKey: caKey, isCA: true, sans: [],
            validDays: validDays)
        defer { X509_free(ca) }
        let files = Self.files(in: directory)
        try writeCertificate(ca, to: files.caFile)
        try writeKey(caKey, to: files.caKeyFile)
        try Self.writeServer(
            files, ca: ca, caKey: caKey, hostNames: hostNames, ipAddresses: ipAddresses, validDays: validDays)
        return files
    }

    /// Issues a server leaf naming `hostNames` and `ipAddresses`, signed by `ca`, into `files`.
    private static func writeServer(
        _ files: Files, ca: OpaquePointer, caKey: OpaquePointer, hostNames: [String], ipAddresses: [String],
        validDays: Int
    ) throws(TLSError) {
        let leafKey = try makeKey()
        defer { EVP_PKEY_free(leafKey) }
        let sans = hostNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
        let leaf = try makeCertificate(
            commonName: hostNames.first ?? "legate", key: leafKey, issuer: ca, issuerKey: caKey, isCA: false,
            sans: sans, validDays: validDays)
        defer { X509_free(leaf) }
        try writeKey(leafKey, to: files.privateKeyFile)
        try writeCertificate(leaf, to: files.certificateFile)
    }

    /// The names a dev server certificate for a manager bound to `hosts` carries: localhost, 127.0.0.1 and ::1
    /// always, plus each bind host as an IP or DNS name (wildcard addresses name no host and are left out).
    public static func serverNames(binding hosts: [String]) -> (hostNames: [String], ipAddresses: [String]) {
        var hostNames = ["localhost"]
        var ipAddresses = ["127.0.0.1", "::1"]
        for raw in hosts {
            let host = raw.hasPrefix("[") && raw.hasSuffix("]") ? String(raw.dropFirst().dropLast()) : raw
            guard !host.isEmpty, !["0.0.0.0", "::", "*"].contains(host) else { continue }
            if self.isIPAddress(host) {
                if !ipAddresses.contains(host) { ipAddresses.append(host) }
            } else if !hostNames.contains(host.lowercased()) {
                hostNames.append(host.lowercased())
            }
        }
        return (hostNames, ipAddresses)
    }

    /// Whether the certificate in `certificateFile` names every one of `hostNames` and `ipAddresses`; false when
    /// it cannot be read.
    public static func covers(certificateFile: String, hostNames: [String], ipAddresses: [String]) -> Bool {
        guard let cert = try? readCertificate(certificateFile) else { return false }
        defer { X509_free(cert) }
        let namesMatch = hostNames.allSatisfy { X509_check_host(cert, $0, $0.utf8.count, 0, nil) == 1 }
        return namesMatch && ipAddresses.allSatisfy { X509_check_ip_asc(cert, $0, 0) == 1 }
    }

    /// A new server certificate and key in `directory` with the given SANs, signed by the CA already there (so
    /// delegates that trust `ca.pem` keep working); a whole new CA when the CA key is missing.
    public static func reissueServer(in directory: String, hostNames: [String], ipAddresses: [String],
                                     validDays: Int = 365) throws(TLSError) -> Files
    {
        let files = Self.files(in: directory)
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: files.caFile), fileManager.fileExists(atPath: files.caKeyFile) else {
            return try self.generate(in: directory, hostNames: hostNames, ipAddresses: ipAddresses, validDays: validDays)
        }
        let ca = try readCertificate(files.caFile)
        defer { X509_free(ca) }
        let caKey = try readKey(files.caKeyFile)
        defer { EVP_PKEY_free(caKey) }
        try Self.writeServer(
            files, ca: ca, caKey: caKey, hostNames: hostNames, ipAddresses: ipAddresses, validDays: validDays)
        return files
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// Makes a client certificate named `commonName` signed by the CA in `signedBy` (for mutual TLS).
    public static func generateClient(in directory: String, commonName: String, signedBy authority: Files,
                                      validDays: Int = 365) throws(TLSError) -> Files
    {
        let ca = try readCertificate(authority.caFile)
        defer { X509_free(ca) }
        let caKey = try readKey(authority.caKeyFile)
        defer { EVP_PKEY_free(caKey) }
        let key = try makeKey()
        defer { EVP_PKEY_free(key) }
        let cert = try makeCertificate(
            commonName: commonName, key: key, issuer: ca, issuerKey: caKey, isCA: false, sans: [],
            validDays: validDays)
        defer { X509_free(cert) }
        let files = Files(
            caFile: authority.caFile, certificateFile: directory + "/client-\(commonName).pem",
            privateKeyFile: directory + "/client-\(commonName)-key.pem", caKeyFile: authority.caKeyFile)
        try writeCertificate(cert, to: files.certificateFile)
        try writeKey(key, to: files.privateKeyFile)
        return files
    }

    // MARK: - libcrypto steps

    private static func makeKey() throws(TLSError) -> OpaquePointer {
        guard let key = legate_EVP_EC_gen("prime256v1") else { throw TLSError.call("EVP_EC_gen(P-256)") }
        return key
    }

    private static func makeCertificate(
        commonName: String, key: OpaquePointer, issuer: OpaquePointer?, issuerKey: OpaquePointer, isCA: Bool,
        sans: [String], validDays: Int
    ) throws(TLSError) -> OpaquePointer {
        guard let cert = X509_new() else { throw TLSError.call("X509_new") }
        var ok = X509_set_version(cert, 2) == 1
        ok = ok && ASN1_INTEGER_set(X509_get_serialNumber(cert), Int.random(in: 1..<Int(Int32.max))) == 1
        ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nil
        ok = ok && X509_gmtime_adj(X509_getm_notAfter(cert), validDays * 86_400) != nil
        ok = ok && X509_set_pubkey(cert, key) == 1
        if let name = X509_NAME_new() {
            defer { X509_NAME_free(name) }
            // 0x1001 is MBSTRING_ASC, a macro expression Swift does not import.
            ok = ok && X509_NAME_add_entry_by_txt(name, "CN", 0x1001, commonName, -1, -1, 0) == 1
            ok = ok && X509_set_subject_name(cert, name) == 1
            ok = ok && X509_set_issuer_name(cert, issuer.map { X509_get_subject_name($0) } ?? name) == 1
        } else {
            ok = false
        }
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, isCA ? "critical,CA:TRUE" : "critical,CA:FALSE"),
            (NID_key_usage, isCA ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment"),
            (NID_subject_key_identifier, "hash"),
        ]
        if !isCA { extensions.append((NID_ext_key_usage, "serverAuth,clientAuth")) }
        if issuer != nil { extensions.append((NID_authority_key_identifier, "keyid:always")) }
        if !sans.isEmpty { extensions.append((NID_subject_alt_name, sans.joined(separator: ","))) }
        var context = X509V3_CTX()
        legate_X509V3_set_ctx_nodb(&context)
        X509V3_set_ctx(&context, issuer ?? cert, cert, nil, nil, 0)
        for (nid, value) in extensions where ok {
            guard let ext = X509V3_EXT_nconf_nid(nil, &context, nid, value) else {
                ok = false
                break
            }
            ok = X509_add_ext(cert, ext, -1) == 1
            X509_EXTENSION_free(ext)
        }
        ok = ok && X509_sign(cert, issuerKey, EVP_sha256()) > 0
        guard ok else {
            X509_free(cert)
            throw TLSError.call("building certificate \(commonName)")
        }
        return cert
    }

    /// Opens `path` for writing, truncated, mode 0600 from the first byte (created so, or tightened when it
    /// already existed): nothing the manager writes in its data directory is readable by others.
    private static func createPrivate(_ path: String) throws(TLSError) -> UnsafeMutablePointer<FILE> {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TLSError.file(path: path, problem: String(cString: strerror(errno))) }
        guard fchmod(fd, 0o600) == 0, let file = fdopen(fd, "w") else {
            let problem = String(cString: strerror(errno))
            _ = Glibc.close(fd)
            throw TLSError.file(path: path, problem: "cannot write with mode 0600: \(problem)")
        }
        return file
    }

    private static func open(_ path: String, mode: String) throws(TLSError) -> UnsafeMutablePointer<FILE> {
        guard let file = fopen(path, mode) else {
            throw TLSError.file(path: path, problem: String(cString: strerror(errno)))
        }
        return file
    }

    private static func writeCertificate(_ cert: OpaquePointer, to path: String) throws(TLSError) {
        let file = try self.createPrivate(path)
        defer { fclose(file) }
        guard PEM_write_X509(file, cert) == 1 else { throw TLSError.call("PEM_write_X509(\(path))") }
    }

    private static func writeKey(_ key: OpaquePointer, to path: String) throws(TLSError) {
        let file = try self.createPrivate(path)
        defer { fclose(file) }
        guard PEM_write_PrivateKey(file, key, nil, nil, 0, nil, nil) == 1 else {
            throw TLSError.call("PEM_write_PrivateKey(\(path))")
        }
    }

    private static func readCertificate(_ path: String) throws(TLSError) -> OpaquePointer {
        let file = try open(path, mode: "r")
        defer { fclose(file) }
        guard let cert = PEM_read_X509(file, nil, nil, nil) else {
            throw TLSError.file(path: path, problem: "not a PEM certificate")
        }
        return cert
    }

    private static func readKey(_ path: String) throws(TLSError) -> OpaquePointer {
        let file = try open(path, mode: "r")
        defer { fclose(file) }
        guard let key = PEM_read_PrivateKey(file, nil, nil, nil) else {
            throw TLSError.file(path: path, problem: "not a PEM private key")
        }
        return key
    }
}
