import Foundation
import FioReplay
import FioTrace
import Glibc
import Testing

/// The 512-byte sectors of `data` as strings of bytes, for counting distinct ones.
func sectors(_ data: Data, from: Int, count: Int) -> [Data] {
    (0..<count).map { data.subdata(in: (from + $0 * 512)..<(from + ($0 + 1) * 512)) }
}

@Suite("Write payloads")
struct PayloadTests {
    @Test("a write that reuses a read's slot writes its own data, not what the read returned", arguments: [EngineKind.psync, .libaio, .iouring])
    func notTheLastRead(kind: EngineKind) throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 1 << 20, byte: 0x5A)
        // Depth 1: every I/O takes the one slot. Read 4 KiB of 0x5A, then write elsewhere.
        var recs: [TraceRecord] = []
        for i in 0..<16 {
            recs.append(TraceRecord(time: UInt64(i) * 2000, op: .read, file: 0, offset: UInt64(i) * 4096, length: 4096))
            recs.append(TraceRecord(time: UInt64(i) * 2000 + 1000, op: .write, file: 0, offset: 524_288 + UInt64(i) * 4096, length: 4096))
        }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        let r = try replay(t, engine: kind) { $0.targets = TargetMapping(all: target); $0.iodepth = 1; $0.timing = .none }
        #expect(r.error == nil, "\(r.error?.message ?? "")")
        #expect(r.stats.read.bytes == 16 * 4096 && r.stats.write.bytes == 16 * 4096)
        let data = try Data(contentsOf: URL(fileURLWithPath: target))
        for i in 0..<16 {
            let block = data.subdata(in: (524_288 + i * 4096)..<(524_288 + (i + 1) * 4096))
            let same = block.filter { $0 == 0x5A }.count
            #expect(same < 64, "write \(i): \(same) of 4096 bytes are the read's 0x5A")
        }
    }

    @Test("default payload: random, no two written 512-byte sectors alike, incompressible across the file")
    func scrambled() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let recs = (0..<1024).map { TraceRecord(time: UInt64($0), op: .write, file: 0, offset: UInt64($0) * 8192, length: 8192) }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        for scramble in [true, false] {
            let target = d.file("target-\(scramble)")
            try makeFile(target, size: 8 << 20)
            let r = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: target); $0.timing = .none; $0.payload.scramble = scramble }
            #expect(r.error == nil)
            let data = try Data(contentsOf: URL(fileURLWithPath: target))
            let all = sectors(data, from: 0, count: 16384)
            #expect(Set(all).count == 16384, "scramble \(scramble): distinct sectors \(Set(all).count)")
            // The stamps (offset and write number, mostly zero high bytes) are the only
            // compressible part: 16 of every 512 bytes.
            let ratio = try zstdRatio(target)
            #expect(ratio < (scramble ? 1.035 : 1.005), "scramble \(scramble): zstd ratio \(ratio)")
            if !scramble {
                // Without the offset stamps every byte value is equally likely (expected
                // 32768 each, sd 181).
                var hist = [Int](repeating: 0, count: 256)
                for b in data { hist[Int(b)] += 1 }
                #expect(hist.min()! > 31_500 && hist.max()! < 34_000, "byte histogram \(hist.min()!)...\(hist.max()!)")
            }
        }
    }

    @Test("zero_buffers writes zeros; buffer_pattern repeats the pattern from each write's start")
    func zerosAndPattern() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 1 << 20, byte: 0xFF)
        let recs = [TraceRecord(time: 0, op: .write, file: 0, offset: 0, length: 8192),
                    TraceRecord(time: 1, op: .write, file: 0, offset: 65536 + 512, length: 3 * 512)]
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        _ = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: target); $0.payload.content = .zeros }
        var data = try Data(contentsOf: URL(fileURLWithPath: target))
        #expect(data[0..<8192].allSatisfy { $0 == 0 })
        #expect(data[8192] == 0xFF)
        let pat: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF, 0x01]
        _ = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: target); $0.payload.content = .pattern(pat); $0.payload.scramble = false }
        data = try Data(contentsOf: URL(fileURLWithPath: target))
        for i in 0..<8192 { if data[i] != pat[i % 5] { Issue.record("byte \(i): \(data[i])"); break } }
        for i in 0..<1536 { if data[65536 + 512 + i] != pat[i % 5] { Issue.record("second write byte \(i)"); break } }
        #expect(data[65536 + 511] == 0xFF && data[65536 + 512 + 1536] == 0xFF)
    }

    /// zstd's compression ratio of `path` (original bytes / compressed bytes).
    func zstdRatio(_ path: String) throws -> Double {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["zstd", "-q", "-3", "-c", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let z = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        return Double(size) / Double(max(1, z.count))
    }

    @Test("buffer_compress_percentage 50 makes data zstd compresses about 2:1; 0 does not compress")
    func compressible() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let recs = (0..<2048).map { TraceRecord(time: UInt64($0), op: .write, file: 0, offset: UInt64($0) * 4096, length: 4096) }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        for (pct, lo, hi) in [(50, 1.8, 2.2), (75, 3.5, 4.5), (0, 0.99, 1.02)] {
            let target = d.file("t\(pct)")
            try makeFile(target, size: 8 << 20)
            let r = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: target); $0.timing = .none; $0.payload.compressPercentage = pct }
            #expect(r.error == nil)
            let ratio = try zstdRatio(target)
            #expect(ratio >= lo && ratio <= hi, "compress \(pct)%: zstd ratio \(ratio)")
        }
    }

    @Test("dedupe_percentage 40: about 40 % of written blocks repeat an earlier one exactly")
    func dedupe() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 16 << 20)
        let n = 4096
        let recs = (0..<n).map { TraceRecord(time: UInt64($0), op: .write, file: 0, offset: UInt64($0) * 4096, length: 4096) }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        let r = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: target); $0.timing = .none; $0.payload.dedupePercentage = 40 }
        #expect(r.error == nil)
        let data = try Data(contentsOf: URL(fileURLWithPath: target))
        var seen = Set<Data>()
        var dup = 0
        for i in 0..<n {
            let b = data.subdata(in: (i * 4096)..<((i + 1) * 4096))
            if !seen.insert(b).inserted { dup += 1 }
        }
        let share = Double(dup) / Double(n)
        #expect(share > 0.36 && share < 0.44, "duplicate share \(share)")
    }
}

@Suite("Interval sampler")
struct SamplerTests {
    /// Parses the time-series CSV into rows of named fields.
    func csv(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let head = lines[0].split(separator: ",").map(String.init)
        return lines.dropFirst().map { l in Dictionary(uniqueKeysWithValues: zip(head, l.split(separator: ",", omittingEmptySubsequences: false).map(String.init))) }
    }

    @Test("per-interval I/Os, bytes and lateness counts add up to the run's totals; intervals tile the run")
    func addsUp() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 4 << 20)
        var recs: [TraceRecord] = []
        var rng = SystemRandomNumberGenerator()
        for i in 0..<3000 {
            let op: TraceOp = i % 3 == 0 ? .write : .read
            recs.append(TraceRecord(time: UInt64(i) * 250_000, op: op, file: 0, offset: UInt64.random(in: 0..<1000, using: &rng) * 4096, length: 4096))
            if i % 500 == 499 { recs.append(TraceRecord(time: UInt64(i) * 250_000 + 1, op: .sync, file: 0)) }
        }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        let ts = try TimeSeriesWriter(path: d.file("ts.csv"))
        let r = try replay(t, engine: .libaio) {
            $0.targets = TargetMapping(all: target); $0.iodepth = 4
            $0.timeSeries = ts; $0.timeSeriesIntervalNs = 100_000_000
        }
        try ts.finish()
        #expect(r.error == nil)
        let rows = try csv(d.file("ts.csv"))
        func sum(_ op: String, _ key: String) -> UInt64 {
            var total: UInt64 = 0
            for row in rows where row["op"] == op { total += UInt64(row[key] ?? "") ?? 0 }
            return total
        }
        #expect(sum("read", "ios") == r.stats.read.ios)
        #expect(sum("read", "bytes") == r.stats.read.bytes)
        #expect(sum("write", "ios") == r.stats.write.ios)
        #expect(sum("write", "bytes") == r.stats.write.bytes)
        #expect(sum("sync", "ios") == r.stats.sync.ios && r.stats.sync.ios == 6)
        let totalIOs: UInt64 = r.stats.read.ios + r.stats.write.ios + r.stats.sync.ios
        #expect(sum("all", "ios") == totalIOs)
        #expect(sum("all", "issued") == r.stats.issued)
        let all: [[String: String]] = rows.filter { $0["op"] == "all" }
        // 0.75 s of trace at 100 ms: 8 intervals (the last one partial), each starting where the last ended.
        #expect(all.count >= 8 && all.count <= 9, "\(all.count) intervals")
        for (a, b) in zip(all, all.dropFirst()) { #expect(a["end_ns"] == b["start_ns"]) }
        // Reads: latency percentiles ordered and within the run's min..max.
        for row in rows where row["op"] == "read" {
            let p50 = UInt64(row["lat_p50_ns"]!)!, p99 = UInt64(row["lat_p99_ns"]!)!, mx = UInt64(row["lat_max_ns"]!)!
            #expect(p50 <= p99 && p99 <= mx && mx <= r.stats.read.lat.max)
        }
    }
}

@Suite("Engine registry")
struct RegistryTests {
    @Test("names, aliases and fio's ioengine names resolve to the registered engines")
    func names() throws {
        #expect(EngineKind(rawValue: "iouring") == .iouring)
        #expect(EngineKind(rawValue: "io_uring") == .iouring)
        #expect(EngineKind(rawValue: "nosuch") == nil)
        #expect(EngineKind(fioName: "pvsync2") == .psync)
        #expect(EngineKind(fioName: "LIBAIO") == .libaio)
        #expect(EngineKind(fioName: "mmap") == nil)
        #expect(EngineRegistry.engines.map { $0.name } == ["io_uring", "libaio", "psync", "null"])
        for d in EngineRegistry.engines {
            let e = try d.make(4)
            #expect(e.name == d.name)
            e.cleanup()
        }
    }

    @Test("a replay read ahead on its own thread and one decoding inline issue the same I/Os")
    func readAheadSameIO() throws {
        let d = try TempDir(); defer { d.cleanup() }
        var recs: [TraceRecord] = []
        for i in 0..<70_000 {
            let op: TraceOp = i % 4 == 0 ? .write : .read
            recs.append(TraceRecord(time: UInt64(i) * 100, op: op, file: 0, offset: UInt64(i % 997) * 4096, length: 4096))
        }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        var seqs: [[TraceRecord]] = []
        for ahead in [true, false] {
            let out = d.file("rec-\(ahead).fiot")
            let rec = ReplayRecorder(sink: try FiotWriter(path: out, files: [], metadata: [:]))
            let r = try replay(t, engine: .null) { $0.targets = TargetMapping(all: d.file("tg")); $0.readAhead = ahead; $0.timing = .none; $0.recorder = rec }
            try rec.finish(metadata: [:])
            #expect(r.stats.issued == 70_000)
            var src = try FiotReader(path: out)
            var all: [TraceRecord] = []
            var b: [TraceRecord] = []
            while try src.nextBatch(&b, maxCount: 65536) { all += b }
            seqs.append(all)
        }
        let a: [UInt64] = seqs[0].map { $0.offset }, b: [UInt64] = seqs[1].map { $0.offset }
        #expect(a == b)
        let ops: [TraceOp] = seqs[0].map { $0.op }, want: [TraceOp] = recs.map { $0.op }
        #expect(ops == want)
    }
}
