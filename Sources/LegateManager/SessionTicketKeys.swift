import Foundation
import LegateAuth
import LegateNet

/// TLS session-ticket keys kept in the data directory, so delegates resume their sessions across a manager
/// restart (a reconnect storm then costs resumptions, not full handshakes). Mode 0600, like the master key.
enum SessionTicketKeys {
    static let fileName = "session-ticket.key"

    static func loadOrCreate(in directory: String) throws(ManagerError) -> [UInt8] {
        let path = directory + "/" + self.fileName
        let length = TLSServerConfiguration.sessionTicketKeyBytes
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == length else {
                throw .tls("\(path) holds \(data.count) bytes, not \(length); delete it to make a new one")
            }
            return [UInt8](data)
        }
        let keys = SecureRandom.bytes(length)
        guard FileManager.default.createFile(atPath: path, contents: Data(keys), attributes: [.posixPermissions: 0o600])
        else {
            throw .tls("cannot create \(path); check the data directory's permissions")
        }
        return keys
    }
}
