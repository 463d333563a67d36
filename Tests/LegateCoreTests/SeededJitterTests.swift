import LegateCore
import Testing

/// The one seeded generator: its sequence must never change, or printed fuzz seeds stop reproducing runs.
@Suite struct SeededJitterTests {
    @Test func sequenceIsSplitMix64() {
        var random = SeededJitter(seed: 0)
        #expect(random.next() == 0xE220_A839_7B1D_CDAF)
        #expect(random.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(random.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func unitValuesAreTheTop53BitsOfTheSameSequence() {
        var bits = SeededJitter(seed: 42)
        var units = SeededJitter(seed: 42)
        for _ in 0..<1000 {
            let unit = units.nextUnit()
            #expect(unit == Double(bits.next() >> 11) / Double(1 << 53))
            #expect((0..<1).contains(unit))
        }
    }

    @Test func worksAsARandomNumberGeneratorForTheStandardLibrary() {
        var first = SeededJitter(seed: 7)
        var second = SeededJitter(seed: 7)
        let a = (0..<100).map { _ in Int.random(in: 0..<1000, using: &first) }
        let b = (0..<100).map { _ in Int.random(in: 0..<1000, using: &second) }
        #expect(a == b)
        #expect(Set(a).count > 50)
    }
}
