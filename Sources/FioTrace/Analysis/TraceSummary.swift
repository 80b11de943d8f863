import Histogram

/// Statistics of a whole trace, gathered in one streaming pass (what `fio-replay info`
/// prints). Memory: per-op and per-size counters (at most `maxBlockSizes` sizes per op),
/// histograms (HdrHistogram, at most about 1 MiB each), the footprint (bounded by its
/// budget) and one word per file, never the records themselves.
///
/// Any value a reader can hand over is summed without a trap: byte totals saturate at
/// 2^64 - 1 (`bytesSaturated` says so), and gaps, latencies and depths above
/// `histogramMax` (2^63 - 1 ns, the most an HdrHistogram tracks; 292 years) are recorded
/// as that value and counted in `clampedValues`.
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
    /// Distinct sizes kept per op: past that, I/Os of new sizes are only counted in
    /// `otherSizeIOs` (so a trace of ever-new sizes cannot grow the table without end).
    public static let maxBlockSizes = 65_536
    /// Data I/Os per op whose size was not kept in `blockSizes`.
    public private(set) var otherSizeIOs: [UInt64] = [0, 0, 0]
    /// The largest value the histograms record; larger ones are recorded as this.
    public static let histogramMax: UInt64 = UInt64.max / 2
    /// Values above `histogramMax` (recorded as it).
    public private(set) var clampedValues: UInt64 = 0
    /// A byte total passed 2^64 - 1 and stopped there.
    public private(set) var bytesSaturated = false
    /// Smallest and largest record time, ns.
    public private(set) var firstTime = UInt64.max
    public private(set) var lastTime: UInt64 = 0
    /// Data I/Os that start where the previous data I/O on the same file ended.
    public private(set) var sequential: UInt64 = 0
    public let footprint = Footprint()
    /// Gaps between consecutive data I/Os, ns.
    public private(set) var interArrival = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    /// Completion latency per data op (read, write, trim) and for syncs, ns, when recorded.
    public private(set) var latency: [Histogram<UInt64>] = Array(repeating: Histogram<UInt64>(numberOfSignificantValueDigits: .three), count: 4)
    /// Recorded in-flight depth at issue.
    public private(set) var depth = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    /// Records with a negative result (an error).
    public private(set) var errors: UInt64 = 0
    /// Records per stream id, for traces whose records carry one (at most
    /// `maxStreams` ids are counted; `moreStreams` says there were more).
    public private(set) var streams: [UInt32: UInt64] = [:]
    public private(set) var moreStreams = false
    public static let maxStreams = 4096
    private var runStream: UInt32 = 0
    private var runStreamCount: UInt64 = 0
    public private(set) var timeSorted = true

    private var gapValue: UInt64 = 0
    private var gapCount: UInt64 = 0
    private var gapValue2: UInt64 = 0
    private var gapCount2: UInt64 = 0
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
    public var dataIOs: UInt64 { ops[0].count &+ ops[1].count &+ ops[2].count }
    /// Bytes of all data ops (saturating at 2^64 - 1).
    public var dataBytes: UInt64 {
        let (a, o1) = ops[0].bytes.addingReportingOverflow(ops[1].bytes)
        let (b, o2) = a.addingReportingOverflow(ops[2].bytes)
        return o1 || o2 ? UInt64.max : b
    }
    /// Span from the first to the last record, ns.
    public var duration: UInt64 { records == 0 ? 0 : lastTime - firstTime }

    /// Adds a batch. The loop keeps its counters in locals and raw buffers so that the
    /// per-record cost is a few nanoseconds plus one histogram record.
    public mutating func add(_ batch: UnsafeBufferPointer<TraceRecord>) {
        var maxFile = 0
        for r in batch { maxFile = max(maxFile, Int(r.file)) }
        if maxFile >= lastEnd.count { lastEnd.append(contentsOf: repeatElement(UInt64.max, count: maxFile - lastEnd.count + 1)) }
        var records = self.records, first = firstTime, last = lastTime, prev = prevTime
        var sorted = timeSorted, seq = sequential, errs = errors
        var clamped = clampedValues, saturated = bytesSaturated
        let cap = Self.histogramMax
        var lastData = lastDataTime
        let fp = footprint
        var opsL: [OpStats] = [], lastEndL: [UInt64] = []
        swap(&opsL, &ops)
        swap(&lastEndL, &lastEnd)
        defer {
            swap(&opsL, &ops)
            swap(&lastEndL, &lastEnd)
        }
        // Block-size run counters per data op, kept in raw buffers for the loop.
        var keyL: [UInt64] = [], countL: [UInt64] = []
        swap(&keyL, &sizeCacheKey)
        swap(&countL, &sizeCacheCount)
        defer {
            swap(&keyL, &sizeCacheKey)
            swap(&countL, &sizeCacheCount)
        }
        keyL.withUnsafeMutableBufferPointer { sizeKey in
        countL.withUnsafeMutableBufferPointer { sizeCount in
        opsL.withUnsafeMutableBufferPointer { ops in
        lastEndL.withUnsafeMutableBufferPointer { lastEnd in
            for r in batch {
                records &+= 1
                let o = Int(r.op.rawValue)
                ops[o].count &+= 1
                if r.time < first { first = r.time }
                if r.time > last { last = r.time }
                if r.time < prev { sorted = false }
                prev = r.time
                if let res = r.result, res < 0 { errs &+= 1 }
                if let d = r.depth { depth.record(UInt64(d)) } // below 2^32: never clamped
                if let st = r.stream, !r.op.isFileEvent {
                    // Runs of one stream cost a compare; a change, one dictionary update.
                    if st == runStream && runStreamCount > 0 {
                        runStreamCount &+= 1
                    } else {
                        flushStreamRun()
                        runStream = st
                        runStreamCount = 1
                    }
                }
                guard o <= 2 else {
                    if r.op.isSync, let l = r.latency {
                        if l > cap { clamped &+= 1 }
                        latency[3].record(min(l, cap))
                    }
                    continue
                }
                let (sum, over) = ops[o].bytes.addingReportingOverflow(r.length)
                if over { saturated = true }
                ops[o].bytes = over ? UInt64.max : sum
                if sizeKey[o] == r.length {
                    sizeCount[o] &+= 1
                } else {
                    if sizeCount[o] > 0 { countSize(o, sizeKey[o], sizeCount[o]) }
                    sizeKey[o] = r.length
                    sizeCount[o] = 1
                }
                let f = Int(r.file)
                if lastEnd[f] == r.offset { seq &+= 1 }
                lastEnd[f] = r.offset &+ r.length
                fp.add(file: r.file, offset: r.offset, length: r.length)
                if let lt = lastData {
                    // Quantised clocks (fio's µs, blktrace's merged CPUs) repeat the same
                    // gaps: count runs and record each run once.
                    // Two run counters (least recently used evicted): µs clocks alternate
                    // between a few gaps, so most records cost a compare, not a record().
                    let gap = r.time >= lt ? r.time - lt : lt - r.time
                    if gap == gapValue {
                        gapCount &+= 1
                    } else if gap == gapValue2 {
                        gapCount2 &+= 1
                        swap(&gapValue, &gapValue2)
                        swap(&gapCount, &gapCount2)
                    } else {
                        if gapCount2 > 0 {
                            // (Counted in the local `clamped`, which is stored at the end.)
                            if gapValue2 > cap { clamped &+= gapCount2 }
                            interArrival.record(min(gapValue2, cap), count: gapCount2)
                        }
                        gapValue2 = gapValue
                        gapCount2 = gapCount
                        gapValue = gap
                        gapCount = 1
                    }
                }
                lastData = r.time
                if let l = r.latency {
                    if l > cap { clamped &+= 1 }
                    latency[o].record(min(l, cap))
                }
            }
        }}}}
        self.records = records
        firstTime = first
        lastTime = last
        prevTime = prev
        timeSorted = sorted
        sequential = seq
        errors = errs
        lastDataTime = lastData
        clampedValues = clamped
        bytesSaturated = saturated
    }

    /// Records a run of equal inter-arrival gaps, clamped to `histogramMax`.
    private mutating func recordGap(_ gap: UInt64, count: UInt64) {
        if gap > Self.histogramMax { clampedValues &+= count }
        interArrival.record(min(gap, Self.histogramMax), count: count)
    }

    public mutating func add(_ r: TraceRecord) {
        var r = r
        withUnsafePointer(to: &r) { add(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    private mutating func flushSizeCache(_ o: Int) {
        if sizeCacheCount[o] > 0 { countSize(o, sizeCacheKey[o], sizeCacheCount[o]) }
        sizeCacheCount[o] = 0
        sizeCacheKey[o] = UInt64.max
    }

    /// Adds `n` I/Os of `size` to op `o`'s sizes (or to `otherSizeIOs` when full).
    private mutating func countSize(_ o: Int, _ size: UInt64, _ n: UInt64) {
        if blockSizes[o].count < Self.maxBlockSizes || blockSizes[o][size] != nil {
            blockSizes[o][size, default: 0] += n
        } else {
            otherSizeIOs[o] &+= n
        }
    }

    private mutating func flushStreamRun() {
        guard runStreamCount > 0 else { return }
        if streams[runStream] != nil || streams.count < Self.maxStreams {
            streams[runStream, default: 0] += runStreamCount
        } else {
            moreStreams = true
        }
        runStreamCount = 0
    }

    /// Call once after the last record (folds cached counters in).
    public mutating func finish() {
        flushStreamRun()
        for o in 0..<3 { flushSizeCache(o) }
        if gapCount > 0 { recordGap(gapValue, count: gapCount) }
        if gapCount2 > 0 { recordGap(gapValue2, count: gapCount2) }
        gapCount = 0
        gapCount2 = 0
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
