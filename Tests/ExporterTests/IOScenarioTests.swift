import Collectors
import Exporter
import Foundation
import Testing
import TestSupport

/// pg_stat_io on the live bed, whatever its version: counters that move under a write load on
/// 16+, and on 15 a collector that succeeds with nothing to say.
@Suite(.serialized, .needsTestBed) struct IOScenarioTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    /// The client backends' I/O on relations through shared buffers.
    private static let client = ["target": "primary", "backend_type": "client backend", "object": "relation", "context": "normal"]

    private static func sum(_ scrape: ScrapeText, _ name: String, _ labels: [String: String]) -> Double {
        scrape.samples(name, labels).reduce(0) { $0 + $1.value }
    }

    @Test func ioCountersMoveUnderAWriteLoadOrAreAbsentBeforeSixteen() async throws {
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)])
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        let table = "io_probe_\(UInt32.random(in: 0...UInt32.max))"
        try await withCleanup {
            let version = Int(try await admin.value("SHOW server_version_num") ?? "") ?? 0
            let before = try await engine.scrape()
            #expect(before.value("pgstack_exporter_collector_success", ["target": "primary", "collector": "io"]) == 1)
            guard version >= 160_000 else {
                #expect(before.samples.filter { $0.name.hasPrefix("pg_stat_io_") }.isEmpty)
                return
            }
            let families = Set(before.samples.map(\.name).filter { $0.hasPrefix("pg_stat_io_") })
            print("pg_stat_io on \(version): \(before.samples.filter { $0.name.hasPrefix("pg_stat_io_") }.count) series in \(families.count) families")
            #expect(before.samples("pg_stat_io_stats_reset_timestamp_seconds").count == 1)
            #expect(families.contains("pg_stat_io_op_bytes") == (version < 180_000))
            #expect(families.contains("pg_stat_io_write_bytes_total") == (version >= 180_000))
            // Only rows with I/O are kept, and each has its three labels.
            for sample in before.samples where sample.name == "pg_stat_io_hits_total" {
                #expect(sample.labels.keys.sorted() == ["backend_type", "context", "object", "target"])
            }
            let checkpointer = ["target": "primary", "backend_type": "checkpointer", "object": "relation", "context": "normal"]
            let extendsBefore = before.value("pg_stat_io_extends_total", Self.client) ?? 0
            let writesBefore = before.value("pg_stat_io_writes_total", checkpointer) ?? 0

            // About 5 MB of rows, then a checkpoint that writes them out.
            try await admin.run("CREATE TABLE \(table) (n int, filler text); INSERT INTO \(table) SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g")
            try await admin.run("CHECKPOINT; SELECT pg_stat_force_next_flush()")
            var last = before
            #expect(try await eventually(timeout: .seconds(30)) {
                last = try await engine.scrape()
                return (last.value("pg_stat_io_extends_total", Self.client) ?? 0) > extendsBefore
                    && (last.value("pg_stat_io_writes_total", checkpointer) ?? 0) > writesBefore
            }, "extends \(extendsBefore) → \(last.value("pg_stat_io_extends_total", Self.client) ?? -1)")
            if version >= 180_000 {
                // 18 counts bytes too (an extend may be several blocks), and the WAL written in rows of its own.
                for name in ["pg_stat_io_extend_bytes_total", "pg_stat_io_write_bytes_total"] {
                    let filter = name == "pg_stat_io_extend_bytes_total" ? Self.client : ["target": "primary", "object": "wal"]
                    let grown = Self.sum(last, name, filter) - Self.sum(before, name, filter)
                    #expect(grown >= 4_000_000, "\(name) \(filter): grew by \(grown)")
                }
            } else {
                #expect(last.value("pg_stat_io_op_bytes", Self.client) == 8192)
            }
            #expect((last.value("pg_stat_io_write_time_seconds_total", checkpointer) ?? -1) >= 0)
        } cleanup: {
            _ = try? await admin.run("DROP TABLE IF EXISTS \(table)")
            await engine.shutdown()
            await admin.close()
        }
    }

    /// `pg_stat_reset_shared('io')` under a running exporter: the reset time moves, rows back to
    /// zero leave, and the collector keeps succeeding.
    @Test func aResetMovesTheResetTimeAndDropsIdleRows() async throws {
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)])
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            guard Int(try await admin.value("SHOW server_version_num") ?? "") ?? 0 >= 160_000 else { return }
            let before = try await engine.scrape()
            let resetBefore = try #require(before.value("pg_stat_io_stats_reset_timestamp_seconds"))
            try await admin.run("SELECT pg_stat_reset_shared('io')")
            var after = before
            #expect(try await eventually {
                after = try await engine.scrape()
                return (after.value("pg_stat_io_stats_reset_timestamp_seconds") ?? 0) > resetBefore
            })
            #expect(after.value("pgstack_exporter_collector_success", ["collector": "io"]) == 1)
            #expect(after.samples("pg_stat_io_hits_total").count < before.samples("pg_stat_io_hits_total").count)
        } cleanup: {
            await engine.shutdown()
            await admin.close()
        }
    }
}
