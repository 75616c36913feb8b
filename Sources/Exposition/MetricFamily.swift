/// The Prometheus metric types this exporter writes.
public enum MetricType: String, Sendable {
    case counter
    case gauge
    case untyped
}

/// One label: a name (`datname`) and its value (`postgres`).
public struct Label: Sendable, Hashable {
    public let name: String
    public let value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One series' value in a scrape: its labels and a number.
public struct Sample: Sendable {
    public var labels: [Label]
    public var value: Double

    public init(labels: [Label] = [], value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// A metric family: every sample of one metric name, with its help text and type.
///
/// Built fresh on every scrape by the collectors; the exporter keeps no long-lived registry.
public struct MetricFamily: Sendable {
    public let name: String
    public let help: String
    public let type: MetricType
    public var samples: [Sample]

    public init(name: String, help: String, type: MetricType, samples: [Sample] = []) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }

    /// A gauge family.
    public static func gauge(_ name: String, help: String, samples: [Sample] = []) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .gauge, samples: samples)
    }

    /// A counter family.
    public static func counter(_ name: String, help: String, samples: [Sample] = []) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .counter, samples: samples)
    }

    /// Adds one sample.
    public mutating func add(_ value: Double, _ labels: [Label] = []) {
        samples.append(Sample(labels: labels, value: value))
    }

    /// Whether `name` is a valid Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    public static func isValidName(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            let isLetter = (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || byte == 95 || byte == 58
            let isDigit = byte >= 48 && byte <= 57
            guard isLetter || (!first && isDigit) else { return false }
            first = false
        }
        return !first
    }
}
