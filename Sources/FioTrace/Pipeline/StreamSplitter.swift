/// Decodes a multi-stream trace once, on one reader thread, and hands each stream its own
/// records through its own bounded queue (file events go to every stream, so each sees the
/// files added, opened and closed). A replay runs one scheduler per stream; without this,
/// each would decode the whole trace.
///
/// - Memory: per stream `depth + 2` batches of at most `batchRecords` records.
/// - The streams are coupled through the reader: when one stream's queue is full the reader
///   waits for it, and the other streams get no newer records meanwhile. On one clock
///   (a timed replay) every stream consumes at the trace's pace, so the reader stays about
///   `depth` batches of the busiest stream ahead of all of them. Consumers must therefore
///   not wait for each other before consuming (see `Scheduler`'s start), and untimed
///   replays, whose streams run at their own speeds, should give each stream its own pass.
/// - `passes` passes over the trace (`--loops`): each stream's source for a pass ends at
///   that pass's end.
public final class StreamSplitter: @unchecked Sendable {
    private let monitor: Monitor
    private let channels: [BatchChannel]
    /// Files and metadata each stream's next pass starts with (the previous pass's).
    private var carried: [(files: [TraceFile], metadata: [String: String])]
    private let state = State()
    private var thread: WorkerThread?

    final class State: @unchecked Sendable { var exited = false }

    /// Starts decoding. `ids`: the stream ids, in the order `source(stream:)` numbers them.
    /// `files`: the file table known before reading (a .fiot header's), which each stream's
    /// first pass starts with. `open` returns a fresh source for each pass (called on the
    /// reader thread).
    public init(streams ids: [UInt32], passes: Int, files: [TraceFile] = [], batchRecords: Int = 16384, depth: Int = 4,
                open: @escaping @Sendable () throws -> any TraceSource) throws {
        let m = Monitor()
        monitor = m
        let chans = ids.map { _ in BatchChannel(monitor: m, depth: depth) }
        channels = chans
        carried = Array(repeating: (files, [:]), count: ids.count)
        let st = state, n = max(1, batchRecords), p = max(1, passes)
        do {
            thread = try WorkerThread(name: "fio-split") {
                Self.produce(ids: ids, passes: p, batchRecords: n, channels: chans, monitor: m, open: open)
                m.withLock { st.exited = true; m.broadcast() }
            }
        } catch {
            throw TraceError(.io, "cannot start a reader thread: \(error)")
        }
    }

    /// The records of stream `k` (0-based, in the order of `ids`) for its next pass.
    public func source(stream k: Int) -> SplitStreamSource {
        SplitStreamSource(splitter: self, index: k,
                          reader: ChannelReader(channel: channels[k]), start: carried[k])
    }

    fileprivate func passEnded(_ k: Int, files: [TraceFile], metadata: [String: String]) {
        monitor.withLock { carried[k] = (files, metadata) }
    }

    /// Stream `k` will read no more: the reader stops queueing for it.
    fileprivate func close(_ k: Int) {
        monitor.withLock {
            channels[k].consumerClosed = true
            monitor.broadcast()
        }
    }

    private static func produce(ids: [UInt32], passes: Int, batchRecords: Int, channels: [BatchChannel],
                                monitor m: Monitor, open: () throws -> any TraceSource) {
        // Stream id -> channel index: an array for small ids (the usual case), else a dictionary.
        let maxID = ids.max() ?? 0
        var small = [Int32](repeating: -1, count: maxID < 65536 ? Int(maxID) + 1 : 0)
        var large: [UInt32: Int] = [:]
        for (k, id) in ids.enumerated() {
            if maxID < 65536 { small[Int(id)] = Int32(k) } else { large[id] = k }
        }
        var pending: [[TraceRecord]] = channels.map { _ in var a: [TraceRecord] = []; a.reserveCapacity(batchRecords); return a }
        var batch: [TraceRecord] = []
        batch.reserveCapacity(batchRecords)
        var failure: (any Error)?

        /// Queues `pending[k]` (waiting for room); false when every consumer has gone.
        func flush(_ k: Int, files: [TraceFile]?, metadata: [String: String]?, endOfPass: Bool) {
            let ch = channels[k]
            m.lock()
            while !ch.hasRoom { m.wait() }
            if !ch.consumerClosed {
                var next = ch.takeSpare(capacity: batchRecords)
                swap(&next, &pending[k])
                ch.push(BatchChannel.Item(records: next, files: files, metadata: metadata, skipped: nil, endOfPass: endOfPass))
                m.broadcast()
            } else {
                pending[k].removeAll(keepingCapacity: true)
            }
            m.unlock()
        }
        func allClosed() -> Bool { m.withLock { channels.allSatisfy(\.consumerClosed) } }

        passLoop: for _ in 0..<passes {
            var source: any TraceSource
            do { source = try open() } catch { failure = error; break }
            var seenFiles = -1
            do {
                while try source.nextBatch(&batch, maxCount: batchRecords) {
                    let files = source.files
                    let newFiles = files.count != seenFiles
                    seenFiles = files.count
                    for r in batch {
                        if r.op.isFileEvent {
                            for k in 0..<pending.count { pending[k].append(r) }
                            continue
                        }
                        guard let s = r.stream else { continue }
                        let k = maxID < 65536 ? (Int(s) < small.count ? Int(small[Int(s)]) : -1) : (large[s] ?? -1)
                        if k >= 0 { pending[k].append(r) }
                    }
                    for k in 0..<pending.count where !pending[k].isEmpty || newFiles {
                        flush(k, files: newFiles ? files : nil, metadata: nil, endOfPass: false)
                    }
                    if allClosed() { break passLoop }
                }
            } catch {
                failure = error
                for k in 0..<pending.count where !pending[k].isEmpty {
                    flush(k, files: source.files, metadata: nil, endOfPass: false)
                }
                break
            }
            for k in 0..<pending.count {
                flush(k, files: source.files, metadata: source.metadata, endOfPass: true)
            }
        }
        m.withLock {
            for ch in channels {
                ch.error = failure
                ch.finished = true
            }
            m.broadcast()
        }
    }

    deinit {
        monitor.withLock {
            for ch in channels { ch.consumerClosed = true }
            monitor.broadcast()
        }
        let st = state
        retire(&thread, monitor: monitor) { st.exited }
    }
}

/// One stream's records for one pass, from a `StreamSplitter`.
public final class SplitStreamSource: PrefetchingSource {
    private let splitter: StreamSplitter
    private let index: Int
    private var reader: ChannelReader
    public var files: [TraceFile] { reader.files }
    public var metadata: [String: String] { reader.metadata }

    fileprivate init(splitter: StreamSplitter, index: Int, reader: ChannelReader,
                     start: (files: [TraceFile], metadata: [String: String])) {
        self.splitter = splitter
        self.index = index
        self.reader = reader
        self.reader.files = start.files
        self.reader.metadata = start.metadata
    }

    public func pollBatch(_ batch: inout [TraceRecord], maxCount: Int, waitNs: UInt64) throws -> BatchStatus {
        let s = try reader.poll(&batch, maxCount: maxCount, waitNs: waitNs)
        if s == .end { splitter.passEnded(index, files: reader.files, metadata: reader.metadata) }
        return s
    }

    public func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        while true {
            switch try pollBatch(&batch, maxCount: maxCount, waitNs: 1_000_000_000) {
            case .ready: return true
            case .end: return false
            case .pending: continue
            }
        }
    }

    /// A stream that stops before its pass ended reads no more: the reader must not wait
    /// for it (the other streams would starve).
    deinit { if !reader.ended { splitter.close(index) } }
}
