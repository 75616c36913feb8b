/// A configuration mistake, said so that the operator can fix it: which file and line, which
/// field, and what was wrong. Never contains a password.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The file, if the setting came from one.
    public var file: String?
    /// The 1-based line in `file`.
    public var line: Int?
    /// The 1-based column in `line`.
    public var column: Int?
    /// The setting's path (`targets[1].dsn`) or flag (`--dsn`).
    public var field: String
    /// What is wrong with it.
    public var problem: String

    public init(file: String? = nil, line: Int? = nil, column: Int? = nil, field: String, problem: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.problem = problem
    }

    public var description: String {
        var location = ""
        if let file { location = file + (line.map { ":\($0)" } ?? "") + (line != nil ? column.map { ":\($0)" } ?? "" : "") + ": " }
        return "\(location)\(field): \(problem)"
    }
}
