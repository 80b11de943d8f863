import FioTrace
import Foundation

/// Per-interval figures of a run (the time series behind `--write-timeseries`, fio's
/// bw/iops/lat logs and an HTML report): per op the I/Os, bytes and latency percentiles
/// completed in each interval, and per interval the depth at issue and the issue lateness.
/// Intervals are counted from the run's start; an I/O belongs to the interval its
/// completion (latency, bytes) or its issue (depth, lateness) falls in. Memory: a few
/// small histograms; every closed interval goes to the `TimeSeriesWriter` at once.
public struct IntervalSampler: ReplayTap {
    /// Interval length (ns).
    public let intervalNs: UInt64
    let writer: TimeSeriesWriter
    /// The job or stream the samples are labelled with.
    let job: String
    private var startNs: UInt64 = 0
    private var index: UInt64 = 0
    private var boundary: UInt64 = .max
    private var ops: [OpAccumulator]
    private var issued: UInt64 = 0
    private var depthSum: UInt64 = 0
    private var depthMax: UInt32 = 0
    private var late = CoarseHistogram()
    private var lateOver100us: UInt64 = 0
    private var started = false
    /// Rows of the interval being emitted: reused, so closing an interval allocates nothing
    /// on the scheduler's thread (where a malloc could wait for another thread's lock).
    private var rows: [TimeSeriesRow] = []

    struct OpAccumulator {
        var ios: UInt64 = 0
        var bytes: UInt64 = 0
        var errors: UInt64 = 0
        var latency = CoarseHistogram()
        mutating func reset() { ios = 0; bytes = 0; errors = 0; latency.reset() }
    }

    public init(intervalNs: UInt64, job: String, writer: TimeSeriesWriter) {
        self.intervalNs = max(1_000_000, intervalNs)
        self.job = job
        self.writer = writer
        ops = Array(repeating: OpAccumulator(), count: StatOp.allCases.count)
        rows.reserveCapacity(StatOp.allCases.count + 1)
    }

    public mutating func start(at ns: UInt64) {
        startNs = ns
        boundary = ns &+ intervalNs
        started = true
    }

    @inline(__always)
    public mutating func willSubmit(_ slot: UnsafeMutablePointer<IOSlot>) {
        let t = slot.pointee.startNs
        if t >= boundary { close(upTo: t) }
        issued &+= 1
        depthSum &+= UInt64(slot.pointee.depth)
        if slot.pointee.depth > depthMax { depthMax = slot.pointee.depth }
        let due = slot.pointee.dueNs
        if due != 0 {
            let l = t &- due
            late.record(t > due ? l : 0)
            if t > due && l > 100_000 { lateOver100us &+= 1 }
        }
    }

    @inline(__always)
    public mutating func didComplete(_ slot: UnsafeMutablePointer<IOSlot>, now: UInt64) {
        if now >= boundary { close(upTo: now) }
        guard let op = StatOp(slot.pointee.op) else { return }
        let res = slot.pointee.result
        if res < 0 { ops[op.rawValue].errors &+= 1; return }
        ops[op.rawValue].ios &+= 1
        if op != .sync { ops[op.rawValue].bytes &+= UInt64(res) }
        ops[op.rawValue].latency.record(now &- slot.pointee.startNs)
    }

    public mutating func didCancel(_ slot: UnsafeMutablePointer<IOSlot>) {}

    public mutating func tick(now: UInt64, final: Bool) {
        guard started else { return }
        if now >= boundary { close(upTo: now) }
        // The last, partial interval is kept (unlike fio's averages) so the series adds up
        // to the run's totals.
        if final && now > boundary &- intervalNs { emit(endNs: now) }
    }

    /// Closes every interval that ended at or before `t`.
    private mutating func close(upTo t: UInt64) {
        while boundary <= t {
            emit(endNs: boundary)
            boundary &+= intervalNs
        }
    }

    private mutating func emit(endNs: UInt64) {
        let begin = boundary &- intervalNs
        rows.removeAll(keepingCapacity: true)
        var total = TimeSeriesRow(job: job, interval: index, startNs: begin &- startNs, endNs: endNs &- startNs, op: "all")
        for k in 0..<4 {
            guard let op = StatOp(rawValue: k) else { continue }
            let a = ops[k]
            total.ios += a.ios
            total.bytes += a.bytes
            total.errors += a.errors
            guard a.ios > 0 || a.errors > 0 else { continue }
            var r = TimeSeriesRow(job: job, interval: index, startNs: total.startNs, endNs: total.endNs, op: op.fioKey)
            r.ios = a.ios
            r.bytes = a.bytes
            r.errors = a.errors
            r.latency = a.latency.summary()
            rows.append(r)
            ops[k].reset()
        }
        total.issued = issued
        total.depthMean = issued > 0 ? Double(depthSum) / Double(issued) : 0
        total.depthMax = depthMax
        total.lateness = late.summary()
        total.lateOver100us = lateOver100us
        rows.append(total)
        writer.append(rows)
        issued = 0; depthSum = 0; depthMax = 0; lateOver100us = 0
        late.reset()
        index += 1
    }
}

/// A latency histogram for one interval: log2 buckets with 16 linear sub-buckets each
/// (values within 1/16 = 6.25 % of a bucket's lower bound share it; reported values are
/// the bucket's midpoint, within 3.2 % of the true value). 4 KiB, cleared per interval.
struct CoarseHistogram {
    private var counts = [UInt32](repeating: 0, count: 64 * 16)
    private(set) var count: UInt64 = 0
    private(set) var min: UInt64 = .max
    private(set) var max: UInt64 = 0

    @inline(__always) static func bucket(_ v: UInt64) -> Int {
        if v < 16 { return Int(v) }
        let e = 63 - v.leadingZeroBitCount // >= 4
        let sub = Int((v >> UInt64(e - 4)) & 15)
        return (e - 3) * 16 + sub
    }

    /// The midpoint of bucket `b` (ns).
    static func value(_ b: Int) -> UInt64 {
        if b < 16 { return UInt64(b) }
        let e = b / 16 + 3, sub = UInt64(b % 16)
        let lo = (16 + sub) << UInt64(e - 4)
        return lo + (UInt64(1) << UInt64(e - 4)) / 2
    }

    /// Empties it in place (no allocation).
    mutating func reset() {
        guard count > 0 else { return }
        counts.withUnsafeMutableBufferPointer { p in _ = p.initialize(repeating: 0) }
        count = 0
        min = .max
        max = 0
    }

    @inline(__always) mutating func record(_ v: UInt64) {
        counts[Self.bucket(v)] &+= 1
        count &+= 1
        if v < min { min = v }
        if v > max { max = v }
    }

    /// min, p50, p90, p99 and max (ns); zeros when empty.
    func summary() -> LatencySummary {
        guard count > 0 else { return LatencySummary() }
        let targets: [Double] = [0.50, 0.90, 0.99]
        var out = [UInt64](repeating: 0, count: 3)
        var k = 0
        var seen: UInt64 = 0
        for (b, c) in counts.enumerated() where c > 0 {
            seen += UInt64(c)
            while k < 3 && Double(seen) >= targets[k] * Double(count) {
                out[k] = Swift.min(Swift.max(Self.value(b), min), max)
                k += 1
            }
            if k == 3 { break }
        }
        return LatencySummary(count: count, min: min, p50: out[0], p90: out[1], p99: out[2], max: max)
    }
}

/// Percentile summary of one interval's values (ns): the same figures the trace's own
/// time series (`IntervalSeries`) reports.
public typealias LatencySummary = IntervalPercentiles

/// One line of a time series: one op (or `all`) in one interval of one job.
public struct TimeSeriesRow: Sendable, Equatable {
    public var job: String
    public var interval: UInt64
    /// Interval bounds, ns since the run's start.
    public var startNs: UInt64
    public var endNs: UInt64
    /// read, write, trim, sync, or all (every op; the only row with depth and lateness).
    public var op: String
    /// Completed I/Os and bytes (failed I/Os count in `errors` only).
    public var ios: UInt64 = 0
    public var bytes: UInt64 = 0
    public var errors: UInt64 = 0
    /// Issue to completion latency of the I/Os completed here (ns).
    public var latency = LatencySummary()
    /// `all` rows: I/Os issued here, their mean and largest in-flight depth at issue, and
    /// their issue lateness (ns; timed runs only) with the count later than 100 µs.
    public var issued: UInt64 = 0
    public var depthMean: Double = 0
    public var depthMax: UInt32 = 0
    public var lateness = LatencySummary()
    public var lateOver100us: UInt64 = 0

    init(job: String, interval: UInt64, startNs: UInt64, endNs: UInt64, op: String) {
        self.job = job
        self.interval = interval
        self.startNs = startNs
        self.endNs = endNs
        self.op = op
    }

    /// The CSV header `csvLine` matches.
    public static let csvHeader = "job,interval,start_ns,end_ns,op,ios,bytes,errors,iops,bw_kib_s,lat_min_ns,lat_p50_ns,lat_p90_ns,lat_p99_ns,lat_max_ns,issued,depth_mean,depth_max,late_p50_ns,late_p99_ns,late_max_ns,late_over_100us"

    public var csvLine: String {
        let secs = Double(endNs &- startNs) / 1e9
        let iops = secs > 0 ? Double(ios) / secs : 0
        let bw = secs > 0 ? Double(bytes) / 1024 / secs : 0
        let l = latency, t = lateness
        let fields: [String] = [
            csvField(job), String(interval), String(startNs), String(endNs), op, String(ios), String(bytes), String(errors),
            String(format: "%.1f", iops), String(format: "%.1f", bw),
            String(l.min), String(l.p50), String(l.p90), String(l.p99), String(l.max),
            String(issued), String(format: "%.2f", depthMean), String(depthMax),
            String(t.p50), String(t.p99), String(t.max), String(lateOver100us),
        ]
        return fields.joined(separator: ",")
    }
}

/// A job name as one CSV field (quoted when it holds a comma or quote).
func csvField(_ s: String) -> String {
    guard s.contains(",") || s.contains("\"") || s.contains("\n") else { return s }
    return "\"" + s.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
}
