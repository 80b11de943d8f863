import FioTrace
import Foundation

/// The `--write-iolog` tap: records every I/O a replay (or a live run) issues, with its
/// completion, into any `TraceSink`.
///
/// - Records come out in issue order even when completions arrive out of order: each issue
///   takes a sequence number and a small reorder ring holds completions until all earlier
///   issues have completed (its size follows the in-flight window; it grows, doubling, only
///   while one I/O is slow and later ones keep completing).
/// - The scheduler thread only fills arrays; a writer thread encodes and writes them, so
///   block compression never stalls issuing. Up to 16 batches may wait for the writer;
///   only beyond that does issuing wait (backpressure).
/// - Each record: issue time (ns since the run started), file (the trace's file index and
///   name), op, offset and length as issued (after mapping), latency (issue to completion,
///   ns), result (bytes or -errno) and the in-flight depth at issue (counting itself).
/// - Shared by several schedulers (a live run's streams, one thread each) when made with
///   `concurrent: true`: issue and completion then take a lock, issue numbers are global,
///   and the issue time is read under the lock, so the trace is one sequence in issue order
///   whose times never go backwards. (A thread preempted between deciding to issue and
///   taking its number is recorded when it took the number, which is when its I/O went.)
/// - Memory: the reorder ring spans the I/Os between the oldest one still in flight and
///   the newest issued, over all streams: a 1 s fsync in one stream next to 100k IOPS in
///   another holds about 100k records.
/// - Killed with SIGKILL, the sink keeps whatever it had written (a .fiot keeps all complete
///   blocks); `finish` after a Ctrl-C drain writes the rest and the footer.
public final class ReplayRecorder: @unchecked Sendable {
    public let sink: any TraceSink
    private let batchSize: Int
    private var ring: [TraceRecord]
    private var done: [Bool]
    private var mask: Int
    private var head: UInt64 = 0 // oldest issue not yet handed to the writer
    private var tail: UInt64 = 0 // next issue number
    private var out: [TraceRecord] = []
    private var defined = 0
    private var files: [TraceFile] = []

    /// The writer thread and what it shares with the scheduler side (its own object, so the
    /// thread never touches a recorder that is going away).
    private let shared: WriterShared
    private var writer: WorkerThread?
    /// Records handed to the sink so far.
    public var recorded: UInt64 { shared.monitor.withLock { shared.recorded } }
    /// Taken by `issue` and `complete` when several threads share this recorder.
    private let lock: NSLock?
    /// Issue numbers taken for I/Os the engine refused: nothing to record, don't wait.
    private var cancelled: Set<UInt64> = []

    public init(sink: any TraceSink, batchSize: Int = 16384, depth: Int = 4, concurrent: Bool = false) {
        self.sink = sink
        lock = concurrent ? NSLock() : nil
        self.batchSize = batchSize
        ring = Array(repeating: TraceRecord(time: 0, op: .read, file: 0), count: 1024)
        done = Array(repeating: false, count: 1024)
        mask = 1023
        out.reserveCapacity(batchSize)
        let sh = WriterShared(sink: sink)
        for _ in 0..<depth {
            var b: [TraceRecord] = []
            b.reserveCapacity(batchSize)
            sh.empty.append(b)
        }
        shared = sh
        writer = try? WorkerThread(name: "fio-recorder") { sh.writerLoop() }
        if writer == nil { sh.writeInline = true }
    }

    /// A recorder dropped without `finish` stops its writer (what it had is written).
    deinit {
        shared.monitor.withLock {
            shared.closing = true
            shared.monitor.broadcast()
        }
        writer.take()?.join()
    }

    /// The trace's file table as known so far (called when it grows).
    public func noteFiles(_ table: [TraceFile]) {
        lock?.lock()
        if table.count > files.count { files = table }
        lock?.unlock()
    }

    /// The instant (monotonic ns) recorded times count from: the first `startClock` call
    /// sets it, so streams that share the recorder share the clock.
    public private(set) var epochNs: UInt64 = 0

    /// Called by each scheduler as its clock starts; returns the recorder's epoch.
    public func startClock(at ns: UInt64) -> UInt64 {
        lock?.lock()
        if epochNs == 0 || ns < epochNs && tail == 0 { epochNs = ns }
        let e = epochNs
        lock?.unlock()
        return e
    }

    /// Takes the next issue number and the issue time to record (the scheduler keeps both
    /// in the slot): `now` itself for a recorder of one scheduler, the clock read under the
    /// lock for a shared one.
    @inline(__always)
    public func issue(at now: UInt64) -> (seq: UInt64, time: UInt64) {
        guard let lock else {
            if tail - head > UInt64(mask) { grow() }
            let seq = tail
            tail &+= 1
            return (seq, now)
        }
        lock.lock()
        if tail - head > UInt64(mask) { grow() }
        let seq = tail
        tail &+= 1
        let t = max(monotonicNs(), now)
        lock.unlock()
        return (seq, t)
    }

    /// Issue `seq` never went to the device (the engine refused it): skip it.
    public func cancel(_ seq: UInt64) {
        lock?.lock()
        cancelled.insert(seq)
        let i = Int(seq & UInt64(mask))
        done[i] = true
        handOn()
        lock?.unlock()
    }

    /// A completion for issue `seq`. Hands over every record now in order.
    @inline(__always)
    public func complete(_ seq: UInt64, _ record: TraceRecord) {
        lock?.lock()
        defer { lock?.unlock() }
        let i = Int(seq & UInt64(mask))
        ring[i] = record
        done[i] = true
        handOn()
    }

    /// Moves every record whose predecessors have all completed to the output batch.
    @inline(__always)
    private func handOn() {
        while head < tail {
            let h = Int(head & UInt64(mask))
            guard done[h] else { break }
            done[h] = false
            if !cancelled.isEmpty, cancelled.remove(head) != nil {
                head &+= 1
                continue
            }
            out.append(ring[h])
            head &+= 1
            if out.count == batchSize { handOver() }
        }
    }

    private func grow() {
        let n = (mask + 1) * 2
        var r = Array(repeating: TraceRecord(time: 0, op: .read, file: 0), count: n)
        var d = Array(repeating: false, count: n)
        var s = head
        while s < tail {
            let from = Int(s & UInt64(mask)), to = Int(s & UInt64(n - 1))
            r[to] = ring[from]
            d[to] = done[from]
            s &+= 1
        }
        ring = r
        done = d
        mask = n - 1
    }

    /// Batches that may wait for the writer before issuing blocks (about 12 MB): a writer
    /// that falls behind briefly (a slow disk, a compression spike) costs memory, not lateness.
    private let maxQueued = 16

    private func handOver() {
        let sh = shared
        sh.monitor.lock()
        while sh.empty.isEmpty && sh.full.count >= maxQueued && !sh.writerDone { sh.monitor.wait() }
        var next = sh.empty.popLast() ?? []
        if next.capacity < batchSize { next.reserveCapacity(batchSize) }
        swap(&next, &out)
        sh.full.append((next, files))
        sh.monitor.broadcast()
        sh.monitor.unlock()
        if sh.writeInline { sh.drainInline() }
    }

    /// Hands over what is left (issues that never completed are dropped), waits for the
    /// writer, and finishes the sink with `metadata`. Throws the first write error.
    public func finish(metadata: [String: String]) throws {
        lock?.lock()
        // Issues that never completed and were not cancelled: skip them, keep the rest.
        while head < tail {
            let h = Int(head & UInt64(mask))
            if done[h] { handOn() } else { cancelled.insert(head); done[h] = true; handOn() }
        }
        lock?.unlock()
        if !out.isEmpty { handOver() }
        let sh = shared
        sh.monitor.withLock {
            sh.closing = true
            sh.monitor.broadcast()
        }
        writer.take()?.join()
        if sh.writeInline { sh.drainInline() }
        if let e = sh.writerError { throw e }
        while sh.defined < files.count { try sink.define(file: files[sh.defined]); sh.defined += 1 }
        try sink.finish(metadata: metadata)
    }
}

/// The recorder's writer side: batches waiting to be written, the recycled arrays, and
/// the sink's progress. The writer thread owns the sink while it runs.
final class WriterShared: @unchecked Sendable {
    let monitor = Monitor()
    let sink: any TraceSink
    var full: [([TraceRecord], [TraceFile])] = []
    var empty: [[TraceRecord]] = []
    var closing = false
    var writerDone = false
    var writerError: (any Error)?
    var recorded: UInt64 = 0
    /// Files defined in the sink so far (writer thread, then `finish`).
    var defined = 0
    /// No writer thread could be started: batches are written on the caller's thread.
    var writeInline = false

    init(sink: any TraceSink) { self.sink = sink }

    /// Writes one batch (not holding the monitor).
    private func write(_ batch: [TraceRecord], _ table: [TraceFile]) {
        guard writerError == nil else { return }
        do {
            while defined < table.count { try sink.define(file: table[defined]); defined += 1 }
            try sink.write(batch)
            monitor.withLock { recorded += UInt64(batch.count) }
        } catch {
            writerError = error
        }
    }

    func writerLoop() {
        while true {
            monitor.lock()
            while full.isEmpty && !closing { monitor.wait() }
            if full.isEmpty && closing {
                writerDone = true
                monitor.broadcast()
                monitor.unlock()
                return
            }
            var (batch, table) = full.removeFirst()
            monitor.unlock()
            write(batch, table)
            batch.removeAll(keepingCapacity: true)
            monitor.lock()
            empty.append(batch)
            monitor.broadcast()
            monitor.unlock()
        }
    }

    /// Without a writer thread: writes every queued batch now.
    func drainInline() {
        while true {
            monitor.lock()
            guard !full.isEmpty else { monitor.unlock(); return }
            var (batch, table) = full.removeFirst()
            monitor.unlock()
            write(batch, table)
            batch.removeAll(keepingCapacity: true)
            monitor.withLock { empty.append(batch) }
        }
    }
}
