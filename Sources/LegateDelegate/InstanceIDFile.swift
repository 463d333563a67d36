import Foundation

/// The delegate's instance id kept in its state directory beside the device key: a restarted delegate registers
/// as the same delegate, so the key ring copies sealed to it (bound to its delegate id) stay usable.
public enum InstanceIDFile {
    /// The file's name inside the state directory.
    public static let fileName = "instance-id"

    /// The instance id stored in `directory`, or a fresh one written there (atomically, mode 0600) when there is
    /// none; an unreadable or malformed file is refused rather than replaced.
    public static func loadOrCreate(in directory: String) throws(TokenFileError) -> String {
        let path = directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
        if FileManager.default.fileExists(atPath: path) {
            let text = try TokenFile.read(path)
            guard Self.isValid(text) else {
                throw .unreadable(path: path, reason: "it does not hold an instance id (ins_ and 26 characters)")
            }
            return text
        }
        let fresh = DelegateConfiguration.newInstanceID()
        try TokenFile.write(fresh, to: path)
        return fresh
    }

    /// Whether `text` looks like an id `DelegateConfiguration.newInstanceID()` makes.
    static func isValid(_ text: String) -> Bool {
        text.hasPrefix("ins_") && (5...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }
}
