#!/usr/bin/env bash
# compare / fit / anonymize: time and peak memory on a 1M-record and a 10M-record trace of
# the same workload (4 KiB random read/write, 70/30, zipf:1.1 over 4 GiB), release build,
# one core. Memory must not grow with the trace's length (streaming: sketches, not
# records). fio has no counterpart to these commands; the nearest peer work is fio
# replaying the same 1M-I/O workload from its text iolog with the null engine (it must
# at least read every line once), run in the same script, and `fio-replay info` (one
# streaming pass of our own). Prints seconds, max RSS and ratios.
#
#   scripts/bench-compare.sh [SMALL] [LARGE]     (defaults 1000000 10000000)
#
# Environment: SKIP_BUILD=1, CPU (core to pin to, default 0), OUT_DIR (default: a fresh
# directory under /tmp, removed at the end).
set -euo pipefail

cd "$(dirname "$0")/.."
SMALL=${1:-1000000}
LARGE=${2:-10000000}
CPU=${CPU:-0}
SCRATCH=${SCRATCH:-$PWD/.build-compare-release}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/bench-compare.XXXXXX)}
trap 'rm -rf "$OUT_DIR"' EXIT

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "building (release, $SCRATCH)..." >&2
    swift build -c release --scratch-path "$SCRATCH" --product fio-replay >&2
    swift build -c release --scratch-path "$SCRATCH" --product fio-gen >&2
fi
BIN="$SCRATCH/release"
JOB=(--name=bench --rw=randrw --rwmixread=70 --bs=4k --size=4g --io_size=1t --random_distribution=zipf:1.1)

# Runs a command pinned to one core; prints "seconds max_rss_kib".
measure() {
    /usr/bin/time -o "$OUT_DIR/time.txt" -f '%e %M' taskset -c "$CPU" "$@" >/dev/null 2>"$OUT_DIR/stderr.txt" \
        || { cat "$OUT_DIR/stderr.txt" >&2; exit 1; }
    tail -1 "$OUT_DIR/time.txt"
}

echo "generating traces..." >&2
for n in "$SMALL" "$LARGE"; do
    "$BIN/fio-gen" -q "${JOB[@]}" --number_ios="$n" -o "$OUT_DIR/t$n.fiot"
    "$BIN/fio-gen" -q "${JOB[@]}" --number_ios="$n" --seed 2 -o "$OUT_DIR/u$n.fiot"
done
head -c 32 /dev/urandom > "$OUT_DIR/key"

printf '%-34s %10s %10s %12s %12s\n' "command" "records" "seconds" "max RSS MiB" "M records/s"
row() { # label records seconds rss_kib
    printf '%-34s %10d %10.2f %12.1f %12.2f\n' "$1" "$2" "$3" "$(echo "$4 / 1024" | bc -l)" "$(echo "$2 / $3 / 1000000" | bc -l)"
}
declare -A T M
for n in "$SMALL" "$LARGE"; do
    read -r t m < <(measure "$BIN/fio-replay" info "$OUT_DIR/t$n.fiot");                       row "info (one pass)" "$n" "$t" "$m"; T[info$n]=$t; M[info$n]=$m
    read -r t m < <(measure "$BIN/fio-replay" compare "$OUT_DIR/t$n.fiot" "$OUT_DIR/u$n.fiot"); row "compare (two traces)" "$((2 * n))" "$t" "$m"; T[cmp$n]=$t; M[cmp$n]=$m
    read -r t m < <(measure "$BIN/fio-replay" fit "$OUT_DIR/t$n.fiot" -o "$OUT_DIR/fit$n.fio" -q); row "fit" "$n" "$t" "$m"; T[fit$n]=$t; M[fit$n]=$m
    read -r t m < <(measure "$BIN/fio-replay" anonymize "$OUT_DIR/t$n.fiot" -o "$OUT_DIR/a$n.fiot" --key-file "$OUT_DIR/key" -q); row "anonymize (two passes + write)" "$n" "$t" "$m"; T[anon$n]=$t; M[anon$n]=$m
done
grep -E '^(rw|random_distribution|rwmixread|bs|size|number_ios)=' "$OUT_DIR/fit$LARGE.fio" | tr '\n' ' '; echo

echo "peer: fio 3.33 replaying the ${SMALL}-I/O workload from its text iolog (null engine)..." >&2
"$BIN/fio-replay" convert "$OUT_DIR/t$SMALL.fiot" "$OUT_DIR/t$SMALL.iolog"
read -r ft fm < <(cd "$OUT_DIR" && measure fio --name=peer --ioengine=null --replay_no_stall=1 --read_iolog="$OUT_DIR/t$SMALL.iolog" --output=/dev/null)
row "fio --read_iolog, null engine" "$SMALL" "$ft" "$fm"

echo
printf 'memory, %d vs %d records: compare %.2fx, fit %.2fx, anonymize %.2fx (1.00x = independent of length)\n' "$LARGE" "$SMALL" \
    "$(echo "${M[cmp$LARGE]} / ${M[cmp$SMALL]}" | bc -l)" "$(echo "${M[fit$LARGE]} / ${M[fit$SMALL]}" | bc -l)" \
    "$(echo "${M[anon$LARGE]} / ${M[anon$SMALL]}" | bc -l)"
printf 'time per record vs fio reading and replaying the same %d I/Os: compare %.2fx, fit %.2fx, anonymize %.2fx (fio = 1)\n' "$SMALL" \
    "$(echo "${T[cmp$SMALL]} / 2 / $ft" | bc -l)" "$(echo "${T[fit$SMALL]} / $ft" | bc -l)" "$(echo "${T[anon$SMALL]} / $ft" | bc -l)"
printf 'memory vs fio on %d I/Os: compare %.2fx, fit %.2fx, anonymize %.2fx\n' "$SMALL" \
    "$(echo "${M[cmp$SMALL]} / $fm" | bc -l)" "$(echo "${M[fit$SMALL]} / $fm" | bc -l)" "$(echo "${M[anon$SMALL]} / $fm" | bc -l)"
