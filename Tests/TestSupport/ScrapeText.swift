/// A parsed text-format scrape, to look samples up by name and labels.
public struct ScrapeText: Sendable {
    public struct Sample: Sendable {
        public let name: String
        public let labels: [String: String]
        public let value: Double
    }

    public let samples: [Sample]
    /// `# TYPE` per family.
    public let types: [String: String]
    /// `# HELP` per family.
    public let helps: [String: String]

    public init(_ text: String) throws {
        var samples: [Sample] = []
        var types: [String: String] = [:]
        var helps: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                if parts.count == 2 { types[String(parts[0])] = String(parts[1]) }
            } else if line.hasPrefix("# HELP ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                helps[String(parts[0])] = parts.count == 2 ? String(parts[1]) : ""
            } else if !line.hasPrefix("#") {
                samples.append(try Self.sample(line))
            }
        }
        self.samples = samples
        self.types = types
        self.helps = helps
    }

    /// Samples of `name` whose labels include `labels`.
    public func samples(_ name: String, _ labels: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    /// The value of the one sample of `name` with `labels`, or `nil` if absent.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples(name, labels).first?.value
    }

    private static func sample(_ line: Substring) throws -> Sample {
        var labels: [String: String] = [:]
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " " { index = line.index(after: index) }
        let name = String(line[line.startIndex..<index])
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while line[index] != "}" {
                let equals = line[index...].firstIndex(of: "=")!
                let labelName = String(line[index..<equals])
                index = line.index(equals, offsetBy: 2)  // past ="
                var value = ""
                while line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        value.append(line[index] == "n" ? "\n" : line[index])
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                labels[labelName] = value
                index = line.index(after: index)
                if line[index] == "," { index = line.index(after: index) }
            }
            index = line.index(after: index)
        }
        let valueText = line[index...].trimmingPrefix(" ")
        guard let value = Double(valueText) ?? special(valueText) else { throw BadSample(line: String(line)) }
        return Sample(name: name, labels: labels, value: value)
    }

    private static func special(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: nil
        }
    }

    public struct BadSample: Error {
        public let line: String
    }
}
