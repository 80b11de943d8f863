#!/usr/bin/env bash
# Recording overhead (issue 13): wall time of a program plain, recorded with
# `fio-replay record --via preload` and with `--via strace`, in one invocation:
#   dd if=/dev/zero of=F bs=4k count=50000     (a file on disk, as in the issue)
#   dd if=/dev/zero of=F bs=64k count=${COUNT64:-10000}
#   sqlite3: ${INSERTS:-5000} inserts, WAL, synchronous=FULL, on tmpfs (/dev/shm: the
#            syncs are cheap, so the calls' own cost, and the recorder's, show)
# Each figure is the median of RUNS (default 5) runs. For a recording two walls are given:
# the whole `fio-replay record` command (recorder start, library, writing the .fiot), and
# the command's own run as the recorder timed it (record.wall_s: spawn to exit).
# For dd a third pair: dd's own figure ("copied, T s": first to last block), plain versus
# recorded with preload ("dd self").
# Goal: preload <= 1.15x plain at 4 KiB, <= 1.05x at 64 KiB and on sqlite.
# Usage: scripts/bench-record.sh [WORKDIR]  (default /var/tmp/fio-record-bench)
# Env: SCRATCH (swift scratch path, default .build-rep), SKIP_BUILD=1, RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-$PWD/.build-rep}
W=${1:-/var/tmp/fio-record-bench}
RUNS=${RUNS:-5}
COUNT64=${COUNT64:-10000}
INSERTS=${INSERTS:-5000}
mkdir -p "$W"
if [[ -z "${SKIP_BUILD:-}" && -z "${BIN:-}" ]]; then
  if ! swift build -c release --scratch-path "$SCRATCH" --product fio-replay >"$W/build.log" 2>&1; then
    echo "release build failed:"; tail -20 "$W/build.log"; exit 1
  fi
fi
BIN=${BIN:-"$SCRATCH/release/fio-replay"}
SHM=/dev/shm/fio-record-bench-$$
mkdir -p "$SHM"
trap 'rm -rf "$SHM"' EXIT
echo "fio-replay: $BIN   $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)   runs: $RUNS (median)"
# Compile the preload library once, outside the timings.
"$BIN" record -o "$W/warm.fiot" -- true 2>/dev/null

python3 - "$W/s.sql" "$INSERTS" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\nCREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\n")
    for i in range(int(sys.argv[2])):
        f.write(f"INSERT INTO t(b) VALUES('row {i} with some text to fill the page');\n")
PY

now() { date +%s.%N; }
# wall CMD...: seconds the command takes (dd's own "copied, T s" line, if it prints one, is
# kept in $W/self).
wall() {
  local a b
  a=$(now); "$@" >/dev/null 2>"$W/err"; b=$(now)
  sed -n 's/.* copied, \([0-9.e-]*\) s,.*/\1/p' "$W/err" | tail -1 >"$W/self"
  echo "$b - $a" | bc -l
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# recorded wall of the command inside the last recording (record.wall_s).
inner() { "$BIN" info "$1" 2>/dev/null | awk '/record.wall_s/ {print $NF}' | tail -1; }

# case NAME SETUP-CMD -- CMD...: plain vs preload vs strace, RUNS times each (interleaved).
run_case() {
  local name=$1 setup=$2; shift 3
  local plain=() pre=() preIn=() st=() stIn=() plainSelf=() preSelf=()
  for ((i = 0; i < RUNS; i++)); do
    eval "$setup"; plain+=("$(wall "$@")"); plainSelf+=("$(cat "$W/self")")
    eval "$setup"; pre+=("$(wall "$BIN" record --via preload -o "$W/p.fiot" -- "$@")"); preIn+=("$(inner "$W/p.fiot")"); preSelf+=("$(cat "$W/self")")
    eval "$setup"; st+=("$(wall "$BIN" record --via strace -o "$W/s.fiot" -- "$@")"); stIn+=("$(inner "$W/s.fiot")")
  done
  local P R RI S SI
  P=$(median "${plain[@]}"); R=$(median "${pre[@]}"); RI=$(median "${preIn[@]}"); S=$(median "${st[@]}"); SI=$(median "${stIn[@]}")
  local recs
  recs=$("$BIN" info "$W/p.fiot" 2>/dev/null | awk '/^records:/ {print $2}')
  printf '%-22s plain %8.3f s | preload %8.3f s (%5.2fx), command %8.3f s (%5.2fx), %s records | strace %8.3f s (%6.2fx), command %8.3f s (%6.2fx)\n' \
    "$name" "$P" "$R" "$(echo "$R / $P" | bc -l)" "$RI" "$(echo "$RI / $P" | bc -l)" "$recs" \
    "$S" "$(echo "$S / $P" | bc -l)" "$SI" "$(echo "$SI / $P" | bc -l)"
  if [[ -n "${plainSelf[0]}" && -n "${preSelf[0]}" ]]; then
    local PS RS
    PS=$(median "${plainSelf[@]}"); RS=$(median "${preSelf[@]}")
    printf '%-22s dd self: plain %8.3f s | preload %8.3f s (%5.2fx)\n' "" "$PS" "$RS" "$(echo "$RS / $PS" | bc -l)"
  fi
}

F="$W/dd.dat"
run_case "dd bs=4k x50000" "rm -f $F" -- dd if=/dev/zero of="$F" bs=4k count=50000
run_case "dd bs=64k x$COUNT64" "rm -f $F" -- dd if=/dev/zero of="$F" bs=64k count="$COUNT64"
rm -f "$F"
run_case "sqlite3 $INSERTS inserts" "rm -rf $SHM/db $SHM/db-wal $SHM/db-shm" -- sqlite3 "$SHM/db" ".read $W/s.sql"
