import Exposition
import PostgresClient

/// PgBouncer's version, from `SHOW VERSION` — also the target's liveness probe.
///
/// Up to PgBouncer 1.11 `SHOW VERSION` answered with a notice and no row; the version then
/// comes from the `server_version` startup parameter (`1.11.0/bouncer`).
public let pgbouncerVersionCollector = Collector(
    name: "version",
    targetKind: .pgbouncer,
    summary: "PgBouncer version (SHOW VERSION), which also proves the console answers.",
    queries: [
        MetricQuery(
            sql: "SHOW VERSION",
            metrics: [
                .info("pgbouncer_version_info", labels: ["version"], help: "PgBouncer version (label: the version text, as in pgbouncer_exporter); value 1."),
            ],
            whenEmpty: { server in
                let version = server.versionText.split(separator: "/").first.map(String.init) ?? ""
                return QueryResult(columns: ["version"], rows: [["PgBouncer " + version]])
            }),
    ])
