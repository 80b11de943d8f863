import Foundation
import Glibc
import Testing
@testable import FioTrace

/// Runs `body(k)` for k in 0..<n on n threads at once (every consumer of a splitter must
/// be running, as every stream of a replay has its own thread).
func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let g = DispatchGroup()
    var threads: [Thread] = []
    for k in 0..<n {
        g.enter()
        threads.append(Thread { body(k); g.leave() })
    }
    for t in threads { t.start() }
    g.wait()
}

/// A source whose records come from a generator closure, counting how far it ran ahead.
final class CountingSource: TraceSource, @unchecked Sendable {
    let total: Int
    private(set) var produced = 0
    let files = [TraceFile(path: "f")]
    let metadata: [String: String] = [:]
    let failAt: Int?
    init(total: Int, failAt: Int? = nil) { self.total = total; self.failAt = failAt }
    func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        if let f = failAt, produced >= f { throw TraceError(.io, "source failed at record \(produced)") }
        let end = min(total, produced + maxCount, failAt ?? Int.max)
        guard produced < end else { return false }
        for i in produced..<end { batch.append(TraceRecord(time: UInt64(i), op: .read, file: 0, offset: UInt64(i) * 4096, length: 4096)) }
        produced = end
        return true
    }
}

/// A source that blocks (as a read from a silent pipe does) until released.
final class StuckSource: TraceSource, @unchecked Sendable {
    let files: [TraceFile] = []
    let metadata: [String: String] = [:]
    let gate = DispatchSemaphore(value: 0)
    func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        gate.wait()
        return false
    }
}

@Suite("Decode ahead")
struct ReadAheadTests {
    @Test("a .fiot read ahead gives the same records, files and footer metadata as read directly, for any batch size")
    func sameRecords() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(50_003, files: 3, seed: 7)
        let path = dir + "/t.fiot"
        try writeFiot(path, recs, files: (0..<3).map { TraceFile(path: "f\($0)") }, blockRecords: 4096)
        for maxCount in [1, 999, 4096, 65536] {
            let ahead = try ReadAheadSource(try FiotReader(path: path), batchRecords: 3000, depth: 2)
            var got: [TraceRecord] = []
            var batch: [TraceRecord] = []
            while try ahead.nextBatch(&batch, maxCount: maxCount) {
                #expect(batch.count <= maxCount && !batch.isEmpty)
                got += batch
            }
            #expect(got == recs, "maxCount \(maxCount)")
            #expect(ahead.files.map(\.path) == ["f0", "f1", "f2"])
            #expect(ahead.metadata["end"] == "yes", "the footer's metadata arrives with the end")
        }
    }

    @Test("a truncated trace: every complete block's records, then the reader's own error")
    func errorAfterRecords() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(10_000, files: 1, seed: 3)
        let path = dir + "/t.fiot"
        try writeFiot(path, recs, files: [TraceFile(path: "f")], blockRecords: 1000, finish: false)
        var direct = try FiotReader(path: path)
        var expected: [TraceRecord] = []
        var directError: TraceError?
        do { expected = try readAll(&direct) } catch let e as TraceError { directError = e }
        // readAll loses the partial list on a throw: count what the direct reader hands out.
        var d2 = try FiotReader(path: path)
        var batch: [TraceRecord] = []
        do { while try d2.nextBatch(&batch, maxCount: 1000) { expected += batch } } catch {}
        let ahead = try ReadAheadSource(try FiotReader(path: path), batchRecords: 700, depth: 2)
        var got: [TraceRecord] = []
        var aheadError: TraceError?
        do { while try ahead.nextBatch(&batch, maxCount: 500) { got += batch } } catch let e as TraceError { aheadError = e }
        #expect(got == expected)
        #expect(got.count == 10_000)
        #expect(aheadError?.kind == .truncated)
        #expect(aheadError?.message == directError?.message)
    }

    @Test("memory stays bounded: the reader runs at most depth + 2 batches ahead of a slow consumer")
    func bounded() throws {
        let src = CountingSource(total: 1_000_000)
        let ahead = try ReadAheadSource(src, batchRecords: 1000, depth: 3)
        var batch: [TraceRecord] = []
        var consumed = 0
        var worstAhead = 0
        for _ in 0..<50 {
            guard try ahead.nextBatch(&batch, maxCount: 1000) else { break }
            consumed += batch.count
            usleep(2000) // let the reader run as far as it may
            worstAhead = max(worstAhead, src.produced - consumed)
        }
        #expect(consumed == 50_000)
        #expect(worstAhead <= (3 + 2) * 1000, "reader ran \(worstAhead) records ahead")
        #expect(worstAhead >= 3000, "the reader does run ahead (\(worstAhead))")
    }

    @Test("pollBatch does not block: pending until the reader has records, then ready, then end")
    func polling() throws {
        let src = StuckSource()
        let ahead = try ReadAheadSource(src)
        var batch: [TraceRecord] = []
        let t0 = monotonicClockNs()
        #expect(try ahead.pollBatch(&batch, maxCount: 10, waitNs: 0) == .pending)
        #expect(try ahead.pollBatch(&batch, maxCount: 10, waitNs: 20_000_000) == .pending)
        #expect(monotonicClockNs() - t0 < 500_000_000)
        src.gate.signal()
        var s = BatchStatus.pending
        for _ in 0..<100 where s == .pending { s = try ahead.pollBatch(&batch, maxCount: 10, waitNs: 50_000_000) }
        #expect(s == .end)
    }

    @Test("dropping a source whose reader is stuck (a silent pipe) returns within about a second")
    func dropStuck() throws {
        let src = StuckSource()
        let t0 = monotonicClockNs()
        do {
            let ahead = try ReadAheadSource(src)
            var batch: [TraceRecord] = []
            #expect(try ahead.pollBatch(&batch, maxCount: 10, waitNs: 0) == .pending)
        }
        let took = monotonicClockNs() - t0
        #expect(took < 1_600_000_000, "took \(took) ns")
        src.gate.signal() // let the detached reader end
    }

    @Test("a source's error mid-way reaches the consumer after the records before it")
    func midwayError() throws {
        let ahead = try ReadAheadSource(CountingSource(total: 100_000, failAt: 25_000), batchRecords: 4000, depth: 2)
        var batch: [TraceRecord] = []
        var n = 0
        var err: TraceError?
        do { while try ahead.nextBatch(&batch, maxCount: 3000) { n += batch.count } } catch let e as TraceError { err = e }
        #expect(n == 25_000)
        #expect(err?.message == "source failed at record 25000")
    }
}

/// Every record of one stream's pass.
func drainSplit(_ s: SplitStreamSource) throws -> [TraceRecord] {
    var out: [TraceRecord] = []
    var b: [TraceRecord] = []
    while try s.nextBatch(&b, maxCount: 777) { out += b }
    return out
}

@Suite("Stream splitter")
struct StreamSplitterTests {
    /// Three streams (0, 5, 9) of unequal density with file events between them.
    func trace(_ dir: String) throws -> (path: String, records: [TraceRecord]) {
        var recs: [TraceRecord] = []
        var rng = TestRNG(seed: 11)
        recs.append(TraceRecord(time: 0, op: .add, file: 0))
        recs.append(TraceRecord(time: 0, op: .open, file: 0))
        for i in 0..<30_000 {
            let s: UInt32 = [0, 0, 0, 5, 5, 9][Int(rng.below(6))]
            recs.append(TraceRecord(time: UInt64(i) * 1000, op: .read, file: 0, offset: rng.below(1 << 20) * 4096, length: 4096, stream: s))
            if i == 20_000 { recs.append(TraceRecord(time: UInt64(i) * 1000, op: .close, file: 0)) ; recs.append(TraceRecord(time: UInt64(i) * 1000, op: .open, file: 0)) }
        }
        let path = dir + "/s.fiot"
        try writeFiot(path, recs, files: [TraceFile(path: "f")], blockRecords: 4096)
        return (path, recs)
    }


    @Test("each stream gets exactly its records and every file event, in order, on every pass")
    func exactSplit() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let (path, recs) = try trace(dir)
        let ids: [UInt32] = [0, 5, 9]
        let splitter = try StreamSplitter(streams: ids, passes: 2, batchRecords: 1000, depth: 2) { try FiotReader(path: path) }
        // Consume the three streams concurrently, as replays do.
        final class Results: @unchecked Sendable { var got: [[[TraceRecord]]] = [[], [], []]; let lock = NSLock() }
        let res = Results()
        onThreads(3) { k in
            for _ in 0..<2 {
                let r = (try? drainSplit(splitter.source(stream: k))) ?? []
                res.lock.lock(); res.got[k].append(r); res.lock.unlock()
            }
        }
        for (k, id) in ids.enumerated() {
            let want = recs.filter { $0.op.isFileEvent || $0.stream == id }
            #expect(res.got[k].count == 2)
            for pass in res.got[k] { #expect(pass == want, "stream \(id): \(pass.count) records, want \(want.count)") }
        }
    }

    @Test("a stream that stops early does not hold the others back")
    func earlyStop() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let (path, recs) = try trace(dir)
        let splitter = try StreamSplitter(streams: [0, 5, 9], passes: 1, batchRecords: 500, depth: 1) { try FiotReader(path: path) }
        do {
            let first = splitter.source(stream: 0)
            var b: [TraceRecord] = []
            #expect(try first.nextBatch(&b, maxCount: 100))
        } // stream 0 goes away after one batch
        final class Results: @unchecked Sendable { var got: [[TraceRecord]] = [[], []]; let lock = NSLock() }
        let res = Results()
        onThreads(2) { k in
            let r = (try? drainSplit(splitter.source(stream: k + 1))) ?? []
            res.lock.lock(); res.got[k] = r; res.lock.unlock()
        }
        #expect(res.got[0] == recs.filter { $0.op.isFileEvent || $0.stream == 5 })
        #expect(res.got[1] == recs.filter { $0.op.isFileEvent || $0.stream == 9 })
    }
}
