import CZstd
import Foundation
import Testing
@testable import FioTrace

/// The bytes of a `.fiot` file, to damage it the way a fuzzer or a bad disk would and to
/// re-seal what was changed (checksums recomputed as docs/trace-format.md says), so that a
/// test reaches the check after the checksum.
struct FiotBytes {
    var b: [UInt8]

    init(b: [UInt8]) { self.b = b }
    init(path: String) throws { b = Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func write(_ path: String) throws { try Data(b).write(to: URL(fileURLWithPath: path)) }

    func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
    func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }
    mutating func put32(_ o: Int, _ v: UInt32) { for k in 0..<4 { b[o + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
    mutating func put64(_ o: Int, _ v: UInt64) { for k in 0..<8 { b[o + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }

    /// Where the first block starts.
    var headerEnd: Int { 24 + Int(u32(12)) }
    /// The file identity (header flag bit 0: the header body's last 8 bytes), 0 in 1.0.
    var fileID: UInt64 { b[24] & 1 != 0 ? u64(headerEnd - 8) : 0 }
    /// Byte offsets of the blocks, walking frames from the header.
    var blocks: [Int] {
        var out: [Int] = []
        var o = headerEnd
        while o + 40 <= b.count && u32(o) == FiotLayout.blockMagic {
            out.append(o)
            o += 40 + Int(u32(o + 4))
        }
        return out
    }
    /// The footer's offset, from the trailer.
    var footerOffset: Int { Int(u64(b.count - 24)) }

    static func sum(_ bytes: ArraySlice<UInt8>, seed: UInt64) -> UInt64 {
        Array(bytes).withUnsafeBytes { FiotLayout.checksum($0, seed: seed) }
    }

    /// Recomputes the checksum of the block at `o` after its header or payload changed.
    mutating func reseal(block o: Int) {
        let seed = Self.sum(b[o..<(o + 32)], seed: fileID)
        put64(o + 32, Self.sum(b[(o + 40)..<(o + 40 + Int(u32(o + 4)))], seed: seed))
    }

    /// Replaces footer and trailer with a well-sealed footer of body `body`.
    mutating func replaceFooter(body: [UInt8], totalRecords: UInt64) {
        let at = footerOffset
        b.removeLast(b.count - at)
        var f = ByteBuffer()
        f.le(FiotLayout.footerMagic)
        f.le(UInt32(body.count))
        f.le(body.withUnsafeBytes { FiotLayout.checksum($0, seed: fileID) })
        b += f.bytes + body
        var t = ByteBuffer()
        t.le(UInt64(at))
        t.le(totalRecords)
        b += t.bytes + FiotLayout.trailerMagic
    }

    /// Drops footer and trailer (as a writer killed before `finish` leaves the file).
    mutating func dropFooter() { b.removeLast(b.count - footerOffset) }
}

func varints(_ v: [UInt64]) -> [UInt8] {
    var buf = ByteBuffer()
    for x in v { buf.varint(x) }
    return buf.bytes
}

/// Reads every record it can; the error that ended reading, if any.
func readUntilError(_ path: String, skip: Bool = false, format: TraceFormat? = nil) -> (records: [TraceRecord], error: TraceError?, skipped: [TraceError]) {
    var got: [TraceRecord] = []
    var s: (any TraceSource)?
    var batch: [TraceRecord] = []
    do {
        s = try openTraceSource(path: path, options: TraceOpenOptions(format: format, skipBadBlocks: skip))
        while try s!.nextBatch(&batch, maxCount: 512) { got += batch }
        return (got, nil, s!.skipped)
    } catch let e as TraceError {
        // A text reader fails mid-batch: the records before the bad line are in `batch`.
        if s is PublicTraceReader { got += batch }
        return (got, e, s?.skipped ?? [])
    } catch {
        Issue.record("not a TraceError: \(error)")
        return (got, nil, [])
    }
}

/// Issue 12, readers: values a file can carry that used to trap (integer overflow),
/// allocate without bound or run for minutes. Each gives a one-line error naming file,
/// place and value, or a correct result.
@Suite struct ReaderHardeningTests {
    let files = [TraceFile(path: "/data/a"), TraceFile(path: "/data/b")]

    /// A finished 3-block trace of 900 records.
    func threeBlocks(_ dir: String) throws -> (path: String, records: [TraceRecord]) {
        let recs = randomRecords(900, files: 2, seed: 12)
        let p = dir + "/t.fiot"
        try writeFiot(p, recs, files: files, blockRecords: 300)
        return (p, recs)
    }

    @Test func trailerPlacingTheFooterNear2to64() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let (p, recs) = try threeBlocks(dir)
        var f = try FiotBytes(path: p)
        let footer = f.footerOffset
        f.put64(f.b.count - 24, UInt64.max - 7)
        try f.write(dir + "/bad.fiot")
        let r = readUntilError(dir + "/bad.fiot")
        #expect(r.records == recs) // every block is good
        let e = try #require(r.error)
        #expect(e.message.hasPrefix(dir + "/bad.fiot: "))
        #expect(e.message.contains("18446744073709551608"))
        #expect(e.message.contains("byte \(footer)"))
        #expect(!e.message.contains("\n"))
    }

    @Test func footerClaiming2to32BlocksAllocatesNothing() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let (p, recs) = try threeBlocks(dir)
        var f = try FiotBytes(path: p)
        let footer = f.footerOffset
        f.replaceFooter(body: varints([1, 1 << 32]) + [UInt8](repeating: 0, count: 64), totalRecords: 900)
        try f.write(dir + "/bad.fiot")
        let r = readUntilError(dir + "/bad.fiot")
        #expect(r.records == recs)
        let e = try #require(r.error)
        #expect(e.message.contains("4294967296"))
        #expect(e.message.contains("byte \(footer)"))
    }

    @Test func footerBlockOf2to63Records() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let (p, recs) = try threeBlocks(dir)
        var f = try FiotBytes(path: p)
        let body = varints([1, 1, UInt64(f.headerEnd), 0, 1 << 63, 0, 0, 1 << 63, 0, 0])
        f.replaceFooter(body: body, totalRecords: 1 << 63)
        try f.write(dir + "/bad.fiot")
        let r = readUntilError(dir + "/bad.fiot")
        #expect(r.records == recs)
        let e = try #require(r.error)
        #expect(e.message.contains("9223372036854775808"))
    }

    /// A block whose payload (checksum and all in order) says it holds 2^63 records.
    @Test func blockPayloadCounting2to63Records() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let (p, recs) = try threeBlocks(dir)
        var f = try FiotBytes(path: p)
        f.dropFooter()
        let bl = f.blocks
        let payload = varints([1 << 63, 0, 0, 0]) + [UInt8](repeating: 0, count: 16)
        var z = [UInt8](repeating: 0, count: ZSTD_compressBound(payload.count))
        let clen = z.withUnsafeMutableBytes { d in payload.withUnsafeBytes { ZSTD_compress(d.baseAddress, d.count, $0.baseAddress, $0.count, 3) } }
        #expect(ZSTD_isError(clen) == 0)
        var block = Array(f.b[bl[1]..<(bl[1] + 40)]) + z[0..<clen]
        var h = FiotBytes(b: block)
        h.put32(4, UInt32(clen))
        h.put32(8, UInt32(payload.count))
        block = h.b
        f.b.replaceSubrange(bl[1]..<bl[2], with: block)
        f.reseal(block: bl[1])
        try f.write(dir + "/bad.fiot")
        let r = readUntilError(dir + "/bad.fiot")
        #expect(r.records == Array(recs[0..<300]))
        let e = try #require(r.error)
        #expect(e.kind == .corruptBlock && e.block == 1 && e.byteOffset == UInt64(bl[1]))
        #expect(e.message.contains("9223372036854775808"))
        let s = readUntilError(dir + "/bad.fiot", skip: true)
        #expect(s.records == Array(recs[0..<300]) + Array(recs[600...]))
    }

    @Test func firstRecordNear2to64AfterASkippedBlock() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let (p, recs) = try threeBlocks(dir)
        var f = try FiotBytes(path: p)
        f.dropFooter() // no index: reading front to back, as from a pipe
        let bl = f.blocks
        #expect(bl.count == 3)
        f.b[bl[1] + 50] ^= 0x5A // block 1: checksum mismatch
        f.put64(bl[2] + 16, UInt64.max - 100)
        f.reseal(block: bl[2])
        try f.write(dir + "/bad.fiot")
        let r = readUntilError(dir + "/bad.fiot", skip: true)
        #expect(r.records == Array(recs[0..<300]))
        #expect(r.error?.kind == .truncated) // no footer
        #expect(r.skipped.count == 2)
        let e = try #require(r.skipped.last)
        #expect(e.message.contains("block 2"))
        #expect(e.message.contains("byte \(bl[2])"))
        #expect(e.message.contains("18446744073709551515"))
    }

    /// Times and latencies up to 2^64 - 1 ns are legal in a record: `info`'s histograms
    /// (HdrHistogram tracks up to 2^63 - 1) must not trap on them.
    @Test func timesAndLatenciesNear2to64Summarize() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        var recs = [TraceRecord(time: 0, op: .read, file: 0, offset: 0, length: 4096, latency: UInt64.max),
                    TraceRecord(time: 1 << 63 + 5, op: .read, file: 0, offset: 4096, length: 4096, latency: 1000),
                    TraceRecord(time: 1 << 63 + 10, op: .read, file: 0, offset: 12288, length: 4096),
                    TraceRecord(time: UInt64.max - 3, op: .write, file: 0, offset: 8192, length: 4096, latency: 1 << 63)]
        let p = dir + "/t.fiot"
        try writeFiot(p, recs, files: [files[0]])
        var s = try openTraceSource(path: p, options: TraceOpenOptions())
        let sum = try TraceSummary.of(&s)
        #expect(sum.records == 4)
        #expect(sum.duration == UInt64.max - 3)
        #expect(sum.footprint.bytes == 4 * 4096)
        // Gaps: 2^63 + 5 (past the histogram's range: kept at its top), 5 and 2^63 - 14.
        #expect(sum.interArrival.totalCount == 3)
        #expect(sum.interArrival.min == 5)
        #expect(sum.interArrival.max > 1 << 62)
        #expect(sum.latency[0].totalCount == 2)
        #expect(sum.latency[0].max > 1 << 62)
        #expect(sum.latency[1].totalCount == 1)
        // One gap and one latency over 2^63 - 1 (the 2^63 latency is one over too).
        #expect(sum.clampedValues == 3)
        recs.removeAll()
    }

    /// An iolog I/O of 2^64 - 1 bytes, and one of 2^62: the footprint is exact and takes
    /// no time or memory to speak of (it used to walk one bit per 4 KiB).
    @Test(.timeLimit(.minutes(1))) func hugeIologLengthsInTheFootprint() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let p = dir + "/huge.log"
        try """
        fio version 2 iolog
        /dev/x add
        /dev/x open
        /dev/x write 512 18446744073709550592
        /dev/x read 0 4096
        /dev/y add
        /dev/y open
        /dev/y write 0 4611686018427387904
        /dev/y write 2305843009213693952 4096
        /dev/y write 4611686018427387904 8192
        /dev/x close
        /dev/y close

        """.write(toFile: p, atomically: false, encoding: .utf8)
        var s = try openTraceSource(path: p, options: TraceOpenOptions())
        let sum = try TraceSummary.of(&s)
        // x: [0, 2^64 - 512); y: [0, 2^62 + 8192).
        let x: UInt64 = UInt64.max - 511
        let y: UInt64 = 1 << 62 + 8192
        #expect(x.addingReportingOverflow(y).overflow)
        #expect(sum.footprint.bytes == UInt64.max) // x + y: past 2^64, saturated

        let p2 = dir + "/y.log"
        try """
        fio version 2 iolog
        /dev/y add
        /dev/y open
        /dev/y write 0 4611686018427387904
        /dev/y write 2305843009213693952 4096
        /dev/y write 4611686018427387904 8192
        /dev/y read 18446744073709547520 4095
        /dev/y close

        """.write(toFile: p2, atomically: false, encoding: .utf8)
        var s2 = try openTraceSource(path: p2, options: TraceOpenOptions())
        let sum2 = try TraceSummary.of(&s2)
        #expect(sum2.footprint.bytes == y + 4096) // the last I/O rounds out to its 512 B sectors
        let p3 = dir + "/one.log"
        try "fio version 2 iolog\n/dev/z add\n/dev/z open\n/dev/z write 0 18446744073709551615\n/dev/z close\n"
            .write(toFile: p3, atomically: false, encoding: .utf8)
        var s3 = try openTraceSource(path: p3, options: TraceOpenOptions())
        // 2^64 - 1 bytes, rounded out to whole sectors: 2^64, shown as the most a UInt64 holds.
        #expect(try TraceSummary.of(&s3).footprint.bytes == UInt64.max)
    }

    /// An MSR size of 2^62 bytes: bounded like the iolog above.
    @Test(.timeLimit(.minutes(1))) func hugeMSRSizeInTheFootprint() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let p = dir + "/msr.csv"
        try """
        128166372003061629,hm,0,Write,0,4611686018427387904,100
        128166372003061639,hm,0,Read,1048576,4096,100
        128166372003061649,hm,0,Read,4611686018427387904,4096,100

        """.write(toFile: p, atomically: false, encoding: .utf8)
        var s = try openTraceSource(path: p, options: TraceOpenOptions(format: .msr))
        let sum = try TraceSummary.of(&s)
        #expect(sum.footprint.bytes == 1 << 62 + 4096)
        #expect(sum.ops[0].bytes == 8192)
    }

    /// An MSR response time of 1.8e17 (x 100 ns: 570 years) does not fit `info`'s
    /// histograms; the reader says so with the line.
    @Test func msrResponseTimeTooLarge() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let p = dir + "/msr.csv"
        try "128166372003061629,hm,0,Read,0,4096,100\n128166372003061639,hm,0,Read,4096,4096,180000000000000000\n"
            .write(toFile: p, atomically: false, encoding: .utf8)
        let r = readUntilError(p, format: .msr)
        let e = try #require(r.error)
        #expect(e.kind == .malformedLine)
        #expect(e.message.hasPrefix(p + ":2: "))
        #expect(e.message.contains("180000000000000000"))
    }

    /// A negative blkreplay time is an error, also on the first data line (which used to be
    /// taken for preamble text and dropped with its I/O).
    @Test func negativeBlkreplayTime() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let header = "copyright text\n##########\nstart ; sector; length ; op ;  replay_delay=0 ; replay_duration=0\n"
        for (k, body) in ["-0.5 ; 8 ; 8 ; R ; 0 ; 0\n0.000000001 ; 16 ; 8 ; W ; 0 ; 0\n",
                          "0.000000000 ; 0 ; 8 ; R ; 0 ; 0\n-0.5 ; 8 ; 8 ; R ; 0 ; 0\n"].enumerated() {
            let p = dir + "/n\(k).load"
            try (header + body).write(toFile: p, atomically: false, encoding: .utf8)
            let r = readUntilError(p, format: .blkreplay)
            let e = try #require(r.error, "case \(k): read \(r.records.count) records")
            #expect(e.message.hasPrefix(p + ":\(4 + k): "))
            #expect(e.message.contains("-0.5"))
        }
    }

    /// Decimal times whose integer part times 10^9 plus the fraction pass 2^63: a clear
    /// error; the largest that fits is read exactly.
    @Test func decimalTimesAtTheEdgeOfInt64() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let p = dir + "/big.load"
        try "0.000000000 ; 0 ; 8 ; R ; 0 ; 0\n9223372036.999999999 ; 8 ; 8 ; R ; 0 ; 0\n"
            .write(toFile: p, atomically: false, encoding: .utf8)
        let r = readUntilError(p, format: .blkreplay)
        let e = try #require(r.error)
        #expect(e.message.hasPrefix(p + ":2: "))
        #expect(e.message.contains("9223372036.999999999"))
        let ok = dir + "/edge.load"
        try "0.000000000 ; 0 ; 8 ; R ; 0 ; 0\n9223372036.854775807 ; 8 ; 8 ; R ; 0 ; 0\n"
            .write(toFile: ok, atomically: false, encoding: .utf8)
        var s = try openTraceSource(path: ok, options: TraceOpenOptions(format: .blkreplay))
        let sum = try TraceSummary.of(&s)
        #expect(sum.duration == UInt64(Int64.max))

        let d = dir + "/big.disksim"
        try "0 0 0 8 1\n9223372036854.775807 0 8 8 1\n9223372036854.775808 0 16 8 1\n"
            .write(toFile: d, atomically: false, encoding: .utf8)
        let rd = readUntilError(d, format: .disksim)
        #expect(rd.records.map(\.time) == [0, UInt64(Int64.max)])
        let ed = try #require(rd.error)
        #expect(ed.message.hasPrefix(d + ":3: "))
        #expect(ed.message.contains("9223372036854.775808"))
    }

    /// A recording killed before its first block: a sensible message, and 0 records.
    @Test func headerOnlyTrace() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let p = dir + "/h.fiot"
        do {
            let w = try FiotWriter(path: p, metadata: ["k": "v"])
            try w.define(file: files[0])
            try w.write([TraceRecord(time: 0, op: .read, file: 0, offset: 0, length: 512)])
        } // dropped: only the header is on disk
        let r = readUntilError(p)
        #expect(r.records.isEmpty)
        let e = try #require(r.error)
        #expect(e.kind == .truncated)
        #expect(!e.message.contains("block -1"))
        #expect(e.message.contains("no records"))
    }
}
