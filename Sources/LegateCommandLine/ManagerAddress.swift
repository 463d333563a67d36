/// Parses `host:port`, `[v6]:port` or a bare host (default port 7443) as given in `LEGATE_MANAGER`.
public struct ManagerAddress: Sendable, Equatable {
    /// Host name or IP literal (without brackets).
    public let host: String
    /// TCP port.
    public let port: Int

    /// Parses `text`, or returns nil with nothing sensible in it (a scheme or path such as `https://host:7443`
    /// included: the manager speaks its own protocol over TLS, not HTTP).
    public init?(_ text: String, defaultPort: Int = 7443) {
        guard !text.contains("/"), !text.contains("@") else { return nil }
        var hostPart = Substring(text)
        var portPart: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") { portPart = rest.dropFirst() } else if !rest.isEmpty { return nil }
        } else if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { return nil }
        self.host = String(hostPart)
        if let portPart {
            guard let port = Int(portPart), (1...65_535).contains(port) else { return nil }
            self.port = port
        } else {
            self.port = defaultPort
        }
    }
}
