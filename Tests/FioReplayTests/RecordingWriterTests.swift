import Foundation
@testable import FioReplay
import FioTrace
import Glibc
import Testing

@Suite struct RecordingWriterTests {
    /// Records copied in and then left alone (no more records, no finish) reach the file
    /// as a short block within about a second; read back, they are the records handed over,
    /// followed by the truncation (no footer yet). `finish` then adds the rest and the footer.
    @Test func heldRecordsReachTheFileOnATimer() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let out = d.file("w.fiot")
        let w = RecordingWriter(sink: try FiotWriter(path: out))
        let files = [TraceFile(path: "/x")]
        let first = (0..<10).map { TraceRecord(time: UInt64($0) * 1000, op: .write, file: 0, offset: UInt64($0) * 4096, length: 4096) }
        first.withUnsafeBufferPointer { w.append($0, files: files) }
        let second = (10..<25).map { TraceRecord(time: UInt64($0) * 1000, op: .read, file: 0, offset: UInt64($0) * 4096, length: 4096) }
        second.withUnsafeBufferPointer { w.append($0, files: files) }
        let t0 = monotonicNs()
        var seen: [TraceRecord] = []
        var ending: TraceError?
        while monotonicNs() - t0 < 3_000_000_000 {
            usleep(50_000)
            seen = []
            ending = nil
            do {
                var r = try FiotReader(path: out)
                var b: [TraceRecord] = []
                while try r.nextBatch(&b, maxCount: 100) { seen += b }
            } catch let e as TraceError { ending = e }
            if seen.count == 25 { break }
        }
        let waited = Double(monotonicNs() - t0) / 1e9
        #expect(seen.count == 25 && waited < 1.2, "\(seen.count) records on disk after \(waited) s")
        #expect(ending?.kind == .truncated)
        #expect(seen.map(\.offset) == (0..<25).map { UInt64($0) * 4096 })
        let more = [TraceRecord(time: 99_000, op: .read, file: 0, offset: 0, length: 512)]
        more.withUnsafeBufferPointer { w.append($0, files: files) }
        try w.finish(files: files, metadata: ["k": "v"])
        var r = try FiotReader(path: out)
        var all: [TraceRecord] = []
        var b: [TraceRecord] = []
        while try r.nextBatch(&b, maxCount: 100) { all += b }
        #expect(all.count == 26 && r.metadata["k"] == "v")
    }

    /// `tryHand` neither waits nor allocates: with no free array it leaves the batch alone.
    @Test func tryHandWithoutAFreeArrayLeavesTheBatch() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let w = RecordingWriter(sink: try FiotWriter(path: d.file("t.fiot")), batchSize: 16, depth: 0)
        var batch = [TraceRecord(time: 0, op: .read, file: 0, offset: 0, length: 512)]
        #expect(!w.tryHand(&batch, files: [TraceFile(path: "/x")]))
        #expect(batch.count == 1)
        w.hand(&batch, files: [TraceFile(path: "/x")]) // allocates: allowed here
        #expect(batch.isEmpty)
        // The writer recycles the array it was handed: now tryHand has one to give.
        let t0 = monotonicNs()
        var handed = false
        var next = [TraceRecord(time: 1, op: .read, file: 0, offset: 512, length: 512)]
        while !handed && monotonicNs() - t0 < 2_000_000_000 {
            handed = w.tryHand(&next, files: [TraceFile(path: "/x")])
            if !handed { usleep(1000) }
        }
        #expect(handed && next.isEmpty)
        try w.finish(files: [TraceFile(path: "/x")], metadata: [:])
        #expect(w.recorded == 2)
    }
}
