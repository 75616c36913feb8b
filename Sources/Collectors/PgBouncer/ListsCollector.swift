import Exposition
import PostgresClient

/// `SHOW LISTS`: the sizes of PgBouncer's internal lists, one (list, items) row each.
///
/// The names are pgbouncer_exporter's. `used_clients` counts every client connection (the
/// exporter's own included) and is what `max_client_conn` limits, so
/// `pgbouncer_used_clients / pgbouncer_config_max_client_connections` is the client saturation.
/// `peers` and `peer_pools` appear in 1.19; `dns_pending` is unused by PgBouncer and not exported.
public let pgbouncerListsCollector = KeyValueCollector(
    name: "lists",
    targetKind: .pgbouncer,
    summary: "Sizes of PgBouncer's internal lists (SHOW LISTS): databases, users, pools, client and server connections in use and cached, DNS.",
    sql: "SHOW LISTS",
    keyColumn: "list",
    valueColumn: "items",
    entries: [
        KeyedMetric("databases", "pgbouncer_databases", help: "Database entries, configured and automatic (SHOW LISTS databases)."),
        KeyedMetric("users", "pgbouncer_users", help: "Users PgBouncer knows (SHOW LISTS users)."),
        KeyedMetric("peers", "pgbouncer_peers", help: "Configured peers, for cancel requests across processes (SHOW LISTS peers, PgBouncer 1.19+)."),
        KeyedMetric("pools", "pgbouncer_pools", help: "Pools, one per (database, user) in use (SHOW LISTS pools)."),
        KeyedMetric("peer_pools", "pgbouncer_peer_pools", help: "Pools to peers (SHOW LISTS peer_pools, PgBouncer 1.19+)."),
        KeyedMetric("free_clients", "pgbouncer_free_clients", help: "Client connection slots allocated and free for reuse (SHOW LISTS free_clients)."),
        KeyedMetric(
            "used_clients", "pgbouncer_used_clients",
            help: "Client connections open, in any state (SHOW LISTS used_clients); max_client_conn limits this number."),
        KeyedMetric("login_clients", "pgbouncer_login_clients", help: "Client connections still logging in (SHOW LISTS login_clients)."),
        KeyedMetric("free_servers", "pgbouncer_free_servers", help: "Server connection slots allocated and free for reuse (SHOW LISTS free_servers)."),
        KeyedMetric("used_servers", "pgbouncer_used_servers", help: "Server connections open, in any state (SHOW LISTS used_servers)."),
        KeyedMetric("dns_names", "pgbouncer_cached_dns_names", help: "Host names in the DNS cache (SHOW LISTS dns_names)."),
        KeyedMetric("dns_zones", "pgbouncer_cached_dns_zones", help: "DNS zones in the cache (SHOW LISTS dns_zones)."),
        KeyedMetric("dns_queries", "pgbouncer_in_flight_dns_queries", help: "DNS queries in flight (SHOW LISTS dns_queries)."),
    ])
