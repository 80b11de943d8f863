import Foundation
import Testing
@testable import FioTrace

@Suite("Workload generator")
struct WorkloadGeneratorTests {
    // MARK: random map

    @Test("random map: one pass touches every block exactly once (power-of-two and odd block counts)")
    func randomMapCoverage() throws {
        for blocks in [16384, 10_000, 1, 3] {
            let recs = try wlRecords("[r]\nrw=randread\nbs=4k\nsize=\(blocks * 4096)\n")
            #expect(recs.count == blocks)
            let offs = recs.map(\.offset)
            #expect(Set(offs).count == blocks, "repeats with \(blocks) blocks")
            #expect(offs.sorted() == (0..<UInt64(blocks)).map { $0 * 4096 })
        }
        // Negative control for the check itself: norandommap repeats blocks.
        let nm = try wlRecords("[r]\nrw=randread\nbs=4k\nsize=64m\nnorandommap\n")
        #expect(Set(nm.map(\.offset)).count < nm.count)
    }

    @Test("random map order looks random: the first half of a pass spreads evenly, neighbours uncorrelated")
    func randomMapOrder() throws {
        let n = 65536
        let recs = try wlRecords("[r]\nrw=randwrite\nbs=4k\nsize=\(n * 4096)\n")
        let half = recs.prefix(n / 2).map { Double($0.offset / 4096) }
        var buckets = [Double](repeating: 0, count: 32)
        for b in half { buckets[Int(b) * 32 / n] += 1 }
        let fit = wlChiSquare(observed: buckets, probabilities: Array(repeating: 1.0 / 32, count: 32))
        #expect(fit.p > 0.001, "chi2 \(fit.stat)")
        // Lag-1 correlation of block numbers.
        let xs = recs.map { Double($0.offset / 4096) }
        let m = xs.reduce(0, +) / Double(xs.count)
        var num = 0.0, den = 0.0
        for i in 0..<(xs.count - 1) { num += (xs[i] - m) * (xs[i + 1] - m) }
        for x in xs { den += (x - m) * (x - m) }
        #expect(abs(num / den) < 0.02, "lag-1 correlation \(num / den)")
        // Negative control: a sequential order fails the spread test.
        var seq = [Double](repeating: 0, count: 32)
        for i in 0..<(n / 2) { seq[i * 32 / n] += 1 }
        #expect(wlChiSquare(observed: seq, probabilities: Array(repeating: 1.0 / 32, count: 32)).p < 1e-9)
    }

    @Test("huge region: 1 TiB random map is fio's axmap (one bit per block), offsets distinct and in range")
    func hugeRegion() throws {
        var g = try wlGenerator("[h]\nrw=randread\nbs=4k\nsize=1t\nnumber_ios=500000\n")
        // fio's random map: one bit per 4 KiB block, 2^28 blocks (32 MiB), whatever the length.
        #expect(MemoryLayout<FileState>.stride < 1024)
        #expect(g.states[0].files[0].bitmap?.count == 1 << 28)
        let recs = wlDrain(&g)
        #expect(recs.count == 500_000)
        #expect(Set(recs.map(\.offset)).count == 500_000)
        #expect(recs.allSatisfy { $0.offset % 4096 == 0 && $0.offset < 1 << 40 })
        // They span the region (not a prefix of it).
        #expect(recs.map(\.offset).max()! > (1 << 40) * 99 / 100)
    }

    @Test("passes: io_size = 3 x size gives three complete passes; randrepeat repeats the order, randrepeat=0 not")
    func passes() throws {
        let recs = try wlRecords("[p]\nrw=randread\nbs=4k\nsize=4m\nio_size=12m\n")
        #expect(recs.count == 3072)
        let p = [recs[0..<1024], recs[1024..<2048], recs[2048..<3072]].map { $0.map(\.offset) }
        for pass in p { #expect(Set(pass).count == 1024) }
        #expect(p[0] == p[1] && p[1] == p[2])
        let nr = try wlRecords("[p]\nrw=randread\nbs=4k\nsize=4m\nloops=2\nrandrepeat=0\n")
        #expect(nr.count == 2048)
        let a = nr[0..<1024].map(\.offset), b = nr[1024..<2048].map(\.offset)
        #expect(Set(a).count == 1024 && Set(b).count == 1024 && a != b)
    }

    @Test("variable block sizes with the random map: every byte once, I/Os cut at done blocks (fio's axmap)")
    func variableBlockSizeMap() throws {
        let recs = try wlRecords("[v]\nrw=randwrite\nbsrange=4k-64k\nsize=64m\n")
        let total = recs.reduce(UInt64(0)) { $0 + $1.length }
        #expect(total == 64 << 20)
        let sorted = recs.sorted { $0.offset < $1.offset }
        var end: UInt64 = 0
        for r in sorted {
            #expect(r.offset == end, "gap or overlap at \(r.offset)")
            end = r.offset + r.length
        }
        #expect(recs.contains { $0.length == 65536 } && recs.contains { $0.length == 4096 })
    }

    // MARK: syncs

    @Test("fsync=8: a sync after every 8th write (none after the job's last write), end_fsync adds one")
    func fsyncEveryN() throws {
        let recs = try wlRecords("[f]\nrw=randwrite\nbs=4k\nsize=32m\nfsync=8\n")
        let writes = recs.filter { $0.op == .write }.count
        let syncs = recs.filter { $0.op == .sync }.count
        #expect(writes == 8192)
        #expect(syncs == 1023)
        var since = 0
        for r in recs {
            if r.op == .write { since += 1 } else if r.op == .sync {
                #expect(since == 8)
                since = 0
            }
        }
        let end = try wlRecords("[f]\nrw=randwrite\nbs=4k\nsize=32m\nfsync=8\nend_fsync=1\n")
        #expect(end.filter { $0.op == .sync }.count == 1024)
        #expect(end.last?.op == .sync)
        // fdatasync in a mixed job, by fio's get_rw_ddir rule: while the writes so far are a
        // multiple of 4 and the last I/O was not a sync, the next I/O is a datasync; so a
        // datasync also comes before each read that follows the 4th write (fio 3.33 does
        // this; FioGenExactTests checks randrw-fdatasync.fio against fio itself).
        let fd = try wlRecords("[f]\nrw=randrw\nbs=4k\nsize=16m\nfdatasync=4\n")
        var w = 0, lastWasSync = false
        for r in fd {
            let due = !lastWasSync && w > 0 && w % 4 == 0
            #expect((r.op == .datasync) == due, "record \(r) after \(w) writes")
            if r.op == .write { w += 1 }
            lastWasSync = r.op == .datasync
        }
        #expect(fd.filter { $0.op == .datasync }.count > w / 4)
        #expect(fd.filter { $0.op == .sync }.isEmpty)
        // Negative control: without fsync there are no syncs.
        #expect(try wlRecords("[f]\nrw=randwrite\nbs=4k\nsize=1m\n").allSatisfy { $0.op == .write })
    }

    // MARK: timing

    @Test("service-time model: QD1 every 100 us, QD4 in fours, --service-time and --service-bw, --no-timing")
    func serviceModel() throws {
        let q1 = try wlRecords("[t]\nrw=randread\nbs=4k\nsize=1m\n")
        for (i, r) in q1.enumerated() { #expect(r.time == UInt64(i) * 100_000) }
        let q4 = try wlRecords("[t]\nrw=randread\nbs=4k\nsize=1m\niodepth=4\n")
        for (i, r) in q4.enumerated() { #expect(r.time == UInt64(i / 4) * 100_000) }
        let st = try wlRecords("[t]\nrw=read\nbs=4k\nsize=1m\n", timing: .serviceModel(serviceTime: 1_000_000, bytesPerSecond: nil))
        #expect(st[1].time == 1_000_000)
        // 64 KiB at 1 GiB/s adds 61,035 ns to the 10 us.
        let bw = try wlRecords("[t]\nrw=read\nbs=64k\nsize=1m\n", timing: .serviceModel(serviceTime: 10_000, bytesPerSecond: 1 << 30))
        #expect(bw[1].time == 10_000 + 65536 * 1_000_000_000 / (1 << 30))
        let none = try wlRecords("[t]\nrw=randread\nbs=4k\nsize=1m\niodepth=4\n", timing: .none)
        #expect(none.allSatisfy { $0.time == 0 })
        var g = try wlGenerator("[t]\nrw=read\nsize=1m\n", timing: .none)
        #expect(g.metadata["fio-gen.timing"]?.hasPrefix("none") == true)
        _ = wlDrain(&g)
    }

    @Test("thinktime, startdelay, stonewall, numjobs and sync barriers in the timing model")
    func timingFeatures() throws {
        // thinktime=1ms after every 10 I/Os (QD1, 100 us each).
        let tt = try wlRecords("[t]\nrw=read\nbs=4k\nsize=1m\nthinktime=1ms\nthinktime_blocks=10\n")
        #expect(tt[9].time == 900_000)
        #expect(tt[10].time == 1_000_000 + 1_000_000) // 10 I/Os done at 1 ms, then 1 ms of thinking
        let sd = try wlRecords("[t]\nrw=read\nbs=4k\nsize=1m\nstartdelay=2\n")
        #expect(sd[0].time == 2_000_000_000)
        // Two groups: the second starts when the first's last I/O completes.
        let sw = try wlRecords("""
            [a]
            rw=read
            bs=4k
            size=400k
            [b]
            stonewall
            rw=write
            bs=4k
            size=400k
            """)
        let a = sw.filter { $0.op == .read }, b = sw.filter { $0.op == .write }
        #expect(a.count == 100 && b.count == 100)
        #expect(b.first!.time == a.last!.time + 100_000)
        #expect(Set(a.compactMap(\.stream)) == [0] && Set(b.compactMap(\.stream)) == [1])
        // numjobs=4 run together: merged by time, each its own file and stream.
        let nj = try wlRecords("[n]\nrw=randread\nbs=4k\nsize=400k\nnumjobs=4\n")
        #expect(nj.count == 400)
        #expect(zip(nj, nj.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(Set(nj.map(\.file)).count == 4 && Set(nj.compactMap(\.stream)) == [0, 1, 2, 3])
        // exitall: when the short job ends, the long one stops too.
        let ea = try wlRecords("[a]\nrw=read\nbs=4k\nsize=40k\nexitall\n[b]\nrw=write\nbs=4k\nsize=4m\n")
        let aLast = ea.filter { $0.op == .read }.last!.time
        let bw = ea.filter { $0.op == .write }
        #expect(!bw.isEmpty && bw.count <= 11 && bw.allSatisfy { $0.time <= aLast })
        #expect(try wlRecords("[a]\nrw=read\nbs=4k\nsize=40k\n[b]\nrw=write\nbs=4k\nsize=4m\n").count == 10 + 1024)
        // A sync drains: with iodepth=4 the sync waits for the 4 writes in flight.
        let sy = try wlRecords("[s]\nrw=write\nbs=4k\nsize=64k\niodepth=4\nfsync=4\n")
        let firstSync = sy.firstIndex { $0.op == .sync }!
        #expect(firstSync == 4 && sy[firstSync].time == 100_000 && sy[firstSync + 1].time == 200_000)
    }

    @Test("runtime and time_based: the trace ends before runtime, looping the region")
    func timeBased() throws {
        let recs = try wlRecords("[t]\nrw=randread\nbs=4k\nsize=1m\nruntime=1\ntime_based\n")
        #expect(recs.count == 10_000) // 1 s at 100 us per I/O
        #expect(recs.last!.time < 1_000_000_000)
        // 256 blocks, re-shuffled each pass: every window of 256 covers the region.
        for p in 0..<(10_000 / 256) { #expect(Set(recs[(p * 256)..<(p * 256 + 256)].map(\.offset)).count == 256) }
        // Without time_based, runtime only cuts a job that would last longer.
        let cut = try wlRecords("[t]\nrw=read\nbs=4k\nsize=1g\nruntime=10ms\n")
        #expect(cut.count == 100)
    }

    // MARK: offsets

    @Test("sequential patterns: holes (rw=write:4k), offset, trimwrite pairs, randread:4, percentage_random")
    func sequentialPatterns() throws {
        let holes = try wlRecords("[h]\nrw=write:4k\nbs=4k\nsize=32k\n")
        #expect(holes.map(\.offset) == [0, 8192, 16384, 24576, 0, 8192, 16384, 24576]) // fio wraps
        let off = try wlRecords("[o]\nrw=read\nbs=1m\noffset=1m\nsize=4m\n")
        #expect(off.map(\.offset) == [1, 2, 3, 4].map { UInt64($0) << 20 })
        let tw = try wlRecords("[t]\nrw=trimwrite\nbs=16k\nsize=64k\n")
        #expect(tw.map(\.op) == [.trim, .write, .trim, .write, .trim, .write, .trim, .write])
        #expect(tw.map(\.offset) == [0, 0, 16384, 16384, 32768, 32768, 49152, 49152])
        let rr = try wlRecords("[r]\nrw=randread:4\nbs=4k\nsize=64m\nnumber_ios=4000\n")
        var seqRuns = 0
        for i in stride(from: 0, to: 4000, by: 4) {
            if rr[i + 1].offset == rr[i].offset + 4096 && rr[i + 2].offset == rr[i + 1].offset + 4096
                && rr[i + 3].offset == rr[i + 2].offset + 4096 { seqRuns += 1 }
        }
        #expect(seqRuns > 990) // one random then three sequential, except at the region's end
        let pr = try wlRecords("[p]\nrw=randread\nbs=4k\nsize=1g\npercentage_random=30\nnumber_ios=100000\n")
        var seq = 0
        for i in 1..<pr.count where pr[i].offset == pr[i - 1].offset + 4096 { seq += 1 }
        #expect(abs(Double(seq) / 100_000 - 0.70) < 0.01)
    }

    @Test("files: fio's names and sizes, round robin, filename lists, directory, filename_format, shared files")
    func files() throws {
        var g = try wlGenerator("[seqread]\nrw=read\nbs=4k\nsize=10m\nnrfiles=3\n")
        #expect(g.files.map(\.path) == ["seqread.0.0", "seqread.0.1", "seqread.0.2"])
        let recs = wlDrain(&g)
        #expect(recs.count == 2559) // 10 MiB / 3 = 3495253 bytes per file: 853 whole blocks each
        #expect(recs.prefix(6).map(\.file) == [0, 1, 2, 0, 1, 2])
        let named = try wlGenerator("[n]\nrw=read\nsize=1m\nfilename=/tmp/a\\:b:/tmp/c\n")
        #expect(named.files.map(\.path) == ["/tmp/a:b", "/tmp/c"])
        let dir = try wlGenerator("[d]\nrw=read\nsize=1m\nnrfiles=2\ndirectory=/x:/y\n")
        #expect(dir.files.map(\.path) == ["/x/d.0.0", "/y/d.0.1"])
        let fmt = try wlGenerator("[f]\nrw=read\nsize=1m\nnumjobs=2\nfilename_format=data.$jobnum.$filenum\n")
        #expect(fmt.files.map(\.path) == ["data.0.0", "data.1.0"])
        // numjobs on one filename: one file, two streams, offset_increment apart.
        var sh = try wlGenerator("[s]\nrw=read\nbs=4k\nsize=8k\nnumjobs=2\nfilename=/dev/x\noffset_increment=1m\n")
        #expect(sh.files.count == 1 && sh.files[0].size == (1 << 20) + 8192)
        let srecs = wlDrain(&sh)
        #expect(Set(srecs.map(\.offset)).sorted() == [0, 4096, 1 << 20, (1 << 20) + 4096] as [UInt64])
    }

    // MARK: determinism and limits

    @Test("deterministic: same seed same records, other seed other records; fast path equals the general path")
    func determinism() throws {
        let jobs = [
            "[a]\nrw=randrw\nbs=4k\nsize=64m\niodepth=8\n",
            "[b]\nrw=rw\nrwmixread=30\nbs=8k\nsize=16m\nio_size=40m\n",
            "[c]\nrw=randwrite\nbs=4k\nsize=8m\nloops=3\ndirect=1\n",
            "[d]\nrw=read\nbs=4k\nsize=1m\nnumber_ios=100\n",
            "[e]\nrw=randread\nbs=4k\nsize=4m\ntime_based\nruntime=1\n",
            "[f]\nrw=randrw\nrwmixread=60\nbs=4k\nsize=16m\nnorandommap\nnumber_ios=20000\n",
        ]
        for j in jobs {
            let a = try wlRecords(j, seed: 7), b = try wlRecords(j, seed: 7)
            #expect(a == b)
            let general = try wlRecords(j, seed: 7, fastPath: false)
            #expect(a == general, "fast path differs for \(j)")
            if j.contains("rand") { #expect(a != (try wlRecords(j, seed: 8))) }
        }
        // Batch size does not matter either.
        var g1 = try wlGenerator("[a]\nrw=randrw\nbs=4k\nsize=4m\nfsync=3\nnumjobs=2\n"), g2 = g1
        #expect(wlDrain(&g1, batch: 7) == wlDrain(&g2, batch: 5000))
        // Copies are independent values.
        var g3 = try wlGenerator("[a]\nrw=randread\nbs=4k\nsize=1m\n")
        var b1: [TraceRecord] = []
        _ = g3.nextBatch(&b1, maxCount: 10)
        var g4 = g3
        var x: [TraceRecord] = [], y: [TraceRecord] = []
        _ = g3.nextBatch(&x, maxCount: 10)
        _ = g4.nextBatch(&y, maxCount: 10)
        #expect(x == y)
        // To the end: the random map is copied with the job state, never shared (a shared map
        // would hand the second copy other blocks, or none, once the first had marked them).
        #expect(wlDrain(&g3, batch: 33) == wlDrain(&g4, batch: 64))
    }

    @Test("generating ahead on a thread hands out exactly the generator's own records and metadata; dropping it early stops the thread")
    func generateAhead() throws {
        let job = "[a]\nrw=randrw\nbs=4k\nsize=64m\nnumjobs=2\n[b]\nrw=randread\nbs=4k\nsize=8m\nfsync=7\n"
        var g = try wlGenerator(job)
        let serial = wlDrain(&g, batch: 1000)
        #expect(serial.count > 30_000)
        let ahead = try GenerateAhead(try wlGenerator(job), batchRecords: 1000, buffers: 2)
        var got: [TraceRecord] = []
        var batches = 0
        while let b = ahead.next() {
            got.append(contentsOf: b)
            batches += 1
        }
        #expect(got == serial)
        #expect(batches == (serial.count + 999) / 1000)
        #expect(ahead.recordCount == UInt64(serial.count))
        #expect(ahead.metadata == g.metadata)
        #expect(ahead.next() == nil)
        // Dropped after one batch, with the generator thread blocked on a full set of
        // buffers: deinit wakes and joins it (a hang here fails the run).
        for _ in 0..<20 {
            let early = try GenerateAhead(try wlGenerator(job), batchRecords: 100, buffers: 2)
            #expect(early.next()?.count == 100)
        }
    }

    @Test("limits: number_ios stops early and never extends, loops repeat the region")
    func limits() throws {
        #expect(try wlRecords("[n]\nrw=randread\nbs=4k\nsize=1g\nnumber_ios=1234\n").count == 1234)
        #expect(try wlRecords("[n]\nrw=randread\nbs=4k\nsize=40k\nnumber_ios=1234\n").count == 10)
        #expect(try wlRecords("[n]\nrw=read\nbs=4k\nsize=40k\nloops=3\n").count == 30)
        // Traces that would never end are refused.
        #expect(throws: TraceError.self) { try wlGenerator("[t]\nrw=read\nsize=1m\ntime_based\n") }
        #expect(throws: TraceError.self) {
            try wlGenerator("[t]\nrw=read\nsize=1m\ntime_based\nruntime=1\n", timing: .serviceModel(serviceTime: 0, bytesPerSecond: nil))
        }
        #expect(throws: TraceError.self) { try wlGenerator("[t]\nrw=read\nbs=64k\nsize=100k\nnrfiles=2\n") }
        // size not a multiple of bs: whole blocks only, as fio.
        #expect(try wlRecords("[n]\nrw=read\nbs=4k\nsize=10k\n").count == 2)
    }

    @Test("metadata records job, seed, version, timing and iodepth; direct=1 flags records")
    func metadata() throws {
        let text = "[m]\nrw=randread\nbs=4k\nsize=1m\niodepth=16\ndirect=1\nnumjobs=2\n"
        let jobs = try parseJobText(text, fileName: "m.fio")
        var g = try WorkloadGenerator(jobs: jobs, options: GeneratorOptions(seed: 99, jobText: text))
        #expect(g.metadata["fio-gen.job"] == text)
        #expect(g.metadata["fio-gen.seed"] == "99")
        #expect(g.metadata["fio-gen.version"] == fioGenVersion)
        #expect(g.metadata["iodepth"] == "32")
        #expect(g.metadata["fio-gen.timing"]?.hasPrefix("service-model") == true)
        #expect(wlDrain(&g).allSatisfy { $0.flags.contains(.direct) })
        // randrepeat=0 without a seed: a seed from the clock, recorded.
        let r = try WorkloadGenerator(jobs: parseJobText("[r]\nrw=randread\nsize=1m\nrandrepeat=0\n"))
        #expect(r.metadata["fio-gen.seed"] == String(r.seed))
        #expect(try WorkloadGenerator(jobs: parseJobText("[r]\nrw=randread\nsize=1m\n")).seed == fioDefaultSeed)
    }
}
