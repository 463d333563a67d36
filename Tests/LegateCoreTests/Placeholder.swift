import Testing
@testable import LegateCore

@Test func moduleBuilds() {}
