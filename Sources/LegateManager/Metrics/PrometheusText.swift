/// Builds the Prometheus text exposition format 0.0.4: HELP and TYPE once per family, then its samples.
struct PrometheusText {
    /// The content type scrapers expect for this format.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private(set) var text = ""

    /// Starts a family; `type` is counter, gauge, histogram or untyped.
    mutating func family(_ name: String, _ type: String, _ help: String) {
        self.text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    /// One sample line.
    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        self.text += name
        if !labels.isEmpty {
            self.text += "{"
            self.text += labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",")
            self.text += "}"
        }
        self.text += " " + Self.format(value) + "\n"
    }

    /// One sample line of an integer value.
    mutating func sample(_ name: String, _ labels: [(String, String)] = [], count value: UInt64) {
        self.sample(name, labels, Double(value))
    }

    /// A whole single-sample family.
    mutating func single(_ name: String, _ type: String, _ help: String, _ value: Double) {
        self.family(name, type, help)
        self.sample(name, [], value)
    }

    /// A histogram family from `histogram`'s snapshot.
    mutating func histogram(_ name: String, _ help: String, _ histogram: MetricHistogram) {
        self.family(name, "histogram", help)
        let snapshot = histogram.snapshot
        for (index, count) in snapshot.cumulative.enumerated() {
            let bound = index < histogram.bounds.count ? Self.format(histogram.bounds[index]) : "+Inf"
            self.sample(name + "_bucket", [("le", bound)], count: count)
        }
        self.sample(name + "_sum", [], snapshot.sum)
        self.sample(name + "_count", [], count: snapshot.count)
    }

    /// Go-style float text: integers without a fraction, NaN and infinities spelled as Prometheus reads them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacingBackslashesAndNewlines()
    }
}

extension String {
    /// HELP text escaping: backslash and newline only.
    fileprivate func replacingBackslashesAndNewlines() -> String {
        var out = ""
        for character in self {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
