#!/usr/bin/env python3
"""Makes a large blktrace capture from a small real one, for benchmarks.

    scripts/replicate-blktrace.py SRC_PREFIX DST_PREFIX COPIES

Reads SRC_PREFIX.blktrace.N (every per-CPU file of the capture) and writes
DST_PREFIX.blktrace.N holding COPIES back-to-back copies of each file: copy k has
every time shifted by k * (span + 1 s), so the copies never overlap in time (sectors
stay as they are). Sequence numbers keep counting per CPU.
Little-endian version-7 records only (what Linux on x86 writes).
"""
import glob
import struct
import sys

HDR = struct.Struct("<IIQQIIIIIHH")  # 48 bytes: magic seq time sector bytes action pid dev cpu err pdu


def records(data):
    off = 0
    while off + 48 <= len(data):
        fields = list(HDR.unpack_from(data, off))
        pdu = fields[10]
        yield fields, data[off + 48:off + 48 + pdu]
        off += 48 + pdu


def main():
    src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
    paths = sorted(glob.glob(src + ".blktrace.*"), key=lambda p: int(p.rsplit(".", 1)[1]))
    if not paths:
        sys.exit(f"{src}.blktrace.*: no such files")
    loaded = [(p, list(records(open(p, "rb").read()))) for p in paths]
    times = [f[2] for _, recs in loaded for f, _ in recs if f[2] > 0]
    span = max(times) - min(times) + 1_000_000_000
    for path, recs in loaded:
        out = open(dst + ".blktrace." + path.rsplit(".", 1)[1], "wb")
        seq = 0
        for k in range(copies):
            chunk = bytearray()
            for f, pdu in recs:
                g = list(f)
                seq += 1
                g[1] = seq
                if g[2] > 0:
                    g[2] += k * span
                chunk += HDR.pack(*g) + pdu
            out.write(chunk)
        out.close()


if __name__ == "__main__":
    main()
