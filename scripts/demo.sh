#!/usr/bin/env bash
# The main job, end to end on the embedded sample: a 2 s fio-recorded 4 KiB random
# read/write trace (poisson arrivals, 700 read + 300 write IOPS) is inspected, converted
# to fio's iolog and back, and replayed with its original timing against a temporary file,
# printing fio-style statistics and the replay's fidelity; then a live run and the replay of
# its recording; then a verified replay, a verify pass, and what an injected corruption
# looks like; last, an HTML report of the sample and its replay side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product fio-replay >/dev/null
BIN=$(swift build -c release --show-bin-path)
R="$BIN/fio-replay"
TRACE=traces/sample-randrw.fiot
WORK=$(mktemp -d /tmp/fiotrace-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "== fio-replay info $TRACE"
"$R" info "$TRACE"
echo
echo "== fio-replay convert $TRACE -> fio iolog v3 -> .fiot (lossless round trip)"
"$R" convert "$TRACE" "$WORK/sample.iolog"
"$R" convert "$WORK/sample.iolog" "$WORK/again.fiot"
cmp <("$R" cat "$TRACE") <("$R" cat "$WORK/again.fiot") && echo "round trip: identical ($(wc -l < "$WORK/sample.iolog") iolog lines)"
echo
echo "== fio-replay replay $TRACE --target $WORK/target.dat (original timing)"
"$R" replay "$TRACE" --target "$WORK/target.dat" --engine auto --no-progress --write-iolog "$WORK/replayed.fiot"
echo
echo "== fio-replay run: a QD4 random read/write job live for 2 s, recorded, then the recording replayed"
"$R" run --name=live --filename="$WORK/live.dat" --size=64m --rw=randrw --bs=4k --ioengine=libaio --direct=1 \
    --iodepth=4 --rate_iops=1500 --rate_process=poisson --runtime=2 --time_based \
    --write-iolog "$WORK/live.fiot" --no-progress | sed -n '/Run status/,$p'
echo
echo "== fio-replay replay of that recording (one I/O each, at its recorded time)"
"$R" replay "$WORK/live.fiot" --engine libaio --direct --no-progress | sed -n '/Run status/,$p'
echo
echo "== verify: replay the sample writing self-describing data, check the trace's reads as they"
echo "   complete, save the state, then read everything back (--verify crc32c)"
"$R" replay "$TRACE" --target "$WORK/verified.dat" --engine auto --verify crc32c \
    --verify-state "$WORK/verify.state" --no-progress | sed -n '/verify (/,/^$/p'
echo
echo "== fio-replay verify --state: the same check later, in another process"
"$R" verify --state "$WORK/verify.state" --no-progress | sed -n '/verify (/,/^$/p'
echo
echo "== a corruption: one bit flipped in a written sector, then verify again"
OFF=$(python3 -c "
d=open('$WORK/verified.dat','rb').read()
i=d.find(b'SVTF', 1 << 20)
print(i + 200)")
python3 -c "
f=open('$WORK/verified.dat','r+b'); f.seek($OFF); b=f.read(1); f.seek($OFF); f.write(bytes([b[0] ^ 0x08]))"
echo "flipped bit 3 of byte $OFF"
"$R" verify --state "$WORK/verify.state" --no-progress | sed -n '/verify (/,/^$/p' || true
echo "(exit status 1: verify found bad data)"
echo
echo "== fio-replay report: the sample and the recording of its replay, side by side, in one HTML file"
REPORT=${FIOTRACE_REPORT:-/tmp/fiotrace-demo-report.html}
"$R" report "$TRACE" "$WORK/replayed.fiot" -o "$REPORT" --interval 50ms --no-progress
echo "open $REPORT in a browser: IOPS, bandwidth, latency, depth and lateness over time, where the I/O lands, the summary and fidelity tables"
