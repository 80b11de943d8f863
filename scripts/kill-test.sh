#!/usr/bin/env bash
# SIGKILL recordings at random points and count what they lost: `run --write-iolog`,
# `replay --write-iolog` and `record`, TRIES each (default 20), release build.
#
# Each try starts the recorder, waits for its recording to appear and for the I/O to begin,
# kills it with SIGKILL 1 to 3 s later (uniform), then reads the recording back with
# `fio-replay cat --skip-bad-blocks` and compares:
#  - run, replay: 4 KiB psync writes at 2000 IOPS (rate_iops=2000; a poisson trace). I/Os
#    done = every write call the process made up to the kill, as the kernel counts them
#    (syscw in /proc/PID/io): the recorder's own few writes (header, blocks, a note) count
#    as I/Os done too, so the loss is overstated by a few ms, never understated;
#  - record: `sh` writes one line to a log every 10 ms under strace. I/Os done = the log's
#    lines; recorded = the recording's writes to the log.
# lost s = (done - recorded) / rate (run, replay: 2000; record: lines / seconds).
# "reads cleanly" = cat exits 0 and its only complaint is the missing footer.
# Usage: scripts/kill-test.sh [TRIES] [WORKDIR]    Env: BIN (a directory holding fio-replay
# and fio-gen; default: a release build in .build-rep, built if missing), BOUND (1.0 s).
set -euo pipefail
cd "$(dirname "$0")/.."
TRIES=${1:-20}
W=${2:-/var/tmp/fio-replay-kill-test}
BOUND=${BOUND:-1.0}
rm -rf "$W"; mkdir -p "$W"
if [[ -z ${BIN:-} ]]; then
  swift build -c release --scratch-path .build-rep >"$W/build.log" 2>&1 || { tail -20 "$W/build.log"; exit 1; }
  BIN=$PWD/.build-rep/release
fi
command -v strace >/dev/null || scripts/setup.sh
now() { date +%s.%N; }
descendants() {
  local p c
  for p in "$@"; do
    for c in $(cat /proc/$p/task/*/children 2>/dev/null); do echo "$c"; descendants "$c"; done
  done
}
syscw() { awk '/^syscw:/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }

"$BIN/fio-gen" --name=p --rw=randwrite --bs=4k --size=16m --rate_iops=2000 --rate_process=poisson \
  --runtime=10 --time_based -o "$W/p.fiot" >/dev/null
truncate -s 16M "$W/tgt"
echo "recorder killed with SIGKILL at random points, $TRIES tries each; bound ${BOUND} s"
fails=0
for tool in run replay record; do
  worst=0
  for ((k = 1; k <= TRIES; k++)); do
    out="$W/$tool-$k.fiot"; log="$W/$tool-$k.log"
    case $tool in
      run) cmd=("$BIN/fio-replay" run --name=r --filename="$W/f" --size=16m --rw=randwrite --bs=4k --rate_iops=2000
                --ioengine=psync --runtime=10 --time_based --no-progress --write-iolog "$out") ;;
      replay) cmd=("$BIN/fio-replay" replay "$W/p.fiot" --engine psync --target "$W/tgt" --no-progress --write-iolog "$out") ;;
      record) cmd=("$BIN/fio-replay" record -o "$out" --paths "$W" -- sh -c \
                "i=0; while [ \$i -lt 1000 ]; do echo \$i >&3; i=\$((i+1)); sleep 0.01; done 3>>$log") ;;
    esac
    "${cmd[@]}" >/dev/null 2>"$W/err.txt" &
    pid=$!
    pause=$(python3 -c 'import random; print("%.3f" % random.uniform(1, 3))')
    t0=$(now)
    until [[ -e $out ]]; do sleep 0.005; done
    if [[ $tool == record ]]; then
      until [[ -s $log ]]; do sleep 0.005; done
    else
      until (( $(syscw $pid) >= 10 )); do sleep 0.005; done
    fi
    start=$(now)
    sleep "$pause"
    # strace and the command it runs (their own process group) outlive the recorder: they
    # are ended right after it, by pid.
    kids=$(descendants $pid)
    calls=$(syscw $pid)
    kill -KILL "$pid"
    killed=$(now)
    for c in $kids; do kill -KILL "$c" 2>/dev/null || true; done
    wait "$pid" 2>/dev/null || true
    rc=0
    "$BIN/fio-replay" cat "$out" --skip-bad-blocks --as records >"$W/records.txt" 2>"$W/cat.err" || rc=$?
    read -r done_ recorded lost clean <<<"$(python3 - "$tool" "$W/records.txt" "$W/cat.err" "$rc" "$log" "$start" "$killed" 0 "$calls" <<'EOF'
import sys
tool, recs, err, rc, log, start, killed, base, calls = sys.argv[1:]
elapsed = float(killed) - float(start)
rows = [l.rstrip('\n').split('\t') for l in open(recs) if not l.startswith('#')]
complaints = [l for l in open(err) if l.strip()]
clean = int(rc) == 0 and all('footer' in l for l in complaints)
if tool == 'record':
    done = sum(1 for _ in open(log))
    recorded = sum(1 for r in rows if r[2] == 'write' and r[1].endswith('/' + log.rsplit('/', 1)[1]))
    rate = done / elapsed
else:
    done = int(calls) - int(base)
    recorded = len(rows)
    rate = 2000.0
print(done, recorded, '%.3f' % ((done - recorded) / rate), 'yes' if clean else 'NO')
EOF
)"
    echo "$tool try $k: killed $(python3 -c "print('%.3f' % ($killed - $start))") s into the I/O; I/Os done $done_, records $recorded, lost $lost s; reads cleanly: $clean"
    [[ $clean == yes ]] || { fails=$((fails + 1)); sed 's/^/    /' "$W/cat.err"; }
    python3 -c "import sys; sys.exit(0 if $lost <= $BOUND else 1)" || fails=$((fails + 1))
    worst=$(python3 -c "print(max($worst, $lost))")
  done
  echo "== $tool: $TRIES tries, lost at most $worst s"
done
echo "failures (lost > ${BOUND} s, or an unclean read): $fails"
[[ $fails == 0 ]]
