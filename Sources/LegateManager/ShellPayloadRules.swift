import Foundation

/// Checks a `shell` task's payload at submit, so a payload the delegate would refuse is refused with its reason
/// before it is queued (mirrors what `legate-delegate`'s shell handler decodes).
enum ShellPayloadRules {
    /// Largest output bound a payload may ask for (a result must fit in one frame).
    static let maxOutputBytesCeiling = 512 << 10
    static let documented =
        #"{"command": "/bin/ls", "arguments": ["-l"], "workingDirectory": "/tmp", "environment": {"K": "V"}, "#
        + #""timeoutMs": 5000, "maxOutputBytes": 65536} (only "command" is required)"#

    /// Nil when `payload` is the documented JSON, else why not.
    static func problem(_ payload: [UInt8]) -> String? {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(payload), options: []) else {
            return "the shell payload is not JSON; expected \(Self.documented)"
        }
        guard let object = parsed as? [String: Any] else {
            return "the shell payload is not a JSON object; expected \(Self.documented)"
        }
        let known: Set<String> = [
            "command", "arguments", "workingDirectory", "environment", "timeoutMs", "maxOutputBytes",
        ]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            return "the shell payload has an unknown field \"\(unknown)\"; expected \(Self.documented)"
        }
        guard let command = object["command"] as? String, !command.isEmpty else {
            return "the shell payload needs \"command\", a non-empty string (the program to run)"
        }
        if let value = object["arguments"], !(value is [String]) {
            return "\"arguments\" must be an array of strings"
        }
        if let value = object["workingDirectory"], !(value is String) {
            return "\"workingDirectory\" must be a string"
        }
        if let value = object["environment"], !(value is [String: String]) {
            return "\"environment\" must be an object of string values"
        }
        if let value = object["timeoutMs"], Self.integer(value, in: 0...Int64(UInt32.max)) == nil {
            return "\"timeoutMs\" must be a whole number of milliseconds within 0...\(UInt32.max)"
        }
        if let value = object["maxOutputBytes"], Self.integer(value, in: 0...Int64(Self.maxOutputBytesCeiling)) == nil {
            return "\"maxOutputBytes\" must be a whole number within 0...\(Self.maxOutputBytesCeiling)"
        }
        return nil
    }

    private static func integer(_ value: Any, in range: ClosedRange<Int64>) -> Int64? {
        // Booleans bridge to NSNumber too; a JSON true is not a count.
        guard let number = value as? NSNumber, !String(describing: type(of: value)).contains("Boolean") else {
            return nil
        }
        let double = number.doubleValue
        guard double.rounded() == double, double >= Double(range.lowerBound), double <= Double(range.upperBound)
        else { return nil }
        return Int64(double)
    }
}
