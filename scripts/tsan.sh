#!/usr/bin/env bash
# scripts/tsan.sh — runs the test suites that need no test bed under Thread Sanitizer (build in .build-tsan),
# for CI: a data race in the encoder, the parsers, the collectors' mapping or the result cache fails the run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Module.Suite of every suite that uses neither TestBed nor a server (read each before adding one).
suites=(
    ExpositionTests.TextEncoderTests
    PostgresClientTests.ConnectionStringTests
    ExporterTests.ConfigurationFileTests
    ExporterTests.MetricsDocumentTests
    ExporterTests.SettingsTableTests
    ExporterTests.JSONTextTests
    ExporterTests.SessionStateTests
    CollectorsTests.PgBouncerColumnSetTests
    CollectorsTests.CollectorEngineTests
    CollectorsTests.RefreshIntervalTests
    CollectorsTests.VersionedSQLTests
    CollectorsTests.RecordedServerTests
    CollectorsTests.OptionDependentQueriesTests
    HTTPTests.RoutesTests
)
pattern=$(IFS='|'; echo "${suites[*]}")
filter="^(${pattern//./\\.})([/.]|$)"

log=$(mktemp "${TMPDIR:-/tmp}/pgstack-tsan.XXXXXX")
trap 'rm -f "$log"' EXIT

# halt_on_error: the first race fails the run at once, with its report.
rc=0
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1} \
    swift test --scratch-path .build-tsan --sanitize=thread --filter "$filter" "$@" 2>&1 | tee "$log" || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "tsan.sh: FAILED (swift test exit $rc)" >&2
    exit "$rc"
fi
if grep -q "WARNING: ThreadSanitizer" "$log"; then
    echo "tsan.sh: FAILED, ThreadSanitizer reported a race" >&2
    exit 1
fi
# A suite renamed or moved would match nothing and pass silently: each must have run.
missing=()
for suite in "${suites[@]}"; do
    grep -qE "Suite \"?${suite##*.}\"? passed" "$log" || missing+=("$suite")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "tsan.sh: FAILED, these suites did not run (renamed?): ${missing[*]}" >&2
    exit 1
fi
echo "tsan.sh: ${#suites[@]} suites passed under ThreadSanitizer"
