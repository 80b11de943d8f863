#!/usr/bin/env bash
# Generation-rate benchmark: fio-gen writing a 10M-record random 4 KiB read/write trace
# into .fiot (release build; on one core, and on every core: fio-gen generates one stage
# ahead of its writer thread) against fio 3.33 producing the same job with the
# null engine and write_iolog. Prints records/s for both and the ratio. Then both tools
# write the same 1M-I/O random text iolog (IOLOG_RECORDS): times, ratio, and whether the
# two sequences are identical (the script fails if they are not).
#
#   scripts/bench-gen.sh [RECORDS]        (default 10000000; FIO_RECORDS for fio's run)
#
# Environment: OUT_DIR (default: a fresh directory under /tmp), SKIP_BUILD=1, RUNS (best of,
# default 3), CPU (the core for the one-core figures and fio, default 0), ALL_CPUS (the CPU
# list of the all-cores figure, default every core).
set -euo pipefail

cd "$(dirname "$0")/.."
RECORDS=${1:-10000000}
FIO_RECORDS=${FIO_RECORDS:-$RECORDS}
RUNS=${RUNS:-3}
CPU=${CPU:-0}   # the one core everything runs on
SCRATCH=${SCRATCH:-$PWD/.build-gen-release}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/bench-gen.XXXXXX)}
trap 'rm -rf "$OUT_DIR"' EXIT

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "building fio-gen (release, $SCRATCH)..." >&2
    swift build -c release --scratch-path "$SCRATCH" --product fio-gen >&2
fi
GEN="$SCRATCH/release/fio-gen"

# 4 KiB random read/write, 70/30, over a region large enough for RECORDS distinct blocks
# (the random map visits each block once); fio's default seed in both.
SIZE_G=$(( (RECORDS * 4096 + (1 << 30) - 1) / (1 << 30) + 1 ))
JOB=(--name=bench --rw=randrw --rwmixread=70 --bs=4k --size=${SIZE_G}g)

now() { date +%s.%N; }
# Best wall time of RUNS runs of fio-gen writing the .fiot trace, under the CPU list $1.
best_of() {
    local cpus=$1 best="" t0 t1 t
    for ((i = 1; i <= RUNS; i++)); do
        t0=$(now)
        taskset -c "$cpus" "$GEN" "${JOB[@]}" --number_ios=$RECORDS -o "$OUT_DIR/gen.fiot" -q
        t1=$(now)
        t=$(echo "$t1 - $t0" | bc -l)
        if [[ -z "$best" ]] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
    done
    echo "$best"
}
# One core: the generator thread and the writer thread (encode, compress, write) share it.
best=$(best_of "$CPU")
ours_rate=$(echo "$RECORDS / $best" | bc -l)
bytes=$(stat -c %s "$OUT_DIR/gen.fiot")
# Every core: the generator runs one stage ahead of the writer (fio-gen's default).
ALL_CPUS=${ALL_CPUS:-0-$(( $(nproc) - 1 ))}
best2=$(best_of "$ALL_CPUS")
ours_rate2=$(echo "$RECORDS / $best2" | bc -l)

t0=$(now)
taskset -c "$CPU" "$GEN" "${JOB[@]}" --number_ios=$RECORDS --discard -q
t1=$(now)
gen_only=$(echo "$RECORDS / ($t1 - $t0)" | bc -l)

echo "running fio (null engine, write_iolog, $FIO_RECORDS I/Os)..." >&2
t0=$(now)
(cd "$OUT_DIR" && taskset -c "$CPU" fio "${JOB[@]}" --ioengine=null --number_ios=$FIO_RECORDS \
    --write_iolog="$OUT_DIR/fio.log" --output=/dev/null)
t1=$(now)
fio_t=$(echo "$t1 - $t0" | bc -l)
fio_lines=$(grep -c -E ' (read|write) ' "$OUT_DIR/fio.log" || true)
fio_rate=$(echo "$fio_lines / $fio_t" | bc -l)
fio_bytes=$(stat -c %s "$OUT_DIR/fio.log")

printf 'fio-gen  %d records -> .fiot, 1 core (cpu %s):  %.3f s (best of %d): %6.2f M records/s, %.2f B/record\n' \
    "$RECORDS" "$CPU" "$best" "$RUNS" "$(echo "$ours_rate / 1000000" | bc -l)" "$(echo "$bytes / $RECORDS" | bc -l)"
printf 'fio-gen  %d records -> .fiot, cpus %s:        %.3f s (best of %d): %6.2f M records/s\n' \
    "$RECORDS" "$ALL_CPUS" "$best2" "$RUNS" "$(echo "$ours_rate2 / 1000000" | bc -l)"
printf 'fio-gen  generator alone (--discard):            %6.2f M records/s\n' "$(echo "$gen_only / 1000000" | bc -l)"
printf 'fio 3.33 %d I/Os -> write_iolog in %.3f s:      %6.2f M records/s, %.2f B/record (text)\n' \
    "$fio_lines" "$fio_t" "$(echo "$fio_rate / 1000000" | bc -l)" "$(echo "$fio_bytes / $fio_lines" | bc -l)"
printf 'ratio    fio-gen / fio: %.1fx on 1 core, %.1fx on cpus %s (fio is one thread; goal: fio-gen >= 20 M records/s)\n' \
    "$(echo "$ours_rate / $fio_rate" | bc -l)" "$(echo "$ours_rate2 / $fio_rate" | bc -l)" "$ALL_CPUS"

# The same 1M-I/O random iolog from both tools: fio-gen writes fio's text iolog (v3) of the
# job fio runs with the null engine at iodepth 1, and the two op/offset/length sequences
# must be identical (fio-gen draws fio's own random numbers). Wall time of each, best of RUNS
# for fio-gen, one fio run (IOLOG_RECORDS, default 1000000).
IOLOG_RECORDS=${IOLOG_RECORDS:-1000000}
JOB1=(--name=iolog1m --rw=randrw --rwmixread=70 --bs=4k --size=8g --number_ios=$IOLOG_RECORDS)
best1=""
for ((i = 1; i <= RUNS; i++)); do
    t0=$(now)
    (cd "$OUT_DIR" && taskset -c "$CPU" "$GEN" "${JOB1[@]}" -o "$OUT_DIR/gen1m.log" -q)
    t1=$(now)
    t=$(echo "$t1 - $t0" | bc -l)
    if [[ -z "$best1" ]] || (( $(echo "$t < $best1" | bc -l) )); then best1=$t; fi
done
t0=$(now)
(cd "$OUT_DIR" && taskset -c "$CPU" fio "${JOB1[@]}" --ioengine=null --iodepth=1 \
    --write_iolog="$OUT_DIR/fio1m.log" --output=/dev/null)
t1=$(now)
fio1=$(echo "$t1 - $t0" | bc -l)
awk '$3 ~ /^(read|write)$/ {print $2, $3, $4, $5}' "$OUT_DIR/fio1m.log" > "$OUT_DIR/fio1m.seq"
awk '$3 ~ /^(read|write)$/ {print $2, $3, $4, $5}' "$OUT_DIR/gen1m.log" > "$OUT_DIR/gen1m.seq"
n1=$(wc -l < "$OUT_DIR/fio1m.seq")
if cmp -s "$OUT_DIR/fio1m.seq" "$OUT_DIR/gen1m.seq"; then same="identical"; else same="DIFFERENT"; fi
printf 'iolog    %d random I/Os (randrw 70/30, 4k, 8g), text iolog v3: fio-gen %.3f s, fio %.3f s, ratio fio/fio-gen %.1fx; sequences %s\n' \
    "$n1" "$best1" "$fio1" "$(echo "$fio1 / $best1" | bc -l)" "$same"
[[ "$same" == identical ]]
