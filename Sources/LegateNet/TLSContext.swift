internal import COpenSSL
internal import COpenSSLShims
internal import Foundation
internal import Synchronization

/// Server-side TLS settings.
public struct TLSServerConfiguration: Sendable, Equatable {
    /// PEM file with the leaf certificate followed by intermediates.
    public var certificateChainFile: String
    /// PEM file with the private key.
    public var privateKeyFile: String
    /// PEM file with CAs that sign client certificates (nil: no client certificates asked).
    public var clientCAFile: String?
    /// Refuse clients that present no certificate (needs clientCAFile).
    public var requireClientCertificate: Bool
    /// ALPN protocols offered, most preferred first.
    public var alpnProtocols: [String]
    /// Session-ticket keys (exactly `sessionTicketKeyBytes`); when the same keys survive a restart, delegates
    /// resume their TLS sessions instead of full handshakes (reconnect storms). Nil: random per process.
    public var sessionTicketKeys: [UInt8]?

    /// Length of `sessionTicketKeys`: name (16), HMAC secret (32), AES key (32), as OpenSSL expects.
    public static let sessionTicketKeyBytes = 80

    /// Builds a configuration; ALPN defaults to `legate/1`.
    public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil,
                requireClientCertificate: Bool = false, alpnProtocols: [String] = ["legate/1"],
                sessionTicketKeys: [UInt8]? = nil) {
        self.sessionTicketKeys = sessionTicketKeys
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
        self.requireClientCertificate = requireClientCertificate
        self.alpnProtocols = alpnProtocols
    }
}

/// Client-side TLS settings.
public struct TLSClientConfiguration: Sendable, Equatable {
    /// PEM file with the CAs trusted for the server certificate; empty: the system trust store.
    public var caFile: String
    /// Client certificate for mutual TLS (optional).
    public var certificateFile: String?
    /// Client private key for mutual TLS (optional).
    public var privateKeyFile: String?
    /// ALPN protocols offered, most preferred first.
    public var alpnProtocols: [String]

    /// Builds a configuration; ALPN defaults to `legate/1`.
    public init(caFile: String, certificateFile: String? = nil, privateKeyFile: String? = nil,
                alpnProtocols: [String] = ["legate/1"]) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.alpnProtocols = alpnProtocols
    }
}

/// ALPN wire format: length-prefixed names.
func alpnWire(_ protocols: [String]) -> [UInt8] {
    var out: [UInt8] = []
    for name in protocols {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count < 256 else { continue }
        out.append(UInt8(bytes.count))
        out.append(contentsOf: bytes)
    }
    return out
}

private func checkReadable(_ path: String) throws(TLSError) {
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw TLSError.file(path: path, problem: "file missing or not readable")
    }
}

private func makeContext(server: Bool) throws(TLSError) -> OpaquePointer {
    guard let ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
        throw TLSError.call("SSL_CTX_new")
    }
    guard legate_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 else {
        SSL_CTX_free(ctx)
        throw TLSError.call("SSL_CTX_set_min_proto_version")
    }
    // Idle connections keep no record buffers (an idle connection must cost the server under 32 KiB).
    _ = legate_SSL_CTX_set_mode(ctx, Int(SSL_MODE_RELEASE_BUFFERS))
    return ctx
}

private func useCertificate(_ ctx: OpaquePointer, chain: String, key: String) throws(TLSError) {
    try checkReadable(chain)
    try checkReadable(key)
    guard SSL_CTX_use_certificate_chain_file(ctx, chain) == 1 else {
        throw TLSError.file(path: chain, problem: "not a PEM certificate chain (\(TLSError.drainQueue()))")
    }
    guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
        throw TLSError.file(path: key, problem: "not a PEM private key (\(TLSError.drainQueue()))")
    }
    guard SSL_CTX_check_private_key(ctx) == 1 else {
        throw TLSError.file(path: key, problem: "private key does not match the certificate in \(chain)")
    }
}

private let alpnSelect: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, input, inputLength, arg in
    guard let arg else { return SSL_TLSEXT_ERR_NOACK }
    let box = Unmanaged<ALPNBox>.fromOpaque(arg).takeUnretainedValue()
    return box.bytes.withUnsafeBufferPointer { server -> Int32 in
        var selected: UnsafeMutablePointer<UInt8>?
        var selectedLength: UInt8 = 0
        let result = SSL_select_next_proto(
            &selected, &selectedLength, server.baseAddress, UInt32(server.count), input, inputLength)
        guard result == OPENSSL_NPN_NEGOTIATED, let selected else { return SSL_TLSEXT_ERR_NOACK }
        // `selected` points into box.bytes, an immutable array that lives as long as the context.
        out?.pointee = UnsafePointer(selected)
        outLength?.pointee = selectedLength
        return SSL_TLSEXT_ERR_OK
    }
}

/// Owns the ALPN list for the server callback.
final class ALPNBox {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// A server TLS context shared by all accepted connections.
///
/// `@unchecked Sendable`: the SSL_CTX is configured in init and only read afterwards (OpenSSL CTXs are
/// thread-safe for creating SSL objects).
public final class TLSServerContext: @unchecked Sendable {
    let ctx: OpaquePointer
    private let alpn: ALPNBox

    /// Loads certificate, key and optional client CA; TLS 1.2 minimum, session tickets on.
    public init(_ configuration: TLSServerConfiguration) throws(TLSError) {
        let ctx = try makeContext(server: true)
        self.ctx = ctx
        self.alpn = ALPNBox(alpnWire(configuration.alpnProtocols))
        try useCertificate(ctx, chain: configuration.certificateChainFile, key: configuration.privateKeyFile)
        let sessionContext: [UInt8] = Array("legate".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, sessionContext, UInt32(sessionContext.count))
        _ = legate_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_SERVER))
        if var keys = configuration.sessionTicketKeys {
            guard keys.count == TLSServerConfiguration.sessionTicketKeyBytes,
                legate_SSL_CTX_set_tlsext_ticket_keys(ctx, &keys, keys.count) == 1
            else {
                throw TLSError.file(
                    path: "session ticket keys",
                    problem: "need exactly \(TLSServerConfiguration.sessionTicketKeyBytes) bytes, got \(keys.count)")
            }
        }
        if let caFile = configuration.clientCAFile {
            try checkReadable(caFile)
            guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                throw TLSError.file(path: caFile, problem: "not a PEM CA file (\(TLSError.drainQueue()))")
            }
            if let names = SSL_load_client_CA_file(caFile) { SSL_CTX_set_client_CA_list(ctx, names) }
            let mode = SSL_VERIFY_PEER | (configuration.requireClientCertificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0)
            SSL_CTX_set_verify(ctx, mode, nil)
        }
        if !self.alpn.bytes.isEmpty {
            SSL_CTX_set_alpn_select_cb(ctx, alpnSelect, Unmanaged.passUnretained(self.alpn).toOpaque())
        }
    }

    deinit { SSL_CTX_free(self.ctx) }
}

/// A client TLS context; remembers the last session per host:port for resumption.
///
/// `@unchecked Sendable`: the SSL_CTX is read-only after init; the session cache is behind a Mutex.
public final class TLSClientContext: @unchecked Sendable {
    let ctx: OpaquePointer
    private let sessions = Mutex<[String: SessionReference]>([:])

    /// Loads the trusted CAs and an optional client certificate; verifies the server chain and name.
    public init(_ configuration: TLSClientConfiguration) throws(TLSError) {
        let ctx = try makeContext(server: false)
        self.ctx = ctx
        if configuration.caFile.isEmpty {
            // No CA file: trust what the system trusts (OpenSSL's default certificate file and directory).
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else {
                throw TLSError.call("SSL_CTX_set_default_verify_paths")
            }
        } else {
            try checkReadable(configuration.caFile)
            guard SSL_CTX_load_verify_locations(ctx, configuration.caFile, nil) == 1 else {
                throw TLSError.file(
                    path: configuration.caFile, problem: "not a PEM CA file (\(TLSError.drainQueue()))")
            }
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        _ = legate_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_CLIENT))
        if let cert = configuration.certificateFile, let key = configuration.privateKeyFile {
            try useCertificate(ctx, chain: cert, key: key)
        }
        let wire = alpnWire(configuration.alpnProtocols)
        if !wire.isEmpty, SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count)) != 0 {
            throw TLSError.call("SSL_CTX_set_alpn_protos")
        }
    }

    deinit {
        let all = self.sessions.withLock { sessions in
            let values = Array(sessions.values)
            sessions.removeAll()
            return values
        }
        for session in all { SSL_SESSION_free(session.pointer) }
        SSL_CTX_free(self.ctx)
    }

    /// Stores a resumable session for `key`, taking ownership of one reference.
    func storeSession(_ session: OpaquePointer, for key: String) {
        let old = self.sessions.withLock { $0.updateValue(SessionReference(pointer: session), forKey: key) }
        if let old { SSL_SESSION_free(old.pointer) }
    }

    /// Applies the remembered session for `key` to `ssl`, if any.
    func applySession(to ssl: OpaquePointer, for key: String) {
        self.sessions.withLock { sessions in
            if let session = sessions[key] { _ = SSL_set_session(ssl, session.pointer) }
        }
    }
}

/// An owned SSL_SESSION reference.
///
/// `@unchecked Sendable`: SSL_SESSION objects are reference counted and safe to share across threads.
struct SessionReference: @unchecked Sendable {
    let pointer: OpaquePointer
}
