#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test, then
# fuzzes every reader briefly (FUZZ_SECONDS each, two at a time; 0 skips; see fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
fuzz_seconds=${FUZZ_SECONDS:-12}
if [ "$fuzz_seconds" != 0 ]; then
    # A clean work directory: CI judges the committed seeds plus what this run finds.
    fuzz_work=$(mktemp -d)
    trap 'rm -rf "$fuzz_work"' EXIT
    FUZZ_WORK=$fuzz_work JOBS=2 scripts/fuzz.sh "$fuzz_seconds"
fi
