#!/usr/bin/env bash
# scripts/test.sh — the single command that runs every test on a fresh machine:
# installs the Debian dependencies, starts the loopback test bed
# (scripts/testbed.py), builds and runs the Swift tests against it, runs the dashboards
# and alert rules against a real Prometheus and Alertmanager (scripts/monitoring-live.py),
# then checks them statically (scripts/check-monitoring.py, promtool, amtool); the suites that
# need no server under Thread Sanitizer (scripts/tsan.sh), the fuzz targets (scripts/fuzz.sh) and
# the Debian package (scripts/package.sh --test: a release build, installed, run and purged).
#
# Usage: scripts/test.sh [extra `swift test` args, e.g. --filter EndToEndTests]
# Environment:
#   PGSTACK_KEEP_TESTBED=1   leave the test bed running afterwards
#   PGSTACK_TESTBED_DIR      state dir of the test bed (see scripts/testbed.py)
#   PGSTACK_PG_VERSION       PostgreSQL of the test bed: 15 (default), 17 or 18
#   PGSTACK_PG_MATRIX        versions the matrix suites run on again after the full suite (default
#                            "17 18"; empty: none)
#   PGSTACK_SKIP_BENCH=1     skip `scripts/bench.sh --quick` (run after the Swift tests)
#   PGSTACK_SKIP_TSAN=1      skip scripts/tsan.sh (Thread Sanitizer on the suites that need no server)
#   PGSTACK_SKIP_FUZZ=1      skip scripts/fuzz.sh (each fuzz target for PGSTACK_FUZZ_RUNS inputs, 60,000)
#   PGSTACK_SKIP_PACKAGE=1   skip scripts/package.sh --test (its release build takes about 5 minutes)
# Exit status: non-zero if any phase failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# phase NAME CMD...: run CMD, print its duration; returns CMD's status.
TIMINGS=()
phase() {
    local name=$1 start rc=0
    shift
    echo "==> $name: $*" >&2
    start="$(now_ms)"
    "$@" || rc=$?
    local took
    took="$(fmt_ms $(($(now_ms) - start)))"
    if [[ $rc -eq 0 ]]; then
        echo "<== $name: ok in $took" >&2
        TIMINGS+=("$name: ok, $took")
    else
        echo "<== $name: FAILED (exit $rc) after $took" >&2
        TIMINGS+=("$name: FAILED (exit $rc), $took")
    fi
    return "$rc"
}

# run_swift_test LOG ARGS...: the Swift tests, serially (one test stops and restarts the
# primary that the others use), printed as they run and copied to LOG.
run_swift_test() {
    local log=$1
    shift
    PGSTACK_REQUIRE_TESTBED=1 swift test --skip-build --no-parallel "$@" 2>&1 | tee "$log"
}

# Step 1: Debian packages (no-op when all are installed) and a Swift toolchain.
scripts/install-deps.sh
require_swift

# Step 2: bring the test bed down on any exit (also Ctrl-C), unless asked to keep it.
cleanup() {
    local rc=$?
    testbed_down_unless_kept
    exit "$rc"
}
on_exit cleanup

# Step 3: start the test bed and export its ports, DSNs and passwords for the tests.
phase "testbed up" testbed_up

# Step 4: build (tests included), then run the tests without rebuilding.
failed=()
if phase "swift build" swift build --build-tests; then
    # Its output is kept so that the summary can repeat which tests failed and where.
    swift_test_log="$(mktemp)"
    phase "swift test" run_swift_test "$swift_test_log" "$@" || failed+=("swift test")
    # Dashboards and alert rules against a real Prometheus and Alertmanager on the bed.
    PGSTACK_EXPORTER_BIN="$(swift build --show-bin-path)/pgstack_exporter"
    export PGSTACK_EXPORTER_BIN
    phase "monitoring live" scripts/monitoring-live.py || failed+=("monitoring live")
else
    failed+=("swift build")
fi

# Step 4b: the benchmark's quick mode, so that scripts/bench.sh cannot rot. It reuses the debug
# build above (it says so; its figures are not release performance) and brings up, then down,
# a bed of its own beside the tests' one. PGSTACK_SKIP_BENCH=1 leaves it out.
# The version matrix: the collector, engine, custom query, role and fault suites again on
# PostgreSQL 17 and 18 (PyPI server builds; the whole suite ran on 15 above), each on a bed of
# its own in a subshell (the 15 bed's settings stay), brought down afterwards.
MATRIX_SUITES='LogicalReplicationScenarioTests|LogicalReplicationHostileTests|IOScenarioTests|UnusedIndexesScenarioTests|ExporterEngineTests|ReplicationScenarioTests|WorkloadScenarioTests|DiscoveryTests|CustomQueryScrapeTests|LimitedRoleTests|FaultMatrixTests|ResilienceTests|ScrapeOverHTTPTests|ConnectionTests'
matrix_run() (  # matrix_run VERSION LOG
    unset PGSTACK_PG_BIN  # the 15 bed's binaries, which would win over PGSTACK_PG_VERSION
    export PGSTACK_PG_VERSION=$1 PGSTACK_TESTBED_DIR="${PGSTACK_TESTBED_DIR:-/tmp/pgstack-testbed}-pg$1"
    trap '"$TESTBED" down >&2 || true' EXIT
    testbed_up || exit
    # testbed_up exported the bed's own major version: it must be the one asked for.
    [[ $PGSTACK_PG_VERSION == "$1" ]] || { log "the bed runs PostgreSQL $PGSTACK_PG_VERSION, not $1"; exit 1; }
    run_swift_test "$2" --filter "$MATRIX_SUITES"
)
if [[ ! " ${failed[*]} " =~ " swift build " ]]; then
    for version in ${PGSTACK_PG_MATRIX-17 18}; do
        matrix_log="$(mktemp)"
        phase "swift test on PostgreSQL $version" matrix_run "$version" "$matrix_log" || failed+=("swift test on PostgreSQL $version")
        cat "$matrix_log" >>"${swift_test_log:-/dev/null}"
        rm -f "$matrix_log"
    done
fi

if [[ ${PGSTACK_SKIP_BENCH:-0} != 1 && ! " ${failed[*]} " =~ " swift build " ]]; then
    phase "bench --quick" env PGSTACK_TESTBED_DIR="${PGSTACK_TESTBED_DIR:-/tmp/pgstack-testbed}-bench" \
        PGSTACK_KEEP_TESTBED=0 scripts/bench.sh --quick || failed+=("bench --quick")
fi

# Step 4c: the suites that need no server under Thread Sanitizer, and each fuzz target for a
# bounded time from its corpus (each builds in a scratch folder of its own).
if [[ ${PGSTACK_SKIP_TSAN:-0} != 1 ]]; then
    phase "thread sanitizer" scripts/tsan.sh || failed+=("thread sanitizer")
fi
if [[ ${PGSTACK_SKIP_FUZZ:-0} != 1 ]]; then
    # A fixed number of inputs from a fixed seed, whatever the machine's speed (scripts/fuzz.sh).
    phase "fuzz" env PGSTACK_FUZZ_RUNS="${PGSTACK_FUZZ_RUNS:-60000}" PGSTACK_FUZZ_SECONDS=120 scripts/fuzz.sh || failed+=("fuzz")
fi

# Step 4d: the Debian package: a release build (.build-release), lintian, installed on this
# machine, run as its user on a bed of its own, purged. It installs a package, so it needs root.
if [[ ${PGSTACK_SKIP_PACKAGE:-0} != 1 ]]; then
    if [[ $EUID -eq 0 ]]; then
        phase "package" env PGSTACK_PACKAGE_TESTBED_DIR="${PGSTACK_TESTBED_DIR:-/tmp/pgstack-testbed}-pkg" \
            PGSTACK_KEEP_TESTBED=0 scripts/package.sh --test || failed+=("package")
    else
        log "skipping the package test: it installs the package, so it needs root"
        TIMINGS+=("package: skipped (not root)")
    fi
fi

# Step 5: alert rules: syntax check of rule files, then promtool unit tests.
shopt -s nullglob
rule_tests=(alerts/*.test.yml alerts/*.test.yaml)
rule_files=()
for f in alerts/*.yml alerts/*.yaml; do
    case $f in
        *.test.yml | *.test.yaml | */alertmanager.yml) ;;
        *) rule_files+=("$f") ;;
    esac
done
shopt -u nullglob
if [[ ${#rule_files[@]} -gt 0 ]]; then
    phase "promtool check rules" promtool check rules "${rule_files[@]}" || failed+=("promtool check rules")
fi
if [[ ${#rule_tests[@]} -gt 0 ]]; then
    phase "promtool test rules" promtool test rules "${rule_tests[@]}" || failed+=("promtool test rules")
fi

phase "check-monitoring" scripts/check-monitoring.py || failed+=("check-monitoring")
if [[ -f alerts/alertmanager.yml ]]; then
    phase "amtool check-config" amtool check-config alerts/alertmanager.yml || failed+=("amtool check-config")
fi

# Step 6: summary and exit status.
echo "---- summary ----" >&2
printf '  %s\n' "${TIMINGS[@]}" >&2
if [[ -n ${swift_test_log:-} && -s $swift_test_log ]]; then
    if grep -q '✘' "$swift_test_log"; then
        echo "  failed Swift tests (first 40 lines):" >&2
        grep '✘' "$swift_test_log" | grep -v -e '✘ Suite ' -e '✘ Test run ' | head -n 40 | sed 's/^/    /' >&2
    fi
    rm -f "$swift_test_log"
fi
if [[ ${#failed[@]} -gt 0 ]]; then
    log "FAILED: ${failed[*]}"
    exit 1
fi
log "all passed"
