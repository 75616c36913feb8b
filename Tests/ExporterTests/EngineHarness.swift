import Collectors
import Exporter
import Logging
import PostgresClient
import TestSupport

/// An in-process exporter on test bed targets, scraped and parsed.
struct EngineHarness {
    let exporter: Exporter

    init(
        _ targets: [(String, ServerInfo.Kind, String)], limits: TargetLimits = TargetLimits(), options: CollectorOptions = CollectorOptions(),
        configure: (inout TargetConfiguration) -> Void = { _ in }
    ) throws {
        let configured = try targets.map { name, kind, dsn in
            var target = TargetConfiguration(name: name, kind: kind, connectionString: try ConnectionString(dsn), limits: limits, options: options)
            configure(&target)
            return target
        }
        exporter = Exporter(configuration: ExporterConfiguration(targets: configured), logger: Logger(label: "test"))
    }

    func scrape(budget: Duration = .seconds(5)) async throws -> ScrapeText {
        try ScrapeText(String(decoding: await exporter.scrape(budget: budget) ?? [], as: UTF8.self))
    }

    func shutdown() async {
        await exporter.shutdown()
    }
}
