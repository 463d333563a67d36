// What one secret adds to a task: the TASK_ASSIGN it makes bigger (encode on the manager, decode on the delegate),
// the delegate opening it (the first time with its ring key copy, then with the ring key cached), and masking the
// task's output and log. Prints microseconds per task for each part and the total against a task without secrets.
// Run: swift run -c release legate-secret-task-bench [ITERATIONS]
import Foundation
import LegateDelegate
import LegateSecrets
import LegateWire

/// Microseconds per run of `body`, best of three rounds of `iterations`.
func microseconds(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<3 {
        let elapsed = try ContinuousClock().measure { for _ in 0..<iterations { try body() } }
        best = min(best, elapsed / .microseconds(1) / Double(iterations))
    }
    return best
}

let iterations = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 2_000
let device = try X25519PrivateKey.generate()
let ring = try X25519PrivateKey.generate()
let value = Array("correct-horse-battery-staple-0123456789".utf8)
let binding = SecretBinding(
    secretID: "sec_4f1c2d9e8a7b6c5d4e3f2a1b", version: 3, ringID: "krg_m2k7q9x4v8b3n6p1c5z0",
    ringVersion: 2, policy: SecretPolicy(allowedTaskTypes: ["shell"]))
let envelope = try SecretEnvelope.seal(value: value, binding: binding, ringPublicKey: ring.publicKey)
let copy = try RingKeyCopy.seal(
    ringPrivateKey: ring, ringID: binding.ringID, ringVersion: 2, memberDelegateID: "dlg_bench",
    to: device.publicKey)

var plain = TaskAssignment()
plain.taskID = "tsk_2b4x6z8c0v2n4m6k8j0h2g4f"
plain.attempt = 1
plain.type = "shell"
plain.payload = Array(#"{"command": "/bin/sh", "arguments": ["-c", "deploy --password \"$DB\""]}"#.utf8)
plain.timeoutMs = 600_000
plain.leaseMs = 10_000
var withSecret = plain
var secret = TaskSecret()
secret.envName = "DB"
secret.secretName = "db-password"
secret.secretID = binding.secretID
secret.version = binding.version
secret.ringID = binding.ringID
secret.ringVersion = binding.ringVersion
secret.policy = SecretPolicyInfo(allowedTaskTypes: ["shell"])
secret.envelope = SecretEnvelopeData(
    valueNonce: envelope.valueNonce, valueCiphertext: envelope.valueCiphertext,
    sealedDataKey: SealedBox(
        encapsulatedKey: envelope.sealedDataKey.encapsulatedKey, ciphertext: envelope.sealedDataKey.ciphertext))
secret.ringKeyCopy = SealedBox(encapsulatedKey: copy.encapsulatedKey, ciphertext: copy.ciphertext)
withSecret.secrets = [secret]

let plainBytes = plain.protoBytes()
let secretBytes = withSecret.protoBytes()
let encodePlain = microseconds(iterations * 10) { _ = plain.protoBytes() }
let encodeSecret = microseconds(iterations * 10) { _ = withSecret.protoBytes() }
let decodePlain = try microseconds(iterations * 10) { _ = try TaskAssignment(protoBytes: plainBytes) }
let decodeSecret = try microseconds(iterations * 10) { _ = try TaskAssignment(protoBytes: secretBytes) }
let openCold = microseconds(iterations) {
    _ = TaskSecretOpener.open(withSecret, deviceKey: device, delegateID: "dlg_bench", cache: RingKeyCache())
}
let warm = RingKeyCache()
let openWarm = microseconds(iterations) {
    _ = TaskSecretOpener.open(withSecret, deviceKey: device, delegateID: "dlg_bench", cache: warm)
}
let output = Array(String(repeating: "deploying step ok\n", count: 228).utf8)  // ~4 KiB of output
let masking = try microseconds(iterations) {
    var masker = try SecretMasker(values: [value])
    _ = masker.mask(output)
    _ = masker.finish()
}

let added = (encodeSecret - encodePlain) + (decodeSecret - decodePlain) + openWarm + 2 * masking
print("""
    one secret added to a task (µs per task, best of 3 x \(iterations)):
      TASK_ASSIGN bytes                \(plainBytes.count) -> \(secretBytes.count)
      manager: encode TASK_ASSIGN      \(String(format: "%.2f", encodePlain)) -> \(String(format: "%.2f", encodeSecret))
      delegate: decode TASK_ASSIGN     \(String(format: "%.2f", decodePlain)) -> \(String(format: "%.2f", decodeSecret))
      delegate: open, ring key cached  \(String(format: "%.1f", openWarm))
      delegate: open, first of a ring  \(String(format: "%.1f", openCold))
      delegate: mask 4 KiB (log+result, each) \(String(format: "%.1f", masking))
      added per task (cached ring key) \(String(format: "%.1f", added))
    reproduce: swift run -c release legate-secret-task-bench \(iterations)
    """)
