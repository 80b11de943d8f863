#!/usr/bin/env bash
# Verify against fio 3.33, side by side in one run (release build):
#  1. read-back pass throughput, crc32c and xxh3, over a 1 GiB tmpfs file: `fio-replay
#     verify` against fio's verify_only pass with the same algorithm, interval, engine and
#     depth (fio's xxhash is XXH32; ours is XXH3, fio's fastest of that family);
#  2. what verified writes cost: IOPS of a 4 KiB random-write QD32 io_uring replay on tmpfs
#     with and without --verify crc32c, next to fio's IOPS with and without verify=crc32c;
#  3. memory of the last-writer map after 10M random 4 KiB writes over 64 GiB.
# Usage: scripts/bench-verify.sh [WORKDIR]     Env: SKIP_MAP=1 skips part 3 (about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
W=${1:-/var/tmp/fio-replay-bench-verify}
SHM=/dev/shm/fio-replay-bench-verify
mkdir -p "$W" "$SHM"
trap 'rm -rf "$SHM"' EXIT
command -v fio >/dev/null || scripts/setup.sh
swift build -c release --scratch-path "$ROOT/.build-rep" >"$W/build.log" 2>&1 || { tail -20 "$W/build.log"; exit 1; }
BIN="$ROOT/.build-rep/release/fio-replay"
GEN="$ROOT/.build-rep/release/fio-gen"
py() { python3 -c "$@"; }
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
med() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
echo "fio: $(fio --version)   $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== 1. read-back pass over 1 GiB on tmpfs (io_uring, iodepth 16, 1 MiB reads), GB/s =="
[[ -s "$W/seq.fiot" ]] || "$GEN" --name=s --rw=write --bs=1m --size=1g -o "$W/seq.fiot" >/dev/null 2>&1
for algo in crc32c xxh3; do
  fioalgo=$algo; [[ $algo == xxh3 ]] && fioalgo=xxhash
  for vi in 4096 512; do
    ours=(); theirs=()
    for i in 1 2 3; do
      rm -f "$SHM/fio.dat" "$SHM/ours.dat"
      fio --name=v --filename="$SHM/fio.dat" --size=1g --rw=write --bs=1m --ioengine=io_uring --iodepth=16 \
          --verify=$fioalgo --verify_interval=$vi --do_verify=0 --output-format=json >/dev/null
      fio --name=v --filename="$SHM/fio.dat" --size=1g --rw=write --bs=1m --ioengine=io_uring --iodepth=16 \
          --verify=$fioalgo --verify_interval=$vi --verify_only=1 --output-format=json >"$W/fv.json"
      theirs+=("$(jq_py "$W/fv.json" "'%.3f' % (d['jobs'][0]['read']['io_bytes'] / (d['jobs'][0]['read']['runtime'] / 1000) / 1e9)")")
      truncate -s 1g "$SHM/ours.dat"
      "$BIN" replay "$W/seq.fiot" --target "$SHM/ours.dat" --engine io_uring --iodepth 16 --timing none \
          --verify $algo --verify-interval $vi --verify-state "$W/s.state" --no-do-verify --output-format json --no-progress >/dev/null
      "$BIN" verify --state "$W/s.state" --engine io_uring --iodepth 16 --output-format json --no-progress >"$W/ov.json"
      ours+=("$(jq_py "$W/ov.json" "'%.3f' % (d['jobs'][0]['read']['io_bytes'] / (d['jobs'][0]['read']['runtime'] / 1000) / 1e9) if d['jobs'][0]['verify']['ok'] else 'BAD'")")
    done
    o=$(med "${ours[@]}"); t=$(med "${theirs[@]}")
    echo "$algo, interval $vi: ours ${o} GB/s (runs ${ours[*]}), fio ${t} GB/s (runs ${theirs[*]}), ours/fio $(py "print('%.2f' % ($o/$t))")x   (goal >= 1.3x)"
  done
done

echo
echo "== 2. cost of verified writes: 4 KiB randwrite, io_uring QD32, 1 GiB tmpfs file, IOPS =="
[[ -s "$W/rw.fiot" ]] || "$GEN" --name=r --rw=randwrite --bs=4k --size=1g -o "$W/rw.fiot" >/dev/null 2>&1
declare -A R
for i in 1 2 3; do
  for side in ours-plain ours-verify fio-plain fio-verify; do
    rm -f "$SHM/w.dat"; truncate -s 1g "$SHM/w.dat"
    case $side in
      ours-plain) "$BIN" replay "$W/rw.fiot" --target "$SHM/w.dat" --engine io_uring --iodepth 32 --timing none --output-format json --no-progress >"$W/o.json" ;;
      ours-verify) "$BIN" replay "$W/rw.fiot" --target "$SHM/w.dat" --engine io_uring --iodepth 32 --timing none --verify crc32c --verify-interval 4096 --no-do-verify --output-format json --no-progress >"$W/o.json" ;;
      fio-plain) fio --name=r --filename="$SHM/w.dat" --size=1g --rw=randwrite --bs=4k --ioengine=io_uring --iodepth=32 --output-format=json >"$W/o.json" ;;
      fio-verify) fio --name=r --filename="$SHM/w.dat" --size=1g --rw=randwrite --bs=4k --ioengine=io_uring --iodepth=32 --verify=crc32c --do_verify=0 --output-format=json >"$W/o.json" ;;
    esac
    R[$side]="${R[$side]:-} $(jq_py "$W/o.json" "'%.0f' % d['jobs'][0]['write']['iops']")"
  done
done
for side in ours-plain ours-verify fio-plain fio-verify; do echo "$side: median $(med ${R[$side]}) IOPS (runs:${R[$side]})"; done
oc=$(py "print('%.3f' % ($(med ${R[ours-verify]})/$(med ${R[ours-plain]})))"); fc=$(py "print('%.3f' % ($(med ${R[fio-verify]})/$(med ${R[fio-plain]})))")
echo "IOPS with verify / without: ours ${oc}, fio ${fc}   (goal: ours no lower than fio's)"

if [[ -z "${SKIP_MAP:-}" ]]; then
  echo
  echo "== 3. last-writer map after 10M random 4 KiB writes over 64 GiB (null engine) =="
  [[ -s "$W/map.fiot" ]] || "$GEN" --name=m --rw=randwrite --bs=4k --size=64g --norandommap --number_ios=10000000 -o "$W/map.fiot" >/dev/null 2>&1
  /usr/bin/time -f "%e s %M KB" "$BIN" replay "$W/map.fiot" --engine null --target "$W/nulltarget" --timing none --iodepth 1 \
      --verify crc32c --no-do-verify --output-format json --no-progress >"$W/m.json" 2>"$W/m.time"
  read -r mb me <<<"$(jq_py "$W/m.json" "'%d %d' % (d['jobs'][0]['verify']['map_bytes'], d['jobs'][0]['verify']['map_extents'])")"
  echo "map: ${me} extents, ${mb} bytes = $(py "print('%.1f' % ($mb/$me))") bytes per extent (goal <= 24); process peak RSS $(tail -1 "$W/m.time")"
fi
