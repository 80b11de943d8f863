import Histogram

/// Statistics of a whole trace, gathered in one streaming pass (what `fio-replay info`
/// prints). Memory: per-op and per-size counters, fixed-size histograms and the
/// footprint bitmap, never the records themselves.
public struct TraceSummary {
    public struct OpStats: Sendable, Equatable {
        public var count: UInt64 = 0
        /// Bytes over offset/length (0 for syncs and file events).
        public var bytes: UInt64 = 0
    }

    public private(set) var records: UInt64 = 0
    /// Counters indexed by `TraceOp.rawValue`.
    public private(set) var ops = [OpStats](repeating: OpStats(), count: 16)
    /// Block sizes (bytes) and their counts, per data op (read, write, trim).
    public private(set) var blockSizes: [[UInt64: UInt64]] = [[:], [:], [:]]
    /// Smallest and largest record time, ns.
    public private(set) var firstTime = UInt64.max
    public private(set) var lastTime: UInt64 = 0
    /// Data I/Os that start where the previous data I/O on the same file ended.
    public private(set) var sequential: UInt64 = 0
    public private(set) var footprint = Footprint()
    /// Gaps between consecutive data I/Os, ns.
    public private(set) var interArrival = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    /// Completion latency per data op (read, write, trim) and for syncs, ns, when recorded.
    public private(set) var latency: [Histogram<UInt64>] = Array(repeating: Histogram<UInt64>(numberOfSignificantValueDigits: .three), count: 4)
    /// Recorded in-flight depth at issue.
    public private(set) var depth = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    /// Records with a negative result (an error).
    public private(set) var errors: UInt64 = 0
    public private(set) var timeSorted = true

    private var lastEnd: [UInt64] = []
    private var lastDataTime: UInt64?
    private var prevTime: UInt64 = 0
    private var sizeCacheKey = [UInt64](repeating: UInt64.max, count: 3)
    private var sizeCacheCount = [UInt64](repeating: 0, count: 3)

    public init() {
        interArrival.autoResize = true
        depth.autoResize = true
        for i in 0..<4 { latency[i].autoResize = true }
    }

    /// Data I/Os (read, write, trim).
    public var dataIOs: UInt64 { ops[0].count + ops[1].count + ops[2].count }
    public var dataBytes: UInt64 { ops[0].bytes + ops[1].bytes + ops[2].bytes }
    /// Span from the first to the last record, ns.
    public var duration: UInt64 { records == 0 ? 0 : lastTime - firstTime }

    public mutating func add(_ batch: UnsafeBufferPointer<TraceRecord>) {
        for r in batch { add(r) }
    }

    @inline(__always)
    public mutating func add(_ r: TraceRecord) {
        records &+= 1
        let o = Int(r.op.rawValue)
        ops[o].count &+= 1
        if r.time < firstTime { firstTime = r.time }
        if r.time > lastTime { lastTime = r.time }
        if r.time < prevTime { timeSorted = false }
        prevTime = r.time
        if let res = r.result, res < 0 { errors &+= 1 }
        if let d = r.depth { depth.record(UInt64(d)) }
        guard r.op.isData else {
            if r.op.isSync, let l = r.latency { latency[3].record(l) }
            return
        }
        ops[o].bytes &+= r.length
        if sizeCacheKey[o] == r.length {
            sizeCacheCount[o] &+= 1
        } else {
            flushSizeCache(o)
            sizeCacheKey[o] = r.length
            sizeCacheCount[o] = 1
        }
        let f = Int(r.file)
        if f >= lastEnd.count { lastEnd.append(contentsOf: repeatElement(UInt64.max, count: f - lastEnd.count + 1)) }
        if lastEnd[f] == r.offset { sequential &+= 1 }
        lastEnd[f] = r.offset &+ r.length
        footprint.add(file: r.file, offset: r.offset, length: r.length)
        if let lt = lastDataTime {
            interArrival.record(r.time >= lt ? r.time - lt : lt - r.time)
        }
        lastDataTime = r.time
        if let l = r.latency { latency[o].record(l) }
    }

    private mutating func flushSizeCache(_ o: Int) {
        if sizeCacheCount[o] > 0 { blockSizes[o][sizeCacheKey[o], default: 0] += sizeCacheCount[o] }
        sizeCacheCount[o] = 0
        sizeCacheKey[o] = UInt64.max
    }

    /// Call once after the last record (folds cached counters in).
    public mutating func finish() {
        for o in 0..<3 { flushSizeCache(o) }
    }

    /// Block sizes over all data ops, merged.
    public var allBlockSizes: [UInt64: UInt64] {
        var m: [UInt64: UInt64] = [:]
        for d in blockSizes { m.merge(d, uniquingKeysWith: +) }
        return m
    }

    /// Sums a whole source. Memory: one batch plus the summary.
    public static func of<S: TraceSource>(_ source: inout S, batchSize: Int = 65536) throws -> TraceSummary {
        var s = TraceSummary()
        var batch: [TraceRecord] = []
        batch.reserveCapacity(batchSize)
        while try source.nextBatch(&batch, maxCount: batchSize) {
            batch.withUnsafeBufferPointer { s.add($0) }
        }
        s.finish()
        return s
    }
}
