// legatectl: the operator's command line. Exit codes: 0 ok, 1 the answer is "no" (invalid JWT, refused,
// not found), 2 usage errors, 3 cannot reach the manager.
import Foundation
import LegateAuth
import LegateCommandLine
import LegateCore
import LegateNet

// A reader that goes away (`legatectl audit list | head`) ends our output, not the process by a signal.
System.ignoreBrokenPipe()

func readSecret(_ path: String) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        usageError("cannot read the secret file \(path)")
    }
    var bytes = [UInt8](data)
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    guard !bytes.isEmpty else { usageError("the secret file \(path) is empty") }
    return bytes
}

func parse(_ words: ArraySlice<String>, values: Set<String>) -> CommandLineArguments {
    do {
        let arguments = try CommandLineArguments(Array(words), valueFlags: values, switchFlags: ["--version"])
        if let extra = arguments.positionals.first { usageError("unexpected argument \(extra)") }
        return arguments
    } catch {
        usageError("\(error)")
    }
}

func required(_ arguments: CommandLineArguments, _ flag: String) -> String {
    guard let value = arguments.string(flag), !value.isEmpty else { usageError("\(flag) is required") }
    return value
}

func integer(_ arguments: CommandLineArguments, _ flag: String, default fallback: Int64) -> Int64 {
    guard let text = arguments.string(flag) else { return fallback }
    guard let value = Int64(text) else { usageError("\(flag) \(text) is not an integer") }
    return value
}

func verifyJWT(_ words: ArraySlice<String>) -> Never {
    let arguments = parse(words, values: ["--secret-file", "--audience", "--issuer", "--kid", "--now", "--leeway"])
    let secret = readSecret(required(arguments, "--secret-file"))
    var policy = JWTPolicy.defaults(audience: required(arguments, "--audience"))
    policy.issuer = arguments.string("--issuer")
    policy.leewaySeconds = integer(arguments, "--leeway", default: 60)
    guard (0...86_400).contains(policy.leewaySeconds) else { usageError("--leeway must be within 0...86400") }
    policy.requireSubjectMatch = false  // no account directory here: any `sub` is reported, not checked
    let now = integer(arguments, "--now", default: Int64(Date().timeIntervalSince1970))
    let input = FileHandle.standardInput.readDataToEndOfFile()
    let token = String(decoding: input, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let resolver = SingleKeyResolver(key: HMACKey(keyBytes: secret), accountID: "", keyID: arguments.string("--kid"))
    let validator = JWTValidator(policy: policy, resolver: resolver, cacheCapacity: 1)
    do {
        let verified = try validator.verifyUncached(token, now: now)
        print(verified.claims.json)
        exit(0)
    } catch {
        OutputWriter.standardError.write("invalid: \(error)\n")
        exit(1)
    }
}

func mintJWT(_ words: ArraySlice<String>) -> Never {
    let arguments = parse(
        words, values: ["--secret-file", "--kid", "--account", "--issuer", "--audience", "--ttl"])
    let secret = readSecret(required(arguments, "--secret-file"))
    let ttl = integer(arguments, "--ttl", default: 600)
    guard (1...3600).contains(ttl) else {
        usageError("--ttl must be within 1...3600 seconds (a delegate JWT lives at most an hour)")
    }
    let claims = JWTClaims.fresh(
        account: required(arguments, "--account"), issuer: required(arguments, "--issuer"),
        audience: required(arguments, "--audience"), now: Int64(Date().timeIntervalSince1970), ttlSeconds: ttl)
    print(JWTMinter.mint(claims: claims, keyID: required(arguments, "--kid"), key: HMACKey(keyBytes: secret)))
    exit(0)
}

let words = CommandLine.arguments.dropFirst()
handleHelpAndVersion(Array(words))
let noun = words.first ?? ""
let verb = words.dropFirst().first ?? ""
if nouns.contains(noun) {
    currentUsage.withLock { $0 = usageText(noun: noun, verb: isCommand(noun: noun, verb: verb) ? verb : nil) }
}
guard isCommand(noun: noun, verb: verb) else {
    usageError(words.isEmpty ? "no command given" : "unknown command '\(words.prefix(2).joined(separator: " "))'")
}
switch (noun, verb) {
case ("jwt", "verify"):
    verifyJWT(words.dropFirst(2))
case ("jwt", "mint"):
    mintJWT(words.dropFirst(2))
case ("token", "new"):
    guard words.count == 2 else { usageError("token new takes no arguments") }
    print(DelegateToken.generate().value)
case ("task", _):
    runTaskCommand(verb: verb, words: words.dropFirst(2))
case ("admin-key", _):
    runAdminKeyCommand(verb: verb, words: words.dropFirst(2))
case ("keyring", _):
    runKeyringCommand(verb: verb, words: words.dropFirst(2))
case ("secret", _):
    runSecretCommand(verb: verb, words: words.dropFirst(2))
case ("delegate", _) where approvalVerbs.contains(verb), ("profile", _):
    runApprovalCommand(noun: noun, verb: verb, words: words.dropFirst(2))
default:
    runAdminCommand(noun: noun, verb: verb, words: words.dropFirst(2))
}
