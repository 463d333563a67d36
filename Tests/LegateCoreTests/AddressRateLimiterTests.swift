import Testing

@testable import LegateCore

/// The per-address connection rate limit, with time moved by arithmetic.
@Suite struct AddressRateLimiterTests {
    let t0 = ContinuousClock.now

    func limiter(perSecond: Double, burst: Double, maxAddresses: Int = 100) -> AddressRateLimiter {
        var configuration = AddressRateLimiter.Configuration()
        configuration.perSecond = perSecond
        configuration.burst = burst
        configuration.maxAddresses = maxAddresses
        return AddressRateLimiter(configuration: configuration)
    }

    @Test func burstThenRefusalThenRefill() {
        var limiter = self.limiter(perSecond: 10, burst: 3)
        #expect(limiter.admit("1.2.3.4", now: self.t0) == true)
        #expect(limiter.admit("1.2.3.4", now: self.t0) == true)
        #expect(limiter.admit("1.2.3.4", now: self.t0) == true)
        #expect(limiter.admit("1.2.3.4", now: self.t0) == false)
        #expect(limiter.admit("5.6.7.8", now: self.t0) == true, "another address has its own bucket")
        #expect(limiter.admit("1.2.3.4", now: self.t0 + .milliseconds(50)) == false)
        #expect(limiter.admit("1.2.3.4", now: self.t0 + .milliseconds(100)) == true)
    }

    @Test func refillNeverExceedsTheBurst() {
        var limiter = self.limiter(perSecond: 100, burst: 2)
        _ = limiter.admit("a", now: self.t0)
        let later = self.t0 + .seconds(3600)
        #expect(limiter.admit("a", now: later) == true)
        #expect(limiter.admit("a", now: later) == true)
        #expect(limiter.admit("a", now: later) == false)
    }

    @Test func zeroRateMeansUnlimited() {
        var limiter = AddressRateLimiter(configuration: .unlimited)
        for _ in 0..<10_000 { #expect(limiter.admit("a", now: self.t0) == true) }
        #expect(limiter.trackedAddresses == 0)
    }

    @Test func memoryStaysBoundedUnderAddressSpraying() {
        var limiter = self.limiter(perSecond: 1, burst: 5, maxAddresses: 64)
        for index in 0..<10_000 {
            _ = limiter.admit("10.0.\(index / 256).\(index % 256)", now: self.t0)
            #expect(limiter.trackedAddresses <= 64)
        }
    }
}
