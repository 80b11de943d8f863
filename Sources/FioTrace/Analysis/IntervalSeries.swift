/// Per-interval figures of a trace (what `info --timeseries` writes and `report` draws):
/// per interval of issue time and per op, the records, bytes, errors, latency percentiles
/// and block-size classes; per interval the recorded depth at issue and, for a replay
/// recording set against its trace, the issue lateness.
///
/// A record belongs to the interval its time (issue time, ns since the trace's start)
/// falls in: interval i covers [i × width, (i + 1) × width). Bytes are the records'
/// lengths (data ops only), as `info` counts them, so the intervals add up to `info`'s
/// totals. Memory is fixed: a few arrays per interval held, never the records.
///
/// Two modes:
/// - `adaptive(maxBins:)` keeps every interval (the report): the width starts at the one
///   given and doubles, merging neighbours, whenever the trace outgrows `maxBins`.
/// - `streaming(window:)` keeps the width (`info --timeseries`) and hands each interval to
///   `emit` once records `window` intervals later arrive (and the rest at `finish`), so a
///   trace of any duration streams through. A record older than the intervals still held
///   (an unsorted trace) is counted in the oldest one held and in `misplaced`.
public struct IntervalSeries {
    public enum Mode: Sendable, Equatable {
        case adaptive(maxBins: Int)
        case streaming(window: Int)
    }

    /// The ops counted, in slot order: every op but the file events (add, open, close).
    public static let slotOps: [TraceOp] = [.read, .write, .trim, .sync, .datasync, .syncFileRange, .syncfs, .fallocate, .truncate]
    public static let slotCount = 9
    /// Slot per `TraceOp.rawValue` (-1: a file event, not counted).
    static let slotOfRaw: [Int] = {
        var t = [Int](repeating: -1, count: 256)
        for (i, op) in slotOps.enumerated() { t[Int(op.rawValue)] = i }
        return t
    }()
    /// Block-size classes: class 0 holds lengths up to 512 bytes, class k (1...14) lengths
    /// in (2^(k+8), 2^(k+9)] bytes, class 15 everything above 8 MiB.
    public static let sizeClassCount = 16

    @inline(__always)
    public static func sizeClass(_ length: UInt64) -> Int {
        if length <= 512 { return 0 }
        return min(sizeClassCount - 1, 64 - (length - 1).leadingZeroBitCount - 9)
    }

    /// The largest length of size class `k` (bytes); nil for the open-ended last class.
    public static func sizeClassLimit(_ k: Int) -> UInt64? {
        k < sizeClassCount - 1 ? UInt64(512) << UInt64(k) : nil
    }

    public let mode: Mode
    /// Interval length (ns).
    public private(set) var widthNs: UInt64
    /// Logical index of the oldest interval held (streaming: it advances as intervals go out).
    public private(set) var base: UInt64 = 0
    /// One past the newest interval a record fell in.
    public private(set) var end: UInt64 = 0
    /// Records counted in a later interval than their time's (streaming, unsorted traces).
    public private(set) var misplaced: UInt64 = 0
    /// Records counted (file events excluded).
    public private(set) var records: UInt64 = 0

    let capacity: Int
    /// Per interval and op slot.
    var ios: [UInt64]
    var bytes: [UInt64]
    var errors: [UInt64]
    /// Per interval, data op (read, write, trim) and size class.
    var sizes: [UInt64]
    /// Per interval: recorded depth at issue.
    var depthSum: [UInt64]
    var depthCount: [UInt64]
    var depthMax: [UInt32]
    /// Histogram columns (latency per op slot; lateness): column c's storage index, -1 until used.
    var histIndex: [Int]
    var histColumns = 0
    var histCounts: [UInt32] = []
    var histN: [UInt64] = []
    var histMin: [UInt64] = []
    var histMax: [UInt64] = []
    static let latenessColumn = slotCount

    /// Streaming: where closed intervals go.
    var emit: ((IntervalFigures) -> Void)?
    /// The interval of the previous record (a cache: most records fall in the same one).
    private var cachedStart: UInt64 = 1
    private var cachedEnd: UInt64 = 0
    private var cachedSlot = 0

    /// `widthNs`: the interval (the starting one for `adaptive`), at least 1 ns.
    /// `emit` receives each closed interval in `streaming` mode.
    public init(widthNs: UInt64, mode: Mode, emit: ((IntervalFigures) -> Void)? = nil) {
        self.widthNs = max(1, widthNs)
        self.mode = mode
        switch mode {
        case .adaptive(let n): capacity = max(4, n)
        case .streaming(let w): capacity = max(2, w)
        }
        self.emit = emit
        ios = Array(repeating: 0, count: capacity * Self.slotCount)
        bytes = ios
        errors = ios
        sizes = Array(repeating: 0, count: capacity * 3 * Self.sizeClassCount)
        depthSum = Array(repeating: 0, count: capacity)
        depthCount = depthSum
        depthMax = Array(repeating: 0, count: capacity)
        histIndex = Array(repeating: -1, count: Self.slotCount + 1)
    }

    /// Intervals held (`base ..< end`).
    public var count: Int { Int(end - base) }

    /// Adds a batch of records.
    public mutating func add(_ batch: UnsafeBufferPointer<TraceRecord>) {
        for r in batch {
            let s = Self.slotOfRaw[Int(r.op.rawValue)]
            if s < 0 { continue }
            let p = slot(for: r.time)
            records &+= 1
            let i = p * Self.slotCount + s
            ios[i] &+= 1
            if s < 3 {
                bytes[i] &+= r.length
                sizes[(p * 3 + s) * Self.sizeClassCount + Self.sizeClass(r.length)] &+= 1
            }
            if let res = r.result, res < 0 { errors[i] &+= 1 }
            if let l = r.latency { record(column: s, slot: p, value: l) }
            if let d = r.depth {
                depthSum[p] &+= UInt64(d)
                depthCount[p] &+= 1
                if d > depthMax[p] { depthMax[p] = d }
            }
        }
    }

    public mutating func add(_ r: TraceRecord) {
        var r = r
        withUnsafePointer(to: &r) { add(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    /// Adds one issue lateness (ns) at `time` (ns since the start).
    public mutating func addLateness(time: UInt64, value: UInt64) {
        let p = slot(for: time)
        record(column: Self.latenessColumn, slot: p, value: value)
    }

    /// Streaming: hands out every interval still held. Adaptive: nothing to do.
    public mutating func finish() {
        guard case .streaming = mode else { return }
        while base < end { emitOldest() }
        invalidateCache()
    }

    /// The storage slot of the interval `time` falls in, making room first.
    @inline(__always)
    private mutating func slot(for time: UInt64) -> Int {
        if time >= cachedStart && time < cachedEnd { return cachedSlot }
        var l = time / widthNs
        switch mode {
        case .adaptive:
            while l >= UInt64(capacity) {
                coarsen()
                l = time / widthNs
            }
        case .streaming:
            if l < base {
                misplaced &+= 1
                if end <= base { end = base + 1 }
                return Int(base % UInt64(capacity)) // no cache: the next record may be on time
            }
            while l >= base + UInt64(capacity) { emitOldest() }
        }
        if l >= end { end = l + 1 }
        let p = Int(l % UInt64(capacity))
        cachedStart = l * widthNs
        cachedEnd = cachedStart &+ widthNs
        if cachedEnd < cachedStart { cachedEnd = .max }
        cachedSlot = p
        return p
    }

    private mutating func invalidateCache() {
        cachedStart = 1
        cachedEnd = 0
    }

    @inline(__always)
    private mutating func record(column c: Int, slot p: Int, value v: UInt64) {
        var k = histIndex[c]
        if k < 0 {
            k = histColumns
            histColumns += 1
            histIndex[c] = k
            histCounts.append(contentsOf: repeatElement(0, count: capacity * BinHistogram.buckets))
            histN.append(contentsOf: repeatElement(0, count: capacity))
            histMin.append(contentsOf: repeatElement(.max, count: capacity))
            histMax.append(contentsOf: repeatElement(0, count: capacity))
        }
        let cell = k * capacity + p
        let b = cell * BinHistogram.buckets + BinHistogram.bucket(v)
        if histCounts[b] != .max { histCounts[b] += 1 }
        histN[cell] &+= 1
        if v < histMin[cell] { histMin[cell] = v }
        if v > histMax[cell] { histMax[cell] = v }
    }

    // MARK: merging and emitting

    /// Adaptive: doubles the width, merging intervals 2j and 2j + 1 into j.
    mutating func coarsen() {
        let n = Int(end)
        let half = (n + 1) / 2
        func merge<T>(_ a: inout [T], _ stride: Int, _ combine: (T, T) -> T, _ zero: T) {
            for j in 0..<half {
                for k in 0..<stride {
                    let lo = (2 * j) * stride + k, hi = (2 * j + 1) * stride + k
                    a[j * stride + k] = 2 * j + 1 < n ? combine(a[lo], a[hi]) : a[lo]
                }
            }
            for j in half..<max(half, n) { for k in 0..<stride { a[j * stride + k] = zero } }
        }
        merge(&ios, Self.slotCount, &+, 0)
        merge(&bytes, Self.slotCount, &+, 0)
        merge(&errors, Self.slotCount, &+, 0)
        merge(&sizes, 3 * Self.sizeClassCount, &+, 0)
        merge(&depthSum, 1, &+, 0)
        merge(&depthCount, 1, &+, 0)
        merge(&depthMax, 1, { Swift.max($0, $1) }, 0)
        let buckets = BinHistogram.buckets
        for k in 0..<histColumns {
            for j in 0..<half {
                let dst = k * capacity + j, a = k * capacity + 2 * j, b = k * capacity + 2 * j + 1
                let two = 2 * j + 1 < n
                for x in 0..<buckets {
                    let ca = histCounts[a * buckets + x]
                    let cb = two ? histCounts[b * buckets + x] : 0
                    let (sum, over) = ca.addingReportingOverflow(cb)
                    histCounts[dst * buckets + x] = over ? .max : sum
                }
                histN[dst] = histN[a] &+ (two ? histN[b] : 0)
                histMin[dst] = two ? Swift.min(histMin[a], histMin[b]) : histMin[a]
                histMax[dst] = two ? Swift.max(histMax[a], histMax[b]) : histMax[a]
            }
            for j in half..<max(half, n) {
                let c = k * capacity + j
                for x in 0..<buckets { histCounts[c * buckets + x] = 0 }
                histN[c] = 0
                histMin[c] = .max
                histMax[c] = 0
            }
        }
        let (w, over) = widthNs.multipliedReportingOverflow(by: 2)
        widthNs = over ? .max : w
        end = UInt64(half)
        invalidateCache()
    }

    /// Adaptive: widens to `width` (this width times a power of two), so that two series
    /// started at the same width can be drawn on one time axis.
    public mutating func coarsen(toWidth width: UInt64) {
        guard case .adaptive = mode else { return }
        while widthNs < width && widthNs < .max / 2 { coarsen() }
    }

    /// Streaming: hands out interval `base` and clears its storage.
    private mutating func emitOldest() {
        let f = figures(base)
        emit?(f)
        clear(slot: Int(base % UInt64(capacity)))
        base += 1
        if end < base { end = base }
        invalidateCache()
    }

    private mutating func clear(slot p: Int) {
        for s in 0..<Self.slotCount {
            ios[p * Self.slotCount + s] = 0
            bytes[p * Self.slotCount + s] = 0
            errors[p * Self.slotCount + s] = 0
        }
        for k in 0..<(3 * Self.sizeClassCount) { sizes[p * 3 * Self.sizeClassCount + k] = 0 }
        depthSum[p] = 0
        depthCount[p] = 0
        depthMax[p] = 0
        for k in 0..<histColumns {
            let c = k * capacity + p
            guard histN[c] > 0 else { continue }
            for x in 0..<BinHistogram.buckets { histCounts[c * BinHistogram.buckets + x] = 0 }
            histN[c] = 0
            histMin[c] = .max
            histMax[c] = 0
        }
    }

    // MARK: reading

    /// Whether any record carried a latency for op slot `s` (or any lateness, for
    /// `latenessColumn`).
    public func hasHistogram(column c: Int) -> Bool { histIndex[c] >= 0 }

    /// The figures of interval `index` (`base ..< end`; an interval outside holds nothing).
    public func figures(_ index: UInt64) -> IntervalFigures {
        let start = index &* widthNs
        var f = IntervalFigures(index: index, startNs: start, endNs: start &+ widthNs < start ? .max : start &+ widthNs)
        guard index >= base && index < base + UInt64(capacity) else { return f }
        let p = Int(index % UInt64(capacity))
        for s in 0..<Self.slotCount {
            let i = p * Self.slotCount + s
            guard ios[i] > 0 else { continue }
            var o = IntervalFigures.OpFigures(op: Self.slotOps[s], ios: ios[i], bytes: bytes[i], errors: errors[i])
            o.latency = percentiles(column: s, slot: p)
            if s < 3 {
                let b = (p * 3 + s) * Self.sizeClassCount
                o.sizes = Array(sizes[b..<(b + Self.sizeClassCount)])
            }
            f.ops.append(o)
        }
        f.depthCount = depthCount[p]
        f.depthMean = depthCount[p] > 0 ? Double(depthSum[p]) / Double(depthCount[p]) : 0
        f.depthMax = depthMax[p]
        f.lateness = percentiles(column: Self.latenessColumn, slot: p)
        return f
    }

    private func percentiles(column c: Int, slot p: Int) -> IntervalPercentiles? {
        let k = histIndex[c]
        guard k >= 0 else { return nil }
        let cell = k * capacity + p
        let n = histN[cell]
        guard n > 0 else { return nil }
        var out = IntervalPercentiles()
        out.count = n
        out.min = histMin[cell]
        out.max = histMax[cell]
        histCounts.withUnsafeBufferPointer { all in
            let h = UnsafeBufferPointer(rebasing: all[(cell * BinHistogram.buckets)..<((cell + 1) * BinHistogram.buckets)])
            out.p50 = BinHistogram.percentile(50, counts: h, n: n, minValue: out.min, maxValue: out.max)
            out.p90 = BinHistogram.percentile(90, counts: h, n: n, minValue: out.min, maxValue: out.max)
            out.p99 = BinHistogram.percentile(99, counts: h, n: n, minValue: out.min, maxValue: out.max)
        }
        return out
    }
}

/// One interval's figures.
public struct IntervalFigures: Sendable {
    public struct OpFigures: Sendable {
        public var op: TraceOp
        /// Records of this op issued in the interval, with a negative result among them, and
        /// their lengths' sum (data ops only).
        public var ios: UInt64
        public var bytes: UInt64
        public var errors: UInt64
        /// Latency percentiles (ns) when the records carry latency.
        public var latency: IntervalPercentiles?
        /// Records per size class (data ops only; see `IntervalSeries.sizeClass`).
        public var sizes: [UInt64]?
    }

    public var index: UInt64
    /// Interval bounds, ns since the trace's start.
    public var startNs: UInt64
    public var endNs: UInt64
    /// Ops with records in the interval, in slot order.
    public var ops: [OpFigures] = []
    /// Records that carried a depth, their mean and largest depth.
    public var depthCount: UInt64 = 0
    public var depthMean: Double = 0
    public var depthMax: UInt32 = 0
    /// Issue lateness (ns) of the replayed I/Os issued in the interval.
    public var lateness: IntervalPercentiles?

    public init(index: UInt64, startNs: UInt64, endNs: UInt64) {
        self.index = index
        self.startNs = startNs
        self.endNs = endNs
    }

    /// The figures of `op`, nil when it has no records here.
    public func op(_ op: TraceOp) -> OpFigures? { ops.first { $0.op == op } }

    public var ios: UInt64 { ops.reduce(0) { $0 &+ $1.ios } }
    public var bytes: UInt64 { ops.reduce(0) { $0 &+ $1.bytes } }
    public var errors: UInt64 { ops.reduce(0) { $0 &+ $1.errors } }

    /// Records per size class over the data ops.
    public var sizes: [UInt64] {
        var out = [UInt64](repeating: 0, count: IntervalSeries.sizeClassCount)
        for o in ops { if let s = o.sizes { for k in 0..<s.count { out[k] &+= s[k] } } }
        return out
    }
}
