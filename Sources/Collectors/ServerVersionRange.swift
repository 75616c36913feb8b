/// Which server versions a query runs on, written as postgres_exporter's `runonserver` is:
/// comparisons joined by spaces (all must hold), alternatives by `||` (`>=10.0.0 <12.0.0 || >=15`).
/// Versions have one to three parts (`15`, `9.6`, `15.4.0`); missing parts are zero.
public struct ServerVersionRange: Sendable, Equatable, CustomStringConvertible {
    /// A comparison with one version.
    struct Comparison: Sendable, Equatable {
        enum Operator: String, Sendable, CaseIterable {
            // Longest first, so that `>=` is not read as `>` then `=15`.
            case atLeast = ">=", atMost = "<=", notEqual = "!=", equalTwice = "==", above = ">", below = "<", equal = "="
        }

        let op: Operator
        /// `PQserverVersion` form of the version compared with (150004 for 15.4).
        let version: Int

        func holds(for server: Int) -> Bool {
            switch op {
            case .atLeast: server >= version
            case .atMost: server <= version
            case .above: server > version
            case .below: server < version
            case .equal, .equalTwice: server == version
            case .notEqual: server != version
            }
        }
    }

    /// Alternatives, each a list of comparisons that must all hold.
    let alternatives: [[Comparison]]
    public let description: String

    /// Why a range could not be read.
    public struct Problem: Error, Sendable {
        public let message: String
    }

    /// Parses `text`; an empty range is refused (leave the key out to run everywhere).
    public init(_ text: String) throws(Problem) {
        let trimmed = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard !trimmed.isEmpty else { throw Problem(message: "is empty; leave it out to run on every version") }
        guard trimmed.utf8.count <= 200 else { throw Problem(message: "is longer than 200 characters") }
        var alternatives: [[Comparison]] = []
        for alternative in trimmed.split(separator: "||", omittingEmptySubsequences: false) {
            let words = alternative.split(separator: " ")
            guard !words.isEmpty else { throw Problem(message: "has an empty alternative around ||") }
            alternatives.append(try words.map { word throws(Problem) in try Self.comparison(String(word)) })
        }
        self.alternatives = alternatives
        description = trimmed
    }

    /// Whether a server whose `PQserverVersion` is `version` is in the range.
    public func contains(_ version: Int) -> Bool {
        alternatives.contains { $0.allSatisfy { $0.holds(for: version) } }
    }

    private static func comparison(_ word: String) throws(Problem) -> Comparison {
        let op = Comparison.Operator.allCases.first { word.hasPrefix($0.rawValue) } ?? .equal
        let versionText = word.hasPrefix(op.rawValue) ? String(word.dropFirst(op.rawValue.count)) : word
        guard let version = versionNumber(versionText) else {
            throw Problem(message: "\(String(reflecting: word)) is not a comparison such as >=15, <17.2 or 16")
        }
        return Comparison(op: op, version: version)
    }

    /// `15.4` → 150004, `9.6.24` → 90624 (before 10 the second part is the major's): the
    /// numbering `PQserverVersion` uses.
    public static func versionNumber(_ text: String) -> Int? {
        let text = text.hasPrefix("v") ? String(text.dropFirst()) : text
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else {
            return nil
        }
        let numbers = parts.compactMap { Int($0) }
        guard numbers.count == parts.count, numbers.allSatisfy({ $0 >= 0 && $0 < 100 }) else { return nil }
        let major = numbers[0], second = numbers.count > 1 ? numbers[1] : 0, third = numbers.count > 2 ? numbers[2] : 0
        return major >= 10 ? major * 10_000 + second : major * 10_000 + second * 100 + third
    }
}
