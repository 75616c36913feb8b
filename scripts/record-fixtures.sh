#!/usr/bin/env bash
# scripts/record-fixtures.sh — records what a test bed's primary answers to every PostgreSQL
# collector's statements into Tests/CollectorsTests/Fixtures/postgres-MAJOR.{json,prom}, for
# PostgreSQL 15, 17 and 18 (or the versions given: scripts/record-fixtures.sh 17), so the
# collectors' mapping is tested without a server (RecordedServerTests). Run it after changing a
# collector's SQL or output, review the diff of the .prom files, and commit them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

swift build --build-tests
versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(15 17 18)
for v in "${versions[@]}"; do
    # A bed of its own per version, brought down afterwards. The previous bed's environment
    # set PGSTACK_PG_BIN, which would win over the version asked for.
    unset PGSTACK_PG_BIN
    export PGSTACK_PG_VERSION=$v PGSTACK_TESTBED_DIR=/tmp/pgstack-fixtures-$v
    testbed_up
    PGSTACK_RECORD_FIXTURES=1 swift test --skip-build --filter 'RecordedServerTests/recordThePrimary'
    "$TESTBED" down
done
git status --short Tests/CollectorsTests/Fixtures
