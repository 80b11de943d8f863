/// Everything `fio-replay report` draws of one trace, gathered in one streaming pass:
/// `info`'s summary, the per-interval series (adaptive width, at most `maxIntervals`
/// intervals), offset heat maps, and the whole trace's latency distribution per op.
/// Memory is fixed: the series' arrays, 16 heat maps of 256 KiB, a few histograms.
public struct TraceTimeProfile {
    public private(set) var summary = TraceSummary()
    public var series: IntervalSeries
    public private(set) var heat: OffsetHeatMaps
    /// Latency (ns) of read, write, trim and the sync ops together, when recorded.
    public private(set) var latency = [LogHistogram](repeating: LogHistogram(), count: 4)
    /// Recorded in-flight depth at issue.
    public private(set) var depth = LogHistogram()
    /// The file table as last seen.
    public private(set) var files: [TraceFile] = []
    /// The time axis of the series and heat maps is the trace's time divided by this (a
    /// trace drawn beside its replay at `--speed X` is drawn on the replay's schedule);
    /// the summary keeps the trace's own times.
    public let timeDivisor: Double
    private var scaled: [TraceRecord] = []

    /// The latency histogram index of `op` (read 0, write 1, trim 2, syncs 3; nil otherwise).
    @inline(__always)
    public static func latencyIndex(_ op: TraceOp) -> Int? {
        if op.isData { return Int(op.rawValue) }
        return op.isSync ? 3 : nil
    }

    public static let latencyLabels = ["read", "write", "trim", "sync"]

    /// `intervalNs`: the starting interval (it doubles while the trace is longer than
    /// `maxIntervals` of it). Heat map columns start at 1 µs and double on their own, so a
    /// map spans 128 to 256 columns of any trace longer than 256 µs.
    public init(intervalNs: UInt64, maxIntervals: Int, timeDivisor: Double = 1) {
        series = IntervalSeries(widthNs: intervalNs, mode: .adaptive(maxBins: maxIntervals))
        heat = OffsetHeatMaps(columnNs: 1_000)
        self.timeDivisor = timeDivisor > 0 && timeDivisor.isFinite ? timeDivisor : 1
    }

    public mutating func add(_ batch: UnsafeBufferPointer<TraceRecord>, files: [TraceFile]) {
        if files.count != self.files.count { self.files = files }
        summary.add(batch)
        if timeDivisor == 1 {
            series.add(batch)
            heat.add(batch, files: files)
        } else {
            // The same rounding as the replay's schedule and `ReplayMatcher`: time / speed, truncated.
            let inverse = 1 / timeDivisor
            scaled.removeAll(keepingCapacity: true)
            for var r in batch {
                r.time = UInt64(Double(r.time) * inverse)
                scaled.append(r)
            }
            scaled.withUnsafeBufferPointer { b in
                series.add(b)
                heat.add(b, files: files)
            }
        }
        for r in batch {
            if let l = r.latency, let i = Self.latencyIndex(r.op) { latency[i].record(l) }
            if let d = r.depth { depth.record(UInt64(d)) }
        }
    }

    /// Call once after the last batch.
    public mutating func finish(files: [TraceFile]) {
        self.files = files
        summary.finish()
        series.finish()
    }

    /// Whether any record carried a latency, or a depth.
    public var hasLatency: Bool { latency.contains { !$0.isEmpty } }
    public var hasDepth: Bool { !depth.isEmpty }
}
