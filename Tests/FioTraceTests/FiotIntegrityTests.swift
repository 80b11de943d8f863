import Foundation
import Testing
@testable import FioTrace

/// The records of traces/fiot-1.0-sample.fiot, written by the format-1.0 writer (blocks of
/// 400 records; files a and b defined before record 0, "c d" before record 400).
func fiot10SampleRecords() -> [TraceRecord] {
    var r = randomRecords(1200, files: 2, seed: 1010)
    for i in 400..<r.count { r[i].file = UInt32(i % 3) }
    return r
}

/// Format 1.1's integrity (issue 12): the file identity in every checksum, block
/// positions and record numbers checked against the running count and the footer, and
/// `--skip-bad-blocks` losing only the bad block's records, in order.
@Suite struct FiotIntegrityTests {
    let files = [TraceFile(path: "/data/a"), TraceFile(path: "/data/b", size: 1 << 30), TraceFile(path: "/data/c")]

    /// 1,500 records in 5 blocks of 300; file 2 first used (so defined) in block 2.
    func trace(_ path: String, seed: UInt64 = 21) throws -> [TraceRecord] {
        var recs = randomRecords(1500, files: 2, seed: seed)
        for i in 600..<1500 where i % 4 == 0 { recs[i].file = 2 }
        let w = try FiotWriter(path: path, options: .init(blockRecords: 300))
        try w.define(file: files[0])
        try w.define(file: files[1])
        try w.write(Array(recs[0..<600]))
        try w.define(file: files[2])
        try w.write(Array(recs[600...]))
        try w.finish(metadata: ["end": "yes"])
        return recs
    }

    @Test func newFilesAreVersion11WithAnIdentity() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        _ = try trace(dir + "/a.fiot")
        _ = try trace(dir + "/b.fiot")
        let a = try FiotReader(path: dir + "/a.fiot"), b = try FiotReader(path: dir + "/b.fiot")
        #expect(a.version.major == 1 && a.version.minor == 1)
        #expect(a.fileID != 0 && b.fileID != 0 && a.fileID != b.fileID)
        #expect(FiotBytes(b: Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/a.fiot")))).fileID == a.fileID)
    }

    /// The committed 1.0 sample (made by main's writer before 1.1) reads whole, seeks, and
    /// decodes in parallel; a bad block in it is skipped like in a 1.1 file.
    @Test func readsTheFormat10Sample() throws {
        let path = sampleTraces + "/fiot-1.0-sample.fiot"
        let want = fiot10SampleRecords()
        var r = try FiotReader(path: path)
        #expect(r.version.major == 1 && r.version.minor == 0)
        #expect(r.fileID == 0)
        #expect(try readAll(&r) == want)
        #expect(r.files.map(\.path) == ["/data/a.dat", "/data/b.dat", "/data/c d.dat"])
        #expect(r.files[0].size == 1 << 40)
        #expect(r.files[1].device == DeviceNumber(major: 8, minor: 1))
        #expect(r.metadata["sample"] == "fiot 1.0" && r.metadata["end"] == "yes")
        try r.seek(toRecord: 777)
        var batch: [TraceRecord] = []
        #expect(try r.nextBatch(&batch, maxCount: 5))
        #expect(batch == Array(want[777..<782]))
        let ra = try #require(r.randomAccess())
        var dec = FiotBlockDecoder()
        var out: [TraceRecord] = []
        try ra.decodeBlock(2, input: try TraceInput(path: path), decoder: &dec, into: &out)
        #expect(out == Array(want[800..<1200]))

        let dir = makeTempDir(); defer { cleanup(dir) }
        var f = try FiotBytes(path: path)
        let bl = f.blocks
        #expect(bl.count == 3)
        f.b[bl[1] + 60] ^= 0x10
        try f.write(dir + "/bad.fiot")
        let got = readUntilError(dir + "/bad.fiot", skip: true)
        #expect(got.error == nil)
        #expect(got.records == Array(want[0..<400]) + Array(want[800..<1200]))
        #expect(got.skipped.count == 1 && got.skipped[0].message.contains("block 1"))
    }

    /// A block of another trace, spliced in at the same place (same records, same size: it
    /// differs only in its file's identity), is rejected by name, with or without the footer.
    @Test func blockSplicedFromAnotherTraceIsRejected() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = try trace(dir + "/a.fiot")
        _ = try trace(dir + "/b.fiot")
        let a = try FiotBytes(path: dir + "/a.fiot"), b = try FiotBytes(path: dir + "/b.fiot")
        let (ba, bb) = (a.blocks, b.blocks)
        #expect(ba == bb)
        var x = a
        x.b.replaceSubrange(ba[3]..<ba[4], with: b.b[bb[3]..<bb[4]])
        #expect(x.b != a.b)
        try x.write(dir + "/x.fiot")
        var y = x
        y.dropFooter()
        try y.write(dir + "/y.fiot")
        for p in ["x.fiot", "y.fiot"] {
            let r = readUntilError(dir + "/" + p)
            #expect(r.records == Array(recs[0..<900]), "\(p)")
            let e = try #require(r.error)
            #expect(e.kind == .corruptBlock && e.block == 3 && e.byteOffset == UInt64(ba[3]), "\(p)")
            #expect(e.message.contains("block 3 at byte \(ba[3])") && e.message.contains("another trace"), "\(p)")
            let s = readUntilError(dir + "/" + p, skip: true)
            #expect(s.records == Array(recs[0..<900]) + Array(recs[1200...]), "\(p)")
            #expect(s.skipped.count == 1, "\(p)")
        }
    }

    /// Block 0 defines files a and b, block 2 defines c: either lost, the files come from
    /// the footer, or without it from the next block's repeat of them. Only the bad block's
    /// records are lost.
    @Test func aBadDefiningBlockLosesOnlyItsRecords() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = try trace(dir + "/t.fiot")
        let good = try FiotBytes(path: dir + "/t.fiot")
        let bl = good.blocks
        for bad in [0, 2] {
            for withFooter in [true, false] {
                var f = good
                f.b[bl[bad] + 45] ^= 0x01
                if !withFooter { f.dropFooter() }
                let p = dir + "/b\(bad)\(withFooter).fiot"
                try f.write(p)
                let r = readUntilError(p, skip: true)
                let lost = (bad * 300)..<(bad * 300 + 300)
                #expect(r.records == Array(recs[..<lost.lowerBound]) + Array(recs[lost.upperBound...]), "block \(bad), footer \(withFooter)")
                #expect(withFooter ? r.error == nil : r.error?.kind == .truncated)
                #expect(r.skipped.count == 1)
                #expect(r.skipped.first?.message.contains("block \(bad) at byte \(bl[bad])") == true)
                var s = try FiotReader(path: p, skipBadBlocks: true)
                _ = try? readAll(&s)
                #expect(s.files == files, "block \(bad), footer \(withFooter)")
            }
        }
    }

    /// After a skipped block, blocks out of place (swapped) never come out of order: on a
    /// file with a footer the index rejects both; front to back, the one behind the count is.
    @Test func swappedBlocksAfterASkipStayInOrder() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = try trace(dir + "/t.fiot")
        let good = try FiotBytes(path: dir + "/t.fiot")
        let bl = good.blocks
        var f = good
        f.b[bl[1] + 45] ^= 0x01
        // Swap blocks 2 and 3 (their sizes differ: the bytes after them stay in place).
        f.b.replaceSubrange(bl[2]..<bl[4], with: Array(good.b[bl[3]..<bl[4]]) + Array(good.b[bl[2]..<bl[3]]))
        try f.write(dir + "/withFooter.fiot")
        let r = readUntilError(dir + "/withFooter.fiot", skip: true)
        #expect(r.records == Array(recs[0..<300]) + Array(recs[1200...]))
        #expect(r.skipped.count == 3)
        f.dropFooter()
        try f.write(dir + "/noFooter.fiot")
        let s = readUntilError(dir + "/noFooter.fiot", skip: true)
        // Block 3 (records 900..<1200) comes first and is taken; block 2 then lies behind.
        #expect(s.records == Array(recs[0..<300]) + Array(recs[900...]))
        #expect(s.skipped.count == 2)
        #expect(s.skipped.last?.message.contains("already read") == true)
        let times = s.records.map(\.time)
        #expect(times == times.sorted())
    }

    /// A resealed block whose record numbers the writer never wrote: the footer's index
    /// (or, without it, the running count) rejects it.
    @Test func recordNumbersAreCheckedAgainstCountAndFooter() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = try trace(dir + "/t.fiot")
        var f = try FiotBytes(path: dir + "/t.fiot")
        let bl = f.blocks
        f.put64(bl[2] + 16, 601)
        f.reseal(block: bl[2])
        try f.write(dir + "/a.fiot")
        let r = readUntilError(dir + "/a.fiot")
        #expect(r.records == Array(recs[0..<600]))
        #expect(r.error?.message.contains("footer index") == true)
        f.dropFooter()
        try f.write(dir + "/b.fiot")
        let s = readUntilError(dir + "/b.fiot")
        #expect(s.records == Array(recs[0..<600]))
        #expect(s.error?.message.contains("expected 600") == true)
    }

    /// A header-only 1.1 file read with skipping: 0 records and a warning-level error.
    @Test func headerOnlyFileHoldsNoRecords() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let full = try FiotBytes(path: { let p = dir + "/t.fiot"; _ = try trace(p); return p }())
        var f = full
        f.b.removeLast(f.b.count - f.headerEnd)
        try f.write(dir + "/h.fiot")
        let r = readUntilError(dir + "/h.fiot", skip: true)
        #expect(r.records.isEmpty && r.error?.kind == .truncated)
        #expect(r.error?.message.contains("before its first block") == true)
        f.b += full.b[full.headerEnd..<(full.headerEnd + 20)]
        try f.write(dir + "/h2.fiot")
        let r2 = readUntilError(dir + "/h2.fiot", skip: true)
        #expect(r2.records.isEmpty && r2.error?.message.contains("block 0") == true)
        #expect(r2.error?.message.contains("0 records") == true)
    }
}
