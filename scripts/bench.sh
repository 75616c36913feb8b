#!/usr/bin/env bash
# scripts/bench.sh — pgstack_exporter side by side with Debian's prometheus-postgres-exporter
# (postgres_exporter 0.11.1) on a busy loopback test bed, plus the encoder micro-benchmark,
# a soak run and a scale run of N targets. Method and results:
# docs/performance.md.
#
# Usage:
#   scripts/bench.sh         full run: release build, 20 databases / 2,000 tables / ~400
#                              statements / 50 sessions, comparison table, PgBouncer table,
#                              encoder benchmark (the soak is --soak, run on its own)
#   scripts/bench.sh --quick what CI runs (scripts/test.sh) so this cannot rot: the debug binary
#                              that scripts/test.sh already built, a small busy bed, a few scrapes;
#                              its figures are NOT the performance of a release build
#   scripts/bench.sh --soak  only the soak: 10,000 scrapes each (ours with one PostgreSQL and
#                              one PgBouncer target, the peer with the PostgreSQL one), RSS every
#                              1,000, RSS / PSS / anonymous right after and 65 s later
#   scripts/bench.sh --scale [N]  only the scale run (default N = 1000): N targets probed
#                              through /probe on a 15 s cycle — 28 % on the primary, 28 % on the
#                              replica (at most 500 each), the rest PgBouncer consoles — against
#                              an exporter with one target of each kind in the same run
#   --no-build               use the binaries already built
# Environment:
#   PGSTACK_TESTBED_DIR      state dir of the bed (default /tmp/pgstack-bench; brought down at
#                              the end unless PGSTACK_KEEP_TESTBED=1)
#   PGSTACK_BENCH_BINARY     another pgstack_exporter binary to measure (e.g. an older build)
#   PGSTACK_SCALE_CYCLES     15 s cycles of the scale run (default 6; the first ones connect)
#   PGSTACK_SCALE_EXPORTER_ARGS  more flags for the scale run's exporter (e.g. --web.max-requests 200)
# Exit status: non-zero when a step fails. Targets missed are printed, never fatal: timings on
# a shared machine are too noisy to gate on.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODE=full BUILD=1 SCALE=1000
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) MODE=quick ;;
        --soak) MODE=soak ;;
        --scale) MODE=scale; [[ ${2:-} =~ ^[0-9]+$ ]] && SCALE=$2 && shift ;;
        --scale=*) MODE=scale SCALE=${1#--scale=} ;;
        --no-build) BUILD=0 ;;
        -h | --help) usage_from_header "$0"; exit 0 ;;
        *) log "unknown argument $1 (see --help)"; exit 2 ;;
    esac
    shift
done
if [[ ! $SCALE =~ ^[0-9]{1,5}$ ]] || ((10#$SCALE < 3 || 10#$SCALE > 20000)); then
    log "--scale takes a number of targets from 3 to 20000, not '$SCALE'"; exit 2
fi
SCALE=$((10#$SCALE))
# The scale run's mix: PostgreSQL targets (one backend each) capped, PgBouncer consoles for the rest.
PG_EACH=$(((SCALE * 28 + 50) / 100)); ((PG_EACH > 500)) && PG_EACH=500; ((PG_EACH < 1)) && PG_EACH=1
BOUNCERS=$((SCALE - 2 * PG_EACH))
export PGSTACK_TESTBED_DIR="${PGSTACK_TESTBED_DIR:-/tmp/pgstack-bench}"

# Step 1: what the bench needs beyond scripts/install-deps.sh (the peer, python3 for the driver).
need=()
command -v prometheus-postgres-exporter >/dev/null || need+=(prometheus-postgres-exporter)
command -v python3 >/dev/null || need+=(python3)
command -v strip >/dev/null || need+=(binutils)
if [[ ${#need[@]} -gt 0 ]]; then
    log "installing ${need[*]}"
    [[ $EUID -eq 0 ]] || die "need root to apt-get install ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts the peer's service on install; only ours run during the bench.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus-postgres-exporter 2>/dev/null; then
    systemctl stop prometheus-postgres-exporter || true
fi

# Step 2: binaries. --quick uses the debug build (scripts/test.sh has built it already; a fresh
# release build alone is 3–5 minutes here). The other modes measure what is deployed
# (scripts/package.sh): the Swift runtime and Foundation linked in statically, dead-stripped
# (SwiftPM's release default, --gc-sections) and stripped; built in a scratch directory of its own.
if [[ $MODE == quick ]]; then
    CONFIG=debug BUILD_FLAGS=()
    echo "bench --quick: DEBUG binary, small bed, few scrapes — checks that the bench works; the figures are not release performance"
else
    CONFIG=release BUILD_FLAGS=(--static-swift-stdlib --scratch-path .build-bench)
fi
if [[ $BUILD == 1 ]]; then
    log "building pgstack_exporter ($CONFIG${BUILD_FLAGS[*]:+ ${BUILD_FLAGS[*]}})"
    swift build -c "$CONFIG" "${BUILD_FLAGS[@]}" --product pgstack_exporter >&2
    [[ $MODE == full ]] && swift build -c release --product encoder-benchmark >&2
fi
BIN="${PGSTACK_BENCH_BINARY:-$(swift build -c "$CONFIG" "${BUILD_FLAGS[@]}" --show-bin-path)/pgstack_exporter}"
[[ -x $BIN ]] || die "$BIN is not built (drop --no-build)"

# Step 3: the bed, and cleanup of everything we start (by PID) on any exit.
PIDS=()            # exporters we started
SESSION_GROUPS=()  # process groups of the background database sessions
cleanup() {
    local rc=$? pid
    for pid in "${SESSION_GROUPS[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
    # A backend in pg_sleep does not notice that its client went away: end them server-side.
    if [[ ${#SESSION_GROUPS[@]} -gt 0 ]]; then
        psql_primary -Atc "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE application_name = 'pgstack-bench-load'" >/dev/null 2>&1 || true
    fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}" "${SESSION_GROUPS[@]}"; do wait "$pid" 2>/dev/null || true; done
    testbed_down_unless_kept
    exit "$rc"
}
on_exit cleanup

testbed_up
PSQL=("$PGSTACK_PG_BIN/psql" -X -q -h "$PGSTACK_SOCKET_DIR" -U postgres)
psql_primary() { "${PSQL[@]}" -p "$PGSTACK_PRIMARY_PORT" -v ON_ERROR_STOP=1 "$@"; }
psql_replica() { "${PSQL[@]}" -p "$PGSTACK_REPLICA_PORT" -v ON_ERROR_STOP=1 "$@"; }
[[ $EUID -eq 0 ]] && RUN_AS=(runuser -u postgres --) || RUN_AS=()

# Step 4: make the bed look busy.
case $MODE in
    quick) DBS=2 TABLES=50 STMT_DBS=1 ACTIVE=2 IDLE_TX=2 IDLE=2 ;;
    # scale: each target a small server of its own (few databases), not one seeing a hundred.
    scale) DBS=4 TABLES=0 STMT_DBS=0 ACTIVE=0 IDLE_TX=0 IDLE=0 ;;
    *) DBS=20 TABLES=100 STMT_DBS=2 ACTIVE=15 IDLE_TX=10 IDLE=25 ;;
esac
SESSION_SECONDS=3600  # background sessions die by themselves after this, whatever happens

busy_bed() {
    local start=$SECONDS i existing
    log "busy bed: $DBS databases × $TABLES tables, statements in $STMT_DBS of them, $((ACTIVE + IDLE_TX + IDLE)) sessions"
    if [[ $MODE == scale ]]; then
        # Every target holds a connection (two if its databases were not its own): raise the bed's limits (the servers restart; the
        # replica's max_connections may not be lower than the primary's; PgBouncer reloads).
        psql_primary -c "ALTER SYSTEM SET max_connections = $((2 * PG_EACH + 100))" >/dev/null
        psql_replica -c "ALTER SYSTEM SET max_connections = $((2 * PG_EACH + 100))" >/dev/null
        "$TESTBED" stop replica >&2 && "$TESTBED" stop primary >&2
        "$TESTBED" start primary >&2 && "$TESTBED" start replica >&2
        # PgBouncer needs a descriptor per client (it starts through runuser, whose PAM session
        # sets the soft limit to 1,024), the exporters one per target.
        ulimit -n "$(ulimit -Hn)"
        sed -i "s/^max_client_conn = .*/max_client_conn = $((BOUNCERS + 200))/" "$PGSTACK_TESTBED_DIR/pgbouncer.ini"
        kill -HUP "$(cat "$PGSTACK_TESTBED_DIR/pgbouncer.pid")"
        "${RUN_AS[@]}" prlimit --pid "$(cat "$PGSTACK_TESTBED_DIR/pgbouncer.pid")" --nofile="$(ulimit -Hn)" ||
            log "warning: PgBouncer keeps its descriptor limit: past it, connects hang"
    fi
    # Replay paused on the replica, so the writes below leave it behind (non-zero lag).
    psql_replica -c "SELECT pg_wal_replay_pause()" >/dev/null
    existing="$(psql_primary -Atc "SELECT count(*) FROM pg_database WHERE datname LIKE 'bench\_%'")"
    for ((i = existing; i < DBS; i++)); do
        psql_primary -c "CREATE DATABASE bench_$i" >/dev/null
    done
    for ((i = 0; i < DBS && TABLES > 0; i++)); do
        echo "SET client_min_messages = warning; SELECT format('CREATE TABLE IF NOT EXISTS t%s (id int PRIMARY KEY, v text)', g)
            FROM generate_series(1, $TABLES) g \gexec" | psql_primary -d "bench_$i" >/dev/null
    done
    # Distinct statements: one SELECT and one INSERT per table, in STMT_DBS databases (after a
    # reset, so that every run starts from the same few hundred).
    psql_primary -c "SELECT pg_stat_statements_reset()" >/dev/null
    for ((i = 0; i < STMT_DBS; i++)); do
        echo "SELECT format('INSERT INTO t%s VALUES (1, %L) ON CONFLICT DO NOTHING', g, 'x'),
            format('SELECT count(*) FROM t%s', g) FROM generate_series(1, $TABLES) g \gexec" | psql_primary -d "bench_$i" >/dev/null
    done
    # Sessions, as the server user over the socket, each bounded by `timeout`.
    bg_session() {  # bg_session DB SQL: keeps a session open with SQL run, until killed/timeout
        # In a process group of its own (setsid), so that cleanup ends the whole pipeline
        # (sleep, timeout, psql) by that group's id.
        PGAPPNAME=pgstack-bench-load setsid bash -c '{ printf "%s\n" "$1"; sleep "$2"; } | timeout "$2" "${@:3}" >/dev/null 2>&1' \
            _ "$2" "$SESSION_SECONDS" "${RUN_AS[@]}" "${PSQL[@]}" -p "$PGSTACK_PRIMARY_PORT" -d "$1" &
        SESSION_GROUPS+=($!)
    }
    for ((i = 0; i < ACTIVE; i++)); do bg_session "bench_$((i % DBS))" "SELECT pg_sleep($SESSION_SECONDS);"; done
    for ((i = 0; i < IDLE_TX; i++)); do bg_session "bench_$((i % DBS))" "BEGIN; SELECT count(*) FROM t1;"; done
    for ((i = 0; i < IDLE; i++)); do bg_session "bench_$((i % DBS))" "SELECT 1;"; done
    sleep 1
    log "busy bed ready in $((SECONDS - start)) s: $(psql_primary -Atc "SELECT count(*) FILTER (WHERE state = 'active') || ' active, ' || count(*) FILTER (WHERE state = 'idle in transaction') || ' idle in transaction, ' || count(*) || ' client sessions' FROM pg_stat_activity WHERE backend_type = 'client backend'"), $(psql_primary -Atc "SELECT count(*) FROM pg_stat_statements") statements, replay lag $(psql_replica -Atc "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())") bytes"
}
busy_bed

# Step 5: the exporters, on free loopback ports.
DIR="$PGSTACK_TESTBED_DIR"
if [[ $CONFIG == release && -z ${PGSTACK_BENCH_BINARY:-} ]]; then
    strip --remove-section=.comment --remove-section=.note -o "$DIR/pgstack_exporter" "$BIN"
    BIN="$DIR/pgstack_exporter"
fi
start_ours() {  # start_ours NAME CONFIG [ARG…]: sets OURS_PID and OURS_PORT
    OURS_PORT="$(free_port)"
    "$BIN" --config.file "$2" --web.listen-address "127.0.0.1:$OURS_PORT" --log.level warn "${@:3}" >"$DIR/$1.log" 2>&1 &
    OURS_PID=$!
    PIDS+=("$OURS_PID")
    wait_port "$OURS_PORT"
}
write_secret "$DIR/bench-primary.dsn" "$PGSTACK_PRIMARY_DSN"
write_secret "$DIR/bench-pgbouncer.dsn" "$PGSTACK_PGBOUNCER_DSN"
printf 'targets:\n  - name: primary\n    kind: postgres\n    dsn_file: %s\n' "$DIR/bench-primary.dsn" >"$DIR/bench-primary.yml"
printf 'targets:\n  - name: pgbouncer\n    kind: pgbouncer\n    dsn_file: %s\n' "$DIR/bench-pgbouncer.dsn" >"$DIR/bench-pgbouncer.yml"
# The soak's: one PostgreSQL and one PgBouncer target, both on /metrics (the peer has the first only).
cat "$DIR/bench-primary.yml" <(tail -n +2 "$DIR/bench-pgbouncer.yml") >"$DIR/bench-soak.yml"

start_peer() {  # start_peer [ARG…]: sets PEER_PID and PEER_PORT
    PEER_PORT="$(free_port)"
    DATA_SOURCE_NAME="$PGSTACK_PRIMARY_DSN sslmode=disable" \
        prometheus-postgres-exporter --web.listen-address "127.0.0.1:$PEER_PORT" "$@" >"$DIR/peer.log" 2>&1 &
    PEER_PID=$!
    PIDS+=("$PEER_PID")
    wait_port "$PEER_PORT"
}

MEASURE=(python3 scripts/bench-measure.py)
PSQL_PRIMARY="${PSQL[*]} -p $PGSTACK_PRIMARY_PORT -d postgres"
[[ $EUID -eq 0 ]] && PSQL_PRIMARY="runuser -u postgres -- $PSQL_PRIMARY"

echo "bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $CONFIG $(basename "$BIN") ($(du -h "$BIN" | cut -f1)), peer $(prometheus-postgres-exporter --version 2>&1 | head -1)"

if [[ $MODE == scale ]]; then
    # scale_targets PRIMARY REPLICA BOUNCERS: named targets (p0000…, r0000…, b0000…); the
    # PostgreSQL ones over the bed's databases, one connection each.
    scale_targets() {
        local i
        echo "targets:"
        for ((i = 0; i < $1; i++)); do
            # Each as a server of its own with one database: discovery finds only that one
            # (unfiltered, each of 280 targets would read the bed's 100 databases).
            printf '  - name: p%04d\n    kind: postgres\n    dsn: "host=127.0.0.1 port=%s dbname=bench_%d user=pgstack_monitor password=%s"\n    databases:\n      include: ["^bench_%d$"]\n' \
                "$i" "$PGSTACK_PRIMARY_PORT" "$((i % DBS))" "$PGSTACK_MONITOR_PASSWORD" "$((i % DBS))"
        done
        for ((i = 0; i < $2; i++)); do
            # The replica's replay is paused since before the bench databases were created.
            printf '  - name: r%04d\n    kind: postgres\n    dsn: "host=127.0.0.1 port=%s dbname=postgres user=pgstack_monitor password=%s"\n    databases:\n      include: ["^postgres$"]\n' \
                "$i" "$PGSTACK_REPLICA_PORT" "$PGSTACK_MONITOR_PASSWORD"
        done
        for ((i = 0; i < $3; i++)); do
            printf '  - name: b%04d\n    kind: pgbouncer\n    dsn_file: %s\n' "$i" "$DIR/bench-pgbouncer.dsn"
        done
    }
    (umask 077 && scale_targets 1 1 1 >"$DIR/bench-scale-single.yml" && scale_targets "$PG_EACH" "$PG_EACH" "$BOUNCERS" >"$DIR/bench-scale.yml")
    start_ours scale-single "$DIR/bench-scale-single.yml"
    SINGLE_PID=$OURS_PID SINGLE_PORT=$OURS_PORT
    read -ra SCALE_ARGS <<<"${PGSTACK_SCALE_EXPORTER_ARGS:-}"
    start_ours scale "$DIR/bench-scale.yml" "${SCALE_ARGS[@]}"
    [[ ${#SCALE_ARGS[@]} -eq 0 ]] || echo "scale: the exporter runs with ${SCALE_ARGS[*]}"
    python3 scripts/bench-scale.py --ours-pid "$OURS_PID" --ours-port "$OURS_PORT" --single-pid "$SINGLE_PID" \
        --single-port "$SINGLE_PORT" --primary "$PG_EACH" --replica "$PG_EACH" --pgbouncer "$BOUNCERS" \
        --ports "$PGSTACK_PRIMARY_PORT" "$PGSTACK_REPLICA_PORT" "$PGSTACK_PGBOUNCER_PORT" --cycles "${PGSTACK_SCALE_CYCLES:-6}"
    echo "scale: load average after the run $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi

if [[ $MODE == soak ]]; then
    start_ours soak "$DIR/bench-soak.yml"
    start_peer
    "${MEASURE[@]}" soak --ours-pid "$OURS_PID" --ours-port "$OURS_PORT" --peer-pid "$PEER_PID" --peer-port "$PEER_PORT" \
        --psql "$PSQL_PRIMARY" --scrapes 10000 --max-seconds 1500
    exit 0
fi
start_ours primary "$DIR/bench-primary.yml"
start_peer

if [[ $MODE == quick ]]; then
    ROUNDS=2 SEQ=5 EACH=2 BOUNCER_SEQ=10
else
    ROUNDS=5 SEQ=40 EACH=5 BOUNCER_SEQ=200
fi
"${MEASURE[@]}" compare --ours-pid "$OURS_PID" --ours-port "$OURS_PORT" --peer-pid "$PEER_PID" --peer-port "$PEER_PORT" \
    --psql "$PSQL_PRIMARY" --rounds "$ROUNDS" --sequential "$SEQ" --each "$EACH" --max-seconds 600
echo

# The same queries.yaml read by both: the same metric names, but for DURATION columns, which
# the peer 0.11.1 cannot read (it logs "Unexpected error parsing column" and exports nothing).
kill "$OURS_PID" "$PEER_PID" 2>/dev/null || true
start_ours custom "$DIR/bench-primary.yml" --extend.query-path examples/queries.yaml
start_peer --extend.query-path examples/queries.yaml
custom_names() { curl -fsS "http://127.0.0.1:$1/metrics" | grep -o '^pg_custom_[a-z_]*' | grep -v '_milliseconds$' | sort -u; }
if ! diff <(custom_names "$PEER_PORT") <(custom_names "$OURS_PORT") >&2; then
    die "examples/queries.yaml: the metric names differ from the peer's (above: < peer, > ours)"
fi
log "examples/queries.yaml: the same $(custom_names "$OURS_PORT" | wc -l) metric names as the peer's"
kill "$OURS_PID" "$PEER_PID" 2>/dev/null || true

BOUNCER_PSQL="$PGSTACK_PG_BIN/psql -X -h 127.0.0.1 -p $PGSTACK_PGBOUNCER_PORT -U pgstack_monitor -d pgbouncer"
start_ours pgbouncer "$DIR/bench-pgbouncer.yml"
PGPASSWORD="$PGSTACK_MONITOR_PASSWORD" "${MEASURE[@]}" bouncer --ours-pid "$OURS_PID" --ours-port "$OURS_PORT" \
    --psql "$BOUNCER_PSQL" --sequential "$BOUNCER_SEQ" --max-seconds 300

if [[ $MODE == full ]]; then
    echo
    "$(swift build -c release --show-bin-path)/encoder-benchmark"
    echo
    echo "soak: run scripts/bench.sh --soak (10,000 scrapes each, ~3 minutes for ours, longer for the peer)"
fi
