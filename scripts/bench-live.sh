#!/usr/bin/env bash
# Live run versus replay of its own recording, ours and fio 3.33's, in one invocation
# (issue 6). For each job (libaio, O_DIRECT, a file on disk):
#   ours : fio-replay run JOB --write-iolog rec.fiot, then fio-replay replay rec.fiot
#   fio  : fio JOB --write_iolog=rec.log, then fio --read_iolog=rec.log (same engine/direct)
#   cross: fio's rec.log replayed by fio-replay (iodepth from the job, as fio's replay gets it)
# and prints clat p50/p99 per op and duration of each replay against its live run.
# Usage: scripts/bench-live.sh [WORKDIR]  (default /var/tmp/fio-live-bench)
# Env: SCRATCH (swift scratch path, default .build-rep), SKIP_BUILD=1, RUNTIME (s, default 3),
#      RT=1 (run our scheduler threads SCHED_FIFO 50).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-$PWD/.build-rep}
W=${1:-/var/tmp/fio-live-bench}
RUNTIME=${RUNTIME:-3}
mkdir -p "$W"
if [[ -z "${SKIP_BUILD:-}" && -z "${BIN:-}" ]]; then
  if ! swift build -c release --scratch-path "$SCRATCH" --product fio-replay >"$W/build.log" 2>&1; then
    echo "release build failed:"; tail -20 "$W/build.log"; exit 1
  fi
fi
BIN=${BIN:-"$SCRATCH/release/fio-replay"}
FIO=${FIO:-fio}
RTOPT=()
[[ -n "${RT:-}" ]] && RTOPT=(--rt-priority 50)
echo "fio: $($FIO --version)   fio-replay: $BIN   $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"

F="$W/data.bin"
# Lay the file out once (both tools then find it full size). Each case reads it whole
# first (O_DIRECT), so that no run pays for blocks the VM host has not cached yet.
[[ -s "$F" && $(stat -c %s "$F") -ge $((512 << 20)) ]] || $FIO --name=layout --filename="$F" --size=512M --rw=write --bs=1M --ioengine=psync >/dev/null

# compare LIVE.json REPLAY.json LABEL: per-op clat p50/p99 ratios and duration error.
compare() {
  python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
live = json.load(open(sys.argv[1]))['jobs'][0]
rep = json.load(open(sys.argv[2]))['jobs'][0]
def dur(j):
    # fio's job_runtime is ms; ours has the exact ns in the replay object
    if 'replay' in j: return j['replay']['replay_duration_ns'] / 1e9
    return j['job_runtime'] / 1000
parts = []
for op in ('read', 'write'):
    a, b = live[op], rep[op]
    if a['total_ios'] == 0: continue
    pa, pb = a['clat_ns']['percentile'], b['clat_ns']['percentile']
    parts.append('%s clat p50 %6.1f/%6.1f us (%.2fx), p99 %7.1f/%7.1f us (%.2fx), ios %d/%d' % (
        op, pa['50.000000']/1e3, pb['50.000000']/1e3, pb['50.000000']/pa['50.000000'],
        pa['99.000000']/1e3, pb['99.000000']/1e3, pb['99.000000']/pa['99.000000'], a['total_ios'], b['total_ios']))
dl, dr = dur(live), dur(rep)
extra = ''
if 'replay' in rep and rep['replay']['lateness_ns']['N'] > 0:
    l = rep['replay']['lateness_ns']
    extra = ', lateness p50 %d ns p99 %d ns' % (l['p50'], l['p99'])
print('  %-28s duration %.3f s vs live %.3f s (%+.2f %%)%s' % (sys.argv[3], dr, dl, (dr - dl) / dl * 100, extra))
for p in parts: print('  %-28s %s' % ('', p))
EOF
}

run_case() { # NAME, fio job options...
  local name=$1; shift
  echo
  echo "== $name =="
  # Warm the host's cache of the whole file first: the runs below touch the same blocks
  # (same seed), and whichever ran first would otherwise pay for every cold block.
  dd if="$F" of=/dev/null bs=1M iflag=direct status=none
  rm -f "$W/$name.fio.log" "$W/$name.ours.fiot"
  # ours: live (recorded), then replay of the recording
  "$BIN" run "${RTOPT[@]}" --name="$name" --filename="$F" --size=512M "$@" --output-format json --no-progress \
      --write-iolog "$W/$name.ours.fiot" >"$W/$name.ours.live.json" 2>"$W/$name.ours.live.err"
  "$BIN" replay "$W/$name.ours.fiot" --engine libaio --direct "${RTOPT[@]}" --output-format json --no-progress \
      >"$W/$name.ours.replay.json"
  # fio: live (recorded), then its replay
  $FIO --name="$name" --filename="$F" --size=512M "$@" --output-format=json --write_iolog="$W/$name.fio.log" \
      >"$W/$name.fio.live.json"
  local depth
  depth=$(python3 -c "import sys; print(next((a.split('=')[1] for a in sys.argv[1:] if a.startswith('--iodepth=')), '1'))" "$@")
  $FIO --name="$name-replay" --read_iolog="$W/$name.fio.log" --ioengine=libaio --direct=1 --iodepth="$depth" \
      --output-format=json >"$W/$name.fio.replay.json"
  # cross: fio's recording replayed by us
  "$BIN" replay "$W/$name.fio.log" --engine libaio --direct --iodepth "$depth" "${RTOPT[@]}" --output-format json \
      --no-progress >"$W/$name.cross.replay.json"
  compare "$W/$name.ours.live.json" "$W/$name.ours.replay.json" "ours: replay vs live"
  compare "$W/$name.fio.live.json" "$W/$name.fio.replay.json" "fio: read_iolog vs live"
  compare "$W/$name.fio.live.json" "$W/$name.cross.replay.json" "ours on fio's log vs fio live"
  compare "$W/$name.fio.live.json" "$W/$name.ours.live.json" "(live: ours vs fio's)"
  # The noise floor: the same job live again (ours, not recorded). Two live runs of a
  # saturated job differ by more than a replay may differ from its live run.
  "$BIN" run "${RTOPT[@]}" --name="$name" --filename="$F" --size=512M "$@" --output-format json --no-progress \
      >"$W/$name.ours.live2.json" 2>/dev/null
  python3 - "$W/$name.ours.live.json" "$W/$name.ours.live2.json" <<'EOF2'
import json, sys
a, b = (json.load(open(p))['jobs'][0] for p in sys.argv[1:3])
n = lambda j: j['read']['total_ios'] + j['write']['total_ios']
print('  %-28s I/Os %d then %d (%+.2f %%), read clat p50 %.1f then %.1f us' % ('(noise: ours live twice)', n(a), n(b),
      (n(b) - n(a)) / n(a) * 100, a['read']['clat_ns']['percentile']['50.000000'] / 1e3, b['read']['clat_ns']['percentile']['50.000000'] / 1e3))
EOF2
}

run_case poisson2k --rw=randread --bs=4k --ioengine=libaio --direct=1 --iodepth=1 --rate_iops=2000 \
    --rate_process=poisson --runtime="$RUNTIME" --time_based
run_case qd8randrw --rw=randrw --bs=4k --ioengine=libaio --direct=1 --iodepth=8 --runtime="$RUNTIME" --time_based
echo
echo "goals (issue 6): replay vs its live run: clat p50 within 15 %, p99 within 30 %, duration within 1 %"
