import Exposition
import PostgresClient

/// `SHOW CONFIG`: the limits PgBouncer runs under, one (key, value, …) row per setting.
///
/// Only the key and value columns are read, so the 3-column form (key, value, changeable;
/// before 1.15) and the 4-column form (with `default`) both work. Values are the settings in
/// force now (after RELOAD); times are printed in seconds.
public let pgbouncerConfigCollector = Collector(
    name: "config",
    targetKind: .pgbouncer,
    summary: "The connection limits and pool mode PgBouncer runs with (SHOW CONFIG).",
    queries: [
        MetricQuery(
            sql: "SHOW CONFIG",
            metrics: [
                ColumnMetric(
                    "pgbouncer_config_max_client_connections", .gauge, column: "max_client_conn",
                    help: "Setting max_client_conn: the most client connections PgBouncer accepts (compare pgbouncer_used_clients)."),
                ColumnMetric(
                    "pgbouncer_config_max_user_connections", .gauge, column: "max_user_connections",
                    help: "Setting max_user_connections: the most server connections per user (0 = no limit)."),
                ColumnMetric(
                    "pgbouncer_config_max_db_connections", .gauge, column: "max_db_connections",
                    help: "Setting max_db_connections: the most server connections per database (0 = no limit)."),
                ColumnMetric(
                    "pgbouncer_config_default_pool_size", .gauge, column: "default_pool_size",
                    help: "Setting default_pool_size: server connections per (database, user) pool unless the database sets pool_size."),
                ColumnMetric(
                    "pgbouncer_config_min_pool_size", .gauge, column: "min_pool_size",
                    help: "Setting min_pool_size: server connections kept open per pool even when unused."),
                ColumnMetric(
                    "pgbouncer_config_reserve_pool_size", .gauge, column: "reserve_pool_size",
                    help: "Setting reserve_pool_size: extra server connections a pool may open when clients wait longer than reserve_pool_timeout."),
                ColumnMetric(
                    "pgbouncer_config_query_wait_timeout_seconds", .gauge, column: "query_wait_timeout",
                    help: "Setting query_wait_timeout: seconds a client may wait for a server connection before it is disconnected (0 = forever)."),
                .info(
                    "pgbouncer_config_pool_mode_info", labels: ["pool_mode"],
                    help: "Setting pool_mode: the default pool mode (label pool_mode: session, transaction or statement); value 1."),
            ],
            keyValue: KeyValueColumns(key: "key", value: "value")),
    ])
