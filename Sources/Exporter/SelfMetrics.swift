import Collectors
import Exposition

/// The exporter's metrics about its own scrape of each target.
enum SelfMetrics {
    static let pgUp = MetricDescription(
        name: "pg_up", type: .gauge, help: "1 if the PostgreSQL target answered this scrape, 0 if it could not be reached.",
        labels: ["target"])
    static let pgbouncerUp = MetricDescription(
        name: "pgbouncer_up", type: .gauge, help: "1 if the PgBouncer admin console answered this scrape, 0 if it could not be reached.",
        labels: ["target"])
    static let collectorSuccess = MetricDescription(
        name: "pgstack_exporter_collector_success", type: .gauge,
        help: "1 if the collector finished without error in this scrape, 0 if it failed or did not finish by the deadline.",
        labels: ["target", "collector"])
    static let collectorDuration = MetricDescription(
        name: "pgstack_exporter_collector_duration_seconds", type: .gauge,
        help: "How long the collector took in this scrape, in seconds.", labels: ["target", "collector"])
    static let collectorErrors = MetricDescription(
        name: "pgstack_exporter_collector_errors_total", type: .counter,
        help: "Collections in which the collector failed or timed out, since the exporter started.", labels: ["target", "collector"])
    static let scrapeDuration = MetricDescription(
        name: "pgstack_exporter_scrape_duration_seconds", type: .gauge,
        help: "How long the collection of the target took (up to the scrape deadline), in seconds.", labels: ["target"])
    static let targetConnections = MetricDescription(
        name: "pgstack_exporter_target_connections", type: .gauge,
        help: "Connections the exporter holds open to the target.", labels: ["target"])
    static let seriesDropped = MetricDescription(
        name: "pgstack_exporter_series_dropped_total", type: .counter,
        help: "Series a collector's scrapes were cut by because the target's max_series budget would have been exceeded, since the exporter started.",
        labels: ["target", "collector"])
    static let droppedSeries = MetricDescription(
        name: "pgstack_exporter_dropped_series_total", type: .counter,
        help: "Series dropped from scrapes because they repeated another series' name and labels, since the exporter started.",
        labels: [])
    static let buildInfo = MetricDescription(
        name: "pgstack_exporter_build_info", type: .gauge,
        help: "The exporter's version, the git commit it was built from (revision) and the Swift compiler that built it; value 1.",
        labels: ["version", "revision", "swift_version"])

    static let reloadSuccessful = MetricDescription(
        name: "pgstack_exporter_config_last_reload_successful", type: .gauge,
        help: "1 if the last reload of the config file (SIGHUP, POST /-/reload) succeeded, 0 if it failed and the previous configuration stayed.",
        labels: [])
    static let reloadTimestamp = MetricDescription(
        name: "pgstack_exporter_config_last_reload_success_timestamp_seconds", type: .gauge,
        help: "When the configuration in force was loaded (at start or by the last successful reload), in seconds since the epoch.",
        labels: [])

    /// Every self metric, for the docs.
    static let all = [
        pgUp, pgbouncerUp, collectorSuccess, collectorDuration, collectorErrors, seriesDropped, scrapeDuration, targetConnections, droppedSeries,
        buildInfo, reloadSuccessful, reloadTimestamp,
    ]

    /// `pg_up`/`pgbouncer_up`, per-collector success, duration, errors and series cut, scrape duration and
    /// open connections, for every target scraped.
    static func families(for scrapes: [TargetScrape]) -> [MetricFamily] {
        var pgUp = MetricFamily(pgUp)
        var bouncerUp = MetricFamily(pgbouncerUp)
        var success = MetricFamily(collectorSuccess)
        var duration = MetricFamily(collectorDuration)
        var errors = MetricFamily(collectorErrors)
        var dropped = MetricFamily(seriesDropped)
        var scrapeDuration = MetricFamily(scrapeDuration)
        var connections = MetricFamily(targetConnections)
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
                dropped.add(Double(scrape.seriesDroppedTotals[collector.name] ?? 0), labels)
            }
            scrapeDuration.add(DurationText.seconds(scrape.duration), [target])
            connections.add(Double(scrape.openConnections), [target])
        }
        return [pgUp, bouncerUp, success, duration, errors, dropped, scrapeDuration, connections].filter { !$0.samples.isEmpty }
    }

    /// `pgstack_exporter_build_info`.
    static func buildInfoFamily() -> MetricFamily {
        let labels = [Label("version", BuildInfo.version), Label("revision", BuildInfo.commit), Label("swift_version", BuildInfo.swiftVersion)]
        return MetricFamily(buildInfo, samples: [Sample(labels: labels, value: 1)])
    }

    /// `pgstack_exporter_config_last_reload_successful` and `…_success_timestamp_seconds`.
    static func reloadFamilies(_ status: ReloadStatus) -> [MetricFamily] {
        [
            MetricFamily(reloadSuccessful, samples: [Sample(value: status.successful ? 1 : 0)]),
            MetricFamily(reloadTimestamp, samples: [Sample(value: status.lastSuccess)]),
        ]
    }

    /// `pgstack_exporter_dropped_series_total`.
    static func droppedSeriesFamily(_ total: Int) -> MetricFamily {
        MetricFamily(droppedSeries, samples: [Sample(value: Double(total))])
    }
}

extension MetricFamily {
    /// An empty family (or one with `samples`) for a described metric.
    init(_ description: MetricDescription, samples: [Sample] = []) {
        self.init(name: description.name, help: description.help, type: description.type, samples: samples)
    }
}
