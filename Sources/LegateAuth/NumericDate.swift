/// An RFC 7519 NumericDate as read from a claim: any JSON number, kept to the nanosecond.
///
/// `seconds` is the floor and `nanoseconds` the rest (0 ..< 1e9). Digits beyond the ninth decimal round the
/// value up to the next nanosecond, so a date is never read as earlier than it is.
struct NumericDate: Equatable {
    /// Whole seconds, rounded down.
    var seconds: Int64
    /// Nanoseconds past `seconds`.
    var nanoseconds: Int64

    static let nanosecondsPerSecond: Int64 = 1_000_000_000

    /// The date rounded up to a whole second: against a whole-second `now` it compares exactly as the number does
    /// (`now < exp` iff `now < ceil(exp)`, `nbf > now` iff `ceil(nbf) > now`).
    var wholeSecondsRoundedUp: Int64 { self.nanoseconds > 0 ? self.seconds &+ 1 : self.seconds }

    /// `self - other`, rounded up to a whole second, and whether it is positive and within `limit` seconds,
    /// compared exactly.
    func distance(from other: NumericDate, within limit: Int64) -> (roundedUp: Int64, isPositive: Bool, isWithin: Bool) {
        var seconds = self.seconds &- other.seconds
        var nanoseconds = self.nanoseconds - other.nanoseconds
        if nanoseconds < 0 {
            seconds &-= 1
            nanoseconds += Self.nanosecondsPerSecond
        }
        let isPositive = seconds > 0 || (seconds == 0 && nanoseconds > 0)
        let isWithin = seconds < limit || (seconds == limit && nanoseconds == 0)
        return (nanoseconds > 0 ? seconds &+ 1 : seconds, isPositive, isWithin)
    }
}

extension JSONScanner {
    /// Most significant digits accepted in the integer part of a NumericDate (as for integer claims).
    static let maxIntegerDigits = 15

    /// Reads any JSON number (RFC 8259 §6: sign, integer, fraction, exponent) as a NumericDate; nil (nothing
    /// consumed) when the next value is not a number.
    mutating func readNumericDate() throws(AuthError) -> NumericDate? {
        guard let c = self.peek(), c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) else { return nil }
        let count = self.bytes.count
        var index = self.index
        let negative = c == UInt8(ascii: "-")
        if negative { index += 1 }
        // Integer part: "0" or a non-zero digit then digits.
        let integerStart = index
        while index < count, self.bytes[index] &- 0x30 <= 9 { index += 1 }
        let integerDigits = integerStart..<index
        guard !integerDigits.isEmpty else {
            self.index = index
            throw self.fail("bad number")
        }
        if integerDigits.count > 1 && self.bytes[integerStart] == 0x30 {
            self.index = integerStart
            throw self.fail("leading zero")
        }
        var fractionDigits = index..<index
        if index < count, self.bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < count, self.bytes[index] &- 0x30 <= 9 { index += 1 }
            fractionDigits = start..<index
            guard !fractionDigits.isEmpty else {
                self.index = index
                throw self.fail("bad number")
            }
        }
        var exponent = 0
        if index < count, self.bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            var exponentNegative = false
            if index < count, self.bytes[index] == UInt8(ascii: "+") || self.bytes[index] == UInt8(ascii: "-") {
                exponentNegative = self.bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            let start = index
            while index < count, self.bytes[index] &- 0x30 <= 9 {
                // Clamped: any exponent past the token size only says "huge" or "tiny".
                exponent = min(exponent * 10 + Int(self.bytes[index] &- 0x30), 100_000)
                index += 1
            }
            guard index > start else {
                self.index = index
                throw self.fail("bad number")
            }
            if exponentNegative { exponent = -exponent }
        }
        self.index = index
        return try self.numericDate(negative: negative, integer: integerDigits, fraction: fractionDigits,
                                    exponent: exponent)
    }

    /// The value of the digits `integer` `.` `fraction` times 10^`exponent`.
    private func numericDate(negative: Bool, integer: Range<Int>, fraction: Range<Int>, exponent: Int)
        throws(AuthError) -> NumericDate
    {
        // The digits as one sequence D (integer then fraction) with the decimal point after `point` of them.
        let total = integer.count + fraction.count
        func digit(_ position: Int) -> Int64 {
            guard position >= 0 && position < total else { return 0 }
            let offset = position < integer.count ? integer.lowerBound + position
                : fraction.lowerBound + position - integer.count
            return Int64(self.bytes[offset] &- 0x30)
        }
        var firstNonZero = 0
        while firstNonZero < total && digit(firstNonZero) == 0 { firstNonZero += 1 }
        guard firstNonZero < total else { return NumericDate(seconds: 0, nanoseconds: 0) }
        let point = integer.count + exponent
        guard point - firstNonZero <= Self.maxIntegerDigits else { throw self.fail("number out of range") }
        var seconds: Int64 = 0
        let integerEnd = max(point, 0)
        for position in min(firstNonZero, integerEnd)..<integerEnd { seconds = seconds * 10 + digit(position) }
        var nanoseconds: Int64 = 0
        for position in point..<(point + 9) { nanoseconds = nanoseconds * 10 + digit(position) }
        var rest = max(point + 9, firstNonZero)
        var beyondNanoseconds = false
        while rest < total {
            if digit(rest) != 0 {
                beyondNanoseconds = true
                break
            }
            rest += 1
        }
        if negative {
            // -(s + f): the floor is -s - 1 with 1 - f past it; digits beyond the nanosecond are dropped, which
            // for a negative number rounds up.
            guard nanoseconds > 0 else { return NumericDate(seconds: -seconds, nanoseconds: 0) }
            return NumericDate(seconds: -seconds - 1, nanoseconds: NumericDate.nanosecondsPerSecond - nanoseconds)
        }
        if beyondNanoseconds { nanoseconds += 1 }
        if nanoseconds == NumericDate.nanosecondsPerSecond {
            seconds += 1
            nanoseconds = 0
        }
        return NumericDate(seconds: seconds, nanoseconds: nanoseconds)
    }
}
