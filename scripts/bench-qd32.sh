#!/usr/bin/env bash
# The io_uring IOPS bar on its own: 4 KiB random reads at QD32 from a 1 GiB tmpfs file,
# timing none, fio's io_uring engine against fio-replay, alternated RUNS times (this machine
# is noisy: compare medians and per-run ratios, not single runs).
#
# usage: scripts/bench-qd32.sh [RUNS=5] [BIN_DIR=.build-rel/release]
# env:   SHM (tmpfs dir for the file, default /dev/shm/fiot-qd32), WORK (default /tmp/fiot-qd32)
set -euo pipefail
RUNS=${1:-5}
BIN=${2:-$(cd "$(dirname "$0")/.." && pwd)/.build-rel/release}
SHM=${SHM:-/dev/shm/fiot-qd32}
W=${WORK:-/tmp/fiot-qd32}
mkdir -p "$SHM" "$W"
[ -f "$SHM/qd32" ] || dd if=/dev/urandom of="$SHM/qd32" bs=1M count=1024 status=none
[ -f "$W/qd32.fiot" ] || "$BIN/fio-gen" --rw=randread --bs=4k --size=1g --no-timing -o "$W/qd32.fiot" 2>/dev/null
iops() { python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["jobs"][0]["read"]["iops"])' "$1"; }
f=(); o=()
for i in $(seq "$RUNS"); do
  fio --name=q --filename="$SHM/qd32" --ioengine=io_uring --rw=randread --bs=4k --size=1G --iodepth=32 \
      --output-format=json >"$W/fio.json"
  f+=("$(iops "$W/fio.json")")
  "$BIN/fio-replay" replay "$W/qd32.fiot" --engine io_uring --timing none --iodepth 32 --target "$SHM/qd32" \
      --output-format json --no-progress >"$W/ours.json"
  o+=("$(iops "$W/ours.json")")
  echo "run $i: fio ${f[-1]}  ours ${o[-1]}  ours/fio $(python3 -c "print('%.3f' % (${o[-1]} / ${f[-1]}))")"
done
python3 - "${#f[@]}" "${f[@]}" "${o[@]}" <<'PY'
import sys, statistics as st
n = int(sys.argv[1]); f = list(map(float, sys.argv[2:2 + n])); o = list(map(float, sys.argv[2 + n:]))
r = [a / b for a, b in zip(o, f)]
print("%d runs: median IOPS fio %.0f, ours %.0f; ratio of medians %.3f; median per-run ratio %.3f (min %.3f, max %.3f); ours ahead in %d of %d"
      % (n, st.median(f), st.median(o), st.median(o) / st.median(f), st.median(r), min(r), max(r), sum(x >= 1 for x in r), n))
PY
