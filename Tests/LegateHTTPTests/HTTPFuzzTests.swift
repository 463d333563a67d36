import LegateHTTP
import Testing

/// A small deterministic generator (SplitMix64), so every run feeds the same inputs.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct HTTPFuzzTests {
    static let valid = Array(
        ("POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
            + "GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n").utf8)

    /// Mutated and random inputs in random splits never crash, never buffer beyond the limits, and end in
    /// requests or a typed error.
    @Test func mutatedInputsStayWithinLimits() {
        var random = SeededGenerator(state: 0x1E6A_7E00)
        let limits = HTTPLimits(maxRequestLineBytes: 256, maxHeaderBytes: 512, maxHeaderCount: 8, maxBodyBytes: 256)
        let bound = limits.maxRequestLineBytes + limits.maxHeaderBytes + limits.maxBodyBytes + 4096
        for round in 0..<3000 {
            var input = Self.valid
            if round % 3 == 0 {
                let count = Int.random(in: 0...600, using: &random)
                input = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    let index = Int.random(in: 0..<input.count, using: &random)
                    switch Int.random(in: 0...3, using: &random) {
                    case 0: input[index] = UInt8.random(in: 0...255, using: &random)
                    case 1: input.remove(at: index)
                    case 2: input.insert(contentsOf: input[index...].prefix(40), at: index)
                    default: input.insert([13, 10, 58, 32, 0][Int.random(in: 0...4, using: &random)], at: index)
                    }
                    if input.isEmpty { input = [0] }
                }
            }
            var parser = HTTPRequestParser(limits: limits)
            var offset = 0
            feeding: while offset < input.count {
                let size = Int.random(in: 1...64, using: &random)
                let end = min(input.count, offset + size)
                parser.append(Array(input[offset..<end]))
                offset = end
                do {
                    while let request = try parser.nextRequest() {
                        #expect(request.body.count <= limits.maxBodyBytes)
                        #expect(request.headers.count <= limits.maxHeaderCount)
                    }
                } catch {
                    #expect([400, 413, 414, 431, 501, 505].contains(error.status.code))
                    break feeding
                }
                #expect(parser.bufferedBytes <= bound)
            }
        }
    }

    /// A valid pipelined stream gives the same requests however it is split.
    @Test func splitsDoNotChangeTheResult() throws {
        var random = SeededGenerator(state: 42)
        var whole = HTTPRequestParser()
        whole.append(Self.valid)
        var expected: [HTTPRequest] = []
        while let request = try whole.nextRequest() { expected.append(request) }
        #expect(expected.count == 2)
        for _ in 0..<500 {
            var parser = HTTPRequestParser()
            var got: [HTTPRequest] = []
            var offset = 0
            while offset < Self.valid.count {
                let end = min(Self.valid.count, offset + Int.random(in: 1...20, using: &random))
                parser.append(Array(Self.valid[offset..<end]))
                offset = end
                while let request = try parser.nextRequest() { got.append(request) }
            }
            #expect(got == expected)
        }
    }
}
