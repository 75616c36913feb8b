@testable import Collectors
import Exposition
import PostgresClient
import Testing

/// PostgreSQL 13–18 without servers for each: the SQL each version gets, and what the mapping
/// makes of the column lists those versions return (recorded from the PostgreSQL docs).
/// Only PostgreSQL 15 runs for real here.
@Suite struct VersionedSQLTests {
    private func sql(_ collector: Collector, producing metric: String, version: Int) -> String? {
        collector.query(producing: metric)?.sql(forVersion: version)
    }

    @Test func statementsUseEachVersionsColumnNames() throws {
        let totals = try #require(statementsCollector.query(producing: "pg_stat_statements_database_calls_total"))
        let top = try #require(statementsCollector.query(producing: "pg_stat_statements_calls_total"))
        let info = try #require(statementsCollector.query(producing: "pg_stat_statements_deallocations_total"))
        #expect(totals.sql(forVersion: 120_000)?.contains("s.total_time") == true)
        for version in [130_000, 140_000, 150_000, 160_000] {
            #expect(totals.sql(forVersion: version)?.contains("s.total_exec_time") == true)
            #expect(top.sql(forVersion: version)?.contains("s.blk_read_time") == true)
        }
        for version in [170_000, 180_000] {
            #expect(top.sql(forVersion: version)?.contains("s.shared_blk_read_time") == true)
        }
        #expect(info.sql(forVersion: 130_000) == nil)  // pg_stat_statements_info is 14+
        #expect(info.sql(forVersion: 140_000) != nil)
    }

    @Test func versionGatedViewsAndColumnsAreAskedForOnlyWhereTheyExist() throws {
        #expect(sql(walCollector, producing: "pg_stat_wal_bytes_total", version: 130_000) == nil)  // pg_stat_wal is 14+
        #expect(sql(walCollector, producing: "pg_stat_wal_bytes_total", version: 140_000) != nil)
        #expect(sql(checkpointsCollector, producing: "pg_stat_checkpointer_num_timed_total", version: 160_000) == nil)  // pg_stat_checkpointer is 17+
        #expect(sql(checkpointsCollector, producing: "pg_stat_checkpointer_num_timed_total", version: 170_000) != nil)
        #expect(sql(replicationSlotsCollector, producing: "pg_replication_slots_active", version: 160_000)?.contains("s.inactive_since") == false)
        #expect(sql(replicationSlotsCollector, producing: "pg_replication_slots_active", version: 170_000)?.contains("s.inactive_since") == true)
        #expect(sql(connectionsCollector, producing: "pg_settings_max_connections", version: 150_000)?.contains("'reserved_connections'") == false)
        #expect(sql(connectionsCollector, producing: "pg_settings_max_connections", version: 160_000)?.contains("'reserved_connections'") == true)
    }

    /// The families a one-row result with these columns gives (a query of rows, which cannot throw).
    private func names(_ query: MetricQuery, _ columns: [String]) -> [String] {
        let row = columns.map { _ in Optional("1") }
        return ((try? query.families(from: QueryResult(columns: columns, rows: [row]))) ?? []).filter { !$0.samples.isEmpty }.map(\.name)
    }

    @Test func bgwriterAndCheckpointerSplitAtSeventeen() throws {
        let bgwriter = try #require(checkpointsCollector.query(producing: "pg_stat_bgwriter_buffers_clean_total"))
        let before17 = ["checkpoints_timed", "checkpoints_req", "checkpoint_write_time", "checkpoint_sync_time", "buffers_checkpoint",
                        "buffers_clean", "maxwritten_clean", "buffers_backend", "buffers_backend_fsync", "buffers_alloc", "stats_reset", "stats_reset_epoch"]
        #expect(names(bgwriter, before17).count == 11)
        let from17 = ["buffers_clean", "maxwritten_clean", "buffers_alloc", "stats_reset", "stats_reset_epoch"]
        #expect(names(bgwriter, from17) == [
            "pg_stat_bgwriter_buffers_clean_total", "pg_stat_bgwriter_maxwritten_clean_total",
            "pg_stat_bgwriter_buffers_alloc_total", "pg_stat_bgwriter_stats_reset_timestamp_seconds",
        ])
        let checkpointer = try #require(checkpointsCollector.query(producing: "pg_stat_checkpointer_num_timed_total"))
        let pg17 = ["num_timed", "num_requested", "restartpoints_timed", "restartpoints_req", "restartpoints_done",
                    "write_time", "sync_time", "buffers_written", "stats_reset", "stats_reset_epoch"]
        #expect(names(checkpointer, pg17).count == 9)
        #expect(!names(checkpointer, pg17).contains("pg_stat_checkpointer_num_done_total"))
        let pg18 = pg17 + ["num_done", "slru_written"]
        #expect(names(checkpointer, pg18).contains("pg_stat_checkpointer_num_done_total"))
        #expect(names(checkpointer, pg18).count == 10)
    }

    @Test func pgStatWalLosesItsIOColumnsAtEighteen() throws {
        let wal = try #require(walCollector.query(producing: "pg_stat_wal_bytes_total"))
        let pg14 = ["wal_records", "wal_fpi", "wal_bytes", "wal_buffers_full", "wal_write", "wal_sync", "wal_write_time",
                    "wal_sync_time", "stats_reset", "stats_reset_epoch"]
        #expect(names(wal, pg14).count == 9)
        let pg18 = ["wal_records", "wal_fpi", "wal_bytes", "wal_buffers_full", "stats_reset", "stats_reset_epoch"]
        #expect(names(wal, pg18) == [
            "pg_stat_wal_records_total", "pg_stat_wal_fpi_total", "pg_stat_wal_bytes_total",
            "pg_stat_wal_buffers_full_total", "pg_stat_wal_stats_reset_timestamp_seconds",
        ])
    }

    @Test func pgStatDatabaseGainsSessionsAtFourteenAndIgnoresLaterColumns() throws {
        let database = try #require(databaseCollector.query(producing: "pg_stat_database_xact_commit"))
        let pg13 = ["datid", "datname", "numbackends", "xact_commit", "xact_rollback", "blks_read", "blks_hit", "tup_returned",
                    "tup_fetched", "tup_inserted", "tup_updated", "tup_deleted", "conflicts", "temp_files", "temp_bytes",
                    "deadlocks", "checksum_failures", "checksum_last_failure", "blk_read_time", "blk_write_time",
                    "stats_reset", "stats_reset_epoch"]
        let sessions = ["session_time", "active_time", "idle_in_transaction_time", "sessions", "sessions_abandoned",
                        "sessions_fatal", "sessions_killed"]
        #expect(!names(database, pg13).contains("pg_stat_database_sessions_total"))
        #expect(names(database, pg13 + sessions).count == names(database, pg13).count + 7)
        let pg18 = pg13 + sessions + ["parallel_workers_to_launch", "parallel_workers_launched"]
        #expect(names(database, pg18) == names(database, pg13 + sessions))
    }
}
