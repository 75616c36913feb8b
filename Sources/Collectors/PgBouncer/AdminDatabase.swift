/// The admin console's own database, `pgbouncer`, which PgBouncer lists beside the real ones in
/// `SHOW POOLS`, `SHOW STATS_TOTALS` and `SHOW DATABASES`. Its counters only count the console's
/// own commands (the exporter's `SHOW`s among them), so its rows are dropped unless the target
/// sets ``CollectorOptions/includeAdminDatabase``.
enum AdminDatabase {
    static let name = "pgbouncer"

    /// A ``MetricQuery`` row filter: keeps a row unless its `column` names the admin database
    /// and the options leave that database out.
    static func filter(on column: String) -> @Sendable (QueryRow, CollectorOptions) -> Bool {
        { row, options in options.includeAdminDatabase || row[column] != name }
    }
}
