#!/usr/bin/env bash
# Replay benchmarks against fio 3.33, run side by side in the same invocation.
# Usage: scripts/bench-replay.sh [WORKDIR]   (default /var/tmp/fio-replay-bench; tmpfs parts use /dev/shm)
# Env: SCRATCH (swift scratch path, default .build-rep), SKIP_BUILD=1, BIG=1 (also a 10M-I/O null trace).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-$PWD/.build-rep}
W=${1:-/var/tmp/fio-replay-bench}
SHM=/dev/shm/fio-replay-bench
mkdir -p "$W" "$SHM"
trap 'rm -rf "$SHM"' EXIT
if [[ -z "${SKIP_BUILD:-}" && -z "${BIN:-}" ]]; then
  if ! swift build -c release --scratch-path "$SCRATCH" --product fio-replay >"$W/build.log" 2>&1; then
    echo "release build failed:"; tail -20 "$W/build.log"; exit 1
  fi
fi
BIN=${BIN:-"$SCRATCH/release/fio-replay"}
FIO=${FIO:-fio}
echo "fio: $($FIO --version)   fio-replay: $BIN   $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"

# wall seconds and max RSS (MB) of a command, via /usr/bin/time -v; output to $W/last.out
timed() {
  /usr/bin/time -v "$@" >"$W/last.out" 2>"$W/last.time" || { echo "command failed: $*"; cat "$W/last.time" | tail -5; return 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$W/last.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$W/last.time")
  echo "$wall $rss"
}
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a/b if b else float('nan')))" "$1" "$2"; }
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo
echo "== 1. null engine, 1M-I/O fio randrw trace (end-to-end wall, peak RSS) =="
if [[ ! -s "$W/null1m.log" ]]; then
  (cd "$W" && $FIO --name=n --ioengine=null --rw=randrw --bs=4k --size=4G --number_ios=1000000 --write_iolog="$W/null1m.log" >/dev/null)
fi
"$BIN" convert "$W/null1m.log" "$W/null1m.fiot"
echo "trace: $(wc -l <"$W/null1m.log") iolog lines, $(stat -c %s "$W/null1m.log") B text, $(stat -c %s "$W/null1m.fiot") B .fiot"
best() { # run 3 times, keep the fastest (wall) with its RSS
  local b="" r
  for i in 1 2 3; do r=$(timed "$@"); if [[ -z "$b" ]] || python3 -c "import sys; sys.exit(0 if float('${r%% *}')<float('${b%% *}') else 1)"; then b=$r; fi; done
  echo "$b"
}
ours=$(best "$BIN" replay "$W/null1m.fiot" --engine null --timing none --iodepth 1 --target "$W/nulltarget" --output-format json --no-progress)
theirs=$(cd "$W" && best $FIO --name=r --read_iolog="$W/null1m.log" --replay_no_stall=1 --ioengine=null --output-format=json)
echo "ours : wall ${ours% *} s, RSS ${ours#* } MB   (goal <= 0.15 s, <= 48 MB)"
echo "fio  : wall ${theirs% *} s, RSS ${theirs#* } MB"
echo "ratio fio/ours: wall $(ratio "${theirs% *}" "${ours% *}")x, RSS $(ratio "${theirs#* }" "${ours#* }")x"
if [[ -n "${BIG:-}" ]]; then
  if [[ ! -s "$W/null10m.fiot" ]]; then
    (cd "$W" && $FIO --name=n --ioengine=null --rw=randrw --bs=4k --size=40G --number_ios=10000000 --write_iolog="$W/null10m.log" >/dev/null)
    "$BIN" convert "$W/null10m.log" "$W/null10m.fiot"
  fi
  big=$(timed "$BIN" replay "$W/null10m.fiot" --engine null --timing none --iodepth 1 --target "$W/nulltarget10" --output-format json --no-progress)
  echo "ours, 10M I/Os: wall ${big% *} s, RSS ${big#* } MB"
fi

echo
echo "== 2. 3 s, 2000 IOPS poisson randread on a file, libaio, O_DIRECT =="
PF="$W/poisson.dat"
rm -f "$W/poisson.log"
# Lay out and warm the file (the VM host caches it): otherwise the live run pays for
# every first-touched block and its replays, touching the same blocks again, do not.
[[ -s "$PF" && $(stat -c %s "$PF") -ge $((512 << 20)) ]] || $FIO --name=layout --filename="$PF" --size=512M --rw=write --bs=1M --ioengine=psync >/dev/null
dd if="$PF" of=/dev/null bs=1M iflag=direct status=none
$FIO --name=p --filename="$PF" --size=512M --rw=randread --bs=4k --ioengine=libaio --direct=1 --iodepth=1 \
     --rate_iops=2000 --rate_process=poisson --runtime=3 --time_based --write_iolog="$W/poisson.log" \
     --output-format=json >"$W/live.json"
"$BIN" convert "$W/poisson.log" "$W/poisson.fiot"
live_p50=$(jq_py "$W/live.json" "d['jobs'][0]['read']['clat_ns']['percentile']['50.000000']")
# fio's replay of its own log
t0=$(date +%s.%N)
$FIO --name=r --read_iolog="$W/poisson.log" --ioengine=libaio --direct=1 --output-format=json >"$W/fioreplay.json"
t1=$(date +%s.%N)
fio_dur=$(python3 -c "print('%.4f' % ($t1-$t0))")
fio_rt=$(jq_py "$W/fioreplay.json" "d['jobs'][0]['read']['runtime']/1000")
fio_p50=$(jq_py "$W/fioreplay.json" "d['jobs'][0]['read']['clat_ns']['percentile']['50.000000']")
# "rt": the scheduler thread runs SCHED_FIFO (--rt-priority), immune to other busy processes.
for depth in default 32 default+rt; do
  extra=()
  case $depth in 32) extra=(--iodepth 32) ;; default+rt) extra=(--rt-priority 50) ;; esac
  "$BIN" replay "$W/poisson.fiot" --engine libaio --direct "${extra[@]}" --output-format json --no-progress >"$W/ours.json"
  read -r dur err p99 p50 w100 blk sp99 <<<"$(jq_py "$W/ours.json" "(lambda j: '%.4f %.3f %d %d %.1f %.2f %d' % (j['replay']['replay_duration_ns']/1e9, j['replay']['duration_error_pct'], j['replay']['lateness_ns']['p99'], j['read']['clat_ns']['percentile']['50.000000'], j['replay']['lateness_ns']['within_100us_pct'], j['replay']['scheduler_lateness_ns'].get('depth_blocked_pct', 0), j['replay']['scheduler_lateness_ns'].get('p99', 0)))(d['jobs'][0])")"
  echo "ours (iodepth $depth): replay ${dur} s (error ${err} %), lateness p99 ${p99} ns, within 100us ${w100} %, clat p50 ${p50} ns = $(ratio "$p50" "$live_p50")x live"
  echo "      depth-blocked ${blk} % of I/Os; lateness without the wait for a slot: p99 ${sp99} ns"
done
echo "fio replay           : runtime ${fio_rt} s (wall incl. startup ${fio_dur} s), clat p50 ${fio_p50} ns = $(ratio "$fio_p50" "$live_p50")x live"
echo "fio live run         : clat p50 ${live_p50} ns   (goals: duration within 1 %, lateness p99 <= 50 us, clat p50 within 15 % of live)"

echo
echo "== 3. 10k IOPS trace: issue lateness =="
rm -f "$W/r10k.log"
(cd "$W" && $FIO --name=k --ioengine=null --rw=randread --bs=4k --size=1G --rate_iops=10000 --runtime=3 --time_based --write_iolog="$W/r10k.log" >/dev/null)
"$BIN" convert "$W/r10k.log" "$W/r10k.fiot"
truncate -s 1G "$SHM/f10k"
for run in null io_uring "null --rt-priority 50"; do
  "$BIN" replay "$W/r10k.fiot" --engine $run --target "$SHM/f10k" --iodepth 32 --output-format json --no-progress >"$W/k.json"
  echo "ours ($run): $(jq_py "$W/k.json" "(lambda r: 'lateness p50 %d ns, p99 %d ns, p99.9 %d ns, max %d ns, within 10us %.1f %%, duration error %.3f %%, scheduler cpu %.1f %%' % (r['lateness_ns']['p50'], r['lateness_ns']['p99'], r['lateness_ns']['p99.9'], r['lateness_ns']['max'], r['lateness_ns']['within_10us_pct'], r['duration_error_pct'], r['scheduler_cpu']['cpu_pct']))(d['jobs'][0]['replay'])")   (goal p50 <= 5 us, p99 <= 50 us)"
done
echo "fio  : does not report issue lateness"

echo
echo "== 4. 4 KiB randread QD32, io_uring, tmpfs file, timing none (IOPS) =="
dd if=/dev/urandom of="$SHM/qd32" bs=1M count=1024 status=none
rm -f "$W/qd32.log"
(cd "$W" && $FIO --name=q --ioengine=null --rw=randread --bs=4k --size=1G --write_iolog="$W/qd32.log" >/dev/null)
"$BIN" convert "$W/qd32.log" "$W/qd32.fiot"
# Alternate the two 5 times and compare medians: this machine is shared and noisy. Both do
# the same 262144 random 4 KiB reads (fio's iolog stops at --size). IOPS are as each tool
# reports them (over its own I/O phase); wall is the whole process, start to exit.
fio_all=(); our_all=(); fio_wall=(); our_wall=()
for i in 1 2 3 4 5; do
  r=$(timed $FIO --name=q --filename="$SHM/qd32" --ioengine=io_uring --rw=randread --bs=4k --size=1G --iodepth=32 --output-format=json)
  cp "$W/last.out" "$W/fioq.json"; fio_wall+=("${r% *}")
  fio_all+=("$(jq_py "$W/fioq.json" "'%.0f' % d['jobs'][0]['read']['iops']")")
  r=$(timed "$BIN" replay "$W/qd32.fiot" --engine io_uring --timing none --iodepth 32 --target "$SHM/qd32" --output-format json --no-progress)
  cp "$W/last.out" "$W/oursq.json"; our_wall+=("${r% *}")
  our_all+=("$(jq_py "$W/oursq.json" "'%.0f' % d['jobs'][0]['read']['iops']")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 3p; }
fio_iops=$(median "${fio_all[@]}"); our_iops=$(median "${our_all[@]}")
fw=$(median "${fio_wall[@]}"); ow=$(median "${our_wall[@]}")
echo "IOPS runs: ours ${our_all[*]}  fio ${fio_all[*]}"
echo "median IOPS: ours ${our_iops}   fio ${fio_iops}   ratio ours/fio: $(ratio "$our_iops" "$fio_iops")x   (goal >= 1.0x)"
echo "median wall: ours ${ow} s   fio ${fw} s   ratio fio/ours: $(ratio "$fw" "$ow")x"
