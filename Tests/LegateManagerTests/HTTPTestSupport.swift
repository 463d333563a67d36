import Foundation
import LegateTestSupport

/// One HTTP response as a test reads it off a plain socket.
struct ReceivedHTTPResponse {
    let status: Int
    let headers: [String: String]
    let body: String
}

extension PlainSocket {
    /// Reads one response (head plus Content-Length body, none for a HEAD request's); nil on close or timeout
    /// first. `pending` carries bytes read past the response (pipelined answers) between calls.
    func readResponse(pending: inout [UInt8], headOnly: Bool = false) -> ReceivedHTTPResponse? {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            if let end = Self.headEnd(pending) {
                let head = String(decoding: pending[0..<end], as: UTF8.self)
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                        .trimmingCharacters(in: .whitespaces)
                }
                let length = headOnly ? 0 : (Int(headers["content-length"] ?? "0") ?? 0)
                if pending.count >= end + 4 + length {
                    let body = String(decoding: pending[(end + 4)..<(end + 4 + length)], as: UTF8.self)
                    pending.removeFirst(end + 4 + length)
                    let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
                    return ReceivedHTTPResponse(status: status, headers: headers, body: body)
                }
            }
            let count = buffer.withUnsafeMutableBytes { read(self.fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return nil }
            pending += buffer[0..<count]
        }
    }

    /// Sends `request` and reads its response.
    func exchange(_ request: String) -> ReceivedHTTPResponse? {
        self.send(Array(request.utf8))
        var pending: [UInt8] = []
        return self.readResponse(pending: &pending)
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }
}

/// A `/metrics` scrape parsed by the official Prometheus parser (`tools/scrape_metrics.py`, prometheus_client).
struct ParsedScrape {
    let contentType: String
    let families: [String: String]
    let samples: [(name: String, labels: [String: String], value: Double)]

    /// The value of the sample `name` whose labels include `labels`; nil when absent.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        self.samples.first { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }?.value
    }

    /// Scrapes `url` through python3; throws with the script's error output when the text does not parse.
    static func scrape(_ url: String, caFile: String? = nil) throws -> ParsedScrape {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", root.appendingPathComponent("tools/scrape_metrics.py").path, url]
            + (caFile.map { ["--cafile", $0] } ?? [])
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let rows = object["samples"] as? [[Any]]
        else {
            throw ScrapeError(message: "scrape_metrics.py exited \(process.terminationStatus): \(errorText)")
        }
        let samples = rows.compactMap { row -> (String, [String: String], Double)? in
            guard row.count == 3, let name = row[0] as? String, let labels = row[1] as? [String: String],
                let value = (row[2] as? NSNumber)?.doubleValue
            else { return nil }
            return (name, labels, value)
        }
        return ParsedScrape(
            contentType: object["content_type"] as? String ?? "",
            families: object["families"] as? [String: String] ?? [:], samples: samples)
    }
}

/// A scrape that failed, with the parser's or the fetch's message.
struct ScrapeError: Error, CustomStringConvertible {
    let message: String
    var description: String { self.message }
}
