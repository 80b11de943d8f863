/// A bounded queue of decoded record batches from one producer thread to one consumer.
///
/// Batches move by swapping arrays, never by copying records: the consumer hands each
/// emptied array back (`spare`) for the producer to fill again, so after the first few
/// batches nothing is allocated. At most `depth` batches wait in the queue; with the one
/// the producer fills and the one the consumer holds, memory is `depth + 2` batches.
///
/// Channels of one producer share its `Monitor`, so a producer feeding several consumers
/// (`StreamSplitter`) waits on one condition for room in any of them.
final class BatchChannel: @unchecked Sendable {
    /// One queued batch, with the source's file table and metadata when they changed.
    struct Item {
        var records: [TraceRecord]
        var files: [TraceFile]?
        var metadata: [String: String]?
        var skipped: [TraceError]?
        /// The last batch of one pass over the trace (`loops`): the consumer's source for
        /// that pass ends here.
        var endOfPass: Bool
    }

    let monitor: Monitor
    let depth: Int
    /// Queued batches, oldest first (the producer appends, the consumer takes the head).
    private(set) var items: [Item] = []
    private var head = 0
    /// Emptied arrays (capacity kept) for the producer to reuse.
    var spare: [[TraceRecord]] = []
    /// The producer has ended (after `error`, if set).
    var finished = false
    var error: (any Error)?
    /// The source's file table, metadata and skipped parts as they were when it ended (a
    /// .fiot footer adds metadata at the very end).
    var finalFiles: [TraceFile]?
    var finalMetadata: [String: String]?
    var finalSkipped: [TraceError]?
    /// The consumer has gone: the producer drops what it would queue here.
    var consumerClosed = false

    init(monitor: Monitor, depth: Int) {
        self.monitor = monitor
        self.depth = max(1, depth)
    }

    /// Batches waiting (monitor held).
    var count: Int { items.count - head }
    var hasRoom: Bool { count < depth || consumerClosed }

    /// Appends a batch (monitor held; the caller checked `hasRoom`).
    func push(_ item: Item) {
        if consumerClosed { return }
        if head > 0 && head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
        items.append(item)
    }

    /// Takes the oldest batch (monitor held); nil when none is queued.
    func pop() -> Item? {
        guard head < items.count else { return nil }
        let it = items[head]
        items[head].records = []
        head += 1
        if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
        return it
    }

    /// An emptied array for the producer (monitor held): a recycled one, or a new one.
    func takeSpare(capacity: Int) -> [TraceRecord] {
        if var a = spare.popLast() {
            a.removeAll(keepingCapacity: true)
            return a
        }
        var a: [TraceRecord] = []
        a.reserveCapacity(capacity)
        return a
    }
}

/// The consumer side of a `BatchChannel`, shared by `ReadAheadSource` and the streams of a
/// `StreamSplitter`: hands out batches (splitting one that is larger than asked for) and
/// keeps the file table and metadata the producer saw.
struct ChannelReader {
    let channel: BatchChannel
    var files: [TraceFile] = []
    var metadata: [String: String] = [:]
    var skipped: [TraceError] = []
    /// A batch larger than the caller asked for, handed out in parts.
    private var held: [TraceRecord] = []
    private var heldPos = 0
    private var heldEndsPass = false
    /// This reader's pass ended (a pass marker or the producer's end was reached).
    private(set) var ended = false

    init(channel: BatchChannel) { self.channel = channel }

    /// Takes up to `maxCount` records; `.pending` when none arrived within `waitNs`.
    mutating func poll(_ batch: inout [TraceRecord], maxCount: Int, waitNs: UInt64) throws -> BatchStatus {
        batch.removeAll(keepingCapacity: true)
        if ended { return .end }
        if heldPos < held.count {
            let take = min(maxCount, held.count - heldPos)
            batch.append(contentsOf: held[heldPos..<(heldPos + take)])
            heldPos += take
            if heldPos == held.count && heldEndsPass { ended = true }
            return .ready
        }
        let m = channel.monitor
        m.lock()
        var item = channel.pop()
        if item == nil && !channel.finished && waitNs > 0 {
            let deadline = monotonicClockNs() &+ waitNs
            while item == nil && !channel.finished {
                if !m.wait(untilNs: deadline) { item = channel.pop(); break }
                item = channel.pop()
            }
        }
        guard var it = item else {
            let done = channel.finished
            let error = channel.error
            if done {
                channel.error = nil
                ended = true
                if let f = channel.finalFiles, f.count >= files.count { files = f }
                if let md = channel.finalMetadata { metadata = md }
                if let sk = channel.finalSkipped { skipped = sk }
            }
            m.unlock()
            if let error { throw error }
            return done ? .end : .pending
        }
        if it.records.isEmpty && it.endOfPass {
            ended = true
            m.unlock()
            if let f = it.files, f.count >= files.count { files = f }
            if let md = it.metadata { metadata = md }
            if let s = it.skipped { skipped = s }
            return .end
        }
        // Recycle the caller's array (swapped out, so it is not shared and emptying it
        // allocates nothing): the producer refills it.
        if it.records.count <= maxCount {
            swap(&batch, &it.records)
            it.records.removeAll(keepingCapacity: true)
            if it.records.capacity > 0 { channel.spare.append(it.records) }
            it.records = []
        } else {
            if held.capacity > 0 { held.removeAll(keepingCapacity: true); channel.spare.append(held) }
            held = it.records
            heldPos = 0
            batch.append(contentsOf: held[0..<maxCount])
            heldPos = maxCount
        }
        m.broadcast()
        m.unlock()
        if let f = it.files, f.count >= files.count { files = f }
        if let md = it.metadata { metadata = md }
        if let s = it.skipped { skipped = s }
        if it.endOfPass {
            if heldPos < held.count { heldEndsPass = true } else { ended = true }
        }
        return .ready
    }

    /// The consumer leaves: the producer stops queueing for it.
    func close() {
        channel.monitor.withLock {
            channel.consumerClosed = true
            channel.monitor.broadcast()
        }
    }
}
