internal import COpenSSL

/// AES-GCM with a 96-bit nonce and a 128-bit tag, AES-128 or AES-256 chosen by the key length.
enum AESGCM {
    /// Nonce bytes.
    static let nonceBytes = 12
    /// Tag bytes.
    static let tagBytes = 16

    /// ciphertext || tag of `plaintext` under `key` (16 or 32 bytes) and `nonce` (12 bytes), authenticating `aad`.
    static func seal(key: [UInt8], nonce: [UInt8], aad: [UInt8], plaintext: [UInt8]) throws(SecretsError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + Self.tagBytes)
        try run(encrypt: true, key: key, nonce: nonce, aad: aad, input: plaintext, inputCount: plaintext.count,
                output: &output)
        return output
    }

    /// The plaintext of `sealed` (ciphertext || tag); `openFailed(what)` when the tag does not verify.
    static func open(key: [UInt8], nonce: [UInt8], aad: [UInt8], sealed: [UInt8], what: String)
        throws(SecretsError) -> [UInt8]
    {
        guard sealed.count >= Self.tagBytes else {
            throw .malformed(what: what, reason: "\(sealed.count) bytes is shorter than the 16-byte tag")
        }
        var output = [UInt8](repeating: 0, count: sealed.count)
        do {
            try run(encrypt: false, key: key, nonce: nonce, aad: aad, input: sealed,
                    inputCount: sealed.count - Self.tagBytes, output: &output)
        } catch {
            wipe(&output)
            throw .openFailed(what: what)
        }
        output.removeLast(Self.tagBytes)
        return output
    }

    /// One AES-GCM pass. Encrypting writes ciphertext then the tag into `output`; decrypting reads the tag from
    /// `input` after `inputCount` bytes and writes the plaintext into `output`.
    private static func run(encrypt: Bool, key: [UInt8], nonce: [UInt8], aad: [UInt8], input: [UInt8],
                            inputCount: Int, output: inout [UInt8]) throws(SecretsError)
    {
        let cipher: OpaquePointer?
        switch key.count {
        case 16: cipher = EVP_aes_128_gcm()
        case 32: cipher = EVP_aes_256_gcm()
        default: throw .invalidKeyLength(what: "AES-GCM key", expected: 32, found: key.count)
        }
        guard nonce.count == Self.nonceBytes else {
            throw .invalidKeyLength(what: "AES-GCM nonce", expected: Self.nonceBytes, found: nonce.count)
        }
        guard inputCount < Int(Int32.max) - 64, aad.count < Int(Int32.max) else {
            throw .malformed(what: "AES-GCM input", reason: "larger than 2 GiB")
        }
        guard let context = EVP_CIPHER_CTX_new() else { throw .cryptoFailure(operation: "create an AES-GCM context") }
        defer { EVP_CIPHER_CTX_free(context) }
        let initialise = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex
        let update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate
        guard initialise(context, cipher, nil, key, nonce) == 1 else {
            throw .cryptoFailure(operation: "initialise AES-GCM")
        }
        var length: Int32 = 0
        if !aad.isEmpty {
            guard update(context, nil, &length, aad, Int32(aad.count)) == 1 else {
                throw .cryptoFailure(operation: "authenticate AES-GCM associated data")
            }
        }
        let ok = input.withUnsafeBufferPointer { inBuffer -> Bool in
            output.withUnsafeMutableBufferPointer { outBuffer -> Bool in
                // `output` always holds at least the tag, so it has an address; `input` may be empty when sealing.
                guard let outBase = outBuffer.baseAddress else { return false }
                var written: Int32 = 0
                if inputCount > 0, let inBase = inBuffer.baseAddress {
                    guard update(context, outBase, &written, inBase, Int32(inputCount)) == 1 else { return false }
                }
                if !encrypt {
                    guard let inBase = inBuffer.baseAddress else { return false }
                    let tagAddress = UnsafeMutableRawPointer(mutating: inBase + inputCount)
                    guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagBytes), tagAddress) == 1
                    else { return false }
                }
                let final = encrypt ? EVP_EncryptFinal_ex : EVP_DecryptFinal_ex
                var tail: Int32 = 0
                guard final(context, outBase + Int(written), &tail) == 1 else { return false }
                if encrypt {
                    let tagOut = UnsafeMutableRawPointer(outBase + inputCount)
                    return EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagBytes), tagOut) == 1
                }
                return true
            }
        }
        guard ok else { throw .cryptoFailure(operation: encrypt ? "encrypt with AES-GCM" : "decrypt with AES-GCM") }
    }
}
