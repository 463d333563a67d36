import Foundation

/// One shell code block of README.md and how the example test treats it, from the HTML comment above it:
/// `<!-- example: NAME -->` runs it to completion, `<!-- example: NAME; background until [N] "TEXT" -->` starts it
/// and waits until its output holds TEXT (N times), `<!-- not run: REASON -->` leaves it out and says why.
struct ReadmeExample: Equatable {
    /// What the test does with the block.
    enum Mode: Equatable {
        case foreground
        case background(until: String, count: Int)
        case notRun(reason: String)
    }

    let name: String
    let mode: Mode
    /// The block's text without its indentation, as a user would paste it.
    let script: String
    /// The 1-based line of the block's first line in the README, for messages.
    let line: Int
}

/// Finds the shell code blocks of a Markdown text and the comment marking each.
enum ReadmeExamples {
    /// Fenced blocks of these languages are shell examples; other fences (yaml...) are not.
    static let shellFences: Set<String> = ["", "sh", "bash", "shell", "console"]

    /// The marked blocks, and the 1-based lines of shell blocks that carry no marker (or one not understood).
    static func parse(_ text: String) -> (examples: [ReadmeExample], unmarked: [Int]) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var examples: [ReadmeExample] = []
        var unmarked: [Int] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let previous = index > 0 ? lines[index - 1] : ""
            var body: [String] = []
            let start = index
            if line.hasPrefix("```") {
                let language = line.dropFirst(3).trimmingCharacters(in: .whitespaces)
                index += 1
                while index < lines.count, !lines[index].hasPrefix("```") {
                    body.append(lines[index])
                    index += 1
                }
                index += 1
                guard Self.shellFences.contains(language) else { continue }
            } else if line.hasPrefix("    "), previous.trimmingCharacters(in: .whitespaces).isEmpty
                || previous.hasPrefix("<!--")
            {
                while index < lines.count, lines[index].hasPrefix("    ") || lines[index].allSatisfy(\.isWhitespace) {
                    body.append(String(lines[index].dropFirst(min(4, lines[index].count))))
                    index += 1
                }
                while body.last?.allSatisfy(\.isWhitespace) == true { body.removeLast() }
            } else {
                index += 1
                continue
            }
            let marker = lines[..<start].last { !$0.allSatisfy(\.isWhitespace) } ?? ""
            guard let (name, mode) = Self.marker(marker) else {
                unmarked.append(start + 1)
                continue
            }
            examples.append(
                ReadmeExample(
                    name: name, mode: mode, script: body.joined(separator: "\n") + "\n",
                    line: line.hasPrefix("```") ? start + 2 : start + 1))
        }
        return (examples, unmarked)
    }

    /// The name and mode of a marker comment, or nil when the line is not one.
    static func marker(_ line: String) -> (String, ReadmeExample.Mode)? {
        let text = line.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("<!--"), text.hasSuffix("-->") else { return nil }
        let inner = text.dropFirst(4).dropLast(3).trimmingCharacters(in: .whitespaces)
        if inner.hasPrefix("not run:") {
            return ("not run", .notRun(reason: inner.dropFirst("not run:".count).trimmingCharacters(in: .whitespaces)))
        }
        guard inner.hasPrefix("example:") else { return nil }
        let parts = inner.dropFirst("example:".count).split(separator: ";", maxSplits: 1)
        guard let name = parts.first?.trimmingCharacters(in: .whitespaces), !name.isEmpty else { return nil }
        guard parts.count == 2 else { return (name, .foreground) }
        // background until [N] "TEXT"
        let rest = parts[1].trimmingCharacters(in: .whitespaces)
        guard rest.hasPrefix("background until "), let open = rest.firstIndex(of: "\""), rest.hasSuffix("\"") else {
            return nil
        }
        let countText = rest[rest.index(rest.startIndex, offsetBy: "background until ".count)..<open]
            .trimmingCharacters(in: .whitespaces)
        guard let count = countText.isEmpty ? 1 : Int(countText), count >= 1 else { return nil }
        let until = String(rest[rest.index(after: open)..<rest.index(before: rest.endIndex)])
        guard !until.isEmpty else { return nil }
        return (name, .background(until: until, count: count))
    }

    /// The `<placeholder>`s of a script, in order of appearance (shell redirections such as `2>&1` are not).
    static func placeholders(in script: String) -> [String] {
        var found: [String] = []
        var rest = script[...]
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: ">") else { break }
            let inner = after[..<close]
            if let first = inner.first, first.isLetter, inner.allSatisfy({ $0.isLetter || $0 == " " }),
                !found.contains("<\(inner)>")
            {
                found.append("<\(inner)>")
            }
            rest = after
        }
        return found
    }

    /// Values a user copies from what a command printed, by the placeholder the README writes for them: the
    /// manager's first-start banner and the id `legatectl task submit` prints. Later output replaces earlier.
    static func learn(from output: String, into values: inout [String: String]) {
        for line in output.split(separator: "\n").map(String.init) {
            let words = line.split(separator: " ").map(String.init)
            if line.hasPrefix("  account id: "), let last = words.last { values["<account id>"] = last }
            if line.hasPrefix("  default delegate token (shown once"), let last = words.last {
                values["<token value>"] = last
            }
            if line.hasPrefix("  bootstrap admin API key (shown once"), let last = words.last {
                values["<admin key>"] = last
            }
            if let id = words.first(where: { $0.hasPrefix("tsk_") }), words.first == "submitted" || words.count == 1 {
                values["<task id>"] = id
            }
        }
    }

    /// The port a manager reports in its banner (`Legate manager listening on HOST:PORT ...`), if the output has one.
    static func listeningPort(in output: String) -> String? {
        for line in output.split(separator: "\n") where line.hasPrefix("Legate manager listening on ") {
            let address = line.dropFirst("Legate manager listening on ".count).split(separator: " ").first ?? ""
            if let colon = address.lastIndex(of: ":") { return String(address[address.index(after: colon)...]) }
        }
        return nil
    }

    /// The value of `--port` in a script, if it has one.
    static func portFlag(in script: String) -> String? {
        let words = script.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard let flag = words.firstIndex(of: "--port"), flag + 1 < words.count else { return nil }
        return words[flag + 1]
    }
}
