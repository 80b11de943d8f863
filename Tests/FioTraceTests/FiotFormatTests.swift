import Foundation
import Testing
@testable import FioTrace

@Suite struct FiotFormatTests {
    let files = [TraceFile(path: "/dev/nvme0n1", size: 1 << 40, device: DeviceNumber(major: 259, minor: 0)),
                 TraceFile(path: "a file with spaces.dat"), TraceFile(path: "ünïcödé", size: 0)]

    @Test func roundTripEveryField() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(5000, files: 3, seed: 1)
        try writeFiot(dir + "/t.fiot", recs, files: files, metadata: ["who": "test"])
        let (back, f) = try readAll(path: dir + "/t.fiot")
        #expect(back == recs)
        #expect(f == files)
        let r = try FiotReader(path: dir + "/t.fiot")
        _ = try readAll(path: dir + "/t.fiot")
        #expect(r.headerMetadata["who"] == "test")
        #expect(r.footer?.totalRecords == 5000)
        #expect(r.footer?.blocks.count == 5)
    }

    @Test func filesDefinedMidStreamAndEmptyOptionals() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let w = try FiotWriter(path: dir + "/t.fiot", options: .init(blockRecords: 100))
        var expected: [TraceRecord] = []
        for k in 0..<10 {
            try w.define(file: TraceFile(path: "f\(k)"))
            let batch = (0..<150).map { i in TraceRecord(time: UInt64(k * 1000 + i), op: .write, file: UInt32(k), offset: UInt64(i) * 4096, length: 4096) }
            try w.write(batch)
            expected += batch
        }
        try w.finish()
        let (back, f) = try readAll(path: dir + "/t.fiot")
        #expect(back == expected)
        #expect(f.map(\.path) == (0..<10).map { "f\($0)" })
        // Sequential offsets cost almost nothing.
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/t.fiot")[.size] as! Int
        #expect(size < 1500 * 2)
    }

    @Test func interleavedSequentialStreamsWithMixedLengths() throws {
        // Offsets code as deltas from each file's previous end; lengths vary, so the
        // length column is byte-plane coded too (a regression: its codes once overwrote
        // the lengths the offset deltas are computed from).
        let dir = makeTempDir(); defer { cleanup(dir) }
        var rng = TestRNG(seed: 21)
        var next = [UInt64](repeating: 0, count: 3)
        var recs: [TraceRecord] = []
        for i in 0..<20_000 {
            let f = Int(rng.below(3))
            let len = (rng.below(16) + 1) * 512
            recs.append(TraceRecord(time: UInt64(i) * 1000, op: .write, file: UInt32(f), offset: next[f], length: len))
            next[f] += len
        }
        try writeFiot(dir + "/i.fiot", recs, files: files, blockRecords: 4096)
        let (back, _) = try readAll(path: dir + "/i.fiot")
        #expect(back == recs)
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/i.fiot")[.size] as! Int
        #expect(Double(size) / 20_000 < 1.5, "sequential streams should code small: \(size) bytes")
    }

    @Test func randomTraceIsSmall() throws {
        // 200k random 4 KiB reads/writes over 4 GiB with µs timestamps: the issue's bar is 3.5 B/IO.
        let dir = makeTempDir(); defer { cleanup(dir) }
        var rng = TestRNG(seed: 7)
        var t: UInt64 = 0
        var recs: [TraceRecord] = []
        for _ in 0..<200_000 {
            t += rng.below(3) * 1000
            recs.append(TraceRecord(time: t, op: rng.below(2) == 0 ? .read : .write, file: 0,
                                    offset: rng.below(1 << 20) * 4096, length: 4096))
        }
        try writeFiot(dir + "/r.fiot", recs, files: [TraceFile(path: "x")], blockRecords: 65536)
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/r.fiot")[.size] as! Int
        let perIO = Double(size) / Double(recs.count)
        #expect(perIO <= 3.5, "random trace costs \(perIO) B/IO")
        #expect(perIO >= 2.5, "below the entropy floor (\(perIO) B/IO): the test data is wrong")
        let (back, _) = try readAll(path: dir + "/r.fiot")
        #expect(back == recs)
    }

    @Test func corruptBlockIsNamedAndCanBeSkipped() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(3000, files: 3, seed: 2)
        let path = dir + "/c.fiot"
        try writeFiot(path, recs, files: files)
        let r0 = try FiotReader(path: path)
        let block1 = r0.footer!.blocks[1]
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[Int(block1.byteOffset) + FiotLayout.blockHeaderSize + 10] ^= 0xff
        try data.write(to: URL(fileURLWithPath: path))

        var reader = try FiotReader(path: path)
        var got: [TraceRecord] = []
        var batch: [TraceRecord] = []
        var error: TraceError?
        do {
            while try reader.nextBatch(&batch, maxCount: 4096) { got += batch }
        } catch let e as TraceError { error = e }
        #expect(error?.kind == .corruptBlock)
        #expect(error?.block == 1)
        #expect(error?.byteOffset == block1.byteOffset)
        #expect(error?.recordRange == 1000..<2000)
        #expect(error?.message.contains("block 1") == true)
        #expect(error?.message.contains("records 1000..<2000") == true)
        #expect(got == Array(recs[0..<1000]))

        var skipping = try FiotReader(path: path, skipBadBlocks: true)
        let rest = try readAll(&skipping)
        #expect(rest == Array(recs[0..<1000]) + Array(recs[2000..<3000]))
        #expect(skipping.skipped.count == 1)
    }

    @Test func corruptBlockHeaderResyncs() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(3000, files: 3, seed: 3)
        let path = dir + "/h.fiot"
        try writeFiot(path, recs, files: files)
        let b1 = try FiotReader(path: path).footer!.blocks[1]
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[Int(b1.byteOffset) + 5] ^= 0x7f // the compressed length: the frame can't be trusted
        try data.write(to: URL(fileURLWithPath: path))
        var skipping = try FiotReader(path: path, skipBadBlocks: true)
        let rest = try readAll(&skipping)
        #expect(rest == Array(recs[0..<1000]) + Array(recs[2000..<3000]))
        #expect(skipping.skipped.count == 1)
    }

    @Test func truncatedFileYieldsCompleteBlocksThenError() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(3500, files: 3, seed: 4)
        let path = dir + "/t.fiot"
        try writeFiot(path, recs, files: files)
        let b3 = try FiotReader(path: path).footer!.blocks[3]
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        // Cut in the middle of block 3: blocks 0-2 (3000 records) are complete.
        try data.prefix(Int(b3.byteOffset) + 30).write(to: URL(fileURLWithPath: dir + "/cut.fiot"))
        var r = try FiotReader(path: dir + "/cut.fiot")
        #expect(r.footer == nil)
        var got: [TraceRecord] = []
        var batch: [TraceRecord] = []
        var error: TraceError?
        do { while try r.nextBatch(&batch, maxCount: 512) { got += batch } } catch let e as TraceError { error = e }
        #expect(got == Array(recs[0..<3000]))
        #expect(error?.kind == .truncated)
        #expect(error?.message.contains("block 3") == true)
        // A cut inside the header is an error too, never a crash.
        try data.prefix(20).write(to: URL(fileURLWithPath: dir + "/head.fiot"))
        #expect(throws: TraceError.self) { _ = try FiotReader(path: dir + "/head.fiot") }
    }

    @Test func unfinishedWriterLeavesReadablePrefix() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(2500, files: 3, seed: 5)
        let path = dir + "/u.fiot"
        do {
            let w = try FiotWriter(path: path, options: .init(blockRecords: 1000))
            for f in files { try w.define(file: f) }
            try w.write(recs) // 2 full blocks go out; 500 records wait in memory
        } // dropped without finish: like a killed writer (the CLI test SIGKILLs a real one)
        var r = try FiotReader(path: path)
        var got: [TraceRecord] = []
        var batch: [TraceRecord] = []
        #expect(throws: TraceError.self) { while try r.nextBatch(&batch, maxCount: 512) { got += batch } }
        #expect(got == Array(recs[0..<2000]))
    }

    @Test func wrongMagicAndFutureVersion() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let path = dir + "/v.fiot"
        try writeFiot(path, randomRecords(10, files: 1, seed: 6), files: [files[0]])
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[8] = 2 // major version 2
        data[10] = 0 // minor 0: a 2.0 file
        data[11] = 0
        try data.write(to: URL(fileURLWithPath: dir + "/future.fiot"))
        do {
            _ = try FiotReader(path: dir + "/future.fiot")
            Issue.record("a future version was accepted")
        } catch let e as TraceError {
            #expect(e.kind == .unsupportedVersion)
            #expect(e.message.contains("2.0"))
        }
        data[8] = 1
        data[1] = UInt8(ascii: "X")
        try data.write(to: URL(fileURLWithPath: dir + "/magic.fiot"))
        do {
            _ = try FiotReader(path: dir + "/magic.fiot")
            Issue.record("a wrong magic was accepted")
        } catch let e as TraceError {
            #expect(e.kind == .badMagic)
        }
        // Header checksum.
        data[1] = UInt8(ascii: "F")
        data[25] ^= 1 // inside the header body (this trace has no files or metadata in its header: 3 bytes)
        try data.write(to: URL(fileURLWithPath: dir + "/hdr.fiot"))
        #expect(throws: TraceError.self) { _ = try FiotReader(path: dir + "/hdr.fiot") }
    }

    @Test func seekByRecordAndTime() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(5000, files: 3, seed: 8)
        let path = dir + "/s.fiot"
        try writeFiot(path, recs, files: files, blockRecords: 700)
        let r = try FiotReader(path: path)
        #expect(r.footer?.timeSorted == true)
        for target in [0, 1, 699, 700, 2345, 4999] {
            try r.seek(toRecord: UInt64(target))
            var batch: [TraceRecord] = []
            #expect(try r.nextBatch(&batch, maxCount: 1))
            #expect(batch.first == recs[target])
        }
        let t = recs[3210].time
        try r.seek(toTime: t)
        var batch: [TraceRecord] = []
        _ = try r.nextBatch(&batch, maxCount: 1)
        let firstAtOrAfter = recs.firstIndex { $0.time >= t }!
        #expect(batch.first == recs[firstAtOrAfter])
        try r.seek(toTime: recs.last!.time + 1)
        #expect(try r.nextBatch(&batch, maxCount: 10) == false)
    }

    @Test func parallelDecodeMatchesSequential() async throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(8000, files: 3, seed: 9)
        let path = dir + "/p.fiot"
        try writeFiot(path, recs, files: files, blockRecords: 1000)
        let ra = try #require(try FiotReader(path: path).randomAccess())
        let parts = try await withThrowingTaskGroup(of: (Int, [TraceRecord]).self) { g in
            for worker in 0..<2 {
                g.addTask {
                    var decoder = FiotBlockDecoder()
                    let input = try TraceInput(path: path)
                    var mine: [(Int, [TraceRecord])] = []
                    for b in stride(from: worker, to: ra.footer.blocks.count, by: 2) {
                        var out: [TraceRecord] = []
                        try ra.decodeBlock(b, input: input, decoder: &decoder, into: &out)
                        mine.append((b, out))
                    }
                    return (worker, mine.sorted { $0.0 < $1.0 }.flatMap { $0.1 })
                }
            }
            var all: [Int: [TraceRecord]] = [:]
            for try await (w, r) in g { all[w] = r }
            return all
        }
        // Interleave the workers' blocks back into order.
        var merged: [TraceRecord] = []
        var idx = [0, 0]
        for b in 0..<8 {
            let w = b % 2
            merged += parts[w]![idx[w]..<(idx[w] + 1000)]
            idx[w] += 1000
        }
        #expect(merged == recs)
    }

    @Test func readsFromAPipe() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(2000, files: 3, seed: 10)
        let path = dir + "/pipe.fiot"
        try writeFiot(path, recs, files: files)
        var fdPair: [Int32] = [0, 0]
        #expect(pipe(&fdPair) == 0)
        let fds = fdPair
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let writer = Thread {
            data.withUnsafeBytes { p in
                var off = 0
                while off < p.count {
                    let n = write(fds[1], p.baseAddress! + off, min(4096, p.count - off))
                    if n <= 0 { break }
                    off += n
                }
            }
            close(fds[1])
        }
        writer.start()
        let saved = dup(0)
        dup2(fds[0], 0)
        defer { dup2(saved, 0); close(saved); close(fds[0]) }
        var r = try FiotReader(path: "-")
        #expect(r.footer == nil) // no seeking on a pipe: the footer comes at the end
        let back = try readAll(&r)
        #expect(back == recs)
        #expect(r.footer?.totalRecords == 2000)
        #expect(r.metadata["end"] == "yes")
    }
}
