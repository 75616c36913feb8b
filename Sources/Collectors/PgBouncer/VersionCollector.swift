public import Exposition
public import PostgresClient

/// PgBouncer's version, from `SHOW VERSION` — also the target's liveness probe.
///
/// Up to PgBouncer 1.11 `SHOW VERSION` answered with a notice and no row; the version then
/// comes from the `server_version` startup parameter (`1.11.0/bouncer`).
public struct PgBouncerVersionCollector: Collector {
    public let name = "version"
    public let targetKind = ServerInfo.Kind.pgbouncer
    public let summary = "PgBouncer version (SHOW VERSION), which also proves the console answers."

    public init() {}

    private static let help = "PgBouncer version (label: the version text, as in pgbouncer_exporter); value 1."

    public var metrics: [MetricDescription] {
        [MetricDescription(name: "pgbouncer_version_info", type: .gauge, help: Self.help, labels: ["version"])]
    }

    public func collect(from runner: any QueryRunner) async throws -> [MetricFamily] {
        let result = try await runner.query("SHOW VERSION")
        let fromRow = result.index(of: "version").flatMap { result.rows.first?[$0] }
        let version = fromRow ?? "PgBouncer " + (runner.server.versionText.split(separator: "/").first.map(String.init) ?? "")
        return [.gauge("pgbouncer_version_info", help: Self.help, samples: [Sample(labels: [Label("version", version)], value: 1)])]
    }
}
