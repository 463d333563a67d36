// Secrets cryptography benchmark: HPKE seal and open, and what a delegate pays to open a secret.
// Run: tools/bench/secrets.sh (a release build of this target).
import Foundation
import LegateSecrets

/// Microseconds per run of `body`, the best of five rounds of `iterations` runs.
func microseconds(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<5 {
        let start = ContinuousClock.now
        for _ in 0..<iterations { try body() }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        best = min(best, seconds * 1e6 / Double(iterations))
    }
    return best
}

/// Prints one result line.
func report(_ name: String, _ value: Double, unit: String = "us") {
    print(name.padding(toLength: 58, withPad: " ", startingAt: 0) + String(format: "%9.2f %@", value, unit))
}

let iterations = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 2000
let info = Array("legate bench".utf8)
let aad = Array("aad".utf8)
let dataKey = [UInt8](repeating: 0x42, count: 32)
let value = Array("postgres://app:correct-horse-battery-staple@db.internal:5432/app".utf8)
do {
    let device = try X25519PrivateKey.generate()
    let ring = try X25519PrivateKey.generate()
    let binding = SecretBinding(secretID: "db-url", version: 3, ringID: "prod", ringVersion: 2,
                                policy: SecretPolicy(allowedTaskTypes: ["deploy", "migrate"]))
    let sealed = try HPKE.seal(to: ring.publicKey, info: info, aad: aad, plaintext: dataKey)
    let envelope = try SecretEnvelope.seal(value: value, binding: binding, ringPublicKey: ring.publicKey)
    let copy = try RingKeyCopy.seal(ringPrivateKey: ring, ringID: "prod", ringVersion: 2, memberDelegateID: "dlg-1",
                                    to: device.publicKey)

    print("legate-secrets-bench: \(iterations) runs per round, best of 5 rounds (\(value.count)-byte value)")
    // The floor under every open: one X25519 derivation through libcrypto's EVP layer; the key schedule is the rest.
    let peer = try X25519PrivateKey.generate().publicKey
    report("X25519 derivation alone (EVP)", try microseconds(iterations) { _ = try ring.sharedSecret(with: peer) })
    let suite = HPKESuite.x25519SHA256AES256GCM
    report("HPKE key schedule alone", microseconds(iterations) {
        _ = suite.keySchedule(sharedSecret: dataKey, info: info)
    })
    report("HPKE.seal (32-byte data key)", try microseconds(iterations) {
        _ = try HPKE.seal(to: ring.publicKey, info: info, aad: aad, plaintext: dataKey)
    })
    report("HPKE.open (32-byte data key)", try microseconds(iterations) {
        _ = try HPKE.open(sealed, with: ring, info: info, aad: aad)
    })
    report("SecretEnvelope.seal", try microseconds(iterations) {
        _ = try SecretEnvelope.seal(value: value, binding: binding, ringPublicKey: ring.publicKey)
    })
    report("SecretEnvelope.open, ring key already open (target < 100)", try microseconds(iterations) {
        _ = try envelope.open(binding: binding, ringPrivateKey: ring)
    })
    report("RingKeyCopy.open + SecretEnvelope.open", try microseconds(iterations) {
        let ringKey = try RingKeyCopy.open(copy, ringID: "prod", ringVersion: 2, memberDelegateID: "dlg-1",
                                           with: device, expectedRingPublicKey: ring.publicKey)
        _ = try envelope.open(binding: binding, ringPrivateKey: ringKey)
    })

    // Masking: 1 MiB of log-like output in 4 KiB chunks, with ten secrets.
    let secrets = (0..<10).map { Array("secret-value-\($0)-\(String(repeating: "x", count: 20))".utf8) }
    let masker = try SecretMasker(values: secrets)
    var output: [UInt8] = []
    let line = Array("2026-11-30T05:00:00Z INFO step 42 finished in 12 ms, nothing to hide here\n".utf8)
    while output.count < 1 << 20 { output += line }
    let chunks = stride(from: 0, to: output.count, by: 4096).map { Array(output[$0..<min($0 + 4096, output.count)]) }
    let perMiB = microseconds(20) {
        var running = masker
        for chunk in chunks { _ = running.mask(chunk) }
        _ = running.finish()
    }
    report("SecretMasker, 10 secrets, 4 KiB chunks", Double(output.count) / perMiB, unit: "MB/s")
} catch {
    print("legate-secrets-bench failed: \(error)")
    exit(1)
}
