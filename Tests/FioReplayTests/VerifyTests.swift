import Foundation
@testable import FioReplay
import FioTrace
import Glibc
import Testing

/// Known-answer values of each checksum library (RFC 1321, FIPS 180, the iSCSI CRC).
@Suite("Verify checksums")
struct VerifyChecksumTests {
    func hex(_ a: VerifyAlgorithm, _ s: String) -> String {
        var out = [UInt8](repeating: 0, count: 24)
        let b = Array(s.utf8)
        b.withUnsafeBytes { p in out.withUnsafeMutableBytes { a.digest(p.baseAddress!, b.count, into: $0.baseAddress!) } }
        return out.prefix(a.digestLength).map { String(format: "%02x", $0) }.joined()
    }

    @Test("crc32c, md5, sha1, sha256 give the published values; xxh3 matches libxxhash's test vector")
    func knownAnswers() {
        #expect(crc32c(Array("123456789".utf8), 9) == 0xE306_9283)
        #expect(hex(.md5, "abc") == "900150983cd24fb0d6963f7d28e17f72")
        #expect(hex(.sha1, "abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(.sha256, "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c")
        // XXH3_64bits("") = 2d06800538d394c2 (xxhash's own sanity value), stored little-endian.
        #expect(hex(.xxh3, "") == "c294d3380580062d")
    }
}

@Suite("Last-writer map")
struct WriterMapTests {
    @Test("random sets and clears match a plain per-sector model, merged and split across regions")
    func matchesModel() {
        var rng = SystemRandomNumberGenerator()
        var map = WriterMap()
        let sectors = 3 * 2048 + 100
        var model = [WriterMap.Owner?](repeating: nil, count: sectors)
        for i in 0..<4000 {
            let a = UInt64.random(in: 0..<UInt64(sectors), using: &rng)
            let n = UInt64.random(in: 1...min(3000, UInt64(sectors) - a), using: &rng)
            let owner: WriterMap.Owner? = i % 10 == 0 ? nil
                : (i % 7 == 0 ? .range(lo: UInt64(i / 2), hi: UInt64(i)) : .generation(UInt64(i % 50)))
            map.set(target: 1, start: a, end: a + n, owner: owner)
            for k in a..<(a + n) { model[Int(k)] = owner }
        }
        var seen = [WriterMap.Owner?](repeating: nil, count: sectors)
        var lastEnd: UInt64 = 0
        map.forEach(target: 1, start: 0, end: UInt64(sectors)) { s, e, o in
            #expect(s >= lastEnd && e > s)
            lastEnd = e
            for k in s..<e { seen[Int(k)] = o }
        }
        #expect(seen == model)
        // Clipped queries agree too.
        var part: [WriterMap.Owner?] = []
        var cursor: UInt64 = 1000
        map.forEach(target: 1, start: 1000, end: 5000) { s, e, o in
            while cursor < s { part.append(nil); cursor += 1 }
            for _ in s..<e { part.append(o) }
            cursor = e
        }
        while cursor < 5000 { part.append(nil); cursor += 1 }
        #expect(part == Array(model[1000..<5000]))
        map.forEach(target: 0, start: 0, end: 10) { _, _, _ in Issue.record("target 0 was never written") }
    }

    @Test("compact: random 4 KiB writes cost at most 24 bytes per distinct extent")
    func compact() {
        var map = WriterMap()
        var rng = SystemRandomNumberGenerator()
        let blocks: UInt64 = 4 << 20 // 16 GiB of 4 KiB blocks
        for g in 1...1_000_000 {
            let b = UInt64.random(in: 0..<blocks, using: &rng)
            map.set(target: 0, start: b * 8, end: b * 8 + 8, owner: .generation(UInt64(g)))
        }
        let perExtent = Double(map.memoryBytes) / Double(map.extentCount)
        // 1M random picks of 4M blocks: 4M * (1 - e^-0.25) = 884,797 distinct expected.
        #expect(map.extentCount > 870_000 && map.extentCount < 900_000)
        #expect(perExtent <= 24, "\(perExtent) bytes per extent")
    }
}

/// A verified replay on a real file, then damage done to the file, then the pass.
@Suite("Verify fault injection")
struct VerifyFaultTests {
    /// Random overlapping writes of mixed sizes (512 B to 1 MiB, offsets 512-aligned and
    /// unaligned to each other) over 20 MiB, reads among them, and one planted block at
    /// 20 MiB written twice: generation A, then B after a close and open of the file (a close
    /// waits for everything in flight, so A has completed: writes in flight together may land
    /// in either order, and verify accepts either).
    static func trace(_ dir: TempDir, count: Int = 3000) throws -> (path: String, planted: UInt64, prefix: String) {
        var rng = SystemRandomNumberGenerator()
        var recs: [TraceRecord] = []
        let sizes: [UInt64] = [512, 1024, 3584, 4096, 8192, 65536, 131072, 1 << 20]
        for i in 0..<count {
            let len = sizes[Int.random(in: 0..<sizes.count, using: &rng)]
            let off = UInt64.random(in: 0..<((20 << 20) - len) / 512, using: &rng) * 512
            let op: TraceOp = i % 4 == 3 ? .read : .write
            recs.append(TraceRecord(time: UInt64(i) * 1000, op: op, file: 0, offset: off, length: len))
        }
        let planted: UInt64 = 20 << 20
        recs.append(TraceRecord(time: UInt64(count) * 1000, op: .write, file: 0, offset: planted, length: 4096))
        recs.append(TraceRecord(time: UInt64(count) * 1000 + 1, op: .sync, file: 0))
        recs.append(TraceRecord(time: UInt64(count) * 1000 + 2, op: .close, file: 0))
        recs.append(TraceRecord(time: UInt64(count) * 1000 + 3, op: .open, file: 0))
        recs.append(TraceRecord(time: UInt64(count) * 1000 + 4, op: .write, file: 0, offset: planted, length: 4096))
        // The same trace without the planted block's second write: replayed with the same run
        // id, it leaves the block's first version (generations follow issue order).
        let prefix = try writeTrace(dir, name: "prefix.fiot", files: [TraceFile(path: "v")], records: Array(recs.dropLast()))
        return (try writeTrace(dir, files: [TraceFile(path: "v")], records: recs), planted, prefix)
    }

    func replayVerified(_ trace: String, target: String, engine: EngineKind, algorithm: VerifyAlgorithm = .crc32c,
                        interval: Int = 512, run: UInt64 = 0x5eed, depth: Int = 16, timing: ReplayTiming = .none) throws -> (Verifier, ReplayResult) {
        var vo = VerifyOptions()
        vo.algorithm = algorithm
        vo.interval = interval
        vo.run = run
        if algorithm == .pattern { vo.pattern = try DataPattern.parse("0xdead%o", allowOffset: true) }
        let v = Verifier(options: vo)
        let r = try replay(trace, engine: engine) {
            $0.targets = TargetMapping(all: target); $0.iodepth = depth; $0.timing = timing; $0.verifier = v
        }
        #expect(r.error == nil, "\(r.error?.message ?? "")")
        return (v, r)
    }

    func pass(_ v: Verifier, engine: EngineKind) throws -> VerifyResults {
        var p = VerifyPass()
        p.engine = engine
        _ = try p.run(v)
        return v.results
    }

    /// Sectors of `target` whose owner is exactly one generation, as (sector, generation).
    func ownedSectors(_ v: Verifier) -> [(UInt64, UInt64)] {
        var out: [(UInt64, UInt64)] = []
        v.withMap { m in
            for r in m.regions(target: 0) {
                for (s, e, o) in m.extents(target: 0, region: r) {
                    if case .generation(let g) = o { for k in s..<e { out.append((k, g)) } }
                }
            }
        }
        return out
    }

    @Test("a clean run with heavy overlap reports nothing, for every algorithm; the trace's reads are checked inline",
          arguments: VerifyAlgorithm.allCases)
    func cleanRun(algorithm: VerifyAlgorithm) throws {
        let d = try TempDir(); defer { d.cleanup() }
        let (t, _, _) = try Self.trace(d, count: 2000)
        let target = d.file("target")
        try makeFile(target, size: 21 << 20)
        let (v, r) = try replayVerified(t, target: target, engine: .iouring, algorithm: algorithm)
        #expect(r.stats.write.ios > 1400)
        let res = try pass(v, engine: .iouring)
        #expect(res.isClean, "\(algorithm): \(res.ranges.prefix(3))")
        #expect(res.pass.sectorsChecked > 10_000)
        #expect(res.pass.sectorsGood + res.pass.sectorsAllowedOlder == res.pass.sectorsChecked)
        #expect(res.inline.sectorsChecked > 0, "reads of written data are checked as they complete")
        #expect(res.writes == r.stats.write.ios)
    }

    @Test("injected damage: bit flip, zeroed block, older version, copied block, mixed generations: exactly those ranges, right classes",
          arguments: [EngineKind.iouring, .libaio])
    func faults(engine: EngineKind) throws {
        let d = try TempDir(); defer { d.cleanup() }
        let (t, planted, prefix) = try Self.trace(d)
        let target = d.file("target")
        try makeFile(target, size: 21 << 20)
        // The planted block's first version, from the prefix replayed with the same run id.
        let old = d.file("old")
        try makeFile(old, size: 21 << 20)
        var vo = VerifyOptions(); vo.run = 0x5eed
        let first = Verifier(options: vo)
        _ = try replay(prefix, engine: engine) {
            $0.targets = TargetMapping(all: old); $0.iodepth = 16; $0.timing = .none; $0.verifier = first
        }
        let (v, _) = try replayVerified(t, target: target, engine: engine)
        let clean = try pass(v, engine: engine)
        #expect(clean.isClean, "before damage: \(clean.ranges.prefix(3))")

        let owned = ownedSectors(v).filter { $0.0 * 512 < planted }
        #expect(owned.count > 1000)
        let fd = open(target, O_RDWR)
        defer { close(fd) }
        func read(_ off: UInt64, _ n: Int) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: n)
            _ = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, n, off_t(off)) }
            return b
        }
        func write(_ off: UInt64, _ b: [UInt8]) { _ = b.withUnsafeBytes { pwrite(fd, $0.baseAddress!, b.count, off_t(off)) } }
        // Five places far apart, each a 4 KiB block of whole sectors one write owns.
        var blocks: [UInt64] = []
        let bySector = Dictionary(uniqueKeysWithValues: owned)
        for (s, g) in owned.shuffled() where s % 8 == 0 && blocks.count < 4 {
            guard (0..<8).allSatisfy({ bySector[s + $0] == g }) else { continue }
            if blocks.allSatisfy({ $0 > s + 64 || s > $0 + 64 }) { blocks.append(s) }
        }
        #expect(blocks.count == 4)
        let (flip, zero, src, dst) = (blocks[0], blocks[1], blocks[2], blocks[3])
        // (a) one bit in a payload
        var b = read(flip * 512 + 1024 + 300, 1); b[0] ^= 0x04; write(flip * 512 + 1024 + 300, b)
        // (b) zeros over 4 KiB
        write(zero * 512, [UInt8](repeating: 0, count: 4096))
        // (c) the planted block's older version; (e) its upper half only, over the 2nd half
        let oldFd = open(old, O_RDONLY)
        var older = [UInt8](repeating: 0, count: 4096)
        _ = older.withUnsafeMutableBytes { pread(oldFd, $0.baseAddress!, 4096, off_t(planted)) }
        close(oldFd)
        write(planted, Array(older[0..<2048]))
        // (d) a block copied over another offset
        write(dst * 512, read(src * 512, 4096))
        // (e) mixed generations inside one write: the planted block's last 4 sectors also old
        write(planted + 2048, Array(older[2048..<4096]))

        let res = try pass(v, engine: engine)
        var got: [VerifyClass: Set<UInt64>] = [:]
        for r in res.ranges { for k in 0..<(r.length / 512) { got[r.kind, default: []].insert(r.offset / 512 + k) } }
        #expect(got[.corrupted] == [flip + 2], "\(res.ranges)")
        #expect(got[.unwritten] == Set(zero..<(zero + 8)))
        #expect(got[.misdirected] == Set(dst..<(dst + 8)))
        // The whole planted block holds its older write: a lost write (stale).
        #expect(got[.stale] == Set((planted / 512)..<(planted / 512 + 8)))
        #expect(got[.torn] == nil)
        let mis = res.ranges.first { $0.kind == .misdirected }
        #expect(mis?.foundOffset == src * 512)

        // (e) torn: a fresh replay, then only the planted block's second half back to its
        // first version: one write's sectors from two generations.
        let fresh = d.file("fresh")
        try makeFile(fresh, size: 21 << 20)
        let v2 = Verifier(options: vo)
        _ = try replay(t, engine: engine) {
            $0.targets = TargetMapping(all: fresh); $0.iodepth = 16; $0.timing = .none; $0.verifier = v2
        }
        let ffd = open(fresh, O_RDWR)
        _ = older.withUnsafeBytes { pwrite(ffd, $0.baseAddress! + 2048, 2048, off_t(planted + 2048)) }
        close(ffd)
        let res2 = try pass(v2, engine: engine)
        var got2: [VerifyClass: Set<UInt64>] = [:]
        for r in res2.ranges { for k in 0..<(r.length / 512) { got2[r.kind, default: []].insert(r.offset / 512 + k) } }
        #expect(got2 == [.torn: Set((planted / 512 + 4)..<(planted / 512 + 8))], "\(res2.ranges)")
    }

    @Test("a write that fails for lack of space is not reported later; what completed is checked",
          .enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func enospc() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let mnt = d.file("mnt")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        guard mount("tmpfs", mnt, "tmpfs", 0, "size=2m") == 0 else { Issue.record("cannot mount tmpfs: \(errno)"); return }
        defer { umount(mnt) }
        let recs = (0..<1024).map { TraceRecord(time: UInt64($0), op: .write, file: 0, offset: UInt64($0) * 4096, length: 4096) }
        let t = try writeTrace(d, files: [TraceFile(path: "f")], records: recs)
        let v = Verifier(options: VerifyOptions())
        let r = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: mnt + "/f"); $0.timing = .none; $0.verifier = v }
        #expect(r.error?.errno == ENOSPC)
        let res = try pass(v, engine: .psync)
        #expect(res.writesFailed == 1)
        #expect(res.isClean, "\(res.ranges.prefix(3))")
        #expect(res.pass.sectorsGood >= 500 * 8, "the writes that completed are checked")
    }
}

@Suite("Verify state")
struct VerifyStateTests {
    @Test("a journal cut at any record reloads; kill and power-cut models differ exactly as stated")
    func crashModels() throws {
        let d = try TempDir(); defer { d.cleanup() }
        var vo = VerifyOptions(); vo.run = 7
        let v = Verifier(options: vo)
        try v.startState(path: d.file("s"))
        let t = v.targetID(path: "/x")
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 4096)
        defer { buf.deallocate() }
        // w1 durable (a sync issued after it completed, and completed); w2 completed after the
        // sync was issued (not durable); w3 in flight at the "crash".
        let (i1, g1) = v.beginWrite(target: t, offset: 0, length: 4096, buffer: buf)
        v.endWrite(index: i1, result: 4096, length: 4096)
        let ticket = v.syncIssued(target: t)
        let (i2, g2) = v.beginWrite(target: t, offset: 4096, length: 4096, buffer: buf)
        v.endWrite(index: i2, result: 4096, length: 4096)
        v.syncCompleted(target: t, ticket: ticket, ok: true)
        let (i3, g3) = v.beginWrite(target: t, offset: 0, length: 8192, buffer: buf)
        _ = i3
        // No finishState: the process "died" here.
        func owners(_ s: LoadedVerifyState) -> [WriterMap.Owner?] {
            var out = [WriterMap.Owner?](repeating: nil, count: 16)
            s.map.forEach(target: 0, start: 0, end: 16) { a, b, o in for k in a..<b { out[Int(k)] = o } }
            return out
        }
        let kill = try LoadedVerifyState.load(path: d.file("s"), crash: .kill)
        #expect(!kill.clean && kill.inFlightAtEnd == 1 && kill.targets == ["/x"])
        // Kill: w1 and w2 are there, each possibly overwritten by the in-flight w3.
        #expect(owners(kill) == Array(repeating: .range(lo: g1, hi: g3), count: 8) + Array(repeating: .range(lo: g2, hi: g3), count: 8))
        let power = try LoadedVerifyState.load(path: d.file("s"), crash: .power)
        #expect(power.undurableAtEnd == 1)
        // Power: w1 durable (or w3); w2 not durable and never durably preceded: unchecked.
        #expect(owners(power) == Array(repeating: .range(lo: g1, hi: g3), count: 8) + Array(repeating: nil, count: 8))
        // A journal cut mid-record still loads what came before the cut.
        let data = try Data(contentsOf: URL(fileURLWithPath: d.file("s")))
        let cut = d.file("cut")
        _ = FileManager.default.createFile(atPath: cut, contents: data.prefix(200))
        let c = try LoadedVerifyState.load(path: cut, crash: .kill)
        #expect(!c.clean && c.records >= 3 && !c.stoppedBecause.isEmpty)
        // A clean end: exact owners.
        v.endWrite(index: i3, result: 8192, length: 8192)
        try v.finishState()
        let end = try LoadedVerifyState.load(path: d.file("s"), crash: .power)
        #expect(end.clean && end.stoppedBecause.isEmpty)
        #expect(owners(end) == Array(repeating: .generation(g3), count: 16))
    }
}
