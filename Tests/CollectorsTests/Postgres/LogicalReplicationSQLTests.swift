@testable import Collectors
import Exposition
import PostgresClient
import Testing

/// The logical-replication queries without a server: what each PostgreSQL version is asked,
/// that no version asks for a connection string, and what a subscription without a worker gives.
@Suite struct LogicalReplicationSQLTests {
    private func sql(_ collector: Collector, producing metric: String, version: Int) -> String? {
        collector.query(producing: metric)?.sql(forVersion: version)
    }

    @Test func workerTypesComeFromEachVersionsColumns() {
        for metric in ["pg_stat_subscription_worker_up", "pg_stat_subscription_workers"] {
            let pg15 = sql(subscriptionCollector, producing: metric, version: 150_000) ?? ""
            #expect(pg15.contains("w.relid IS NULL") && !pg15.contains("leader_pid") && !pg15.contains("worker_type ="))
            #expect(sql(subscriptionCollector, producing: metric, version: 160_000)?.contains("w.leader_pid IS NOT NULL") == true)
            let pg17 = sql(subscriptionCollector, producing: metric, version: 170_000) ?? ""
            #expect(pg17.contains("w.worker_type") && !pg17.contains("leader_pid"))
        }
    }

    @Test func statisticsViewsAreAskedForOnlyWhereTheyExist() {
        #expect(sql(subscriptionCollector, producing: "pg_stat_subscription_apply_errors_total", version: 140_000) == nil)
        #expect(sql(subscriptionCollector, producing: "pg_stat_subscription_apply_errors_total", version: 150_000) != nil)
        #expect(sql(subscriptionCollector, producing: "pg_stat_subscription_conflicts_total", version: 170_000) == nil)
        #expect(sql(subscriptionCollector, producing: "pg_stat_subscription_conflicts_total", version: 180_000) != nil)
        #expect(sql(replicationSlotsCollector, producing: "pg_stat_replication_slots_spill_bytes_total", version: 130_000) == nil)
        #expect(sql(replicationSlotsCollector, producing: "pg_stat_replication_slots_spill_bytes_total", version: 140_000) != nil)
    }

    /// `subconninfo` holds the publisher's password, and non-superusers may not read it: no
    /// query names it or takes every column of pg_subscription.
    @Test func noVersionAsksForTheConnectionString() {
        let statements = [130_000, 150_000, 160_000, 170_000, 180_000].flatMap { version in
            subscriptionCollector.queries.compactMap { $0.sql(forVersion: version) }
        }
        #expect(statements.count == 2 + 3 + 3 + 3 + 4)  // 13: no statistics view; 18: conflicts too
        for statement in statements {
            #expect(!statement.contains("subconninfo"))
            #expect(!statement.contains("s.*"))
            #expect(!statement.contains("SELECT *"))
        }
    }

    @Test func aSubscriptionWithoutAWorkerIsDownWithoutPositions() throws {
        let query = try #require(subscriptionCollector.query(producing: "pg_stat_subscription_worker_up"))
        let columns = ["datname", "subname", "subenabled", "worker_up", "received_lsn", "latest_end_lsn", "received_lag",
                       "last_msg_receipt_age", "latest_end_age"]
        let families = try query.families(from: QueryResult(columns: columns, rows: [["appdb", "orders", "t", "0", nil, nil, nil, nil, nil]]))
        let samples = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0.samples) })
        #expect(samples.count == 7)
        #expect(samples["pg_stat_subscription_enabled"]?.map(\.value) == [1])
        #expect(samples["pg_stat_subscription_worker_up"]?.map(\.value) == [0])
        for name in ["pg_stat_subscription_received_lsn_bytes", "pg_stat_subscription_received_lag_bytes", "pg_stat_subscription_last_msg_receipt_age_seconds"] {
            #expect(samples[name]?.isEmpty == true, "\(name)")
        }
    }
}
