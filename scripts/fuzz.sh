#!/usr/bin/env bash
# Fuzzes FioTrace's readers with libFuzzer: builds Fuzz/ (release, -sanitize=fuzzer) and
# runs each target for SECONDS (default 60) with a 1 GB RSS limit and a 10 s per-input
# timeout (FUZZ_TIMEOUT=N changes it: libFuzzer's timeout is wall-clock, so on a machine
# busy with other work a starved input can pass 10 s without being slow itself), then
# prints per target: executions/s, libFuzzer's final coverage (cov: edges, ft: features),
# the corpus it grew, peak RSS and PASS/FAIL.
#
#   scripts/fuzz.sh [-j N] [SECONDS] [TARGET...]     (JOBS=N works too; default 1)
#   scripts/fuzz.sh --list                           the targets
#
# Targets: one per reader (fiot, iolog2, iolog3, blktrace, btrecord, strace, each public
# format), jobfile (parser and generator) and info (format detection + any reader + the
# summary). Seeds: Fuzz/corpus/TARGET (committed, read only). What a run adds goes to
# $FUZZ_WORK/TARGET (default Fuzz/work, not committed) and is reused by the next run.
# A crash, timeout or out-of-memory input is saved as $FUZZ_FINDINGS/TARGET/<kind>-<sha1>
# (default Fuzz/findings) and makes the script exit 1. Reproduce one with
#   FIOTRACE_FUZZ_TARGET=TARGET Fuzz/.build/release/fiotrace-fuzz FILE
# FUZZ_KEEP_GOING=1 runs libFuzzer in fork mode and keeps fuzzing past findings (to
# collect several at once; RSS is then per child and not reported).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

jobs=${JOBS:-1}
seconds=60
targets=()
list=0
while [ $# -gt 0 ]; do
    case "$1" in
        -j) jobs=$2; shift 2 ;;
        -j*) jobs=${1#-j}; shift ;;
        --list) list=1; shift ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *)
            if [ ${#targets[@]} -eq 0 ] && [ -z "${seen_seconds:-}" ] && [[ "$1" =~ ^[0-9]+$ ]]; then
                seconds=$1; seen_seconds=1
            else
                targets+=("$1")
            fi
            shift ;;
    esac
done
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: -j wants a positive number, got '$jobs'" >&2; exit 2; }

# libFuzzer ships with the Swift toolchain (clang's compiler-rt); say so if it is missing.
toolchain_lib=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")/lib
if ! find "$toolchain_lib" -name 'libclang_rt.fuzzer*.a' -print -quit 2>/dev/null | grep -q .; then
    echo "fuzz.sh: libFuzzer (libclang_rt.fuzzer) is not in the Swift toolchain at $toolchain_lib" >&2
    exit 2
fi

echo "fuzz.sh: building Fuzz/ (release, -sanitize=fuzzer)" >&2
(cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library 2>&1 |
    grep -E 'error|warning: |Compiling|Build complete' >&2) || true
bin=$root/Fuzz/.build/release/fiotrace-fuzz
[ -x "$bin" ] || { echo "fuzz.sh: the fuzz build failed (run: cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library)" >&2; exit 2; }

mapfile -t all < <(FIOTRACE_FUZZ_TARGET=list "$bin")
if [ "$list" = 1 ]; then printf '%s\n' "${all[@]}"; exit 0; fi
if [ ${#targets[@]} -eq 0 ]; then targets=("${all[@]}"); fi
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target '$t' (targets: ${all[*]})" >&2; exit 2; }
done

# Swift's own crash handler would catch a trap first and exit without libFuzzer saving
# the input: leave the signal to libFuzzer (its report still has the stack).
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}

work=${FUZZ_WORK:-$root/Fuzz/work}
findings=${FUZZ_FINDINGS:-$root/Fuzz/findings}
mkdir -p "$work" "$findings"

# Runs one target; writes "target exec/s cov ft corpus_files corpus_kb rss_mb runs verdict detail" to $work/T.result.
run_target() {
    local t=$1
    local corpus=$work/$t seeds=$root/Fuzz/corpus/$t out=$findings/$t log=$work/$t.log
    mkdir -p "$corpus" "$out" "$seeds"
    local before after
    before=$(ls "$out" | wc -l)
    local mode=()
    if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
        mode=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    fi
    # A dictionary of the format's keywords, where one helps (job options, syscalls).
    [ -f "$root/Fuzz/dict/$t.dict" ] && mode+=(-dict="$root/Fuzz/dict/$t.dict")
    local rc=0
    # The outer timeout catches a hang libFuzzer itself could not report.
    FIOTRACE_FUZZ_TARGET=$t timeout -k 10 $((seconds + 120)) "$bin" "${mode[@]}" \
        -rss_limit_mb=1024 -timeout="${FUZZ_TIMEOUT:-10}" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$out/" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
    after=$(ls "$out" | wc -l)
    local status cov ft execs rss runs files kb detail verdict
    status=$(grep -E "^#[0-9]+:?[[:space:]].*cov: " "$log" | tail -1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status")
    execs=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)
    rss=$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+).*/\1/p' "$log" | tail -1)
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
    if [ -z "$execs" ]; then
        # Fork mode prints no final stats: take the last status line's figures.
        execs=$(sed -nE 's/.* exec\/s: ([0-9]+).*/\1/p' <<<"$status")
        runs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$status")
    fi
    files=$(find "$corpus" -type f | wc -l)
    kb=$(du -sk "$corpus" | cut -f1)
    detail=""
    if [ "$rc" = 0 ] && [ "$after" = "$before" ]; then
        verdict=PASS
    else
        verdict=FAIL
        detail=$(grep -m1 -E 'ERROR: libFuzzer|Fatal error|==ERROR|out-of-memory|timeout after|deadly signal' "$log" | tr -d '\r' | cut -c1-120 || true)
        [ -n "$detail" ] || detail="exit status $rc (see $log)"
    fi
    echo "$t ${execs:--} ${cov:--} ${ft:--} $files $kb ${rss:--} ${runs:--} $verdict $detail" >"$work/$t.result"
    echo "fuzz.sh: $t: $verdict" >&2
}

echo "fuzz.sh: ${#targets[@]} target(s), ${seconds} s each, $jobs at a time" >&2
running=0
for t in "${targets[@]}"; do
    rm -f "$work/$t.result"
    run_target "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

fail=0
printf '%-10s %8s %7s %7s %14s %8s %10s %s\n' target exec/s cov ft corpus rss_mb runs result
for t in "${targets[@]}"; do
    if [ ! -f "$work/$t.result" ]; then
        printf '%-10s %8s %7s %7s %14s %8s %10s %s\n' "$t" - - - - - - "FAIL (no result; see $work/$t.log)"
        fail=1; continue
    fi
    read -r name execs cov ft files kb rss runs verdict detail <"$work/$t.result"
    printf '%-10s %8s %7s %7s %14s %8s %10s %s\n' "$name" "$execs" "$cov" "$ft" "${files} (${kb} KB)" "$rss" "$runs" "$verdict${detail:+: $detail}"
    [ "$verdict" = PASS ] || fail=1
done
if [ "$fail" != 0 ]; then
    echo "fuzz.sh: findings saved under $findings (reproduce: FIOTRACE_FUZZ_TARGET=TARGET $bin FILE)" >&2
    exit 1
fi
