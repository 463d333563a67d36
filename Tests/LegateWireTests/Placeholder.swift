import Testing
@testable import LegateWire

@Test func moduleBuilds() {}
