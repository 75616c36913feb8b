import Collectors
import Exporter
import Foundation
import Testing

@Suite struct ConfigurationFileTests {
    private func parse(_ text: String) throws -> ExporterConfiguration {
        try ConfigurationFile.parse(text, file: "test.yml", base: ExporterConfiguration(targets: []), baseLimits: TargetLimits())
    }

    private func expectError(_ text: String, line: Int?, field: String, mentioning: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parse(text)
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch let error as ConfigurationError {
            #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
            #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(mentioning), "\(error)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("s3cret"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func aValidFileGivesItsTargetsWithDefaultsAndOverrides() throws {
        let dsnFile = NSTemporaryDirectory() + "pgstack-dsn-\(UUID().uuidString)"
        try "  host=127.0.0.1 port=6432 dbname=pgbouncer user=stats password=s3cret\n".write(toFile: dsnFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: dsnFile) }
        let configuration = try parse("""
            scrape_timeout: 20s
            defaults:
              collector_timeout: 2s
            targets:
              - name: primary
                kind: postgres
                dsn: "host=127.0.0.1 dbname=postgres user=monitor password=s3cret"
                collectors: [connections]
                max_connections: 2
              - name: bouncer
                kind: pgbouncer
                dsn_file: \(dsnFile)
            """)
        #expect(configuration.defaultScrapeTimeout == .seconds(20))
        #expect(configuration.targets.map(\.name) == ["primary", "bouncer"])
        #expect(configuration.targets[0].collectors.map(\.name) == ["connections"])
        #expect(configuration.targets[0].limits.maxConnections == 2)
        #expect(configuration.targets[0].limits.collectorTimeout == .seconds(2))
        #expect(configuration.targets[1].kind == .pgbouncer)
        #expect(configuration.targets[1].connectionString.password == "s3cret")
        #expect(configuration.targets[1].collectors.map(\.name) == ["version", "pools", "stats", "databases", "lists", "config"])
    }

    @Test func errorsNameTheLineAndTheField() {
        expectError("targets:\n  - name: a\n    kind: mysql\n    dsn: host=x", line: 3, field: "targets[0].kind", mentioning: "mysql")
        expectError("targets:\n  - name: a\n    kind: postgres\n    dns: host=x", line: 4, field: "targets[0].dns", mentioning: "unknown setting")
        expectError("targets:\n  - name: a\n    kind: postgres", line: 2, field: "targets[0].dsn", mentioning: "dsn_file")
        expectError("targets:\n  - name: a\n    kind: postgres\n    dsn: host=x\n    dsn_file: /x", line: 2, field: "targets[0]", mentioning: "keep one")
        expectError(
            "targets:\n  - {name: a, kind: postgres, dsn: host=x}\n  - {name: a, kind: postgres, dsn: host=y}",
            line: 3, field: "targets[1].name", mentioning: "unique")
        expectError("targets:\n  - {name: a, kind: postgres, dsn: host=x, collectors: [nope]}", line: 2, field: "targets[0].collectors", mentioning: "connections")
        expectError("targets:\n  - {name: a, kind: postgres, dsn: host=x, collector_timeout: soon}", line: 2, field: "targets[0].collector_timeout", mentioning: "soon")
        expectError("targets:\n  - {name: b, kind: pgbouncer, dsn: 'host=x dbname=postgres'}", line: 2, field: "targets[0].dsn", mentioning: "dbname=pgbouncer")
        expectError("targets:\n  - {name: 'a b', kind: postgres, dsn: host=x}", line: 2, field: "targets[0].name", mentioning: "valid name")
        expectError("targets: []", line: 1, field: "targets", mentioning: "empty")
        expectError("targets:\n  - {name: a, kind: postgres, dsn_file: /nonexistent/dsn}", line: 2, field: "targets[0].dsn_file", mentioning: "cannot read")
        expectError("targets:\n  - name: a\n   kind: postgres", line: 3, field: "YAML", mentioning: "expected")
    }

    @Test func discoveryLabelsAreCheckedAndSorted() throws {
        let configuration = try parse("targets:\n  - {name: a, kind: postgres, dsn: host=x, labels: {team: db, cluster: main, _x1: ''}}")
        let labels = try #require(configuration.targets.first).labels
        #expect(labels.map(\.name) == ["_x1", "cluster", "team"])
        #expect(labels.map(\.value) == ["", "main", "db"])
        for bad in ["__meta", "target", "kind", "job", "instance", "1x", "a-b", "é", "''"] {
            expectError("targets:\n  - {name: a, kind: postgres, dsn: host=x, labels: {\(bad): v}}", line: 2,
                        field: "targets[0].labels" + (bad == "''" ? "." : ".\(bad)"), mentioning: "label name")
        }
        expectError("targets:\n  - {name: a, kind: postgres, dsn: host=x, labels: [a]}", line: 2, field: "targets[0].labels", mentioning: "mapping")
        expectError("targets:\n  - {name: a, kind: postgres, dsn: host=x, labels: {a: [1]}}", line: 2, field: "targets[0].labels.a", mentioning: "single value")
        expectError("targets:\n  - {name: a, kind: postgres, dsn: host=x, labels: {a: \(String(repeating: "x", count: 1025))}}", line: 2,
                    field: "targets[0].labels.a", mentioning: "1,024")
    }

    @Test func collectorOptionsComeFromDefaultsAndTargets() throws {
        let configuration = try parse("""
            defaults:
              options: {include_admin_database: true}
            targets:
              - {name: a, kind: pgbouncer, dsn: "host=x dbname=pgbouncer"}
              - {name: b, kind: pgbouncer, dsn: "host=x dbname=pgbouncer", options: {include_admin_database: false}}
            """)
        #expect(configuration.targets.map(\.options.includeAdminDatabase) == [true, false])
        expectError(
            "targets:\n  - {name: a, kind: pgbouncer, dsn: 'host=x dbname=pgbouncer', options: {include_admin_database: maybe}}",
            line: 2, field: "targets[0].options.include_admin_database", mentioning: "true or false")
        expectError(
            "targets:\n  - name: a\n    kind: postgres\n    dsn: host=x\n    options:\n      top_m: 3",
            line: 6, field: "targets[0].options.top_m", mentioning: "unknown setting")
    }

    @Test func unusedIndexesTopNIsAnOptionInItsRange() throws {
        let configuration = try parse("targets:\n  - {name: a, kind: postgres, dsn: host=x, options: {unused_indexes_top_n: 5}}")
        #expect(configuration.targets.map(\.options.unusedIndexesTopN) == [5])
        expectError(
            "targets:\n  - {name: a, kind: postgres, dsn: host=x, options: {unused_indexes_top_n: 0}}",
            line: 2, field: "targets[0].options.unused_indexes_top_n", mentioning: "out of range (1 to 10000)")
    }

    @Test func databaseDiscoveryAndExtraCollectorsAreConfiguredPerTarget() throws {
        let configuration = try parse("""
            targets:
              - name: a
                kind: postgres
                dsn: host=x
                enable: [tables]
                databases: {include: ["^app"], exclude: ["_test$"], refresh: 1m, max_connections: 2}
            """)
        let target = try #require(configuration.targets.first)
        #expect(target.collectors.map(\.name).contains("tables"))
        #expect(target.collectors.map(\.name).contains("connections"))
        #expect(target.databases.include == ["^app"])
        #expect(target.databases.exclude == ["_test$"])
        #expect(target.databases.refresh == .seconds(60))
        #expect(target.databases.maxConnections == 2)
        expectError(
            "targets:\n  - {name: a, kind: postgres, dsn: host=x, databases: {include: ['(unclosed']}}",
            line: 2, field: "targets[0].databases.include", mentioning: "regular expression")
        expectError(
            "targets:\n  - {name: a, kind: postgres, dsn: host=x, collectors: [server], enable: [tables]}",
            line: 2, field: "targets[0].enable", mentioning: "no effect")
    }

    @Test func aBadDSNIsReportedWithoutRepeatingIt() {
        expectError("targets:\n  - name: a\n    kind: postgres\n    dsn: host=x password=s3cret junk", line: 4, field: "targets[0].dsn", mentioning: "invalid connection string")
    }

    @Test(arguments: [("500ms", 0.5), ("10s", 10), ("1m30s", 90), ("2h", 7200), ("1.5", 1.5), ("0.25s", 0.25)])
    func durationsParseAsOperatorsWriteThem(text: String, seconds: Double) {
        #expect(DurationText.parse(text).map(DurationText.seconds) == seconds)
    }

    @Test(arguments: ["", "ten", "5x", "-1", "s"])
    func nonsenseIsNotADuration(text: String) {
        #expect(DurationText.parse(text) == nil)
    }
}
