import Collectors
import Exposition

/// The exporter's metrics about its own scrape of each target.
enum SelfMetrics {
    /// `pg_up`/`pgbouncer_up`, per-collector success, duration and errors, scrape duration and
    /// open connections, for every target scraped.
    static func families(for scrapes: [TargetScrape]) -> [MetricFamily] {
        var pgUp = MetricFamily.gauge("pg_up", help: "1 if the PostgreSQL target answered this scrape, 0 if it could not be reached.")
        var bouncerUp = MetricFamily.gauge("pgbouncer_up", help: "1 if the PgBouncer admin console answered this scrape, 0 if it could not be reached.")
        var success = MetricFamily.gauge(
            "pgstack_exporter_collector_success",
            help: "1 if the collector finished without error in this scrape, 0 if it failed or did not finish by the deadline.")
        var duration = MetricFamily.gauge(
            "pgstack_exporter_collector_duration_seconds", help: "How long the collector took in this scrape, in seconds.")
        var errors = MetricFamily.counter(
            "pgstack_exporter_collector_errors_total",
            help: "Collections in which the collector failed or timed out, since the exporter started.")
        var scrapeDuration = MetricFamily.gauge(
            "pgstack_exporter_scrape_duration_seconds",
            help: "How long the collection of the target took (up to the scrape deadline), in seconds.")
        var connections = MetricFamily.gauge(
            "pgstack_exporter_target_connections", help: "Connections the exporter holds open to the target.")

        for scrape in scrapes {
            let target = Label("target", scrape.target.name)
            switch scrape.target.kind {
            case .postgres: pgUp.add(scrape.up ? 1 : 0, [target])
            case .pgbouncer: bouncerUp.add(scrape.up ? 1 : 0, [target])
            }
            for collector in scrape.target.collectors {
                let labels = [target, Label("collector", collector.name)]
                let outcome = scrape.outcomes.first { $0.collector == collector.name }
                success.add(outcome?.succeeded == true ? 1 : 0, labels)
                duration.add(DurationText.seconds(outcome?.duration ?? scrape.duration), labels)
                // A collector still running at the deadline is counted when it ends.
                errors.add(Double(scrape.errorTotals[collector.name] ?? 0), labels)
            }
            scrapeDuration.add(DurationText.seconds(scrape.duration), [target])
            connections.add(Double(scrape.openConnections), [target])
        }
        return [pgUp, bouncerUp, success, duration, errors, scrapeDuration, connections].filter { !$0.samples.isEmpty }
    }

    /// `pgstack_exporter_build_info`.
    static func buildInfo() -> MetricFamily {
        .gauge(
            "pgstack_exporter_build_info", help: "The exporter's version; value 1.",
            samples: [Sample(labels: [Label("version", BuildInfo.version)], value: 1)])
    }

    /// `pgstack_exporter_dropped_series_total`.
    static func droppedSeries(_ total: Int) -> MetricFamily {
        .counter(
            "pgstack_exporter_dropped_series_total",
            help: "Series dropped from scrapes because they repeated another series' name and labels, since the exporter started.",
            samples: [Sample(value: Double(total))])
    }
}

/// The exporter's version.
public enum BuildInfo {
    public static let version = "0.1.0"
}
