#!/usr/bin/env python3
"""Writes the FIU, SystOR '17 and hfplayer samples in traces/public/ from the real
blktrace capture in traces/ (no real trace of these formats is packaged for Debian).

    scripts/make-format-samples.py      # needs blkparse (Debian's blktrace)

Each sample holds the capture's 113 queued I/Os in that format's columns and units:
arrival time, sector, size, direction, the queuing process (FIU), the Q-to-C latency
(SystOR's response, hfplayer's LATENCY_USECS) and the number of I/Os in flight when the
I/O arrived (hfplayer's INFLIGHT_IOS), all computed here from blkparse's text. Content
hashes (FIU) are MD5 of "sector:bytes", a stand-in for the data. SystOR's sample adds
one I/O with a blank IOType (its README: no response seen) after the 50th.
"""
import hashlib
import os
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TRACES = os.path.join(ROOT, "traces")
OUT = os.path.join(TRACES, "public")


def events():
    text = subprocess.run(
        ["blkparse", "-i", "liuzel01-sda", "-D", TRACES, "-q", "-f", "%a %T.%t %p %C %S %N %d %M %m\\n"],
        check=True, capture_output=True, text=True).stdout
    for line in text.splitlines():
        f = line.split()
        if len(f) != 9:
            continue
        sec, frac = f[1].split(".")
        yield dict(a=f[0], ns=int(sec) * 10**9 + int(frac), pid=int(f[2]), comm=f[3], sector=int(f[4]),
                   bytes=int(f[5]), rwbs=f[6], major=int(f[7]), minor=int(f[8]))


def queued_ios():
    evs = list(events())
    qs = [e for e in evs if e["a"] == "Q"]
    cs = [e for e in evs if e["a"] == "C"]
    for q in qs:
        q_end = q["sector"] + q["bytes"] // 512
        done = next(c for c in cs if c["ns"] >= q["ns"] and c["sector"] <= q["sector"]
                    and q_end <= c["sector"] + c["bytes"] // 512)
        q["lat"] = done["ns"] - q["ns"]
    for q in qs:
        q["inflight"] = sum(1 for o in qs if o["ns"] < q["ns"] and o["ns"] + o["lat"] > q["ns"])
    return qs


def main():
    qs = queued_ios()
    fiu_base = 89966527724000
    with open(os.path.join(OUT, "fiu-sample.trace"), "w") as f:
        for q in qs:
            h = hashlib.md5(f"{q['sector']}:{q['bytes']}".encode()).hexdigest()
            rw = "W" if "W" in q["rwbs"] else "R"
            f.write(f"{fiu_base + q['ns']} {q['pid']} {q['comm']} {q['sector']} {q['bytes'] // 512} {rw} "
                    f"{q['major']} {q['minor']} {h}\n")
    systor_base = 1456135200013118000
    with open(os.path.join(OUT, "systor17-sample.csv"), "w") as f:
        f.write("Timestamp,Response,IOType,LUN,Offset,Size\n")
        for k, q in enumerate(qs):
            t = systor_base + q["ns"]
            rw = "W" if "W" in q["rwbs"] else "R"
            f.write(f"{t // 10**9}.{t % 10**9:09d},{q['lat'] // 10**9}.{q['lat'] % 10**9:09d},{rw},0,"
                    f"{q['sector'] * 512},{q['bytes']}\n")
            if k == 49:
                f.write(f"{t // 10**9}.{t % 10**9:09d},,,0,{q['sector'] * 512 + 4096},4096\n")
    with open(os.path.join(OUT, "hfplayer-sample.csv"), "w") as f:
        f.write("#DUMP_OFFSET.I,ELAPSED_USECS.D,ELAPSED_TICKS.I,CMD.S,INFLIGHT_IOS.I,TS.I,SEQID.I,LUN_SSID.I,"
                "OP.I,PHASE.I,LBA.I,NBLKS.I,LATENCY_TICKS.I,HOST_ID.I,HOST_LUN.I,LATENCY_USECS.D\n")
        for k, q in enumerate(qs):
            write = "W" in q["rwbs"]
            ticks = q["ns"] * 2133 // 1000
            lat_ticks = q["lat"] * 2133 // 1000
            f.write(f"{5488 + 28 * k},{q['ns'] // 1000}.{q['ns'] % 1000:03d},{ticks},{'WR_IN' if write else 'RD_IN'},"
                    f"{q['inflight']},{26147481340168100 + ticks},{82333390 + k},5,{1 if write else 0},0,"
                    f"{q['sector']},{q['bytes'] // 512},{lat_ticks},7,5,{q['lat'] // 1000}.{q['lat'] % 1000:03d}\n")


if __name__ == "__main__":
    main()
