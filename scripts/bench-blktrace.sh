#!/usr/bin/env bash
# blktrace benchmark: reading a large capture (the real one in traces/, replicated) with
# fio-replay, beside blktrace's own tools on the same files in the same run.
#   scripts/bench-blktrace.sh [COPIES] [WORKDIR]      (default 30000 copies: 24M events, 1.3 GB)
# Set BEFORE_BIN=/path/to/an/older/fio-replay to time it on the same work (before/after).
# Prints one line per figure: best of 5 wall-clock seconds and events/s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
COPIES=${1:-30000}
W=${2:-$(mktemp -d /tmp/blktrace-bench.XXXXXX)}
mkdir -p "$W"
swift build -c release --product fio-replay >/dev/null
R="$(swift build -c release --show-bin-path)/fio-replay"
OUT=/dev/shm
[ -w "$OUT" ] || OUT="$W"

now() { date +%s.%N; }
best() { local b=999; for _ in 1 2 3 4 5; do local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); b=$(echo "x=$e - $s; if (x < $b) x else $b" | bc -l); done; echo "$b"; }
rate() { echo "$1 / $2 / 1000000" | bc -l | cut -c1-5; }

python3 scripts/replicate-blktrace.py traces/liuzel01-sda "$W/big" "$COPIES"
EVENTS=$("$R" info --json "$W/big.blktrace.0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["blktrace.events_read"])')
echo "capture: $COPIES copies of traces/liuzel01-sda, $EVENTS events, $(du -h "$W"/big.blktrace.* | awk '{s=s" "$1} END{print s}')"

T_CONV=$(best "$R" convert "$W/big.blktrace.0" "$OUT/bench-blktrace.fiot")
echo "fio-replay convert (Q records -> .fiot): $T_CONV s = $(rate "$EVENTS" "$T_CONV") M events/s"
T_DISP=$(best "$R" convert --dispatch "$W/big.blktrace.0" "$OUT/bench-blktrace.fiot")
echo "fio-replay convert --dispatch:           $T_DISP s = $(rate "$EVENTS" "$T_DISP") M events/s"
if [ -n "${BEFORE_BIN:-}" ]; then
    B_CONV=$(best "$BEFORE_BIN" convert "$W/big.blktrace.0" "$OUT/bench-blktrace.fiot")
    B_DISP=$(best "$BEFORE_BIN" convert --dispatch "$W/big.blktrace.0" "$OUT/bench-blktrace.fiot")
    echo "before ($BEFORE_BIN) convert:            $B_CONV s = $(rate "$EVENTS" "$B_CONV") M events/s (after/before time: $(echo "scale=3; $T_CONV / $B_CONV" | bc -l))"
    echo "before convert --dispatch:               $B_DISP s = $(rate "$EVENTS" "$B_DISP") M events/s (after/before time: $(echo "scale=3; $T_DISP / $B_DISP" | bc -l))"
fi
rm -f "$OUT/bench-blktrace.fiot"

# The peers: blkparse reading the same per-CPU files (to binary, no text), and btt's
# analysis of the merged dump beside `info` (summary plus btt's figures).
T_BP=$(best blkparse -i "$W/big" -d "$OUT/bench-blktrace.dump" -O -q)
echo "blkparse -d (merge to a dump):          $T_BP s = $(rate "$EVENTS" "$T_BP") M events/s  (fio-replay convert is $(echo "scale=1; $T_BP / $T_CONV" | bc -l)x faster)"
T_INFO=$(best "$R" info "$W/big.blktrace.0")
# btt writes its *_fp.dat side files into the working directory: run it in the workdir.
T_BTT=$(cd "$W" && best btt -i "$OUT/bench-blktrace.dump" -o "$W/btt")
echo "fio-replay info (summary + btt figures): $T_INFO s; btt on the dump: $T_BTT s  (ratio btt/ours: $(echo "scale=2; $T_BTT / $T_INFO" | bc -l))"
rm -f "$OUT/bench-blktrace.dump"
echo "workdir: $W"
