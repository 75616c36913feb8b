@testable import Collectors
import Exposition
import PostgresClient
import Testing

/// pg_stat_io across 15–18 and the unused-index queries, without a server: the SQL each
/// version and option gets, and what the column lists of 16–17 and 18 give.
@Suite struct IOAndUnusedIndexesTests {
    private static let pg17Columns = ["backend_type", "object", "context", "reads", "read_time", "writes", "write_time", "writebacks",
                                      "writeback_time", "extends", "extend_time", "op_bytes", "hits", "evictions", "reuses", "fsyncs",
                                      "fsync_time", "stats_reset"]
    private static let pg18Columns = ["backend_type", "object", "context", "reads", "read_bytes", "read_time", "writes", "write_bytes",
                                      "write_time", "writebacks", "writeback_time", "extends", "extend_bytes", "extend_time", "hits",
                                      "evictions", "reuses", "fsyncs", "fsync_time", "stats_reset"]

    private func rows(_ query: MetricQuery, _ columns: [String], _ rows: [[String?]]) throws -> [MetricFamily] {
        try query.families(from: QueryResult(columns: columns, rows: rows)).filter { !$0.samples.isEmpty }
    }

    @Test func pgStatIOIsAskedFromSixteenOnly() throws {
        for query in ioCollector.queries {
            #expect(query.sql(forVersion: 150_018) == nil)
            for version in [160_000, 170_010, 180_001] { #expect(query.sql(forVersion: version)?.contains("FROM pg_stat_io") == true) }
        }
        let rows = try #require(ioCollector.query(producing: "pg_stat_io_reads_total")?.sql(forVersion: 170_000))
        #expect(rows.contains("greatest(reads, writes, writebacks, extends, hits, evictions, reuses, fsyncs) > 0"))
    }

    @Test func seventeenGivesOpBytesAndEighteenTheByteCounters() throws {
        let query = try #require(ioCollector.query(producing: "pg_stat_io_reads_total"))
        let full17 = Self.pg17Columns.map { $0 == "backend_type" ? "client backend" : $0 == "object" ? "relation" : $0 == "context" ? "normal" : "8192" }
        let pg17 = try rows(query, Self.pg17Columns, [full17]).map(\.name)
        #expect(pg17.count == 14)
        #expect(pg17.contains("pg_stat_io_op_bytes") && !pg17.contains("pg_stat_io_read_bytes_total"))
        #expect(pg17.contains("pg_stat_io_read_time_seconds_total") && pg17.contains("pg_stat_io_fsyncs_total"))
        let full18 = Self.pg18Columns.map { $0 == "backend_type" ? "walwriter" : $0 == "object" ? "wal" : $0 == "context" ? "normal" : "4" }
        let pg18 = try rows(query, Self.pg18Columns, [full18]).map(\.name)
        #expect(pg18.count == 16)
        #expect(!pg18.contains("pg_stat_io_op_bytes"))
        #expect(["pg_stat_io_read_bytes_total", "pg_stat_io_write_bytes_total", "pg_stat_io_extend_bytes_total"].allSatisfy(pg18.contains))
    }

    /// A NULL cell (an operation the backend type never does) gives no series; times are seconds.
    @Test func nullCellsGiveNoSeriesAndTimesAreSeconds() throws {
        let query = try #require(ioCollector.query(producing: "pg_stat_io_reads_total"))
        var checkpointer = [String?](repeating: nil, count: Self.pg18Columns.count)
        for (column, value) in [("backend_type", "checkpointer"), ("object", "relation"), ("context", "normal"),
                                ("writes", "10"), ("write_bytes", "81920"), ("write_time", "1500"), ("fsyncs", "3"), ("fsync_time", "20")] {
            checkpointer[Self.pg18Columns.firstIndex(of: column)!] = value
        }
        let families = try rows(query, Self.pg18Columns, [checkpointer])
        #expect(families.map(\.name) == ["pg_stat_io_writes_total", "pg_stat_io_write_time_seconds_total", "pg_stat_io_fsyncs_total",
                                         "pg_stat_io_fsync_time_seconds_total", "pg_stat_io_write_bytes_total"])
        let time = try #require(families.first { $0.name == "pg_stat_io_write_time_seconds_total" })
        #expect(time.samples.map(\.value) == [1.5])
        #expect(time.samples.first?.labels == [Label("backend_type", "checkpointer"), Label("object", "relation"), Label("context", "normal")])
    }

    @Test func unusedIndexesLeaveConstraintsOutAndTheTopNFollowsItsOption() throws {
        let count = try #require(indexesCollector.query(producing: "pg_unused_indexes")?.sql(forVersion: 150_000))
        #expect(count.contains("s.idx_scan = 0") && count.contains("NOT (i.indisprimary OR i.indisunique OR i.indisexclusion)"))
        #expect(!count.contains("pg_relation_size"))  // it would wait behind a lock on the table
        #expect(indexesCollector.scope == .database && indexesCollector.enabledByDefault)
        var options = CollectorOptions()
        options.unusedIndexesTopN = 7
        let top = try #require(tablesCollector.query(producing: "pg_unused_index_size_bytes")?.sql(forVersion: 180_000, options: options))
        #expect(top.contains(UnusedIndexes.fromWhere) && top.hasSuffix("LIMIT 7"))
        #expect(!tablesCollector.enabledByDefault)
    }
}
