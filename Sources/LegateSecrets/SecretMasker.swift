/// Replaces secret values in streamed task output with `***`, also when a value is split across chunks.
///
/// For each value it masks: the value's bytes; each line of a multi-line value (split at `\n`, a trailing `\r`
/// dropped) that is at least `minimumValueLength` bytes; and the value's base64 in the standard and URL alphabets,
/// with and without `=` padding. A value embedded in a longer base64 text starts at byte offset 0, 1 or 2 of a
/// 3-byte group, and the characters at its two ends then depend on the neighbouring bytes; for each of the three
/// alignments the masker matches the run of characters that depend on the value's bits alone, when that run is at
/// least `minimumValueLength` characters (so 1 or 2 characters at each end of such an embedding stay visible).
/// Overlapping or touching matches become one `***`. At most the longest pattern's length minus one bytes are held
/// back between calls; `finish()` releases them at the end of the stream.
public struct SecretMasker: Sendable {
    /// The shortest value that can be masked; shorter values would mask ordinary output and are refused.
    public static let minimumValueLength = 6
    /// What each match becomes.
    public static let replacement: [UInt8] = Array("***".utf8)

    private let automaton: MaskAutomaton
    /// The automaton state after the last byte seen.
    private var state: Int32 = 0
    /// Bytes seen so far in the stream.
    private var position = 0
    /// Bytes from `emitted` up to `position`, not yet released.
    private var held: [UInt8] = []
    /// Stream position up to which output has been released.
    private var emitted = 0
    /// True when the released output ends inside a mask, so a match overlapping it continues that mask.
    private var emittedEndsInMask = false
    /// Matches in the held bytes, sorted and disjoint; `marker` is false for a continuation of a released mask.
    private var pending: [(start: Int, end: Int, marker: Bool)] = []

    /// Refuses a value shorter than `minimumValueLength` bytes.
    public static func validate(value: [UInt8]) throws(SecretsError) {
        guard value.count >= Self.minimumValueLength else {
            throw .valueTooShortToMask(length: value.count, minimum: Self.minimumValueLength)
        }
    }

    /// A masker for `values`; refuses any value shorter than `minimumValueLength` bytes.
    public init(values: [[UInt8]]) throws(SecretsError) {
        var patterns = Set<[UInt8]>()
        for value in values {
            try Self.validate(value: value)
            for pattern in Self.patterns(for: value) { patterns.insert(pattern) }
        }
        self.automaton = MaskAutomaton(patterns: patterns.sorted { $0.lexicographicallyPrecedes($1) })
        self.pending.reserveCapacity(8)
    }

    /// The length of the longest pattern; at most this minus one bytes are held back.
    public var longestPatternLength: Int { self.automaton.longestPattern }

    /// Every byte string masked for `value` (see the type's documentation for the rule).
    static func patterns(for value: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = [value]
        for line in value.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            if trimmed.count >= Self.minimumValueLength { out.append(Array(trimmed)) }
        }
        for alphabet in [Base64.Alphabet.standard, .url] {
            out.append(Base64.encodeBytes(value, alphabet: alphabet, padding: true))
            out.append(Base64.encodeBytes(value, alphabet: alphabet, padding: false))
            for alignment in 0..<3 {
                let shifted = Base64.encodeBytes([UInt8](repeating: 0, count: alignment) + value, alphabet: alphabet,
                                                 padding: false)
                // Character i carries bits 6i..<6i+6; keep those entirely inside the value's bits.
                let first = (8 * alignment + 5) / 6
                let last = (8 * (alignment + value.count) - 6) / 6
                if last - first + 1 >= Self.minimumValueLength { out.append(Array(shifted[first...last])) }
            }
        }
        return out
    }

    /// The masked output releasable after `chunk`; holds back bytes that might start a match.
    public mutating func mask(_ chunk: [UInt8]) -> [UInt8] {
        if self.automaton.longestPattern == 0 { return chunk }
        self.held.append(contentsOf: chunk)
        let automaton = self.automaton
        var state = self.state
        for byte in chunk {
            state = automaton.next(state, byte)
            self.position += 1
            let length = automaton.matchLength[Int(state)]
            if length > 0 { self.addMatch(start: self.position - Int(length), end: self.position) }
        }
        self.state = state
        var out: [UInt8] = []
        out.reserveCapacity(chunk.count + Self.replacement.count)
        self.release(upTo: self.position - Int(automaton.depth[Int(state)]), into: &out)
        return out
    }

    /// Releases every held byte (masked) at the end of the stream; the masker is then ready for a new stream.
    public mutating func finish() -> [UInt8] {
        var out: [UInt8] = []
        self.release(upTo: self.position, into: &out)
        self.state = 0
        self.emittedEndsInMask = false
        return out
    }

    private mutating func addMatch(start: Int, end: Int) {
        var start = start
        var marker = true
        if start < self.emitted || (start == self.emitted && self.emittedEndsInMask) {
            start = self.emitted
            marker = !self.emittedEndsInMask
        }
        while let last = self.pending.last, last.end >= start {
            if last.start <= start {
                start = last.start
                marker = last.marker
            }
            self.pending.removeLast()
        }
        self.pending.append((start, end, marker))
    }

    /// Releases output up to `limit` (no later match can start before it), and any match starting at or before it.
    private mutating func release(upTo limit: Int, into out: inout [UInt8]) {
        let base = self.emitted
        var cursor = base
        var taken = 0
        for match in self.pending where match.start <= limit {
            out.append(contentsOf: self.held[(cursor - base)..<(match.start - base)])
            if match.marker { out.append(contentsOf: Self.replacement) }
            cursor = match.end
            self.emittedEndsInMask = true
            taken += 1
        }
        self.pending.removeFirst(taken)
        if cursor < limit {
            out.append(contentsOf: self.held[(cursor - base)..<(limit - base)])
            cursor = limit
            self.emittedEndsInMask = false
        }
        self.held.removeFirst(cursor - base)
        self.emitted = cursor
    }
}

/// An Aho-Corasick automaton over bytes: a dense root row, sparse edges elsewhere, failure links, and for each
/// state the length of the longest pattern ending there.
final class MaskAutomaton: Sendable {
    /// Next state from the root for each byte (0 when no pattern starts with it).
    let rootNext: [Int32]
    /// Per state: first index into `edgeBytes`/`edgeTargets`, and the count.
    let edgeStart: [Int32]
    let edgeCount: [Int32]
    let edgeBytes: [UInt8]
    let edgeTargets: [Int32]
    /// Failure link of each state.
    let failure: [Int32]
    /// Length of the string each state stands for.
    let depth: [Int32]
    /// Length of the longest pattern that is a suffix of the state's string; 0 for none.
    let matchLength: [Int32]
    /// Longest pattern in bytes.
    let longestPattern: Int

    init(patterns: [[UInt8]]) {
        var children: [[(UInt8, Int32)]] = [[]]
        var depth: [Int32] = [0]
        var terminal: [Int32] = [0]
        for pattern in patterns where !pattern.isEmpty {
            var node: Int32 = 0
            for byte in pattern {
                if let next = children[Int(node)].first(where: { $0.0 == byte })?.1 {
                    node = next
                } else {
                    let next = Int32(children.count)
                    children.append([])
                    depth.append(depth[Int(node)] + 1)
                    terminal.append(0)
                    children[Int(node)].append((byte, next))
                    node = next
                }
            }
            terminal[Int(node)] = Int32(pattern.count)
        }
        var rootNext = [Int32](repeating: 0, count: 256)
        for (byte, target) in children[0] { rootNext[Int(byte)] = target }
        var failure = [Int32](repeating: 0, count: children.count)
        var matchLength = terminal
        // Breadth-first, so a state's failure target is finished before the state.
        var queue = children[0].map { $0.1 }
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            for (byte, child) in children[Int(node)] {
                var fallback = failure[Int(node)]
                var target: Int32 = 0
                while true {
                    if let hit = children[Int(fallback)].first(where: { $0.0 == byte })?.1, hit != child {
                        target = hit
                        break
                    }
                    if fallback == 0 { break }
                    fallback = failure[Int(fallback)]
                }
                failure[Int(child)] = target
                if matchLength[Int(child)] == 0 { matchLength[Int(child)] = matchLength[Int(target)] }
                queue.append(child)
            }
        }
        var edgeStart: [Int32] = []
        var edgeCount: [Int32] = []
        var edgeBytes: [UInt8] = []
        var edgeTargets: [Int32] = []
        for edges in children {
            edgeStart.append(Int32(edgeBytes.count))
            edgeCount.append(Int32(edges.count))
            for (byte, target) in edges {
                edgeBytes.append(byte)
                edgeTargets.append(target)
            }
        }
        self.rootNext = rootNext
        self.edgeStart = edgeStart
        self.edgeCount = edgeCount
        self.edgeBytes = edgeBytes
        self.edgeTargets = edgeTargets
        self.failure = failure
        self.depth = depth
        self.matchLength = matchLength
        self.longestPattern = patterns.map(\.count).max() ?? 0
    }

    /// The state after reading `byte` in `state`.
    @inline(__always)
    func next(_ state: Int32, _ byte: UInt8) -> Int32 {
        var node = state
        while node != 0 {
            let start = Int(self.edgeStart[Int(node)])
            let end = start + Int(self.edgeCount[Int(node)])
            var index = start
            while index < end {
                if self.edgeBytes[index] == byte { return self.edgeTargets[index] }
                index += 1
            }
            node = self.failure[Int(node)]
        }
        return self.rootNext[Int(byte)]
    }
}
