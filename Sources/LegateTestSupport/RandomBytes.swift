import LegateCore

/// `count` pseudo-random bytes from the seeded generator (`SeededJitter`); pass `seed` to reproduce a run.
/// Copies eight bytes at a time, so even megabytes are quick in debug builds.
public func randomBytes(_ count: Int, seed: UInt64 = .random(in: 1...UInt64.max)) -> [UInt8] {
    var generator = SeededJitter(seed: seed)
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        let raw = UnsafeMutableRawBufferPointer(buffer)
        var offset = 0
        while offset < count {
            let word = generator.next()
            let take = min(8, count - offset)
            withUnsafeBytes(of: word) { bytes in
                guard let source = bytes.baseAddress else { return }
                raw.baseAddress?.advanced(by: offset).copyMemory(from: source, byteCount: take)
            }
            offset += take
        }
        initialized = count
    }
}
