import Glibc

/// One setting, declared once: the flag, environment variable and config file key it is read
/// from, its default, the values it takes and one line of help. `--help`, the start-up checks,
/// the config file reader and their errors all come from this declaration (``Settings``).
///
/// Written here rather than with swift-configuration: its command-line provider spells keys
/// `--a-b`, and these keep the Prometheus exporters' `--web.listen-address` form.
public struct Setting: Sendable {
    /// What values the setting takes.
    public enum Values: Sendable {
        /// A duration over zero, Go-style (``DurationText``).
        case duration
        /// A whole number in the range.
        case wholeNumber(ClosedRange<Int>)
        /// `true` or `false` (also yes/no, on/off) in the file; given or not on the command line.
        case boolean
        /// One of these words.
        case choice([String])
        /// Free text (a path, an address, a list of names), checked where it is used.
        case text
    }

    /// The long flag, without `--` (`scrape.timeout`); `nil`: only in the config file.
    public let flag: String?
    /// The environment variable that stands in for the flag.
    public let environment: String?
    /// The config file key (at its place: top level, a target or `defaults`, `options`).
    public let fileKey: String?
    /// What `--help` calls the value (`<duration>`).
    public var valueName: String {
        switch values {
        case .duration: "duration"
        case .wholeNumber: "number"
        case .boolean: "bool"
        case .choice: "word"
        case .text: "text"
        }
    }

    /// The value when nothing sets it, as it would be written; `nil`: none.
    public let defaultText: String?
    public let values: Values
    /// One line, for `--help` and the README.
    public let help: String

    public init(flag: String? = nil, environment: String? = nil, fileKey: String? = nil, default defaultText: String? = nil,
                values: Values, help: String) {
        self.flag = flag
        self.environment = environment
        self.fileKey = fileKey
        self.defaultText = defaultText
        self.values = values
        self.help = help
    }

    /// How errors name it: `--scrape.timeout (PGSTACK_SCRAPE_TIMEOUT)`.
    public var field: String {
        let flagName = flag.map { "--" + $0 } ?? fileKey ?? "?"
        return environment.map { "\(flagName) (\($0))" } ?? flagName
    }

    /// The help text `--help` shows: the line, then where else it is read and its default.
    public var helpText: String {
        var extras: [String] = []
        if let environment { extras.append("env: \(environment)") }
        if let defaultText { extras.append("default: \(defaultText)") }
        return extras.isEmpty ? help : "\(help) (\(extras.joined(separator: "; ")))"
    }

    /// The text in force: the flag's value if given, else the environment variable's (empty
    /// counts as unset), else the default.
    public func text(flagValue: String?) -> String? {
        flagValue ?? environment.flatMap(environmentValue) ?? defaultText
    }

    /// `text` as a duration (``Values/duration``).
    public func duration(_ text: String) throws(SettingProblem) -> Duration {
        try DurationText.positive(text).mapError(quoting(text)).get()
    }

    /// `text` as a whole number in the setting's range (``Values/wholeNumber(_:)``).
    public func wholeNumber(_ text: String) throws(SettingProblem) -> Int {
        guard case .wholeNumber(let range) = values else { preconditionFailure("\(field) is not a whole number setting") }
        return try WholeNumberText.parse(text, in: range).mapError(quoting(text)).get()
    }

    /// `text` as true or false.
    public func boolean(_ text: String) throws(SettingProblem) -> Bool {
        try Self.boolean(text)
    }

    /// `text` as true or false: also yes/no and on/off, as YAML 1.1 has them.
    static func boolean(_ text: String) throws(SettingProblem) -> Bool {
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw SettingProblem("\(ShownValue.quoted(text)) is not true or false")
        }
    }

    /// `text` if it is one of the setting's words (``Values/choice(_:)``).
    public func choice(_ text: String) throws(SettingProblem) -> String {
        guard case .choice(let words) = values else { preconditionFailure("\(field) is not a choice setting") }
        guard words.contains(text) else {
            throw SettingProblem("\(ShownValue.quoted(text)) is not one of \(words.joined(separator: ", "))")
        }
        return text
    }

    private func quoting(_ text: String) -> (SettingProblem) -> SettingProblem {
        { problem in SettingProblem("\(ShownValue.quoted(text)) \(problem.text)") }
    }
}

/// An environment variable's value, or `nil` when unset or empty.
public func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
}
