#!/usr/bin/env bash
# scripts/demo.sh — one command for a fresh machine: installs the dependencies,
# builds pgstack_exporter, starts the loopback test bed (PostgreSQL primary +
# replica + PgBouncer + logical-replication subscriber) and runs the exporter against it in the foreground.
# Ctrl-C stops the exporter and brings the test bed down.
#
# Environment:
#   PGSTACK_DEMO_PORT=9187   port of the exporter's HTTP listener (127.0.0.1)
#   PGSTACK_KEEP_TESTBED=1   leave the test bed running after the exporter exits
#   PGSTACK_TESTBED_DIR      state dir of the test bed (see scripts/testbed.py)
#   PGSTACK_PG_VERSION       PostgreSQL of the test bed: 15 (default), 17 or 18
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${PGSTACK_DEMO_PORT:-9187}"
[[ $PORT =~ ^[0-9]+$ ]] || { log "PGSTACK_DEMO_PORT must be a port number"; exit 2; }

# Step 1: Debian packages (no-op when all are installed) and a Swift toolchain.
scripts/install-deps.sh
require_swift

# Step 2: build the exporter first, so a build error does not leave a test bed behind.
swift build --product pgstack_exporter
BIN="$(swift build --show-bin-path)/pgstack_exporter"
[[ -x $BIN ]] || die "$BIN was not built"

# Step 3: the demo port must be free (clearer than the exporter's bind error).
if port_in_use "$PORT"; then
    die "127.0.0.1:$PORT is already in use; set PGSTACK_DEMO_PORT"
fi

# Step 4: bring the test bed down on any exit (also Ctrl-C), unless asked to keep it.
cleanup() {
    local rc=$?
    testbed_down_unless_kept
    exit "$rc"
}
on_exit cleanup

# Step 5: start the test bed and load its ports and DSNs.
testbed_up

# Step 6: one DSN file per target (they hold passwords: mode 600) and the config.
dir="$PGSTACK_TESTBED_DIR"
write_secret "$dir/primary.dsn" "$PGSTACK_PRIMARY_DSN"
write_secret "$dir/replica.dsn" "$PGSTACK_REPLICA_DSN"
write_secret "$dir/pgbouncer.dsn" "$PGSTACK_PGBOUNCER_DSN"
write_secret "$dir/subscriber.dsn" "$PGSTACK_SUBSCRIBER_DSN"
config="$dir/pgstack_exporter.yml"
cat >"$config" <<YAML
targets:
  - name: primary
    kind: postgres
    dsn_file: $dir/primary.dsn
  - name: replica
    kind: postgres
    dsn_file: $dir/replica.dsn
  - name: pgbouncer
    kind: pgbouncer
    dsn_file: $dir/pgbouncer.dsn
  - name: subscriber
    kind: postgres
    dsn_file: $dir/subscriber.dsn
YAML

# Step 7: tell the user where to look, then run the exporter in the foreground.
cat >&2 <<TEXT

pgstack_exporter demo
  config:    $config
  try:       curl -s http://127.0.0.1:$PORT/metrics
             curl -s http://127.0.0.1:$PORT/
             curl -s http://127.0.0.1:$PORT/healthz
  servers:   PostgreSQL $PGSTACK_PG_VERSION: primary 127.0.0.1:$PGSTACK_PRIMARY_PORT, replica 127.0.0.1:$PGSTACK_REPLICA_PORT, pgbouncer 127.0.0.1:$PGSTACK_PGBOUNCER_PORT,
             subscriber 127.0.0.1:$PGSTACK_SUBSCRIBER_PORT (subscription pgstack_sub to appdb.pub_events)
  play:      $TESTBED stop primary; $TESTBED start primary
             $TESTBED psql subscriber -d appdb -c 'ALTER SUBSCRIPTION pgstack_sub DISABLE'
             $TESTBED psql primary
  stop:      Ctrl-C

TEXT
"$BIN" --config.file "$config" --web.listen-address "127.0.0.1:$PORT"
