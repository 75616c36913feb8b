import Exposition
import PostgresClient

/// The privilege under which `pg_stat_activity` and `pg_stat_statements` show every role's
/// sessions and statements; without it other roles' rows lack their state, times and query
/// IDs, so the queries that would give a partial view as the whole require it.
let readsAllStatistics = "pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')"

/// What the monitoring role cannot see, so that a gap is said rather than silent: one series
/// per capability, 1 when it is missing, with the grant that would give it. A role with
/// `pg_monitor` (or a superuser) has them all but the extension, which is installed, not granted.
public let capabilitiesCollector = Collector(
    name: "capabilities",
    targetKind: .postgres,
    summary: "What the monitoring role cannot see (other roles' sessions and statements, the WAL and archive status directories, pg_stat_statements), and what would grant it.",
    queries: [
        MetricQuery(
            sql: """
                SELECT capability, granted_by, (NOT granted)::int AS missing FROM (VALUES
                    ('other_roles_sessions_and_statements', 'pg_read_all_stats (in pg_monitor)', \(readsAllStatistics)),
                    ('wal_directory', 'EXECUTE on pg_ls_waldir() (in pg_monitor)', has_function_privilege('pg_ls_waldir()', 'EXECUTE')),
                    ('archive_status_directory', 'EXECUTE on pg_ls_archive_statusdir() (in pg_monitor)',
                     has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE')),
                    ('statements_extension', 'CREATE EXTENSION pg_stat_statements in the connected database',
                     EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'))
                ) AS c(capability, granted_by, granted)
                """,
            labels: ["capability", "granted_by"],
            metrics: [
                ColumnMetric(
                    "pgstack_exporter_role_capability_missing", .gauge, column: "missing",
                    help: "1 when the monitoring role lacks this capability (its metrics are then absent, never partial), 0 when it has it; granted_by says what would give it."),
            ],
            refreshInterval: Collector.requirementsRecheck),
    ])
