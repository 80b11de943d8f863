#!/usr/bin/env bash
# The replay pipeline against the machine's timer floor and fio 3.33, in one run:
#  1. cyclictest (the timer wake-up floor) beside our issue lateness on 3 s poisson 4 KiB
#     randread traces at 10k, 100k, 200k and 400k IOPS (null engine, and io_uring on a tmpfs
#     file), with fio's replay duration on the same traces; lateness per 10 ms interval
#     around every .fiot block boundary (decode ahead must leave no cluster there);
#  2. what the taps cost when unused: the null-engine 1M-I/O replay and QD32 io_uring
#     randread, this build against the build of $BASE (the commit before the pipeline);
#  3. write payloads: zstd ratio of what fio and we write with buffer_compress_percentage=50.
# Usage: scripts/bench-pipeline.sh [WORKDIR]     Env: BASE (commit, default e58dd86),
# SKIP_BASE=1 (no baseline build), RATES (default "10000 100000 200000 400000"),
# IOLOG=1 (section 1's replays also record with --write-iolog, to tmpfs), ONLY=1 (stop
# after section 1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
W=${1:-/var/tmp/fio-replay-bench-pipeline}
SHM=/dev/shm/fio-replay-bench-pipeline
mkdir -p "$W" "$SHM"
trap 'rm -rf "$SHM"' EXIT
BASE=${BASE:-e58dd86}
RATES=${RATES:-"10000 100000 200000 400000"}
command -v cyclictest >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rt-tests >/dev/null; }
command -v fio >/dev/null || scripts/setup.sh

swift build -c release --scratch-path "$ROOT/.build-rep" >"$W/build.log" 2>&1 || { tail -20 "$W/build.log"; exit 1; }
BIN="$ROOT/.build-rep/release/fio-replay"
GEN="$ROOT/.build-rep/release/fio-gen"
BASEBIN=""
if [[ -z "${SKIP_BASE:-}" ]]; then
  if [[ ! -x "$W/base-$BASE/fio-replay" ]]; then
    rm -rf "$W/base-src"; git worktree prune
    git worktree add -q --detach "$W/base-src" "$BASE"
    (cd "$W/base-src" && swift build -c release --scratch-path "$ROOT/.build-base" --product fio-replay >"$W/build-base.log" 2>&1) \
      || { tail -20 "$W/build-base.log"; exit 1; }
    mkdir -p "$W/base-$BASE"; cp "$ROOT/.build-base/release/fio-replay" "$W/base-$BASE/"
    git worktree remove --force "$W/base-src"
  fi
  BASEBIN="$W/base-$BASE/fio-replay"
fi
py() { python3 -c "$@"; }
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
echo "fio: $(fio --version)   $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)   kernel $(uname -r)"

echo
echo "== 0. timer floor: cyclictest, 100 us interval, SCHED_OTHER, 10 s =="
cyclictest -q -m -t1 --policy=other -p0 -i 100 -D 10 -h 20000 >"$W/cyclic.txt" 2>/dev/null || true
read -r CT_P50 CT_P99 CT_P999 CT_MAX <<<"$(py "
import re
h={}
mx=0
for l in open('$W/cyclic.txt'):
    m=re.match(r'^(\d+)\s+(\d+)\s*$', l)
    if m: h[int(m.group(1))]=int(m.group(2))
    m=re.match(r'# Max Latencies:\s+(\d+)', l)
    if m: mx=int(m.group(1))
n=sum(h.values()); out=[]
for p in (50,99,99.9):
    c=0
    for k in sorted(h):
        c+=h[k]
        if c>=p/100*n: out.append(k); break
print(*out, mx)
")"
echo "cyclictest wake-up latency: p50 ${CT_P50} us, p99 ${CT_P99} us, p99.9 ${CT_P999} us, max ${CT_MAX} us"

echo
echo "== 1. open-loop lateness, 3 s poisson 4 KiB randread (iodepth 32)${IOLOG:+, recording with --write-iolog} =="
truncate -s 1G "$SHM/target"
dd if=/dev/zero of="$SHM/target" bs=1M count=1024 conv=notrunc status=none
best_rate=0
for R in $RATES; do
  T="$W/p$R.fiot"
  [[ -s "$T" ]] || "$GEN" --name=p --rw=randread --bs=4k --size=1g --rate_iops=$R --rate_process=poisson --runtime=3 --time_based -o "$T" >/dev/null
  # Trace times of the block boundaries (every 65,536 records), for the cluster check.
  "$BIN" cat "$T" --as records 2>/dev/null | awk -F'\t' 'NR > 2 && (NR - 2) % 65536 == 0 {print $1}' >"$W/bounds$R.txt" || true
  # io_uring reads of a tmpfs file are done by the kernel's io-wq workers, which stall for
  # milliseconds now and then: at iodepth 512 the stall fits in flight, at 32 it blocks issues.
  for eng in null io_uring io_uring:512; do
    depth=${eng#*:}; [[ $depth == "$eng" ]] && depth=32; e=${eng%%:*}; eng=${eng/:/-qd}
    "$BIN" replay "$T" --engine $e --target "$SHM/target" --iodepth $depth --output-format json --no-progress \
      --write-timeseries "$W/ts-$R-$eng.csv" --timeseries-interval 10ms ${IOLOG:+--write-iolog "$SHM/rec.fiot"} >"$W/o.json"
    read -r p50 p99 p999 mx err w10 cpu pol mif rl <<<"$(jq_py "$W/o.json" "(lambda j, r: '%d %d %d %d %.4f %.2f %.1f %s %d %d' % (r['lateness_ns']['p50'], r['lateness_ns']['p99'], r['lateness_ns']['p99.9'], r['lateness_ns']['max'], r['duration_error_pct'], r['lateness_ns']['within_10us_pct'], r['scheduler_cpu']['cpu_pct'], r['scheduler_policy'].replace(' ', '-'), r['max_inflight'], j['read']['clat_ns'].get('percentile', {}).get('99.900000', 0)))(d['jobs'][0], d['jobs'][0]['replay'])")"
    # Worst lateness in the 10 ms intervals that hold a block boundary, against all others.
    read -r atb elsewhere <<<"$(py "
import csv
rows=[r for r in csv.DictReader(open('$W/ts-$R-$eng.csv')) if r['op']=='all']
b=[]
try: b=[int(x) for x in open('$W/bounds$R.txt') if x.strip()]
except: pass
def hit(r): return any(int(r['start_ns'])<=t<int(r['end_ns'])+10_000_000 for t in b)
a=max([int(r['late_max_ns']) for r in rows if hit(r)] or [0]); o=max([int(r['late_max_ns']) for r in rows if not hit(r)] or [0])
print(a,o)")"
    ok99=$(py "print('met' if $p99 <= 50000 else 'NOT met')")
    ok999=$(py "print('met' if $p999 <= 3 * $CT_P999 * 1000 else 'NOT met')")
    okd=$(py "print('met' if abs($err) <= 0.1 else 'NOT met')")
    echo "ours $R IOPS, $eng (iodepth $depth): lateness p50 ${p50} ns, p99 ${p99} ns ($ok99), p99.9 ${p999} ns ($ok999 vs 3x cyclictest p99.9), max ${mx} ns; within 10 us ${w10} %; duration error ${err} % ($okd); scheduler CPU ${cpu} % ($pol); max in flight ${mif}, read clat p99.9 ${rl} ns"
    echo "      worst lateness in intervals at block boundaries ${atb} ns, elsewhere ${elsewhere} ns"
    if [[ $eng == null && $p99 -le 50000 && $R -gt $best_rate ]]; then best_rate=$R; fi
  done
  "$BIN" convert "$T" "$W/p$R.iolog" >/dev/null
  s0=$(date +%s.%N)
  (cd "$W" && fio --name=r --read_iolog="$W/p$R.iolog" --ioengine=null --output-format=json >"$W/fio$R.json" 2>/dev/null) || true
  s1=$(date +%s.%N)
  fdur=$(jq_py "$W/fio$R.json" "d['jobs'][0]['read']['runtime']/1000" 2>/dev/null || echo nan)
  echo "fio  $R IOPS, null: replay runtime ${fdur} s for a 3 s trace = duration error $(py "print('%+.1f' % (($fdur-3)/3*100))") % (process wall $(py "print('%.2f' % ($s1-$s0))") s)"
done
echo "highest open-loop rate with lateness p99 <= 50 us (null engine): ${best_rate} IOPS"
[[ -n ${ONLY:-} ]] && exit 0

echo
echo "== 2. cost of the taps when unused: this build against $BASE, same run =="
if [[ ! -s "$W/null1m.log" ]]; then
  (cd "$W" && fio --name=n --ioengine=null --rw=randrw --bs=4k --size=4G --number_ios=1000000 --write_iolog="$W/null1m.log" >/dev/null)
fi
"$BIN" convert "$W/null1m.log" "$W/null1m.fiot" >/dev/null
timed() { /usr/bin/time -f "%e %M" "$@" >/dev/null 2>"$W/t.err"; tail -1 "$W/t.err"; }
for b in "$BIN" ${BASEBIN:+"$BASEBIN"}; do
  walls=(); rss=()
  for i in 1 2 3 4 5; do read -r w r <<<"$(timed "$b" replay "$W/null1m.fiot" --engine null --timing none --iodepth 1 --target "$W/nt" --output-format json --no-progress)"; walls+=("$w"); rss+=("$r"); done
  echo "$( [[ $b == "$BIN" ]] && echo "this build" || echo "base $BASE" ): null 1M replay wall $(printf '%s\n' "${walls[@]}" | sort -g | sed -n 3p) s (median of 5: ${walls[*]}), peak RSS $(printf '%s\n' "${rss[@]}" | sort -g | tail -1 | awk '{printf "%.1f", $1/1024}') MB"
done
dd if=/dev/urandom of="$SHM/qd32" bs=1M count=1024 status=none
[[ -s "$W/qd32.fiot" ]] || { (cd "$W" && fio --name=q --ioengine=null --rw=randread --bs=4k --size=1G --write_iolog="$W/qd32.log" >/dev/null); "$BIN" convert "$W/qd32.log" "$W/qd32.fiot" >/dev/null; }
declare -A IOPS
for i in 1 2 3 4 5; do
  for b in ours ${BASEBIN:+base} fio; do
    case $b in
      ours) "$BIN" replay "$W/qd32.fiot" --engine io_uring --timing none --iodepth 32 --target "$SHM/qd32" --output-format json --no-progress >"$W/q.json"; v=$(jq_py "$W/q.json" "'%.0f' % d['jobs'][0]['read']['iops']") ;;
      base) "$BASEBIN" replay "$W/qd32.fiot" --engine io_uring --timing none --iodepth 32 --target "$SHM/qd32" --output-format json --no-progress >"$W/q.json"; v=$(jq_py "$W/q.json" "'%.0f' % d['jobs'][0]['read']['iops']") ;;
      fio) fio --name=q --filename="$SHM/qd32" --ioengine=io_uring --rw=randread --bs=4k --size=1G --iodepth=32 --output-format=json >"$W/q.json"; v=$(jq_py "$W/q.json" "'%.0f' % d['jobs'][0]['read']['iops']") ;;
    esac
    IOPS[$b]="${IOPS[$b]:-} $v"
  done
done
med() { printf '%s\n' $1 | sort -g | sed -n 3p; }
for b in ours ${BASEBIN:+base} fio; do echo "QD32 io_uring randread IOPS, $b: median $(med "${IOPS[$b]}") (runs:${IOPS[$b]})"; done
echo "ours/fio $(py "print('%.2f' % ($(med "${IOPS[ours]}")/$(med "${IOPS[fio]}")))")x$( [[ -n $BASEBIN ]] && echo ", ours/base $(py "print('%.2f' % ($(med "${IOPS[ours]}")/$(med "${IOPS[base]}")))")x")"

echo
echo "== 3. written data: buffer_compress_percentage=50, zstd -3 ratio of the target =="
rm -f "$W/cw.log" "$W/fio-c.dat" "$W/ours-c.dat"
fio --name=c --filename="$W/fio-c.dat" --size=64M --rw=randwrite --bs=4k --ioengine=psync --buffer_compress_percentage=50 \
    --write_iolog="$W/cw.log" --output-format=json >/dev/null
"$BIN" convert "$W/cw.log" "$W/cw.fiot" >/dev/null
truncate -s 64M "$W/ours-c.dat"
"$BIN" replay "$W/cw.fiot" --target "$W/ours-c.dat" --engine psync --timing none --buffer-compress-percentage 50 --output-format json --no-progress >/dev/null
zr() { py "import os,subprocess; z=len(subprocess.run(['zstd','-q','-3','-c','$1'],capture_output=True).stdout); print('%.3f' % (os.path.getsize('$1')/z))"; }
fr=$(zr "$W/fio-c.dat"); orr=$(zr "$W/ours-c.dat")
echo "zstd ratio: fio ${fr}, ours ${orr}, ours/fio $(py "print('%.3f' % ($orr/$fr))")"
