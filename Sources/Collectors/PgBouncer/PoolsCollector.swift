import Exposition
import PostgresClient

/// `SHOW POOLS`: one row per (database, user) pool — clients by state, server connections by
/// state, and how long the oldest waiting client has waited.
///
/// Columns by version (all found by name): 1.8 has the client active/waiting and server
/// active/idle/used/tested/login counts, `maxwait`, `maxwait_us` and `pool_mode`; 1.16–1.17 add
/// `cl_cancel_req`, which 1.18 replaces with `cl_active_cancel_req` and `cl_waiting_cancel_req`
/// and joins with `sv_active_cancel` and `sv_being_canceled`; 1.24 adds `load_balance_hosts`
/// (not exported).
public let pgbouncerPoolsCollector = Collector(
    name: "pools",
    targetKind: .pgbouncer,
    summary: "Pool saturation per database and user (SHOW POOLS): clients active and waiting, server connections by state, the longest wait.",
    queries: [
        MetricQuery(
            sql: "SHOW POOLS",
            labels: ["database", "user"],
            metrics: [
                ColumnMetric(
                    "pgbouncer_pools_client_active_connections", .gauge, column: "cl_active",
                    help: "Client connections linked to a server connection or idle with no query waiting (cl_active; in transaction mode this includes idle clients)."),
                ColumnMetric(
                    "pgbouncer_pools_client_waiting_connections", .gauge, column: "cl_waiting",
                    help: "Client connections that sent a query and wait for a server connection (cl_waiting)."),
                ColumnMetric(
                    "pgbouncer_pools_client_active_cancel_connections", .gauge, column: "cl_active_cancel_req",
                    help: "Client connections that forwarded a cancel request and wait for the server's answer (cl_active_cancel_req, PgBouncer 1.18+)."),
                ColumnMetric(
                    "pgbouncer_pools_client_waiting_cancel_connections", .gauge, columns: ["cl_waiting_cancel_req", "cl_cancel_req"],
                    help: "Client connections whose cancel request is not yet forwarded to the server (cl_waiting_cancel_req; cl_cancel_req on PgBouncer 1.16-1.17)."),
                ColumnMetric(
                    "pgbouncer_pools_server_active_connections", .gauge, column: "sv_active",
                    help: "Server connections linked to a client (sv_active)."),
                ColumnMetric(
                    "pgbouncer_pools_server_active_cancel_connections", .gauge, column: "sv_active_cancel",
                    help: "Server connections forwarding a cancel request (sv_active_cancel, PgBouncer 1.18+)."),
                ColumnMetric(
                    "pgbouncer_pools_server_being_canceled_connections", .gauge, column: "sv_being_canceled",
                    help: "Server connections held back from reuse until the cancel requests aimed at them finish (sv_being_canceled, PgBouncer 1.18+)."),
                ColumnMetric(
                    "pgbouncer_pools_server_idle_connections", .gauge, column: "sv_idle",
                    help: "Server connections unused and ready at once (sv_idle)."),
                ColumnMetric(
                    "pgbouncer_pools_server_used_connections", .gauge, column: "sv_used",
                    help: "Server connections idle longer than server_check_delay, to be checked before reuse (sv_used)."),
                ColumnMetric(
                    "pgbouncer_pools_server_testing_connections", .gauge, column: "sv_tested",
                    help: "Server connections running server_reset_query or server_check_query (sv_tested)."),
                ColumnMetric(
                    "pgbouncer_pools_server_login_connections", .gauge, column: "sv_login",
                    help: "Server connections logging in (sv_login)."),
                ColumnMetric("pgbouncer_pools_client_maxwait_seconds", .gauge, help: maxwaitHelp) { row in
                    guard let seconds = row.number("maxwait") else { return nil }
                    return seconds + (row.number("maxwait_us") ?? 0) / 1_000_000
                },
                .info(
                    "pgbouncer_pools_pool_mode_info", labels: ["pool_mode"],
                    help: "The pool's effective pool mode (label pool_mode: session, transaction or statement); value 1."),
            ],
            keepRow: AdminDatabase.filter(on: "database")),
    ])

private let maxwaitHelp = """
    Age in seconds of the oldest client waiting for a server connection, with its microsecond \
    part (maxwait + maxwait_us / 1e6; pgbouncer_exporter drops the fraction); 0 when none waits.
    """
