import FioTrace

/// The writer side of a recording (`--write-iolog`, `record`): a thread that owns a
/// `TraceSink`, writes the record batches handed to it, and makes what the sink holds back
/// reach the file on a timer, so that a recording killed with SIGKILL loses at most about a
/// second of records (a `.fiot` keeps every complete block; a short block is written when
/// records have waited `flushAgeNs`).
///
/// - Producers hand whole arrays over (`hand`, `tryHand`: the array is swapped for an empty
///   one, so nothing is copied) or copy records in (`append`, for a producer that may block
///   in a read between records, such as `record`'s strace reader). One producer uses one of
///   the two ways: records keep their order within each, not across them.
/// - `tryHand` never waits and never allocates: the scheduler's periodic tick uses it to pass
///   on a partial batch, and skips a tick when the writer has no free array.
/// - Compression and writes happen on the writer thread only.
/// - Memory: up to `maxQueued` batches waiting, plus the recycled arrays.
public final class RecordingWriter: @unchecked Sendable {
    /// Records a sink may hold back before the writer writes them out (ns): with the
    /// producer's own hand-over (`ReplayRecorder` at every 100 ms tick, `append` picked up
    /// within `stageAgeNs`) a record reaches the file at most about 0.8 s after it completed.
    /// (At 100k IOPS blocks come out a little short: 60,000 records instead of 65,536.)
    public static let flushAgeNs: UInt64 = 600_000_000
    /// Records copied in with `append` are picked up at least this often (ns), or at
    /// `stageRecords` records, whichever comes first.
    public static let stageAgeNs: UInt64 = 100_000_000
    static let stageRecords = 16384
    /// Batches that may wait for the writer before `hand` waits (about 12 MB): a writer that
    /// falls behind briefly (a slow disk, a compression spike) costs memory, not lateness.
    static let maxQueued = 16

    let sink: any TraceSink
    private let monitor = Monitor()
    private var full: [([TraceRecord], [TraceFile])] = []
    private var empty: [[TraceRecord]] = []
    private var staged: [TraceRecord] = []
    private var stagedFiles: [TraceFile] = []
    private var stagedSinceNs: UInt64 = 0
    private var closing = false
    private var writerDone = false
    private var writerError: (any Error)?
    private var recordedCount: UInt64 = 0
    private var finished = false
    private let batchSize: Int
    private var thread: WorkerThread?
    /// No writer thread could be started: batches are written on the producer's thread.
    private var writeInline = false

    // Writer thread only (or the producer's, inline).
    /// Files defined in the sink so far.
    private var defined = 0
    /// When records first went into the sink without reaching the file (monotonic ns; 0: none).
    private var pendingSinceNs: UInt64 = 0

    /// Starts the writer thread over `sink`, with `depth` arrays of `batchSize` records ready.
    public init(sink: any TraceSink, batchSize: Int = 16384, depth: Int = 4) {
        self.sink = sink
        self.batchSize = batchSize
        full.reserveCapacity(Self.maxQueued + 1)
        empty.reserveCapacity(Self.maxQueued + depth + 2)
        for _ in 0..<depth {
            var b: [TraceRecord] = []
            b.reserveCapacity(batchSize)
            empty.append(b)
        }
        thread = try? WorkerThread(name: "fio-recorder") { [self] in writerLoop() }
        if thread == nil { writeInline = true }
    }

    /// The thread holds the writer until it ends: `close` (or `finish`) ends it.
    deinit { stopThread() }

    /// Stops the writer thread without finishing the sink (what it was handed is written;
    /// no footer).
    public func close() { stopThread() }

    /// create/rename/unlink records the sink's format could not hold (read after `finish`).
    public var skippedNamespaceRecords: UInt64 { sink.skippedNamespaceRecords }

    /// Records handed to the sink so far.
    public var recorded: UInt64 { monitor.withLock { recordedCount } }

    /// Hands `batch` to the writer (defining `files` first) and leaves an empty array in its
    /// place; waits only while `maxQueued` batches are already waiting.
    public func hand(_ batch: inout [TraceRecord], files: [TraceFile]) {
        monitor.lock()
        while empty.isEmpty && full.count >= Self.maxQueued && !writerDone { monitor.wait() }
        var next = empty.popLast() ?? []
        if next.capacity < batchSize { next.reserveCapacity(batchSize) }
        swap(&next, &batch)
        full.append((next, files))
        monitor.broadcast()
        monitor.unlock()
        if writeInline { drainInline() }
    }

    /// Like `hand`, but only when that needs neither a wait nor an allocation (a free array
    /// is at hand and the queue has room). Returns false, leaving `batch` alone, otherwise.
    public func tryHand(_ batch: inout [TraceRecord], files: [TraceFile]) -> Bool {
        monitor.lock()
        guard !empty.isEmpty, full.count < Self.maxQueued, !writerDone else {
            monitor.unlock()
            return false
        }
        var next = empty.removeLast()
        swap(&next, &batch)
        full.append((next, files))
        monitor.broadcast()
        monitor.unlock()
        if writeInline { drainInline() }
        return true
    }

    /// Copies `records` in (defining `files` first); the writer picks them up within
    /// `stageAgeNs`. Waits only while a large backlog is staged.
    public func append(_ records: UnsafeBufferPointer<TraceRecord>, files: [TraceFile]) {
        monitor.lock()
        if files.count > stagedFiles.count { stagedFiles = files }
        guard !records.isEmpty else { monitor.unlock(); return }
        while staged.count >= Self.stageRecords * 16 && !writerDone { monitor.wait() }
        if staged.isEmpty { stagedSinceNs = monotonicNs() }
        staged.append(contentsOf: records)
        // Wake the writer when a pick-up becomes due sooner than it planned: the first
        // record (it sets the pick-up deadline) and a full batch.
        if staged.count == records.count || staged.count >= Self.stageRecords { monitor.broadcast() }
        monitor.unlock()
        if writeInline { drainInline() }
    }

    /// Writes everything handed over, defines `files` not yet defined, and finishes the sink
    /// with `metadata` (its footer). Throws the first write error.
    public func finish(files: [TraceFile], metadata: [String: String]) throws {
        if finished { return }
        finished = true
        stopThread()
        if writeInline { drainInline() }
        if let e = writerError { throw e }
        while defined < files.count { try sink.define(file: files[defined]); defined += 1 }
        try sink.finish(metadata: metadata)
    }

    private func stopThread() {
        monitor.withLock {
            closing = true
            monitor.broadcast()
        }
        thread.take()?.join()
    }

    // MARK: the writer thread

    private func writerLoop() {
        monitor.lock()
        while true {
            if !full.isEmpty {
                var (batch, table) = full.removeFirst()
                monitor.unlock()
                write(batch, table)
                batch.removeAll(keepingCapacity: true)
                monitor.lock()
                empty.append(batch)
                monitor.broadcast()
                continue
            }
            let now = monotonicNs()
            if !staged.isEmpty && (closing || staged.count >= Self.stageRecords || now &- stagedSinceNs >= Self.stageAgeNs) {
                var batch = empty.popLast() ?? []
                swap(&batch, &staged)
                let table = stagedFiles
                monitor.broadcast() // a producer waiting on a full stage may go on
                monitor.unlock()
                write(batch, table)
                batch.removeAll(keepingCapacity: true)
                monitor.lock()
                empty.append(batch)
                continue
            }
            if closing {
                // `finish` writes the rest with the footer: no short block first.
                writerDone = true
                monitor.broadcast()
                monitor.unlock()
                return
            }
            if pendingSinceNs != 0 && now &- pendingSinceNs >= Self.flushAgeNs {
                monitor.unlock()
                flushSink()
                monitor.lock()
                continue
            }
            var deadline = UInt64.max
            if pendingSinceNs != 0 { deadline = pendingSinceNs &+ Self.flushAgeNs }
            if !staged.isEmpty { deadline = min(deadline, stagedSinceNs &+ Self.stageAgeNs) }
            if deadline == .max { monitor.wait() } else { _ = monitor.wait(untilNs: deadline) }
        }
    }

    /// Writes one batch (not holding the monitor) and notes when the sink began holding
    /// records back.
    private func write(_ batch: [TraceRecord], _ table: [TraceFile]) {
        guard writerError == nil else { return }
        do {
            let before = SinkBuffer.bytesOut(sink)
            while defined < table.count { try sink.define(file: table[defined]); defined += 1 }
            try sink.write(batch)
            if !batch.isEmpty {
                // What the sink wrote out just now (a full block) includes the oldest records
                // it held; the rest is at most as old as this batch.
                if pendingSinceNs == 0 || (before != nil && SinkBuffer.bytesOut(sink) != before) {
                    pendingSinceNs = monotonicNs()
                }
            }
            monitor.withLock { recordedCount += UInt64(batch.count) }
        } catch {
            writerError = error
        }
    }

    /// Makes what the sink holds reach the file (a short `.fiot` block, a text buffer).
    private func flushSink() {
        pendingSinceNs = 0
        guard writerError == nil else { return }
        do { try SinkBuffer.flush(sink) } catch { writerError = error }
    }

    /// Without a writer thread: writes every queued batch now, and flushes on time.
    private func drainInline() {
        while true {
            monitor.lock()
            if !full.isEmpty {
                var (batch, table) = full.removeFirst()
                monitor.unlock()
                write(batch, table)
                batch.removeAll(keepingCapacity: true)
                monitor.withLock { empty.append(batch) }
                continue
            }
            if !staged.isEmpty {
                var batch: [TraceRecord] = []
                swap(&batch, &staged)
                let table = stagedFiles
                monitor.unlock()
                write(batch, table)
                continue
            }
            monitor.unlock()
            if pendingSinceNs != 0 && monotonicNs() &- pendingSinceNs >= Self.flushAgeNs { flushSink() }
            return
        }
    }
}

/// What a recording can do with the buffer of the sinks it writes: write it out now, and see
/// how many bytes have gone to the file. Sinks not listed here write out only when their
/// own buffer fills and at `finish`.
enum SinkBuffer {
    static func flush(_ sink: any TraceSink) throws {
        switch sink {
        case let w as FiotWriter: try w.flushBlock()
        case let w as IologWriter: try w.out.flush()
        case let w as CSVTraceWriter: try w.out.flush()
        default: break
        }
    }

    static func bytesOut(_ sink: any TraceSink) -> UInt64? {
        switch sink {
        case let w as FiotWriter: return w.out.written
        case let w as IologWriter: return w.out.written
        case let w as CSVTraceWriter: return w.out.written
        default: return nil
        }
    }
}
