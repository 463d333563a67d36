import Testing
@testable import LegateNet

@Test func moduleBuilds() {}
