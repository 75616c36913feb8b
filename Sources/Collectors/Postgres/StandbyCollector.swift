import Exposition
import PostgresClient

/// The standby's replication lag in seconds, as an SQL expression needing a `receiver` CTE
/// (`SELECT status, last_msg_receipt_time FROM pg_stat_wal_receiver`); see ``standbyCollector``.
///
/// `pg_last_xact_replay_timestamp()` is NULL until the standby has replayed a commit since it
/// started; the standby's start time stands in for it then. That is a lower bound of the true
/// lag (the last commit in the data it started from is older still) that keeps growing, where
/// NULL would have read as a lag of 0 on a restarted standby whose replay is stuck. Replay
/// counts as behind only when the receive position is past it: a restarted standby's receiver
/// reports the start of the WAL segment it resumes in, behind the replay position, until new
/// WAL arrives.
public let standbyLagSecondsSQL = """
    CASE WHEN NOT pg_is_in_recovery() THEN 0
         WHEN (SELECT status FROM receiver) = 'streaming'
              AND (pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()
                   OR (pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0') % current_setting('wal_block_size')::numeric = 0
                       AND pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                           < current_setting('wal_block_size')::numeric)) THEN 0
         WHEN pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() THEN
             greatest(0, extract(epoch FROM clock_timestamp()
                  - coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time())))
         ELSE greatest(0, extract(epoch FROM clock_timestamp() - greatest(
                  coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time()),
                  (SELECT last_msg_receipt_time FROM receiver))))
    END
    """

/// A standby's own view: how far it has received and replayed, whether replay is paused, and
/// whether its WAL receiver is streaming.
///
/// `pg_replication_lag_seconds` keeps postgres_exporter's name with a value that is right in
/// both cases that one gets wrong. It is 0 while the WAL receiver streams and replay has
/// caught up with what was received, so it stays 0 on an idle primary (also when what is left
/// is the start of a record the primary has flushed only up to a page boundary: the standby
/// has received up to that boundary and cannot replay the record before the rest comes). While replay is behind
/// what was received (slow or paused replay) it is the time since the last replayed
/// transaction committed (or since the standby started, if it has replayed none). When the receiver is not streaming (the stream broke, the primary is
/// gone) it is the time since the later of the last replayed transaction and the last message
/// from the primary, so it grows from the moment the stream broke.
public let standbyCollector = Collector(
    name: "standby",
    targetKind: .postgres,
    summary: "On a standby: received and replayed WAL, replication lag in bytes and seconds, replay paused, WAL receiver status.",
    queries: [
        MetricQuery(
            sql: """
                WITH receiver AS (SELECT status, last_msg_receipt_time FROM pg_stat_wal_receiver)
                SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0') AS receive_lsn,
                       pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0') AS replay_lsn,
                       CASE WHEN pg_is_in_recovery()
                            THEN greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())) END AS replay_lag_bytes,
                       \(standbyLagSecondsSQL) AS lag_seconds,
                       CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS replay_paused,
                       CASE WHEN pg_is_in_recovery() THEN coalesce((SELECT status FROM receiver), 'stopped') END AS status,
                       extract(epoch FROM clock_timestamp() - (SELECT last_msg_receipt_time FROM receiver)) AS last_msg_age
                """,
            metrics: [
                ColumnMetric(
                    "pg_replication_lag_seconds", .gauge, column: "lag_seconds",
                    help: "Standby lag in seconds: 0 while streaming with replay caught up; while replay is behind, seconds since the last replayed commit (or since the standby started, if none was replayed since); while not streaming, seconds since the later of that and the last message from the primary. 0 on a primary."),
                ColumnMetric(
                    "pg_replication_receive_lsn_bytes", .gauge, column: "receive_lsn",
                    help: "Last WAL position received and flushed by the standby, in bytes (pg_last_wal_receive_lsn())."),
                ColumnMetric(
                    "pg_replication_replay_lsn_bytes", .gauge, column: "replay_lsn",
                    help: "Last WAL position replayed by the standby, in bytes (pg_last_wal_replay_lsn())."),
                ColumnMetric(
                    "pg_replication_replay_lag_bytes", .gauge, column: "replay_lag_bytes",
                    help: "Bytes received by the standby but not yet replayed."),
                ColumnMetric(
                    "pg_replication_replay_paused", .gauge, column: "replay_paused",
                    help: "1 if WAL replay on the standby is paused (pg_is_wal_replay_paused())."),
                .oneHot(
                    "pg_stat_wal_receiver_status", column: "status",
                    values: ["starting", "streaming", "waiting", "restarting", "stopping", "stopped"],
                    help: "The standby's WAL receiver status: 1 for the current one (stopped when no receiver runs), 0 for the others."),
                ColumnMetric(
                    "pg_stat_wal_receiver_last_msg_receipt_age_seconds", .gauge, column: "last_msg_age",
                    help: "Seconds since the standby's WAL receiver last heard from the primary (absent when no receiver runs)."),
            ]),
    ])
