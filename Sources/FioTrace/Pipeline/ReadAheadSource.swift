/// Runs any trace source one stage ahead of its consumer: a reader thread decodes,
/// decompresses or parses batches into a small bounded queue while the consumer works,
/// so no decode ever runs on the consumer's thread (a replay's scheduler must not stall
/// between two due times: an inline decode of one 65,536-record `.fiot` block made every
/// I/O after it late by up to 7.8 ms at 100k IOPS).
///
/// - Memory: `depth + 2` batches of at most `batchRecords` records (the queue, the batch
///   being filled, the batch being consumed), whatever the trace's length.
/// - Errors come after every record read before them, exactly as the base source would
///   give them; the file table and metadata follow the base source's (a .fiot footer's
///   metadata arrives with the end).
/// - Reading from a pipe works: the reader thread is the only one that touches the base.
/// - Dropping the source stops the reader: it is joined if it stops within a second, else
///   left to end on its own (it may be blocked reading a pipe that never ends).
public final class ReadAheadSource: PrefetchingSource {
    public var files: [TraceFile] { reader.files }
    public var metadata: [String: String] { reader.metadata }
    public var skipped: [TraceError] { reader.skipped }

    private var reader: ChannelReader
    private let shared: Shared
    private var thread: WorkerThread?

    final class Shared: @unchecked Sendable {
        var base: any TraceSource
        var exited = false
        init(_ base: any TraceSource) { self.base = base }
    }

    /// Starts reading `base` ahead. `batchRecords`: records per queued batch; `depth`:
    /// batches that may wait decoded. Throws when the reader thread cannot be started.
    public init(_ base: any TraceSource, batchRecords: Int = 16384, depth: Int = 2) throws {
        let channel = BatchChannel(monitor: Monitor(), depth: depth)
        let shared = Shared(base)
        reader = ChannelReader(channel: channel)
        reader.files = base.files
        reader.metadata = base.metadata
        self.shared = shared
        let n = max(1, batchRecords)
        do {
            thread = try WorkerThread(name: "fio-readahead") {
                Self.produce(shared, channel, batchRecords: n)
            }
        } catch {
            throw TraceError(.io, "cannot start a reader thread: \(error)")
        }
    }

    /// The reader thread: fills batches until the end, an error, or the consumer leaves.
    private static func produce(_ shared: Shared, _ ch: BatchChannel, batchRecords: Int) {
        let m = ch.monitor
        var batch: [TraceRecord] = []
        batch.reserveCapacity(batchRecords)
        var seenFiles = shared.base.files.count
        var seenSkipped = shared.base.skipped.count
        var failure: (any Error)?
        do {
            while try shared.base.nextBatch(&batch, maxCount: batchRecords) {
                let files = shared.base.files
                let skipped = shared.base.skipped
                var item = BatchChannel.Item(records: [], files: files.count != seenFiles ? files : nil,
                                             metadata: nil, skipped: skipped.count != seenSkipped ? skipped : nil,
                                             endOfPass: false)
                seenFiles = files.count
                seenSkipped = skipped.count
                m.lock()
                while !ch.hasRoom { m.wait() }
                if ch.consumerClosed { m.unlock(); break }
                var next = ch.takeSpare(capacity: batchRecords)
                swap(&next, &batch)
                item.records = next
                ch.push(item)
                m.broadcast()
                m.unlock()
            }
        } catch {
            failure = error
        }
        m.lock()
        ch.finalFiles = shared.base.files
        ch.finalMetadata = shared.base.metadata
        ch.finalSkipped = shared.base.skipped
        ch.error = failure
        ch.finished = true
        shared.exited = true
        m.broadcast()
        m.unlock()
    }

    public func pollBatch(_ batch: inout [TraceRecord], maxCount: Int, waitNs: UInt64) throws -> BatchStatus {
        try reader.poll(&batch, maxCount: maxCount, waitNs: waitNs)
    }

    /// Blocks until the next records are decoded (the `TraceSource` contract).
    public func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        while true {
            switch try reader.poll(&batch, maxCount: maxCount, waitNs: 1_000_000_000) {
            case .ready: return true
            case .end: return false
            case .pending: continue
            }
        }
    }

    /// The source read from, once the reader thread has ended (the trace's end, an error, or
    /// the consumer gone): callers that need the concrete reader afterwards (a second pass,
    /// its own statistics) take it back here. Nil while the reader still runs.
    public var finishedBase: (any TraceSource)? {
        let m = reader.channel.monitor
        m.lock()
        defer { m.unlock() }
        return shared.exited ? shared.base : nil
    }

    deinit {
        reader.close()
        let sh = shared
        retire(&thread, monitor: reader.channel.monitor) { sh.exited }
    }
}
