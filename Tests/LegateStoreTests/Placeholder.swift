import Testing
@testable import LegateStore

@Test func moduleBuilds() {}
