#!/usr/bin/env python3
"""scripts/gen-dashboards.py — write dashboards/*.json (Grafana classic JSON) from the
compact descriptions below, with Grafana's typed builders (grafana-foundation-sdk, pinned
in scripts/requirements.txt). Commit the generator and its output together;
scripts/check-monitoring fails when the JSON is not what this script writes.

Usage: scripts/gen-dashboards.py [--check]
  --check   write nothing; exit 1 if a dashboard file differs from the generated one

Every dashboard: an `__inputs` entry DS_PROMETHEUS and a `datasource` template variable
(panels use {"type": "prometheus", "uid": "${datasource}"}, no fixed uid), a stable uid,
variables job / instance / target (and datname or pgbouncer) from our own metrics, links to
the other pgstack dashboards (tag "pgstack"), and for every panel a title, a unit and a
description of what to look for. Only metric names from docs/metrics.md are used.
"""
import json
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "dashboards"

# The output holds the SDK's defaults, so another SDK version would write other JSON.
SDK = next(l for l in (ROOT / "scripts/requirements.txt").read_text().splitlines() if l.startswith("grafana-foundation-sdk=="))
try:
    installed = metadata.version("grafana-foundation-sdk")
    if f"grafana-foundation-sdk=={installed}" != SDK:
        raise ImportError(f"{installed} is installed")
    from grafana_foundation_sdk.builders import common as cb, dashboard as db, gauge, prometheus, stat, table, timeseries
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import common as cm, dashboard as dm
except ImportError as e:  # metadata.PackageNotFoundError is one too
    sys.exit(f"gen-dashboards: needs {SDK} ({e}): python3 -m pip install -r scripts/requirements.txt")

# Label selectors; Grafana substitutes the variables ("All" is the regex .*).
PG = 'job=~"$job", instance=~"$instance", target=~"$target"'
DB = PG + ', datname=~"$datname"'
PB = 'job=~"$job", instance=~"$instance", target=~"$pgbouncer"'
RI = "$__rate_interval"
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
KINDS = {"timeseries": timeseries.Panel, "stat": stat.Panel, "gauge": gauge.Panel, "table": table.Panel}


def panel(title, unit, description, *targets, kind="timeseries", w=12, h=8, states=(), stack=False):
    """One panel: targets are (expr, legendFormat) pairs, states the (text, color) shown for 0 and 1.
    Percent stats and gauges get the 85% / 95% thresholds of the alerts; tables show instant values."""
    mappings = [dm.ValueMap(options={str(i): dm.ValueMappingResult(text=t, color=c) for i, (t, c) in enumerate(states)})]
    p = (KINDS[kind]().title(title).description(description).datasource(DATASOURCE).span(w).height(h).unit(unit)
         .mappings(mappings if states else []))
    for i, (expr, legend) in enumerate(targets):
        q = prometheus.Dataquery().datasource(DATASOURCE).expr(expr).legend_format(legend).ref_id(chr(ord("A") + i))
        p.with_target(q.instant() if kind == "table" else q.range())
    if kind == "timeseries":
        p.draw_style(cm.GraphDrawStyle.LINE).line_width(1).fill_opacity(10).show_points(cm.VisibilityMode.NEVER)
        p.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL if stack else cm.StackingMode.NONE).group("A"))
        p.legend(cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.TABLE).placement(cm.LegendPlacement.BOTTOM)
                 .calcs(["lastNotNull", "max"]).show_legend(True))
        p.tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
    elif kind in ("stat", "gauge"):
        steps = [dm.Threshold(color="green", value=None)]
        if unit == "percentunit":
            p.min(0).max(1)
            steps += [dm.Threshold(color="orange", value=0.85), dm.Threshold(color="red", value=0.95)]
        p.color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        p.thresholds(db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(steps))
        p.reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False))
        if kind == "stat":
            p.color_mode(cm.BigValueColorMode.BACKGROUND).text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
    else:
        p.show_header(True).with_transformation(dm.DataTransformerConfig(id_val="labelsToFields", options={"mode": "columns"}))
    return p


row = db.Row
ROLE = [("primary", "blue"), ("replica", "purple")]
UP = [("DOWN", "red"), ("up", "green")]

# ---------------------------------------------------------------------------- dashboards
OVERVIEW = [
    row("Targets"),
    panel("PostgreSQL targets up", "none",
          "1 when the target answered the exporter's last scrape (pg_up). Anything DOWN pages (PostgresDown).",
          (f"pg_up{{{PG}}}", "{{target}}"), kind="stat", w=6, states=UP),
    panel("PgBouncer targets up", "none",
          "1 when the PgBouncer admin console answered the last scrape (pgbouncer_up). DOWN pages (PgBouncerDown).",
          (f"pgbouncer_up{{{PB}}}", "{{target}}"), kind="stat", w=6, states=UP),
    panel("Role", "none",
          "primary or replica (pg_is_in_recovery()). A change you did not plan means a failover happened.",
          (f"pg_replication_is_replica{{{PG}}}", "{{target}}"), kind="stat", w=6, states=ROLE),
    panel("Connections used", "percentunit",
          "Client backends over the connections open to ordinary roles. Above 85% warns, above 95% pages; at 100% logins are refused.",
          (f"pg_connections_used_ratio{{{PG}}}", "{{target}}"), kind="gauge", w=6),
    row("Load"),
    panel("Transactions per second", "ops",
          "Commits and rollbacks per second over the selected databases. Sudden drops with steady connections suggest locking or an outage upstream.",
          (f"sum by (target) (rate(pg_stat_database_xact_commit{{{DB}}}[{RI}]))", "{{target}} commit"),
          (f"sum by (target) (rate(pg_stat_database_xact_rollback{{{DB}}}[{RI}]))", "{{target}} rollback")),
    panel("Connections against the limit", "short",
          "Client sessions (all states) against max_connections. The gap is the headroom left for new logins.",
          (f"sum by (target) (pg_stat_activity_count{{{DB}}})", "{{target}} sessions"),
          (f"pg_settings_max_connections{{{PG}}}", "{{target}} max_connections")),
    panel("Cache hit ratio", "percentunit",
          "Share of block reads served from shared buffers. Well below 99% on an OLTP database means the working set no longer fits in memory.",
          (f"sum by (target) (rate(pg_stat_database_blks_hit{{{DB}}}[{RI}])) / "
           f"(sum by (target) (rate(pg_stat_database_blks_hit{{{DB}}}[{RI}])) + "
           f"sum by (target) (rate(pg_stat_database_blks_read{{{DB}}}[{RI}])))", "{{target}}")),
    panel("Worst replication lag", "s",
          "The most a standby is behind in seconds (standby side). 30 s warns, 5 minutes pages (PostgresReplicationLagHigh).",
          (f"max by (target) (pg_replication_lag_seconds{{{PG}}} and on (instance, target) pg_replication_is_replica == 1)",
           "{{target}}")),
    panel("Worst replay lag in bytes", "bytes",
          "WAL the most-behind standby of each primary has not yet replayed. 64 MiB warns, 1 GiB pages (PostgresReplicationLagBytesHigh).",
          (f"max by (target) (pg_stat_replication_replay_lag_bytes{{{PG}}})", "{{target}}")),
    panel("Archiving health", "short",
          "Failed archive attempts in the last hour and segments waiting to be archived. Failures or a growing backlog mean PITR has a gap and pg_wal grows.",
          (f"increase(pg_stat_archiver_failed_count{{{PG}}}[1h])", "{{target}} failed (1h)"),
          (f"pg_stat_archiver_pending_segments{{{PG}}}", "{{target}} pending segments")),
    panel("PgBouncer clients waiting", "short",
          "Clients queued for a server connection, per PgBouncer. Any sustained value means a pool is too small or queries hold connections too long.",
          (f"sum by (target) (pgbouncer_pools_client_waiting_connections{{{PB}}})", "{{target}}")),
]

REPLICATION = [
    row("Primary: standbys"),
    panel("Standbys by state", "short",
          "Standbys connected to each primary per WAL sender state. A drop in streaming is a standby gone (PostgresStandbyGone).",
          (f"pg_stat_replication_standbys{{{PG}}} > 0", "{{target}} {{state}}")),
    panel("Standby sender state", "none",
          "Each standby's current WAL sender state (streaming, catchup, backup, …) as the primary sees it; anything but streaming for long is a problem.",
          (f"max without (pid) (pg_stat_replication_state{{{PG}}}) == 1", "{{application_name}} {{client_addr}}: {{state}}"),
          kind="table"),
    panel("Lag in bytes per standby", "bytes",
          "WAL not yet sent, written, flushed and replayed by each standby. Where the gap opens says whether network, disk or replay is the bottleneck.",
          (f"max without (pid) (pg_stat_replication_sent_lag_bytes{{{PG}}})", "{{application_name}} sent"),
          (f"max without (pid) (pg_stat_replication_write_lag_bytes{{{PG}}})", "{{application_name}} write"),
          (f"max without (pid) (pg_stat_replication_flush_lag_bytes{{{PG}}})", "{{application_name}} flush"),
          (f"max without (pid) (pg_stat_replication_replay_lag_bytes{{{PG}}})", "{{application_name}} replay")),
    panel("Lag in seconds per standby", "s",
          "PostgreSQL's write_lag, flush_lag and replay_lag for each standby (0 when caught up and idle). Replay lag far above flush lag means replay is slow or paused.",
          (f"max without (pid) (pg_stat_replication_write_lag_seconds{{{PG}}})", "{{application_name}} write"),
          (f"max without (pid) (pg_stat_replication_flush_lag_seconds{{{PG}}})", "{{application_name}} flush"),
          (f"max without (pid) (pg_stat_replication_replay_lag_seconds{{{PG}}})", "{{application_name}} replay")),
    panel("Last reply from standby", "s",
          "Seconds since each standby last sent a status reply. Growing past wal_sender_timeout means the standby is hung or the network dropped.",
          (f"max without (pid) (pg_stat_replication_reply_age_seconds{{{PG}}})", "{{application_name}}")),
    row("Primary: replication slots"),
    panel("Slot active", "none",
          "1 while a process uses the slot. An inactive slot retains WAL forever (PostgresReplicationSlotInactive).",
          (f"pg_replication_slots_active{{{PG}}}", "{{target}} {{slot_name}}"), states=[("inactive", "red"), ("active", "green")]),
    panel("WAL retained by slot", "bytes",
          "WAL each slot holds back from removal. Steady growth means its consumer is behind or gone; over 10 GiB warns.",
          (f"pg_replication_slots_pg_wal_lsn_diff{{{PG}}}", "{{target}} {{slot_name}}")),
    panel("Slot wal_status", "none",
          "reserved and extended are fine; unreserved means WAL is about to be removed; lost means the consumer must be rebuilt (pages).",
          (f"pg_replication_slots_wal_status{{{PG}}} == 1", "{{target}} {{slot_name}}: {{wal_status}}"), kind="table"),
    row("Standby side"),
    panel("WAL receiver status", "none",
          "The standby's WAL receiver state. Anything but streaming for 2 minutes pages (PostgresReplicaNotStreaming).",
          (f"pg_stat_wal_receiver_status{{{PG}}} == 1", "{{target}}: {{status}}"), kind="table"),
    panel("Standby lag", "s",
          "Standby lag in seconds: 0 when streaming and caught up, growing when replay is behind or the stream broke.",
          (f"pg_replication_lag_seconds{{{PG}}} and on (instance, target) pg_replication_is_replica == 1", "{{target}}")),
    panel("Received but not replayed", "bytes",
          "WAL the standby has received and not yet replayed. Growing while receiving is fine means replay is slow or paused.",
          (f"pg_replication_replay_lag_bytes{{{PG}}} and on (instance, target) pg_replication_is_replica == 1", "{{target}}")),
    panel("Replay paused and last message age", "s",
          "Seconds since the WAL receiver last heard from the primary; a paused replay (pg_wal_replay_pause) is shown as its own series at 1.",
          (f"pg_stat_wal_receiver_last_msg_receipt_age_seconds{{{PG}}}", "{{target}} last message"),
          (f"pg_replication_replay_paused{{{PG}}} and on (instance, target) pg_replication_is_replica == 1", "{{target}} paused")),
    row("Logical replication"),
    panel("Subscription apply worker", "none",
          "1 while the subscription's apply worker runs; an enabled subscription without one for 5 minutes pages (PostgresSubscriptionDown). Disabled subscriptions show 0 on purpose.",
          (f"pg_stat_subscription_worker_up{{{PG}}}", "{{target}} {{subname}}"), states=[("stopped", "red"), ("running", "green")]),
    panel("Logical slot lag (publisher)", "bytes",
          "WAL between the publisher's current position and what each logical slot's subscriber has confirmed. It grows while a subscription is down or slow; over 1 GiB for 10 minutes warns (PostgresLogicalSlotLagging).",
          (f"pg_replication_slots_confirmed_flush_lag_bytes{{{PG}}}", "{{target}} {{slot_name}}")),
    panel("Subscription last message age", "s",
          "Seconds since each apply worker heard from its publisher (keepalives included), and since the publisher last reported its WAL end. Over 5 minutes with a running worker warns (PostgresSubscriptionLagging).",
          (f"pg_stat_subscription_last_msg_receipt_age_seconds{{{PG}}}", "{{target}} {{subname}} last message"),
          (f"pg_stat_subscription_latest_end_age_seconds{{{PG}}}", "{{target}} {{subname}} latest end")),
    panel("Subscription workers by type", "short",
          "Running workers per subscription: apply, parallel apply (16+), and table synchronization while tables are being copied.",
          (f"sum by (target, subname, worker_type) (pg_stat_subscription_workers{{{PG}}})", "{{target}} {{subname}} {{worker_type}}"),
          stack=True),
    panel("Apply and sync errors", "short",
          "Errors in the interval while applying changes and while copying tables (PostgreSQL 15+). Each error restarts the worker; a steady rate is a conflict to resolve (see PostgresSubscriptionDown).",
          (f"increase(pg_stat_subscription_apply_errors_total{{{PG}}}[{RI}])", "{{target}} {{subname}} apply"),
          (f"increase(pg_stat_subscription_sync_errors_total{{{PG}}}[{RI}])", "{{target}} {{subname}} sync")),
    panel("Logical decoding: spilled and streamed", "Bps",
          "Bytes per second each logical slot spilled to disk or streamed while decoding large transactions (PostgreSQL 14+), against all decoded bytes. Steady spilling suggests raising logical_decoding_work_mem or streaming = on.",
          (f"rate(pg_stat_replication_slots_spill_bytes_total{{{PG}}}[{RI}])", "{{target}} {{slot_name}} spilled"),
          (f"rate(pg_stat_replication_slots_stream_bytes_total{{{PG}}}[{RI}])", "{{target}} {{slot_name}} streamed"),
          (f"rate(pg_stat_replication_slots_decoded_bytes_total{{{PG}}}[{RI}])", "{{target}} {{slot_name}} decoded")),
]

CONNECTIONS = [
    row("PostgreSQL sessions"),
    panel("Sessions by state", "short",
          "Client sessions per database and state. Many idle: application pools too big; many idle in transaction: application bugs; many active: slow queries or locks.",
          (f"sum by (target, datname, state) (pg_stat_activity_count{{{DB}}})", "{{target}} {{datname}} {{state}}"), stack=True),
    panel("Connections used", "percentunit",
          "Client backends over the connections ordinary roles may open (max_connections less reserved slots). 85% warns, 95% pages.",
          (f"pg_connections_used_ratio{{{PG}}}", "{{target}}")),
    panel("Oldest transaction and query", "s",
          "Age of the oldest open transaction and of the longest-running query per database. Long transactions hold back vacuum (30 minutes warns).",
          (f"pg_stat_activity_oldest_xact_age_seconds{{{DB}}}", "{{target}} {{datname}} transaction"),
          (f"pg_stat_activity_oldest_query_age_seconds{{{DB}}}", "{{target}} {{datname}} query")),
    panel("Idle in transaction", "s",
          "Longest time a session has sat idle inside a transaction, per database. Over 10 minutes warns: it blocks vacuum and keeps its locks.",
          (f"pg_stat_activity_idle_in_transaction_max_age_seconds{{{DB}}}", "{{target}} {{datname}}")),
    panel("Sessions waiting on a lock", "short",
          "Client sessions waiting for a lock, per database. Sustained waits mean a blocker: look for long transactions.",
          (f"pg_stat_activity_waiting_on_lock{{{DB}}}", "{{target}} {{datname}}")),
    panel("Locks by mode", "short",
          "Locks held or awaited per mode; the waiting ones are what hurts. Many AccessExclusiveLock waits point at DDL on busy tables.",
          (f"sum by (target, mode) (pg_locks_count{{{DB}}})", "{{target}} {{mode}}"),
          (f"sum by (target) (pg_locks_waiting{{{DB}}})", "{{target}} waiting")),
    panel("Backends by type", "short",
          "Server processes per backend type: client backends, WAL senders, autovacuum workers, background workers.",
          (f"pg_stat_activity_backends{{{PG}}}", "{{target}} {{backend_type}}")),
    panel("Deadlocks and conflicts", "short",
          "Deadlocks and recovery conflicts (standbys) per database in the interval. Deadlocks abort transactions: more than 5 in 10 minutes warns.",
          (f"sum by (target, datname) (increase(pg_stat_database_deadlocks{{{DB}}}[{RI}]))", "{{target}} {{datname}} deadlocks"),
          (f"sum by (target, datname) (increase(pg_stat_database_conflicts{{{DB}}}[{RI}]))", "{{target}} {{datname}} conflicts")),
    row("PgBouncer pools"),
    panel("Clients active and waiting", "short",
          "Client connections per pooler database: active (linked or idle, in transaction mode idle ones too) and waiting for a server. Waiting should be 0 nearly always.",
          (f"sum by (target, database) (pgbouncer_pools_client_active_connections{{{PB}}})", "{{target}} {{database}} active"),
          (f"sum by (target, database) (pgbouncer_pools_client_waiting_connections{{{PB}}})", "{{target}} {{database}} waiting")),
    panel("Longest client wait", "s",
          "Age of the oldest client waiting for a server connection (maxwait with microseconds). Over 1 s warns, over 10 s pages.",
          (f"max by (target, database) (pgbouncer_pools_client_maxwait_seconds{{{PB}}})", "{{target}} {{database}}")),
    panel("Server connections against pool size", "short",
          "Server connections in use (active) and open (all states) per pooler database against its pool_size. Active at pool_size with clients waiting is saturation.",
          (f"sum by (target, database) (pgbouncer_pools_server_active_connections{{{PB}}})", "{{target}} {{database}} active"),
          (f"sum by (target, database) (pgbouncer_pools_server_active_connections{{{PB}}} + pgbouncer_pools_server_idle_connections{{{PB}}}"
           f" + pgbouncer_pools_server_used_connections{{{PB}}} + pgbouncer_pools_server_testing_connections{{{PB}}}"
           f" + pgbouncer_pools_server_login_connections{{{PB}}})", "{{target}} {{database}} open"),
          (f"max by (target, database) (label_replace(pgbouncer_databases_pool_size{{{PB}}}, \"database\", \"$1\", \"name\", \"(.*)\"))"
           f" and on (target, database) pgbouncer_pools_server_active_connections{{{PB}}}", "{{target}} {{database}} pool_size")),
    panel("Client connections against max_client_conn", "short",
          "Client connections open on each PgBouncer against max_client_conn; past the limit new clients are refused (85% warns, 95% pages).",
          (f"pgbouncer_used_clients{{{PB}}}", "{{target}} clients"),
          (f"pgbouncer_config_max_client_connections{{{PB}}}", "{{target}} max_client_conn")),
    panel("Throughput through the pooler", "ops",
          "Transactions and queries per second that PgBouncer ran on server connections, per database.",
          (f"sum by (target, database) (rate(pgbouncer_stats_totals_sql_transactions_pooled_total{{{PB}}}[{RI}]))", "{{target}} {{database}} transactions"),
          (f"sum by (target, database) (rate(pgbouncer_stats_totals_queries_pooled_total{{{PB}}}[{RI}]))", "{{target}} {{database}} queries")),
    panel("Average query and wait time through the pooler", "s",
          "Server time per query, and client wait per transaction, per database. Wait rising with query time flat means the pool is too small.",
          (f"sum by (target, database) (rate(pgbouncer_stats_totals_queries_duration_seconds_total{{{PB}}}[{RI}]))"
           f" / sum by (target, database) (rate(pgbouncer_stats_totals_queries_pooled_total{{{PB}}}[{RI}]) > 0)", "{{target}} {{database}} query"),
          (f"sum by (target, database) (rate(pgbouncer_stats_totals_client_wait_seconds_total{{{PB}}}[{RI}]))"
           f" / sum by (target, database) (rate(pgbouncer_stats_totals_sql_transactions_pooled_total{{{PB}}}[{RI}]) > 0)", "{{target}} {{database}} wait")),
]

QUERIES = [
    row("pg_stat_statements per database"),
    panel("Calls per second", "ops",
          "Statement executions per second per database (pg_stat_statements totals). Compare with latency: load up and latency up means saturation.",
          (f"sum by (target, datname) (rate(pg_stat_statements_database_calls_total{{{DB}}}[{RI}]))", "{{target}} {{datname}}")),
    panel("Mean latency", "s",
          "Execution time per call per database. Over 500 ms for 10 minutes warns (PostgresSlowQueries).",
          (f"sum by (target, datname) (rate(pg_stat_statements_database_exec_seconds_total{{{DB}}}[{RI}]))"
           f" / sum by (target, datname) (rate(pg_stat_statements_database_calls_total{{{DB}}}[{RI}]) > 0)", "{{target}} {{datname}}")),
    panel("Execution time per second", "s",
          "Seconds spent executing (and planning, with track_planning) statements per second: the database's busy time. Above the core count means queueing.",
          (f"sum by (target, datname) (rate(pg_stat_statements_database_exec_seconds_total{{{DB}}}[{RI}]))", "{{target}} {{datname}} exec"),
          (f"sum by (target, datname) (rate(pg_stat_statements_database_plan_seconds_total{{{DB}}}[{RI}]))", "{{target}} {{datname}} plan")),
    panel("Rows per second", "short",
          "Rows returned or affected per second. A jump with flat calls means statements touch more rows: a missing LIMIT or a plan change.",
          (f"sum by (target, datname) (rate(pg_stat_statements_database_rows_total{{{DB}}}[{RI}]))", "{{target}} {{datname}}")),
    panel("Slow statements", "short",
          "Statements whose mean time is above statements_slow_threshold (default 100 ms). 5 more than 30 minutes ago warns.",
          (f"sum by (target, datname) (pg_stat_statements_slow_statements{{{DB}}})", "{{target}} {{datname}}")),
    panel("Blocks read, hit and spilled", "short",
          "Shared blocks read from disk, found in cache, and temporary blocks written (sorts and hashes spilling to disk) per second. Temp writes suggest raising work_mem.",
          (f"sum by (target, datname) (rate(pg_stat_statements_database_shared_blocks_read_total{{{DB}}}[{RI}]))", "{{target}} {{datname}} read"),
          (f"sum by (target, datname) (rate(pg_stat_statements_database_shared_blocks_hit_total{{{DB}}}[{RI}]))", "{{target}} {{datname}} hit"),
          (f"sum by (target, datname) (rate(pg_stat_statements_database_temp_blocks_written_total{{{DB}}}[{RI}]))", "{{target}} {{datname}} temp written")),
    row("Top statements"),
    panel("Top 10 statements by time", "s",
          "Statements that spend the most execution time per second; find the text with SELECT query FROM pg_stat_statements WHERE queryid = … and EXPLAIN it.",
          (f"topk(10, sum by (target, datname, queryid) (rate(pg_stat_statements_seconds_total{{{DB}}}[{RI}])))", "{{target}} {{datname}} {{queryid}}"),
          w=24),
    panel("Top 10 statements by mean time", "s",
          "Statements (among the exporter's top N by total time) with the highest mean execution time.",
          (f"topk(10, max by (target, datname, queryid) (pg_stat_statements_mean_seconds{{{DB}}}))", "{{target}} {{datname}} {{queryid}}"),
          kind="table"),
    panel("Top 10 statements by calls", "ops",
          "The most frequently run statements (among the top N by time). A hot statement with a small mean may still dominate load.",
          (f"topk(10, sum by (target, datname, queryid) (rate(pg_stat_statements_calls_total{{{DB}}}[{RI}])))", "{{target}} {{datname}} {{queryid}}")),
    panel("Statistics evicted", "short",
          "Statements evicted from pg_stat_statements because pg_stat_statements.max was reached. Rising means statistics are being lost: raise the max.",
          (f"increase(pg_stat_statements_deallocations_total{{{PG}}}[1h])", "{{target}}")),
]

WAL = [
    row("WAL"),
    panel("WAL generation rate", "Bps",
          "Bytes of WAL written per second on the primary. Spikes drive replication lag, archive volume and checkpoints.",
          (f"rate(pg_wal_current_lsn_bytes{{{PG}}}[{RI}])", "{{target}}")),
    panel("WAL records and full-page images", "ops",
          "WAL records and full-page images per second (pg_stat_wal). Many FPIs right after each checkpoint: consider longer checkpoint_timeout or wal_compression.",
          (f"rate(pg_stat_wal_records_total{{{PG}}}[{RI}])", "{{target}} records"),
          (f"rate(pg_stat_wal_fpi_total{{{PG}}}[{RI}])", "{{target}} full-page images")),
    panel("WAL directory size", "bytes",
          "Size of pg_wal. Growth beyond max_wal_size points at a stuck archive or an inactive replication slot.",
          (f"pg_wal_size_bytes{{{PG}}}", "{{target}} pg_wal"),
          (f"pg_settings_max_wal_size_bytes{{{PG}}}", "{{target}} max_wal_size")),
    panel("WAL buffers full", "ops",
          "Times per second WAL was written because the WAL buffers were full. Sustained non-zero values suggest raising wal_buffers.",
          (f"rate(pg_stat_wal_buffers_full_total{{{PG}}}[{RI}])", "{{target}}")),
    row("Archiving"),
    panel("Archived and failed", "short",
          "WAL files archived and failed archive attempts per interval. Any failure that does not stop soon warns (PostgresWALArchivingFailing).",
          (f"increase(pg_stat_archiver_archived_count{{{PG}}}[{RI}])", "{{target}} archived"),
          (f"increase(pg_stat_archiver_failed_count{{{PG}}}[{RI}])", "{{target}} failed")),
    panel("Segments waiting to be archived", "short",
          "WAL segments with a .ready file. A growing backlog means archive_command is failing or too slow (PostgresWALArchivingStalled).",
          (f"pg_stat_archiver_pending_segments{{{PG}}}", "{{target}}")),
    panel("Last archive success and failure", "s",
          "Time since the last WAL file was archived and since the last failure. Success age growing while segments wait means archiving stalled.",
          (f"pg_stat_archiver_last_archive_age{{{PG}}}", "{{target}} since last success"),
          (f"pg_stat_archiver_last_failure_age_seconds{{{PG}}}", "{{target}} since last failure")),
    panel("Archive mode", "none",
          "1 if archive_mode is on. Off on a primary that should be backed up means no point-in-time recovery.",
          (f"pg_archive_mode{{{PG}}}", "{{target}}"), kind="stat", states=[("off", "orange"), ("on", "green")]),
    row("Checkpoints"),
    panel("Checkpoints", "short",
          "Scheduled and requested checkpoints per interval (pg_stat_bgwriter before 17, pg_stat_checkpointer from 17). Mostly requested ones mean max_wal_size is too small.",
          (f"increase(pg_stat_bgwriter_checkpoints_timed_total{{{PG}}}[{RI}]) or increase(pg_stat_checkpointer_num_timed_total{{{PG}}}[{RI}])", "{{target}} timed"),
          (f"increase(pg_stat_bgwriter_checkpoints_req_total{{{PG}}}[{RI}]) or increase(pg_stat_checkpointer_num_requested_total{{{PG}}}[{RI}])", "{{target}} requested")),
    panel("Checkpoint write and sync time", "percentunit",
          "Share of wall time checkpoints spend writing and syncing files. Sync time high: storage struggles with the checkpoint's fsyncs.",
          (f"(rate(pg_stat_bgwriter_checkpoint_write_time_total{{{PG}}}[{RI}]) or rate(pg_stat_checkpointer_write_time_total{{{PG}}}[{RI}])) / 1000", "{{target}} write"),
          (f"(rate(pg_stat_bgwriter_checkpoint_sync_time_total{{{PG}}}[{RI}]) or rate(pg_stat_checkpointer_sync_time_total{{{PG}}}[{RI}])) / 1000", "{{target}} sync")),
    panel("Buffers written", "ops",
          "Buffers written per second by checkpoints, the background writer and backends (from 17, the backends' from pg_stat_io). Backends writing their own buffers means the bgwriter cannot keep up.",
          (f"rate(pg_stat_bgwriter_buffers_checkpoint_total{{{PG}}}[{RI}]) or rate(pg_stat_checkpointer_buffers_written_total{{{PG}}}[{RI}])", "{{target}} checkpoint"),
          (f"rate(pg_stat_bgwriter_buffers_clean_total{{{PG}}}[{RI}])", "{{target}} background writer"),
          (f"rate(pg_stat_bgwriter_buffers_backend_total{{{PG}}}[{RI}]) or sum by (job, instance, target) "
           f"(rate(pg_stat_io_writes_total{{{PG}, object=\"relation\", backend_type!~\"checkpointer|background writer\"}}[{RI}]))",
           "{{target}} backends")),
]

IO = 'object=~"relation|temp relation"'
WAL += [
    row("I/O (pg_stat_io, PostgreSQL 16+)"),
    panel("Relation reads, writes and extends by backend type", "ops",
          "I/O operations on tables and indexes per second by the process type doing them (PostgreSQL 16+). Client backends writing or extending much: the background writer and checkpointer fall behind.",
          (f"sum by (target, backend_type) (rate(pg_stat_io_reads_total{{{PG}, {IO}}}[{RI}]))", "{{target}} {{backend_type}} reads"),
          (f"sum by (target, backend_type) (rate(pg_stat_io_writes_total{{{PG}, {IO}}}[{RI}]))", "{{target}} {{backend_type}} writes"),
          (f"sum by (target, backend_type) (rate(pg_stat_io_extends_total{{{PG}, {IO}}}[{RI}]))", "{{target}} {{backend_type}} extends")),
    panel("Bytes read and written", "Bps",
          "Bytes read and written per second per object (PostgreSQL 16+): from 18 the byte counters (with WAL), before that the operations times op_bytes.",
          (f"sum by (target, object) (rate(pg_stat_io_read_bytes_total{{{PG}}}[{RI}])"
           f" or rate(pg_stat_io_reads_total{{{PG}}}[{RI}]) * on (job, instance, target, backend_type, object, context) pg_stat_io_op_bytes{{{PG}}})",
           "{{target}} {{object}} read"),
          (f"sum by (target, object) (rate(pg_stat_io_write_bytes_total{{{PG}}}[{RI}])"
           f" or rate(pg_stat_io_writes_total{{{PG}}}[{RI}]) * on (job, instance, target, backend_type, object, context) pg_stat_io_op_bytes{{{PG}}})",
           "{{target}} {{object}} write")),
    panel("Buffer hits and evictions", "ops",
          "Blocks found in buffers and buffers evicted per second by context (PostgreSQL 16+). Evictions in context normal rising with reads: the working set outgrows shared_buffers.",
          (f"sum by (target, context) (rate(pg_stat_io_hits_total{{{PG}}}[{RI}]))", "{{target}} {{context}} hits"),
          (f"sum by (target, context) (rate(pg_stat_io_evictions_total{{{PG}}}[{RI}]))", "{{target}} {{context}} evictions")),
    panel("Time in reads and writes", "percentunit",
          "Share of wall time spent reading and writing, summed over processes (PostgreSQL 16+; 0 unless track_io_timing is on). High with few operations: slow storage.",
          (f"sum by (target) (rate(pg_stat_io_read_time_seconds_total{{{PG}}}[{RI}]))", "{{target}} read"),
          (f"sum by (target) (rate(pg_stat_io_write_time_seconds_total{{{PG}}}[{RI}]))", "{{target}} write")),
    panel("fsyncs outside the checkpointer", "ops",
          "fsync calls per second made by other processes than the checkpointer (PostgreSQL 16+). Should be 0: otherwise the checkpointer's sync request queue is full.",
          (f"sum by (target, backend_type) (rate(pg_stat_io_fsyncs_total{{{PG}, backend_type!=\"checkpointer\"}}[{RI}]))", "{{target}} {{backend_type}}")),
]

QUERIES += [
    row("Unused indexes"),
    panel("Unused indexes", "short",
          "Indexes never scanned since the database's statistics were reset, other than primary key, unique and exclusion ones. Check every server (standbys count their own scans) before dropping; the tables collector names the largest.",
          (f"pg_unused_indexes{{{DB}}}", "{{target}} {{datname}}")),
    panel("Size of unused indexes", "bytes",
          "Disk used by those indexes per database (from pg_class.relpages): what dropping them would give back, and every write to their tables pays to keep them.",
          (f"pg_unused_indexes_size_bytes{{{DB}}}", "{{target}} {{datname}}")),
]

# uid, file, title, panels, variables beyond datasource/job/instance
DASHBOARDS = [
    ("pgstack-overview", "overview.json", "pgstack / Overview", OVERVIEW, ["target", "datname", "pgbouncer"]),
    ("pgstack-replication", "replication.json", "pgstack / Replication", REPLICATION, ["target"]),
    ("pgstack-connections", "connections-pgbouncer.json", "pgstack / Connections & PgBouncer", CONNECTIONS,
     ["target", "datname", "pgbouncer"]),
    ("pgstack-queries", "query-performance.json", "pgstack / Query performance", QUERIES, ["target", "datname"]),
    ("pgstack-wal", "wal-archiving.json", "pgstack / WAL & archiving", WAL, ["target"]),
]

VARIABLES = {
    "job": ("job", "label_values(pgstack_exporter_build_info, job)", "Prometheus job of the exporter"),
    "instance": ("instance", 'label_values(pgstack_exporter_build_info{job=~"$job"}, instance)', "The exporter (host:port)"),
    "target": ("PostgreSQL", 'label_values(pg_up{job=~"$job", instance=~"$instance"}, target)', "PostgreSQL targets of the exporter"),
    "datname": ("database", 'label_values(pg_stat_database_numbackends{job=~"$job", instance=~"$instance", target=~"$target"}, datname)', "Databases"),
    "pgbouncer": ("PgBouncer", 'label_values(pgbouncer_up{job=~"$job", instance=~"$instance"}, target)', "PgBouncer targets of the exporter"),
}


def query_variable(name, label, query, description):
    return (db.QueryVariable(name).label(label).description(description).datasource(DATASOURCE)
            .query({"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"})
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).all_value(".*").hide(dm.VariableHide.DONT_HIDE).regex("").options([])
            .current(dm.VariableOption(selected=True, text=["All"], value=["$__all"])))


def build_dashboard(uid, title, items, extra_vars):
    """The SDK lays the panels out left to right, a new line when 24 columns are full or at a row."""
    d = (db.Dashboard(title).uid(uid).tags(["pgstack", "postgresql", "pgbouncer"]).version(1)
         .description(f"{title}: pgstack_exporter (PostgreSQL primaries, standbys, PgBouncer). Generated by scripts/gen-dashboards.py.")
         .tooltip(dm.DashboardCursorSync.CROSSHAIR).refresh("30s").time("now-3h", "now").timezone("")
         .link(db.DashboardLink("pgstack dashboards").type(dm.DashboardLinkType.DASHBOARDS).tags(["pgstack"])
               .as_dropdown(False).include_vars(True).keep_time(True).icon("external link").target_blank(False)
               .tooltip("").url(""))
         .annotation(db.AnnotationQuery().built_in(1).datasource(dm.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
                     .enable(True).hide(True).icon_color("rgba(0, 211, 255, 1)").name("Annotations & Alerts").type("dashboard"))
         .with_variable(db.DatasourceVariable("datasource").label("Data source").type("prometheus").hide(dm.VariableHide.DONT_HIDE)
                        .regex("").current(dm.VariableOption(selected=False, text="${DS_PROMETHEUS}", value="${DS_PROMETHEUS}"))))
    for name in ["job", "instance"] + extra_vars:
        d.with_variable(query_variable(name, *VARIABLES[name]))
    for pid, item in enumerate(items, 1):
        (d.with_row if isinstance(item, db.Row) else d.with_panel)(item.id(pid))
    out = json.loads(json.dumps(d.build(), cls=JSONEncoder))
    # Not in the SDK's builders: the datasource variable's refresh, the query text Grafana lists
    # for a variable (definition), and the import inputs and plugin list of an exported dashboard.
    out["templating"]["list"][0].update(refresh=1, options=[])
    for v in out["templating"]["list"][1:]:
        v["definition"] = v["query"]["query"]
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "Prometheus that scrapes pgstack_exporter",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "gauge", "name": "Gauge", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
        ],
        "id": None, **out,
    }


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for uid, file, title, specs, extra_vars in DASHBOARDS:
        text = json.dumps(build_dashboard(uid, title, specs, extra_vars), indent=2) + "\n"
        path = OUT / file
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text)
    if stale:
        print("gen-dashboards: out of date (run scripts/gen-dashboards.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
