#!/usr/bin/env bash
# Start skew of a sharded replay (docs/multi-host.md): Open MPI's mpirun starts four shards
# of a four-volume trace with one --start-at; each reports its first issue against its due
# instant. The peer: four fio 3.33 processes started by the same mpirun, each replaying one
# volume's iolog (fio has no common start instant): the spread of their first I/Os on the
# wall clock (fio's log_unix_epoch, ms resolution). Prints both and the ratio.
#
#   scripts/bench-multihost.sh [TRIALS]      (default 5)
#
# Environment: SKIP_BUILD=1, OUT_DIR (default: a fresh directory under /tmp), LEAD_S (how far
# ahead --start-at lies, default 3).
set -euo pipefail

cd "$(dirname "$0")/.."
TRIALS=${1:-5}
LEAD_S=${LEAD_S:-3}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/bench-multihost.XXXXXX)}
trap 'rm -rf "$OUT_DIR"' EXIT
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then swift build -c release >&2; fi
B=$(swift build -c release --show-bin-path)
MPI=(mpirun --allow-run-as-root --oversubscribe -np 4)

cd "$OUT_DIR"
"$B/fio-gen" --name x --rw randrw --nrfiles 4 --size 32m --bs 4k --number_ios 4000 --rate_iops 4000 \
    --rate_process poisson -o t.fiot -q
for k in 0 1 2 3; do
    "$B/fio-replay" convert t.fiot "vol$k.iolog" --file "x.0.$k" 2>/dev/null
    truncate -s 8m "fvol$k"
done

ours=()
peer=()
for ((i = 1; i <= TRIALS; i++)); do
    rm -f out*.json
    AT=$(( $(date +%s%N) + LEAD_S * 1000000000 ))
    "${MPI[@]}" "$B/fio-replay" replay t.fiot --shard auto --start-at "$AT" --engine psync \
        --target "$OUT_DIR/vol{volume}" --output-format json --output 'out{shard}.json' 2>/dev/null
    ours+=("$(python3 - <<'EOF'
import json
s = [json.load(open(f"out{k}.json"))["jobs"][0]["replay"]["shard"]["start_skew_ns"] for k in range(4)]
print(max(abs(x) for x in s))
EOF
)")
    rm -f lat*.log
    # fio: each rank replays its volume's iolog (its timestamps: the trace's times) onto a file.
    "${MPI[@]}" sh -c 'fio --name=r --ioengine=psync --read_iolog=vol$OMPI_COMM_WORLD_RANK.iolog \
        --replay_redirect=fvol$OMPI_COMM_WORLD_RANK --write_lat_log=lat$OMPI_COMM_WORLD_RANK \
        --log_unix_epoch=1 --output=/dev/null' >/dev/null 2>&1
    # Each first I/O's wall time (ms, its completion) less its trace time: the instant each
    # fio started its schedule; the spread over the four is fio's start skew.
    peer+=("$(python3 - <<'EOF'
import glob
starts = []
for k in range(4):
    f = sorted(glob.glob(f"lat{k}_lat.*.log"))[0]
    first = open(f).readline().split(",")
    t0 = None
    for line in open(f"vol{k}.iolog"):
        p = line.split()
        if len(p) == 5 and p[2] in ("read", "write"):
            t0 = int(p[0]) / 1000.0  # us -> ms
            break
    starts.append(int(first[0]) - t0)
print(int((max(starts) - min(starts)) * 1e6))
EOF
)")
done
python3 - "${ours[*]}" "${peer[*]}" <<'EOF'
import sys, statistics
ours = [int(x) for x in sys.argv[1].split()]
peer = [int(x) for x in sys.argv[2].split()]
print(f"fio-replay --start-at, 4 shards under mpirun: worst |start skew| per trial (us): {[round(x/1000,1) for x in ours]}")
print(f"fio 3.33, 4 processes under mpirun (no common start): spread of schedule starts (ms resolution, us): {[round(x/1000) for x in peer]}")
mo, mp = statistics.median(ours), statistics.median(peer)
print(f"median: ours {mo/1000:.1f} us, fio {mp/1000:.0f} us, ratio fio/ours {mp/max(mo,1):.1f}x")
print(f"bar: every shard's first issue within 1 ms of --start-at in every trial: {'PASS' if max(ours) <= 1_000_000 else 'FAIL'} (worst {max(ours)/1000:.1f} us)")
EOF
