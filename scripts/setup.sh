#!/usr/bin/env bash
# Installs the system packages FioTrace needs when any is missing (Debian/Ubuntu).
# Libraries: zstd, zlib, xxhash, libaio, liburing, ISA-L (crc32c) and OpenSSL's libcrypto
# (md5/sha for verify). Tools used by tests and benchmarks:
# fio (the peer and ground truth), blktrace (blkparse, btt, btrecord), blkreplay (a second
# replay peer, and its own reading of its load format), zstd, gzip, strace, mkfs.ext4 and
# losetup (block-device safety tests on a loop device), chromium (headless: opens the HTML
# report, dumps its DOM and takes a screenshot) and script (a pseudo terminal for the
# progress-line test), and Open MPI's mpirun and a one-node Slurm (slurmctld, slurmd, srun,
# munge: real launchers for the sharded replay tests).
set -euo pipefail
need=()
for h in zstd.h zlib.h xxhash.h libaio.h liburing.h isa-l/crc.h openssl/sha.h; do
    [ -f "/usr/include/$h" ] || need+=("$h")
done
for t in fio blkparse btt blkreplay zstd gzip strace bc python3 mkfs.ext4 losetup chromium script mpirun srun slurmd slurmctld munged; do
    command -v "$t" >/dev/null 2>&1 || need+=("$t")
done
[ -x /usr/sbin/btrecord ] || need+=(btrecord)
# blkreplay's natural loads (benchmarks read them; tests use the copy in traces/public).
dpkg -s blkreplay-examples >/dev/null 2>&1 || need+=(blkreplay-examples)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq libzstd-dev zlib1g-dev libxxhash-dev libaio-dev liburing-dev libisal-dev libssl-dev \
    fio blktrace blkreplay blkreplay-examples zstd gzip strace bc python3 e2fsprogs mount chromium bsdutils openmpi-bin \
    slurmd slurmctld slurm-client munge >/dev/null
