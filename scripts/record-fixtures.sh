#!/usr/bin/env bash
# scripts/record-fixtures.sh — records what the test bed's primary answers to every PostgreSQL
# collector's statements into Tests/CollectorsTests/Fixtures/postgres-MAJOR.{json,prom}, so the
# collectors' mapping is tested without a server (RecordedServerTests). Run it after changing a
# collector's SQL or output, review the diff of the .prom file, and commit both files.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

testbed_up
swift build --build-tests
PGSTACK_RECORD_FIXTURES=1 swift test --skip-build --filter 'RecordedServerTests/recordThePrimary'
git status --short Tests/CollectorsTests/Fixtures
