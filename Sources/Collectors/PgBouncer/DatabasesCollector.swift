import Exposition
import PostgresClient

/// `SHOW DATABASES`: one row per configured database entry — its limits and how many
/// connections it holds.
///
/// The labels are pgbouncer_exporter's: the entry's `name`, where it points (`host`, `port`,
/// `database`), `force_user` and its `pool_mode` override. `host`, `force_user` and
/// `pool_mode` are NULL when not set (a Unix socket, no forced user, the default mode) and
/// become empty labels. `min_pool_size` appears in 1.16, `server_lifetime` in 1.23;
/// `reserve_pool` is called `reserve_pool_size` from 1.24, which also adds the client
/// connection limit and count.
public let pgbouncerDatabasesCollector = Collector(
    name: "databases",
    targetKind: .pgbouncer,
    summary: "Database entries (SHOW DATABASES): pool sizes, connection limits, current server and client connections, paused and disabled.",
    queries: [
        MetricQuery(
            sql: "SHOW DATABASES",
            labels: ["name", "host", "port", "database", "force_user", "pool_mode"],
            metrics: [
                ColumnMetric(
                    "pgbouncer_databases_pool_size", .gauge, column: "pool_size",
                    help: "Most server connections per (database, user) pool of this entry (pool_size); with one user, current_connections / pool_size is the pool's saturation."),
                ColumnMetric(
                    "pgbouncer_databases_min_pool_size", .gauge, column: "min_pool_size",
                    help: "Server connections kept open per user pool even when unused (min_pool_size, PgBouncer 1.16+)."),
                ColumnMetric(
                    "pgbouncer_databases_reserve_pool", .gauge, columns: ["reserve_pool_size", "reserve_pool"],
                    help: "Extra server connections allowed when clients wait too long (reserve_pool; reserve_pool_size from PgBouncer 1.24)."),
                ColumnMetric(
                    "pgbouncer_databases_server_lifetime_seconds", .gauge, column: "server_lifetime",
                    help: "Age in seconds after which an unused server connection of this database is closed (server_lifetime, PgBouncer 1.23+)."),
                ColumnMetric(
                    "pgbouncer_databases_max_connections", .gauge, column: "max_connections",
                    help: "Most server connections for this database over all its pools (max_db_connections; 0 = no limit)."),
                ColumnMetric(
                    "pgbouncer_databases_current_connections", .gauge, column: "current_connections",
                    help: "Server connections this database holds now, over all its pools (current_connections)."),
                ColumnMetric(
                    "pgbouncer_databases_max_client_connections", .gauge, column: "max_client_connections",
                    help: "Most client connections to this database (max_db_client_connections, PgBouncer 1.24+; 0 = no limit)."),
                ColumnMetric(
                    "pgbouncer_databases_current_client_connections", .gauge, column: "current_client_connections",
                    help: "Client connections to this database now (current_client_connections, PgBouncer 1.24+)."),
                ColumnMetric(
                    "pgbouncer_databases_paused", .gauge, column: "paused",
                    help: "1 if the database is paused (PAUSE), 0 if not."),
                ColumnMetric(
                    "pgbouncer_databases_disabled", .gauge, column: "disabled",
                    help: "1 if the database is disabled (DISABLE: new clients refused), 0 if not."),
            ],
            keepRow: AdminDatabase.filter(on: "name")),
    ])
