import Testing
@testable import LegateManager

@Test func moduleBuilds() {}
