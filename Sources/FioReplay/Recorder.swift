import FioTrace
import Foundation

/// The `--write-iolog` tap: records every I/O a replay (or a live run) issues, with its
/// completion, into any `TraceSink`.
///
/// - Records come out in issue order even when completions arrive out of order: each issue
///   takes a sequence number and a small reorder ring holds completions until all earlier
///   issues have completed (its size follows the in-flight window; it grows, doubling, only
///   while one I/O is slow and later ones keep completing).
/// - The scheduler thread only fills arrays; a writer thread (`RecordingWriter`) encodes and
///   writes them, so block compression never stalls issuing. Up to 16 batches may wait for
///   the writer; only beyond that does issuing wait (backpressure).
/// - A partial batch goes to the writer at the scheduler's periodic tick once it has waited
///   `handOverIntervalNs` (without waiting or allocating: skipped when the writer has no
///   free array), and the writer writes a short block when records have waited
///   `RecordingWriter.flushAgeNs`: a SIGKILL loses at most about the last second.
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
///   blocks, the last at most about a second old); `finish` after a Ctrl-C or SIGTERM drain
///   writes the rest and the footer.
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

    /// The writer thread (its own object, so the thread never touches a recorder that is
    /// going away).
    private let writer: RecordingWriter
    /// Records handed to the sink so far.
    public var recorded: UInt64 { writer.recorded }
    /// A partial batch is handed to the writer at the first periodic tick (every 100 ms)
    /// after it has waited this long (ns): in effect at every tick.
    public static let handOverIntervalNs: UInt64 = 90_000_000
    private var lastHandOverNs: UInt64 = 0
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
        writer = RecordingWriter(sink: sink, batchSize: batchSize, depth: depth)
    }

    /// A recorder dropped without `finish` stops its writer (what it had is written).
    deinit { writer.close() }

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

    private func handOver() { writer.hand(&out, files: files) }

    /// The scheduler's periodic tick (about every 100 ms, its own thread): hands the records
    /// completed since the last hand-over to the writer once they have waited
    /// `handOverIntervalNs`, if that needs no wait and no allocation (else the next tick
    /// tries again). Never compresses or writes here.
    public func tick(now: UInt64) {
        lock?.lock()
        defer { lock?.unlock() }
        guard !out.isEmpty, now &- lastHandOverNs >= Self.handOverIntervalNs else { return }
        if writer.tryHand(&out, files: files) { lastHandOverNs = now }
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
        try writer.finish(files: files, metadata: metadata)
    }
}
