#!/usr/bin/env bash
# fio's per-I/O log files, ours against fio 3.33's, in one invocation (issue 15). The same
# job with and without every log (write_bw_log, write_lat_log, write_iops_log,
# write_hist_log with log_hist_msec=100: five lines per I/O), run by `fio-replay run`
# (release build) and by fio. Prints per case and tool: wall time without and with logs,
# peak RSS with logs, lines written, and the ratios ours/fio.
# Usage: scripts/bench-logs.sh [WORKDIR]  (default /var/tmp/fio-logs-bench)
# Env: SCRATCH (swift scratch path, default .build-rep), SKIP_BUILD=1, LOOPS (passes over a
#      256 MiB file of 4 KiB reads, default 8: 524288 I/Os).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-$PWD/.build-rep}
W=${1:-/var/tmp/fio-logs-bench}
LOOPS=${LOOPS:-8}
mkdir -p "$W"
if [[ -z "${SKIP_BUILD:-}" && -z "${BIN:-}" ]]; then
  if ! swift build -c release --scratch-path "$SCRATCH" --product fio-replay >"$W/build.log" 2>&1; then
    echo "release build failed:"; tail -20 "$W/build.log"; exit 1
  fi
fi
BIN=$(readlink -f "${BIN:-"$SCRATCH/release/fio-replay"}")
FIO=${FIO:-fio}
echo "fio: $($FIO --version)   fio-replay: $BIN   $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"

F="$W/data.bin"
[[ -s "$F" && $(stat -c %s "$F") -ge $((256 << 20)) ]] || $FIO --name=layout --filename="$F" --size=256M --rw=write --bs=1M --ioengine=psync >/dev/null
LOGS=(--write_bw_log=b --write_lat_log=l --write_iops_log=i --write_hist_log=h --log_hist_msec=100)

# run TOOL DIR ARGS...: wall seconds and peak RSS (KiB) of one run in DIR.
run() {
  local tool=$1 dir=$2; shift 2
  rm -rf "$dir"; mkdir -p "$dir"
  local cmd=("$FIO" --output=/dev/null)
  [[ $tool == ours ]] && cmd=("$BIN" run --no-progress --output=/dev/null)
  ( cd "$dir" && /usr/bin/time -f '%e %M' -o "$dir/.time" "${cmd[@]}" "$@" >/dev/null 2>"$dir/.err" ) || { echo "$tool failed:"; cat "$dir/.err"; exit 1; }
  cat "$dir/.time"
}

for engine in null psync; do
  JOB=(--name=j --filename="$F" --size=256m --rw=read --bs=4k --loops="$LOOPS" --ioengine=$engine)
  declare -A wall rss lines
  for tool in fio ours; do
    read -r t0 _ < <(run $tool "$W/$tool-off" "${JOB[@]}")
    read -r t1 m1 < <(run $tool "$W/$tool-on" "${JOB[@]}" "${LOGS[@]}")
    wall[$tool-off]=$t0; wall[$tool-on]=$t1; rss[$tool]=$m1
    ls "$W/$tool-on"/*.log >/dev/null 2>&1 || { echo "$tool wrote no logs:"; cat "$W/$tool-on/.err"; exit 1; }
    lines[$tool]=$(cat "$W/$tool-on"/*.log | wc -l)
  done
  echo "case: $engine engine, 4 KiB sequential reads, $((LOOPS * 65536)) I/Os"
  for tool in fio ours; do
    printf '  %-5s no logs %6.2f s   all logs %6.2f s (+%5.2f s)   peak RSS %7.1f MB   %d log lines\n' "$tool" \
      "${wall[$tool-off]}" "${wall[$tool-on]}" "$(echo "${wall[$tool-on]} - ${wall[$tool-off]}" | bc -l)" \
      "$(echo "${rss[$tool]} / 1024" | bc -l)" "${lines[$tool]}"
  done
  printf '  ratio ours/fio: wall with logs %.2fx, peak RSS with logs %.2fx, log lines %s/%s\n' \
    "$(echo "${wall[ours-on]} / ${wall[fio-on]}" | bc -l)" "$(echo "${rss[ours]} / ${rss[fio]}" | bc -l)" "${lines[ours]}" "${lines[fio]}"
  unset wall rss lines
done
