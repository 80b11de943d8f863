#!/usr/bin/env bash
# Installs the system packages FioTrace needs when any is missing (Debian/Ubuntu).
# Libraries: zstd, zlib, xxhash, libaio, liburing, ISA-L (crc32c) and OpenSSL's libcrypto
# (md5/sha for verify). Tools used by tests and benchmarks:
# fio (the peer and ground truth), blktrace (blkparse, btt, btrecord), blkreplay (a second
# replay peer, and its own reading of its load format), zstd, gzip, strace, mkfs.ext4 and
# losetup (block-device safety tests on a loop device), chromium (headless: opens the HTML
# report, dumps its DOM and takes a screenshot) and script (a pseudo terminal for the
# progress-line test), Open MPI's mpirun and a one-node Slurm (slurmctld, slurmd, srun,
# munge: real launchers for the sharded replay tests). record --via preload compiles its
# library with cc (gcc), and its tests record sqlite3 and small C programs (static ones
# too: libc6-dev's libc.a).
set -euo pipefail
need=()
for h in zstd.h zlib.h xxhash.h libaio.h liburing.h isa-l/crc.h openssl/sha.h; do
    [ -f "/usr/include/$h" ] || need+=("$h")
done
for t in fio blkparse btt blkreplay zstd gzip strace bc python3 mkfs.ext4 losetup chromium script cc sqlite3 mpirun srun slurmd slurmctld munged; do
    command -v "$t" >/dev/null 2>&1 || need+=("$t")
done
[ -x /usr/sbin/btrecord ] || need+=(btrecord)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || need+=(libc.a)
# blkreplay's natural loads (benchmarks read them; tests use the copy in traces/public).
dpkg -s blkreplay-examples >/dev/null 2>&1 || need+=(blkreplay-examples)
# fio's log tools (fiologparser.py, fio-histo-log-pctiles.py) ship in fio's doc directory;
# an image that leaves /usr/share/doc out gets them from fio's package (see the end).
fio_tools=/usr/share/doc/fio
fio_tools_missing() { [ ! -f $fio_tools/fiologparser.py.gz ] || [ ! -f $fio_tools/fio-histo-log-pctiles.py.gz ]; }
if [ ${#need[@]} -eq 0 ] && ! fio_tools_missing; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq libzstd-dev zlib1g-dev libxxhash-dev libaio-dev liburing-dev libisal-dev libssl-dev \
    fio blktrace blkreplay blkreplay-examples zstd gzip strace bc python3 e2fsprogs mount chromium bsdutils \
    gcc libc6-dev sqlite3 openmpi-bin slurmd slurmctld slurm-client munge >/dev/null
if fio_tools_missing; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq fio >/dev/null && dpkg-deb -x fio_*.deb x \
        && $SUDO mkdir -p $fio_tools && $SUDO cp x/usr/share/doc/fio/*.py.gz $fio_tools/)
    rm -rf "$tmp"
fi
