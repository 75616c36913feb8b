import Exposition
import PostgresClient

/// The states `pg_stat_replication.state` takes.
let walSenderStates = ["startup", "catchup", "streaming", "backup", "stopping"]

/// The primary's view of each standby (`pg_stat_replication`), and how many are connected.
///
/// Byte lags are measured from the server's current WAL position (on a cascading standby, its
/// last received position). Time lags are PostgreSQL's own `write_lag`/`flush_lag`/`replay_lag`,
/// which it resets to NULL once a standby has caught up and the primary is idle: a streaming
/// standby with NULL lag is reported as 0 s, not as missing.
public let replicationCollector = Collector(
    name: "replication",
    targetKind: .postgres,
    summary: "Each connected standby as the primary sees it (pg_stat_replication): state, sync state, lag in bytes and seconds.",
    queries: [
        MetricQuery(
            sql: """
                WITH position AS (
                    SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn)
                SELECT r.pid::text AS pid, r.application_name, coalesce(host(r.client_addr), '') AS client_addr,
                       coalesce(s.slot_name, '') AS slot_name, r.state, r.sync_state,
                       pg_wal_lsn_diff(p.lsn, '0/0') AS current_lsn,
                       pg_wal_lsn_diff(p.lsn, r.sent_lsn) AS sent_lag,
                       pg_wal_lsn_diff(p.lsn, r.write_lsn) AS write_lag_bytes,
                       pg_wal_lsn_diff(p.lsn, r.flush_lsn) AS flush_lag_bytes,
                       pg_wal_lsn_diff(p.lsn, r.replay_lsn) AS replay_lag_bytes,
                       CASE WHEN r.state = 'streaming' THEN coalesce(extract(epoch FROM r.write_lag), 0)
                            ELSE extract(epoch FROM r.write_lag) END AS write_lag_seconds,
                       CASE WHEN r.state = 'streaming' THEN coalesce(extract(epoch FROM r.flush_lag), 0)
                            ELSE extract(epoch FROM r.flush_lag) END AS flush_lag_seconds,
                       CASE WHEN r.state = 'streaming' THEN coalesce(extract(epoch FROM r.replay_lag), 0)
                            ELSE extract(epoch FROM r.replay_lag) END AS replay_lag_seconds,
                       extract(epoch FROM clock_timestamp() - r.reply_time) AS reply_age
                FROM pg_stat_replication r
                CROSS JOIN position p
                LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
                ORDER BY r.application_name, r.pid
                """,
            labels: ["application_name", "client_addr", "slot_name", "pid"],
            metrics: [
                ColumnMetric(
                    "pg_stat_replication_pg_current_wal_lsn_bytes", .gauge, column: "current_lsn", labels: ["state"],
                    help: "The server's current WAL position in bytes, repeated per standby (as postgres_exporter has it)."),
                ColumnMetric(
                    "pg_stat_replication_pg_wal_lsn_diff", .gauge, column: "replay_lag_bytes", labels: ["state"],
                    help: "Bytes of WAL the standby has yet to replay (current position minus replay_lsn), as postgres_exporter has it."),
                .oneHot(
                    "pg_stat_replication_state", column: "state", values: walSenderStates,
                    help: "The standby's WAL sender state: 1 for the current state, 0 for the others."),
                .oneHot(
                    "pg_stat_replication_sync_state", column: "sync_state", values: ["async", "potential", "sync", "quorum"],
                    help: "The standby's synchronous state: 1 for the current one, 0 for the others."),
                ColumnMetric(
                    "pg_stat_replication_sent_lag_bytes", .gauge, column: "sent_lag",
                    help: "Bytes of WAL not yet sent to the standby."),
                ColumnMetric(
                    "pg_stat_replication_write_lag_bytes", .gauge, column: "write_lag_bytes",
                    help: "Bytes of WAL the standby has not yet written to disk."),
                ColumnMetric(
                    "pg_stat_replication_flush_lag_bytes", .gauge, column: "flush_lag_bytes",
                    help: "Bytes of WAL the standby has not yet flushed to durable storage."),
                ColumnMetric(
                    "pg_stat_replication_replay_lag_bytes", .gauge, column: "replay_lag_bytes",
                    help: "Bytes of WAL the standby has not yet replayed."),
                ColumnMetric(
                    "pg_stat_replication_write_lag_seconds", .gauge, column: "write_lag_seconds",
                    help: "PostgreSQL's write_lag: time until recent WAL was written on the standby (0 when caught up and idle)."),
                ColumnMetric(
                    "pg_stat_replication_flush_lag_seconds", .gauge, column: "flush_lag_seconds",
                    help: "PostgreSQL's flush_lag: time until recent WAL was flushed on the standby (0 when caught up and idle)."),
                ColumnMetric(
                    "pg_stat_replication_replay_lag_seconds", .gauge, column: "replay_lag_seconds",
                    help: "PostgreSQL's replay_lag: time until recent WAL was replayed on the standby (0 when caught up and idle)."),
                ColumnMetric(
                    "pg_stat_replication_reply_age_seconds", .gauge, column: "reply_age",
                    help: "Seconds since the standby last sent a status reply."),
            ]),
        MetricQuery(
            sql: """
                SELECT s.state, count(r.pid) AS standbys
                FROM unnest(ARRAY['\(walSenderStates.joined(separator: "', '"))']) AS s(state)
                LEFT JOIN pg_stat_replication r ON r.state = s.state
                GROUP BY s.state ORDER BY s.state
                """,
            labels: ["state"],
            metrics: [
                ColumnMetric(
                    "pg_stat_replication_standbys", .gauge, column: "standbys",
                    help: "Standbys connected in each WAL sender state (0 included, so a standby that is gone shows as a drop)."),
            ]),
    ])
