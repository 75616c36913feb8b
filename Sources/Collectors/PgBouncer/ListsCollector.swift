import Exposition
import PostgresClient

/// `SHOW LISTS`: the sizes of PgBouncer's internal lists, one (list, items) row each.
///
/// The names are pgbouncer_exporter's. `used_clients` counts every client connection (the
/// exporter's own included) and is what `max_client_conn` limits, so
/// `pgbouncer_used_clients / pgbouncer_config_max_client_connections` is the client saturation.
/// `peers` and `peer_pools` appear in 1.19; `dns_pending` is unused by PgBouncer and not exported.
public let pgbouncerListsCollector = Collector(
    name: "lists",
    targetKind: .pgbouncer,
    summary: "Sizes of PgBouncer's internal lists (SHOW LISTS): databases, users, pools, client and server connections in use and cached, DNS.",
    queries: [
        MetricQuery(
            sql: "SHOW LISTS",
            metrics: [
                ColumnMetric("pgbouncer_databases", .gauge, column: "databases", help: "Database entries, configured and automatic (SHOW LISTS databases)."),
                ColumnMetric("pgbouncer_users", .gauge, column: "users", help: "Users PgBouncer knows (SHOW LISTS users)."),
                ColumnMetric("pgbouncer_peers", .gauge, column: "peers", help: "Configured peers, for cancel requests across processes (SHOW LISTS peers, PgBouncer 1.19+)."),
                ColumnMetric("pgbouncer_pools", .gauge, column: "pools", help: "Pools, one per (database, user) in use (SHOW LISTS pools)."),
                ColumnMetric("pgbouncer_peer_pools", .gauge, column: "peer_pools", help: "Pools to peers (SHOW LISTS peer_pools, PgBouncer 1.19+)."),
                ColumnMetric("pgbouncer_free_clients", .gauge, column: "free_clients", help: "Client connection slots allocated and free for reuse (SHOW LISTS free_clients)."),
                ColumnMetric(
                    "pgbouncer_used_clients", .gauge, column: "used_clients",
                    help: "Client connections open, in any state (SHOW LISTS used_clients); max_client_conn limits this number."),
                ColumnMetric("pgbouncer_login_clients", .gauge, column: "login_clients", help: "Client connections still logging in (SHOW LISTS login_clients)."),
                ColumnMetric("pgbouncer_free_servers", .gauge, column: "free_servers", help: "Server connection slots allocated and free for reuse (SHOW LISTS free_servers)."),
                ColumnMetric("pgbouncer_used_servers", .gauge, column: "used_servers", help: "Server connections open, in any state (SHOW LISTS used_servers)."),
                ColumnMetric("pgbouncer_cached_dns_names", .gauge, column: "dns_names", help: "Host names in the DNS cache (SHOW LISTS dns_names)."),
                ColumnMetric("pgbouncer_cached_dns_zones", .gauge, column: "dns_zones", help: "DNS zones in the cache (SHOW LISTS dns_zones)."),
                ColumnMetric("pgbouncer_in_flight_dns_queries", .gauge, column: "dns_queries", help: "DNS queries in flight (SHOW LISTS dns_queries)."),
            ],
            keyValue: KeyValueColumns(key: "list", value: "items")),
    ])
