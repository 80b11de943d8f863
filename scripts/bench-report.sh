#!/usr/bin/env bash
# fio-replay report: seconds, output bytes and peak memory for a 1M- and a 10M-record trace
# (fio-gen: 4 KiB random read/write, 70/30, zipf:1.1 over 4 GiB), release build, one core;
# the page must stay small (well under 2 MB) and memory must not grow with the trace.
# Also `info --timeseries` (the same per-interval figures as CSV), a side-by-side report of
# two traces, and one of a trace and its replay's recording (I/Os paired for lateness).
#
# The peer: fio's own plotting of the same work. fio 3.33 runs the same workload shape
# with the null engine and writes its per-I/O iops, bandwidth and latency logs (what
# fio_generate_plots and fio2gnuplot read), then fio_generate_plots draws them with
# gnuplot (SVG, one point per logged I/O). Its time and output size are per I/O logged,
# so it runs on PEER_N I/Os (default 1M: at 10M its SVGs would be about 200 MB) and the
# ratio is per record.
#
#   scripts/bench-report.sh [SMALL] [LARGE]     (defaults 1000000 10000000)
#
# Environment: SKIP_BUILD=1, CPU (core to pin to, default 0), PEER_N (default 1000000),
# SCRATCH (build directory), OUT_DIR (default: a fresh directory under /tmp, removed at
# the end).
set -euo pipefail

cd "$(dirname "$0")/.."
SMALL=${1:-1000000}
LARGE=${2:-10000000}
CPU=${CPU:-0}
PEER_N=${PEER_N:-1000000}
SCRATCH=${SCRATCH:-$PWD/.build}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/bench-report.XXXXXX)}
trap 'rm -rf "$OUT_DIR"' EXIT

command -v gnuplot >/dev/null 2>&1 || {
    echo "installing gnuplot-nox (fio_generate_plots needs it)..." >&2
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gnuplot-nox >/dev/null
}
command -v fio >/dev/null 2>&1 || scripts/setup.sh

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
bytes() { stat -c %s "$1"; }

echo "generating traces..." >&2
for n in "$SMALL" "$LARGE"; do
    "$BIN/fio-gen" -q "${JOB[@]}" --number_ios="$n" -o "$OUT_DIR/t$n.fiot"
done
"$BIN/fio-gen" -q "${JOB[@]}" --number_ios="$LARGE" --seed 2 -o "$OUT_DIR/u$LARGE.fiot"

printf '%-40s %10s %9s %12s %12s %12s\n' "command" "records" "seconds" "output bytes" "max RSS MiB" "M records/s"
row() { # label records seconds bytes rss_kib
    printf '%-40s %10d %9.2f %12d %12.1f %12.2f\n' "$1" "$2" "$3" "$4" "$(echo "$5 / 1024" | bc -l)" "$(echo "$2 / $3 / 1000000" | bc -l)"
}
declare -A T M B
for n in "$SMALL" "$LARGE"; do
    read -r t m < <(measure "$BIN/fio-replay" info "$OUT_DIR/t$n.fiot")
    row "info (summary only)" "$n" "$t" 0 "$m"; T[info$n]=$t
    read -r t m < <(measure "$BIN/fio-replay" report "$OUT_DIR/t$n.fiot" -o "$OUT_DIR/r$n.html")
    B[rep$n]=$(bytes "$OUT_DIR/r$n.html"); T[rep$n]=$t; M[rep$n]=$m
    row "report (one trace)" "$n" "$t" "${B[rep$n]}" "$m"
    read -r t m < <(measure "$BIN/fio-replay" info "$OUT_DIR/t$n.fiot" --timeseries "$OUT_DIR/ts$n.csv" --timeseries-interval 100ms)
    row "info --timeseries (100 ms, CSV)" "$n" "$t" "$(bytes "$OUT_DIR/ts$n.csv")" "$m"
done
read -r t m < <(measure "$BIN/fio-replay" report "$OUT_DIR/t$LARGE.fiot" "$OUT_DIR/u$LARGE.fiot" -o "$OUT_DIR/two.html")
row "report (two traces side by side)" "$((2 * LARGE))" "$t" "$(bytes "$OUT_DIR/two.html")" "$m"
T[two]=$t; B[two]=$(bytes "$OUT_DIR/two.html")
# A trace and its replay's recording, paired I/O by I/O for the lateness (the null engine at
# --speed 10: the 100 s trace replays in 10 s).
truncate -s 4g "$OUT_DIR/null.target"
"$BIN/fio-replay" replay "$OUT_DIR/t$SMALL.fiot" --target "$OUT_DIR/null.target" --engine null --speed 10 \
    --write-iolog "$OUT_DIR/rep$SMALL.fiot" --no-progress >/dev/null
read -r t m < <(measure "$BIN/fio-replay" report "$OUT_DIR/t$SMALL.fiot" "$OUT_DIR/rep$SMALL.fiot" -o "$OUT_DIR/pair.html")
row "report (trace + replay, lateness paired)" "$((2 * SMALL))" "$t" "$(bytes "$OUT_DIR/pair.html")" "$m"

echo "peer: fio 3.33 writing per-I/O logs of $PEER_N I/Os (null engine), fio_generate_plots drawing them..." >&2
mkdir -p "$OUT_DIR/fio"
(cd "$OUT_DIR/fio" && fio "${JOB[@]}" --ioengine=null --number_ios="$PEER_N" --write_iops_log=peer --write_bw_log=peer \
    --write_lat_log=peer --output=/dev/null)
LOGB=$(cat "$OUT_DIR"/fio/peer_*.log | wc -c)
read -r ft fm < <(cd "$OUT_DIR/fio" && measure fio_generate_plots peer)
FB=$(cat "$OUT_DIR"/fio/*.svg | wc -c)
row "fio_generate_plots (gnuplot SVGs)" "$PEER_N" "$ft" "$FB" "$fm"
echo "  (fio's per-I/O logs it read: $LOGB bytes)"

echo
printf 'report of %d records: %.2f s, %d bytes (%.3f MB; bar: under 2 MB)\n' "$LARGE" "${T[rep$LARGE]}" "${B[rep$LARGE]}" "$(echo "${B[rep$LARGE]} / 1000000" | bc -l)"
printf 'report memory, %d vs %d records: %.2fx (1.00x = independent of length)\n' "$LARGE" "$SMALL" "$(echo "${M[rep$LARGE]} / ${M[rep$SMALL]}" | bc -l)"
printf 'report time over info time (the binning and page on top of one summary pass), %d records: %.2fx\n' "$LARGE" "$(echo "${T[rep$LARGE]} / ${T[info$LARGE]}" | bc -l)"
printf 'time per record, fio_generate_plots (%d) over report (%d): %.1fx\n' "$PEER_N" "$LARGE" \
    "$(echo "($ft / $PEER_N) / (${T[rep$LARGE]} / $LARGE)" | bc -l)"
printf 'output size, fio_generate_plots for %d I/Os over report for %d records: %.1fx (fio grows with the I/Os, report does not)\n' \
    "$PEER_N" "$LARGE" "$(echo "$FB / ${B[rep$LARGE]}" | bc -l)"
