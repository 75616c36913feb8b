# scripts/lib.sh — helpers shared by the bash scripts; each sources it first:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It sets ROOT (the repository root) and cds there, so every path below is relative to it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The prefix of messages: the script's name without its extension ("test", "bench").
LOG_NAME="$(basename "$0" .sh)"
TESTBED=scripts/testbed.py

log() { printf '%s: %s\n' "$LOG_NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# usage_from_header FILE: the comment block at the top of FILE (after the #! line, up to the
# `set -euo pipefail` line), without the leading "# ".
usage_from_header() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$1"; }

# now_ms: wall clock in milliseconds; fmt_ms MS: "12.3s".
now_ms() { date +%s%3N; }
fmt_ms() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# on_exit FUNC: run FUNC on every exit, also on Ctrl-C (status 130) and SIGTERM (143).
on_exit() {
    trap "$1" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# require_swift: a Swift toolchain is not a Debian package; it must already be in PATH.
require_swift() {
    command -v swift >/dev/null 2>&1 ||
        die "'swift' not found in PATH; install a Swift toolchain (https://www.swift.org/install/linux/)"
}

# write_secret PATH TEXT: a file holding a password or a DSN, mode 600 from its creation on.
write_secret() { (umask 077 && printf '%s\n' "$2" >"$1") && chmod 600 "$1"; }

# free_port: one port that 127.0.0.1 can bind now (scripts/pgstack_scripts.py picks it).
free_port() { python3 scripts/pgstack_scripts.py free-ports 1; }

# port_in_use PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT (default 30 s).
wait_port() {
    local i
    for ((i = 0; i < ${2:-30} * 10; i++)); do
        port_in_use "$1" && return 0
        sleep 0.1
    done
    die "nothing listening on 127.0.0.1:$1 after ${2:-30} s"
}

# testbed_up: start the test bed (idempotent) and export its ports, DSNs and passwords.
# (Explicit returns: set -e does not apply where the caller tests the status.)
testbed_up() {
    "$TESTBED" up >&2 || return
    local env
    env="$("$TESTBED" env)" || return
    eval "$env"
}

# testbed_down_unless_kept: bring the test bed down, unless PGSTACK_KEEP_TESTBED=1.
testbed_down_unless_kept() {
    if [[ ${PGSTACK_KEEP_TESTBED:-0} == 1 ]]; then
        log "keeping the test bed in ${PGSTACK_TESTBED_DIR:-/tmp/pgstack-testbed} (PGSTACK_KEEP_TESTBED=1); stop it with: $TESTBED down"
    else
        "$TESTBED" down || log "warning: '$TESTBED down' failed"
    fi
}
