import Foundation

/// Loads the golden vectors in `Proto/vectors/`, the protocol's single source of truth.
public enum Vectors {
    /// Errors met while finding or reading a vector file.
    public enum LoadError: Error, CustomStringConvertible {
        case directoryNotFound(startingAt: String)
        case unreadable(file: String, reason: String)
        case badHex(String)

        /// What went wrong and what to do.
        public var description: String {
            switch self {
            case .directoryNotFound(let start):
                return "no Proto/vectors directory above \(start); run the tests from the Legate checkout"
            case .unreadable(let file, let reason):
                return "vector file \(file) could not be read: \(reason)"
            case .badHex(let text):
                return "vector hex is malformed near '\(text.prefix(16))'"
            }
        }
    }

    /// The `Proto/vectors` directory, found by walking up from this source file.
    public static func directory(filePath: String = #filePath) throws -> URL {
        var url = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        for _ in 0..<8 {
            let candidate = url.appendingPathComponent("Proto/vectors")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate
            }
            url = url.deletingLastPathComponent()
        }
        throw LoadError.directoryNotFound(startingAt: filePath)
    }

    /// The raw bytes of `Proto/vectors/<name>`.
    public static func data(_ name: String) throws -> Data {
        let url = try self.directory().appendingPathComponent(name)
        do {
            return try Data(contentsOf: url)
        } catch {
            throw LoadError.unreadable(file: name, reason: "\(error)")
        }
    }

    /// Decodes `Proto/vectors/<name>` (JSON) as `T`.
    public static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        let data = try self.data(name)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw LoadError.unreadable(file: name, reason: "\(error)")
        }
    }

    /// Bytes from lowercase or uppercase hex without separators.
    public static func bytes(hex: String) throws -> [UInt8] {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { throw LoadError.badHex(hex) }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else {
                throw LoadError.badHex(String(hex.dropFirst(index)))
            }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let table = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
