import LegateCore
import LegateWire
import Testing

@Suite("Seeded mutation fuzz (bounded; must never crash)")
struct FuzzTests {
    static let seed: UInt64 = 0x1E6A_7E00_0000_0001
    static let iterations = 50_000

    static func mutate(_ input: [UInt8], _ rng: inout SeededJitter) -> [UInt8] {
        var bytes = input
        for _ in 0...Int(rng.next() % 4) {
            let position = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 6 {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << (rng.next() % 8))
            case 1 where !bytes.isEmpty: bytes[position] = [0x00, 0x7f, 0x80, 0xff][Int(rng.next() % 4)]
            case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)
            case 3 where !bytes.isEmpty: bytes.remove(at: position)
            case 4: bytes = Array(bytes.prefix(position))
            default: bytes += input.prefix(Int(rng.next() % 16))
            }
        }
        return bytes
    }

    @Test func framesAndMessages() {
        print("FuzzTests seed 0x\(String(Self.seed, radix: 16)), \(Self.iterations) mutations")
        var rng = SeededJitter(seed: Self.seed)
        let frames = WireVectors.frames.map(\.bytes).filter { $0.count < 4096 }
        let messages = WireVectors.messages.compactMap { vector in
            WireVectors.messageTypes[vector.message].map { ($0, vector.bytes) }
        }
        #expect(!frames.isEmpty && !messages.isEmpty)
        var decodedFrames = 0
        var decodedMessages = 0
        for round in 0..<Self.iterations {
            if round % 2 == 0, !frames.isEmpty {
                let input = Self.mutate(frames[Int(rng.next() % UInt64(frames.count))], &rng)
                let limit = [0, 16, 1 << 14, 1 << 20][Int(rng.next() % 4)]
                decodedFrames += decodeChunks([input], maxFrameBytes: limit).frames.count
            } else if !messages.isEmpty {
                let (type, bytes) = messages[Int(rng.next() % UInt64(messages.count))]
                let input = Self.mutate(bytes, &rng)
                if case .success = decodeMessage(type, input) { decodedMessages += 1 }
                // Any message type must also survive any other message's bytes.
                let other = messages[Int(rng.next() % UInt64(messages.count))].0
                _ = decodeMessage(other, input)
            }
        }
        #expect(decodedFrames > 0 && decodedMessages > 0)
    }
}
