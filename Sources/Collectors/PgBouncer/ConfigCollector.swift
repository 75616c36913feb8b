import Exposition
import PostgresClient

/// `SHOW CONFIG`: the limits PgBouncer runs under, one (key, value, …) row per setting.
///
/// Only the key and value columns are read, so the 3-column form (key, value, changeable;
/// before 1.15) and the 4-column form (with `default`) both work. Values are the settings in
/// force now (after RELOAD); times are printed in seconds.
public let pgbouncerConfigCollector = KeyValueCollector(
    name: "config",
    targetKind: .pgbouncer,
    summary: "The connection limits and pool mode PgBouncer runs with (SHOW CONFIG).",
    sql: "SHOW CONFIG",
    keyColumn: "key",
    valueColumn: "value",
    entries: [
        KeyedMetric(
            "max_client_conn", "pgbouncer_config_max_client_connections",
            help: "Setting max_client_conn: the most client connections PgBouncer accepts (compare pgbouncer_used_clients)."),
        KeyedMetric(
            "max_user_connections", "pgbouncer_config_max_user_connections",
            help: "Setting max_user_connections: the most server connections per user (0 = no limit)."),
        KeyedMetric(
            "max_db_connections", "pgbouncer_config_max_db_connections",
            help: "Setting max_db_connections: the most server connections per database (0 = no limit)."),
        KeyedMetric(
            "default_pool_size", "pgbouncer_config_default_pool_size",
            help: "Setting default_pool_size: server connections per (database, user) pool unless the database sets pool_size."),
        KeyedMetric(
            "min_pool_size", "pgbouncer_config_min_pool_size",
            help: "Setting min_pool_size: server connections kept open per pool even when unused."),
        KeyedMetric(
            "reserve_pool_size", "pgbouncer_config_reserve_pool_size",
            help: "Setting reserve_pool_size: extra server connections a pool may open when clients wait longer than reserve_pool_timeout."),
        KeyedMetric(
            "query_wait_timeout", "pgbouncer_config_query_wait_timeout_seconds",
            help: "Setting query_wait_timeout: seconds a client may wait for a server connection before it is disconnected (0 = forever)."),
        .info(
            "pool_mode", "pgbouncer_config_pool_mode_info", label: "pool_mode",
            help: "Setting pool_mode: the default pool mode (label pool_mode: session, transaction or statement); value 1."),
    ])
