#!/usr/bin/env bash
# Format benchmark (issue 2): size, encode/decode rates and conversion speed of .fiot
# against fio 3.33's text iolog, on the same traces in the same run.
#   scripts/bench-format.sh [WORKDIR]
# Needs fio and zstd (scripts/setup.sh installs them). Prints one line per figure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
W=${1:-$(mktemp -d /tmp/fiot-bench.XXXXXX)}
mkdir -p "$W"
swift build -c release --product fio-replay >/dev/null
swift build -c release --product fiotrace-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)
R="$BIN/fio-replay"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
size() { stat -c %s "$1"; }
command -v bc >/dev/null || { apt-get install -y -qq bc >/dev/null; }

echo "== traces (fio 3.33, null engine)"
# fio's write_iolog appends to an existing file: start from nothing.
rm -f "$W/rand.iolog" "$W/seq.iolog" "$W/rand10m.iolog"
t0=$(now)
fio --name=bench --ioengine=null --rw=randrw --bs=4k --size=4G --number_ios=1000000 \
    --write_iolog="$W/rand.iolog" --output=/dev/null
t1=$(now)
fio --name=bench --ioengine=null --rw=write --bs=4k --size=4G --number_ios=1000000 \
    --write_iolog="$W/seq.iolog" --output=/dev/null
fio --name=bench --ioengine=null --rw=randrw --bs=4k --size=4G --io_size=40G \
    --write_iolog="$W/rand10m.iolog" --output=/dev/null
N=$(($(wc -l < "$W/rand.iolog") - 1))
echo "random trace: $N lines; fio wrote it in $(secs $t0 $t1) s"

echo "== size (bytes per I/O)"
zstd -q -19 -T1 -f "$W/rand.iolog" -o "$W/rand.iolog.zst"
"$R" convert "$W/rand.iolog" "$W/rand.fiot"
"$R" convert "$W/seq.iolog" "$W/seq.fiot"
for f in rand.iolog rand.iolog.zst rand.fiot; do
    printf '%-16s %8.3f B/IO\n' "$f" "$(echo "$(size "$W/$f") / $N" | bc -l)"
done
printf '%-16s %8.3f B/IO (sequential)\n' seq.fiot "$(echo "$(size "$W/seq.fiot") / ($(wc -l < "$W/seq.iolog") - 1)" | bc -l)"
echo "ratio text/fiot: $(ratio "$(size "$W/rand.iolog")" "$(size "$W/rand.fiot")")x; text+zstd-19/fiot: $(ratio "$(size "$W/rand.iolog.zst")" "$(size "$W/rand.fiot")")x"

echo "== parse: text iolog -> records"
# fio's own parse: replay the log with the null engine and no stalls (parse + null issue).
best() { local b=999; for _ in 1 2 3; do local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); b=$(echo "x=$(secs $s $e); if (x < $b) x else $b" | bc -l); done; echo "$b"; }
FIO_T=$(best fio --name=replay --ioengine=null --read_iolog="$W/rand.iolog" --replay_no_stall=1 --output=/dev/null)
OUR_T=$(best "$R" convert "$W/rand.iolog" "$W/conv.fiot")
START_T=$(best "$R" info "$W/seq.fiot" --help)
echo "fio read_iolog+null replay: $FIO_T s = $(echo "$N / $FIO_T / 1000000" | bc -l | cut -c1-5) M lines/s"
echo "fio-replay convert text->fiot: $OUR_T s = $(echo "$N / $OUR_T / 1000000" | bc -l | cut -c1-5) M lines/s  (ratio vs fio: $(ratio "$FIO_T" "$OUR_T")x faster)"

echo "== encode / decode (in process, one core, best of 5)"
"$BIN/fiotrace-bench" "$W/rand.fiot" 5
echo "-- 10M-record trace"
"$R" convert "$W/rand10m.iolog" "$W/rand10m.fiot"
"$BIN/fiotrace-bench" "$W/rand10m.fiot" 3

echo "== fio-replay info (decode + summary), minus start-up"
INFO_T=$(best "$R" info "$W/rand10m.fiot")
N10=$(($(wc -l < "$W/rand10m.iolog") - 1))
echo "info on $N10 records: $INFO_T s, start-up $START_T s: $(echo "$N10 / ($INFO_T - $START_T) / 1000000" | bc -l | cut -c1-5) M records/s"
echo "workdir: $W"
