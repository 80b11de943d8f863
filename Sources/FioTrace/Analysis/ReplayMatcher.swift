/// Sets a replay's recording (`replay --write-iolog`) against the trace it replayed, I/O
/// by I/O, to measure each I/O's issue lateness after the fact: the recorded issue time
/// minus the time the schedule gave it (the trace's time / speed; both count from the
/// replay's start, as the scheduler's due times and the recorder's clock do).
///
/// Pairing: a replay issues the trace's records in order (per stream, when it ran one
/// thread per stream), leaving out file events and the ops it was told to skip. So each
/// recorded I/O is paired with the next trace record of its stream that has the same op
/// (and, for data ops, the same length); trace records passed over on the way were not
/// replayed (`--skip`, `--readonly`, `--runtime`) and are counted in `skippedOriginal`.
/// Offsets are not compared: `--scale`, `--align` and `--wrap` move them.
///
/// Memory: trace records read ahead of their stream's recorded I/Os, at most
/// `maxPending` (24 bytes each); past that, pairing stops and `gaveUp` says why.
public struct ReplayMatcher {
    struct Pending {
        var time: UInt64
        var length: UInt64
        var op: TraceOp
    }

    /// A FIFO of trace records of one stream (amortised O(1), compacted as it drains).
    struct PendingQueue {
        var items: [Pending] = []
        var head = 0
        var isEmpty: Bool { head >= items.count }
        var count: Int { items.count - head }
        mutating func push(_ p: Pending) { items.append(p) }
        mutating func pop() -> Pending {
            let p = items[head]
            head += 1
            if head >= 4096 && head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
            return p
        }
    }

    public enum Outcome: Equatable {
        /// Paired; the I/O's lateness (ns, 0 when it went early).
        case matched(UInt64)
        /// No trace record of its stream has been read yet: read more of the trace, then ask again.
        case needOriginal
        /// No trace record pairs with it.
        case unmatched
    }

    public static let maxPending = 1 << 20

    /// The replay's speed factor (the schedule is the trace's time / speed).
    public let speed: Double
    /// Pair within streams (a replay that ran one thread per stream), else in one sequence.
    public let byStream: Bool

    public private(set) var matched: UInt64 = 0
    public private(set) var skippedOriginal: UInt64 = 0
    public private(set) var unmatchedReplayed: UInt64 = 0
    /// Paired I/Os recorded before their due time (counted with lateness 0).
    public private(set) var early: UInt64 = 0
    public private(set) var within10us: UInt64 = 0
    public private(set) var within100us: UInt64 = 0
    /// The lateness of every paired I/O (ns).
    public private(set) var histogram = LogHistogram()
    /// Set when pairing stopped early, saying why.
    public private(set) var gaveUp: String?

    private var queues: [PendingQueue] = [PendingQueue()]
    private var queueOfStream: [UInt64: Int] = [:]
    private var pending = 0
    private let inverseSpeed: Double

    public init(speed: Double, byStream: Bool) {
        self.speed = speed > 0 && speed.isFinite ? speed : 1
        inverseSpeed = 1 / self.speed
        self.byStream = byStream
    }

    @inline(__always)
    private mutating func queue(for r: TraceRecord) -> Int {
        guard byStream else { return 0 }
        let key = UInt64(r.stream ?? UInt32.max)
        if let q = queueOfStream[key] { return q }
        queues.append(PendingQueue())
        queueOfStream[key] = queues.count - 1
        return queues.count - 1
    }

    /// Queues a batch of the trace's records (file events are left out).
    public mutating func addOriginal(_ batch: UnsafeBufferPointer<TraceRecord>) {
        guard gaveUp == nil else { return }
        for r in batch where !r.op.isFileEvent {
            let q = queue(for: r)
            queues[q].push(Pending(time: r.time, length: r.length, op: r.op))
        }
        pending += batch.count
        if pending > Self.maxPending {
            pending = queues.reduce(0) { $0 + $1.count }
            if pending > Self.maxPending {
                gaveUp = "more than \(Self.maxPending) trace records waited for their replayed I/Os (the recording's streams do not follow the trace's); lateness covers the first \(matched) I/Os"
                queues = [PendingQueue()]
                queueOfStream = [:]
            }
        }
    }

    /// Pairs one recorded I/O. `originalEnded`: the whole trace has been queued.
    public mutating func match(_ r: TraceRecord, originalEnded: Bool) -> Outcome {
        if r.op.isFileEvent { return .unmatched }
        guard gaveUp == nil else {
            unmatchedReplayed &+= 1
            return .unmatched
        }
        let q = queue(for: r)
        while !queues[q].isEmpty {
            let p = queues[q].pop()
            pending -= 1
            if p.op == r.op && (p.op.isSync || p.length == r.length) {
                let due = speed == 1 ? p.time : UInt64(Double(p.time) * inverseSpeed)
                var late: UInt64 = 0
                if r.time >= due { late = r.time - due } else { early &+= 1 }
                matched &+= 1
                histogram.record(late)
                if late <= 10_000 { within10us &+= 1 }
                if late <= 100_000 { within100us &+= 1 }
                return .matched(late)
            }
            skippedOriginal &+= 1
        }
        if !originalEnded { return .needOriginal }
        unmatchedReplayed &+= 1
        return .unmatched
    }

    /// Call after the last recorded I/O: trace records never paired were not replayed.
    public mutating func finish() {
        for q in queues { skippedOriginal &+= UInt64(q.count) }
        queues = [PendingQueue()]
        queueOfStream = [:]
        pending = 0
    }
}
