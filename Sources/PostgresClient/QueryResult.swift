/// The rows of one query, as text: libpq's text format, with SQL NULL kept distinct from the
/// empty string (`nil`).
public struct QueryResult: Sendable {
    /// Column names, in the order the server sent them.
    public let columns: [String]
    /// One array per row, one entry per column; `nil` is SQL NULL.
    public let rows: [[String?]]

    public init(columns: [String], rows: [[String?]]) {
        self.columns = columns
        self.rows = rows
    }

    /// The position of `column`, or `nil` if the server did not return it (older versions).
    public func index(of column: String) -> Int? {
        columns.firstIndex(of: column)
    }
}
