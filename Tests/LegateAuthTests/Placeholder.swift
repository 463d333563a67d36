import Testing
@testable import LegateAuth

@Test func moduleBuilds() {}
