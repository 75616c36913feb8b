import Collectors
import Exposition

/// `docs/metrics.md`, rendered from the collectors' own definitions so that the document
/// cannot drift from the code (a test compares the two).
public enum MetricsDocument {
    public static func markdown() -> String {
        var text = """
            # Metrics

            Generated from the collector definitions (`Sources/Collectors`) and checked by a test:
            run `PGSTACK_UPDATE_DOCS=1 swift test --filter MetricsDocumentTests` after changing a
            metric. Every sample from a target also carries a `target` label (the target's name).
            Names kept from postgres_exporter and pgbouncer_exporter are listed in
            [drop-in-names.md](drop-in-names.md).

            Versions: the SQL is chosen per server version and columns are mapped by name, for
            PostgreSQL 13 to 18 and PgBouncer 1.8 to 1.25. The versions column gives the first
            PostgreSQL release whose SQL reads the metric; a metric whose help names a version
            range is absent outside it. PostgreSQL 15, 17 and 18 and PgBouncer 1.18 run for real
            in the test suite (the whole suite on 15, the collector suites on all three); the
            answers of 15, 17 and 18 to every collector's SQL are also recorded and replayed
            without a server; the other versions are tested through the SQL each gets and the
            column lists their documentation gives.

            Every default collector works with a role that has only `pg_monitor` (PostgreSQL) or is
            in `stats_users` (PgBouncer). `pg_wal_segments`, `pg_wal_size_bytes` and
            `pg_stat_archiver_pending_segments` are skipped, not failed, where the role may not list
            the WAL directory.

            """
        for kind in [ServerInfo.Kind.postgres, .pgbouncer] {
            for collector in CollectorCatalog.all where collector.targetKind == kind {
                text += "\n## \(kind == .postgres ? "PostgreSQL" : "PgBouncer") collector `\(collector.name)`\n\n"
                text += collector.summary + "\n\n"
                text += table(collector.metricsFromVersion.map { ($0.metric, versions(from: $0.fromVersion, kind: kind)) })
            }
        }
        text += "\n## The exporter itself\n\nPer target and collector, on every scrape, whether the target answers or not.\n\n"
        text += table(SelfMetrics.all)
        text += "\n## Process\n\nThe exporter process, from `/proc/self`.\n\n"
        text += table(ProcessMetrics.all)
        return text
    }

    /// Every metric the exporter can make: the collectors', its own and the process's.
    public static var allMetrics: [MetricDescription] {
        CollectorCatalog.all.flatMap(\.metrics) + SelfMetrics.all + ProcessMetrics.all
    }

    private static func table(_ metrics: [MetricDescription]) -> String {
        table(metrics.map { ($0, nil) })
    }

    /// A table of metrics, with a column of the server versions that have each when given.
    private static func table(_ metrics: [(MetricDescription, String?)]) -> String {
        let versioned = metrics.contains { $0.1 != nil }
        var text = versioned ? "| metric | type | labels | versions | meaning |\n|---|---|---|---|---|\n" : "| metric | type | labels | meaning |\n|---|---|---|---|\n"
        for (metric, versions) in metrics {
            let labels = metric.labels.map { "`\($0)`" }.joined(separator: ", ")
            let versionCell = versioned ? " \(versions ?? "") |" : ""
            text += "| `\(metric.name)` | \(metric.type.rawValue) | \(labels) |\(versionCell) \(metric.help.replacingPipes()) |\n"
        }
        return text
    }

    /// `13+`, `16+` (PostgreSQL, whose oldest supported release is 13) or `1.8+` (PgBouncer).
    private static func versions(from version: Int, kind: ServerInfo.Kind) -> String {
        guard kind == .postgres else { return "1.8+" }
        return "\(max(version, 130000) / 10000)+"
    }
}

extension String {
    fileprivate func replacingPipes() -> String {
        split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")
    }
}
