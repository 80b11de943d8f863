import Glibc
import Histogram

/// Latency statistics for one kind of latency (all values in nanoseconds): exact count,
/// min, max, mean and standard deviation, plus an HdrHistogram (3 significant digits) for
/// percentiles when enabled. Percentiles are computed at report time.
public struct LatencyStat {
    public private(set) var count: UInt64 = 0
    public private(set) var min: UInt64 = .max
    public private(set) var max: UInt64 = 0
    public private(set) var sum: Double = 0
    public private(set) var sumSquares: Double = 0
    /// Whether `histogram` tracks values (a non-optional histogram keeps the record path
    /// free of generic Optional handling).
    public private(set) var tracksPercentiles: Bool
    private var hist: Histogram<UInt64>
    /// The HdrHistogram, when percentiles are tracked.
    public var histogram: Histogram<UInt64>? { tracksPercentiles ? hist : nil }

    /// Largest value a histogram tracks (1 hour in ns); larger values are clamped.
    public static let highestTrackable: UInt64 = 3_600_000_000_000

    public init(percentiles: Bool) {
        tracksPercentiles = percentiles
        hist = percentiles
            ? Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Self.highestTrackable, numberOfSignificantValueDigits: .three)
            : Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 2, numberOfSignificantValueDigits: .zero)
    }

    @inline(__always)
    public mutating func record(_ v: UInt64) {
        count &+= 1
        if v < min { min = v }
        if v > max { max = v }
        let d = Double(v)
        sum += d
        sumSquares += d * d
        if tracksPercentiles {
            hist.record(v < Self.highestTrackable ? v : Self.highestTrackable)
        }
    }

    /// Adds another stat's samples (one stat per thread, merged at the end).
    public mutating func merge(_ o: LatencyStat) {
        guard o.count > 0 else { return }
        count += o.count
        min = Swift.min(min, o.min)
        max = Swift.max(max, o.max)
        sum += o.sum
        sumSquares += o.sumSquares
        if o.tracksPercentiles {
            if tracksPercentiles { hist.add(o.hist) } else { hist = o.hist; tracksPercentiles = true }
        }
    }

    /// Mean in ns (0 when empty).
    public var mean: Double { count == 0 ? 0 : sum / Double(count) }
    /// Sample standard deviation in ns, as fio computes it (n - 1).
    public var stddev: Double { sampleStdDev(count: count, sum: sum, sumSquares: sumSquares) }
    /// Smallest value, 0 when empty.
    public var minValue: UInt64 { count == 0 ? 0 : min }
    /// The value at percentile `p` (0...100) in ns, or nil without a histogram or samples.
    public func percentile(_ p: Double) -> UInt64? {
        guard count > 0, tracksPercentiles else { return nil }
        return hist.valueAtPercentile(p)
    }
    /// Share (0...1) of samples at or below `v` ns; nil without a histogram.
    public func fraction(atOrBelow v: UInt64) -> Double? {
        guard count > 0, tracksPercentiles else { return nil }
        return Double(hist.count(within: 0...v)) / Double(hist.totalCount)
    }

    /// A stat rebuilt from its parts (a shard's report read back by `merge`): `bins` are the
    /// histogram's buckets as (lowest value of the bucket, count); the buckets holding the
    /// smallest and the largest value are recorded at those exact values, so the rebuilt
    /// histogram has the original's buckets, minimum and maximum, and so its percentiles.
    public init(count: UInt64, min: UInt64, max: UInt64, sum: Double, sumSquares: Double, bins: [(UInt64, UInt64)]?) {
        self.init(percentiles: bins != nil)
        self.count = count
        self.min = count > 0 ? min : .max
        self.max = max
        self.sum = sum
        self.sumSquares = sumSquares
        guard let bins, !bins.isEmpty else { return }
        let lo = Swift.min(min, Self.highestTrackable), hi = Swift.min(max, Self.highestTrackable)
        let loBin = hist.lowestEquivalentForValue(lo), hiBin = hist.lowestEquivalentForValue(hi)
        for (v, n) in bins where n > 0 {
            if v == loBin && v == hiBin {
                hist.record(lo, count: n - 1)
                hist.record(hi, count: 1)
            } else if v == loBin {
                hist.record(lo, count: n)
            } else if v == hiBin {
                hist.record(hi, count: n)
            } else {
                hist.record(v, count: n)
            }
        }
    }

    /// The histogram's buckets holding values, as (lowest value of the bucket, count).
    public var bins: [(UInt64, UInt64)] {
        guard tracksPercentiles else { return [] }
        return hist.recordedValues().map { (hist.lowestEquivalentForValue($0.value), UInt64($0.count)) }
    }
}

/// Running statistics of per-interval samples (bandwidth in KiB/s or IOPS).
public struct SampleStat {
    public private(set) var count: UInt64 = 0
    public private(set) var min: Double = .infinity
    public private(set) var max: Double = 0
    public private(set) var sum: Double = 0
    public private(set) var sumSquares: Double = 0
    public init() {}
    public mutating func record(_ v: Double) {
        count += 1
        if v < min { min = v }
        if v > max { max = v }
        sum += v
        sumSquares += v * v
    }
    public var mean: Double { count == 0 ? 0 : sum / Double(count) }
    public var stddev: Double { sampleStdDev(count: count, sum: sum, sumSquares: sumSquares) }
    public var minValue: Double { count == 0 ? 0 : min }
    /// A stat rebuilt from its parts (a shard's report read back by `merge`).
    public init(count: UInt64, min: Double, max: Double, sum: Double, sumSquares: Double) {
        self.count = count
        self.min = count > 0 ? min : .infinity
        self.max = max
        self.sum = sum
        self.sumSquares = sumSquares
    }

    /// fio's group sum of two jobs' samples (its sum_stat with pure_sum): minimums,
    /// maximums and means add (the group's bandwidth is the jobs' together); the deviations
    /// add as independent ones; the sample count is the larger.
    public mutating func addGroupMember(_ o: SampleStat) {
        guard o.count > 0 else { return }
        guard count > 0 else { self = o; return }
        let n = Swift.max(count, o.count)
        let m = mean + o.mean
        let sd = (stddev * stddev + o.stddev * o.stddev).squareRoot()
        min += o.min
        max += o.max
        count = n
        sum = m * Double(n)
        sumSquares = sd * sd * Double(n - 1) + sum * sum / Double(n)
    }
}

/// fio's data directions plus sync, the four objects of its JSON.
public enum StatOp: Int, CaseIterable, Sendable {
    case read = 0, write, trim, sync
    public var fioKey: String { ["read", "write", "trim", "sync"][rawValue] }

    /// Which stat an op counts under (all flavours of sync count as sync); nil for file events.
    @inline(__always) public init?(_ op: TraceOp) {
        switch op {
        case .read: self = .read
        case .write: self = .write
        case .trim: self = .trim
        case .sync, .datasync, .syncFileRange, .syncfs: self = .sync
        default: return nil
        }
    }
}

/// Statistics of one op (fio's per-direction block). Times in ns, sizes in bytes.
public struct OpStats {
    /// Completed I/Os (including failed and short ones).
    public var ios: UInt64 = 0
    /// Bytes transferred (sum of non-negative results).
    public var bytes: UInt64 = 0
    /// I/Os that moved fewer bytes than asked.
    public var shortIOs: UInt64 = 0
    /// I/Os dropped from the trace (`--skip`, `--readonly`).
    public var droppedIOs: UInt64 = 0
    /// Submission latency: start of issue to handed to the kernel (async engines only).
    public var slat: LatencyStat
    /// Completion latency: submitted to completed. Has percentiles.
    public var clat: LatencyStat
    /// Total latency: start of issue to completed.
    public var lat: LatencyStat
    /// Latencies the trace recorded for these I/Os (original run, issue to completion),
    /// when present.
    public var tracedClat: LatencyStat
    /// This run's issue-to-completion latency of the same I/Os (only those with a traced
    /// latency), with percentiles: what `tracedClat` is set against.
    public var replayedLat: LatencyStat
    /// Per-interval bandwidth (KiB/s) and IOPS samples.
    public var bwSamples = SampleStat()
    public var iopsSamples = SampleStat()
    var intervalBytes: UInt64 = 0
    var intervalIOs: UInt64 = 0

    public init(percentiles: Bool, isSync: Bool) {
        slat = LatencyStat(percentiles: false)
        clat = LatencyStat(percentiles: percentiles && !isSync)
        lat = LatencyStat(percentiles: percentiles && isSync)
        tracedClat = LatencyStat(percentiles: percentiles)
        replayedLat = LatencyStat(percentiles: percentiles)
    }

    public mutating func merge(_ o: OpStats) {
        ios += o.ios; bytes += o.bytes; shortIOs += o.shortIOs; droppedIOs += o.droppedIOs
        slat.merge(o.slat); clat.merge(o.clat); lat.merge(o.lat); tracedClat.merge(o.tracedClat)
        replayedLat.merge(o.replayedLat)
        bwSamples.addGroupMember(o.bwSamples)
        iopsSamples.addGroupMember(o.iopsSamples)
    }
}

/// Everything a replay measured. Times in ns, sizes in bytes. One per scheduler thread;
/// `merge` combines them.
public struct ReplayStats {
    public var read: OpStats
    public var write: OpStats
    public var trim: OpStats
    public var sync: OpStats

    /// Issued I/Os by in-flight depth at issue (counting itself): fio's buckets
    /// 1, 2-3, 4-7, 8-15, 16-31, 32-63, >=64.
    public var depthLevels = [UInt64](repeating: 0, count: 7)
    /// Commit batch sizes: 0, 1-4, 5-8, 9-16, 17-32, 33-64, >64 (fio's iodepth_submit).
    public var submitLevels = [UInt64](repeating: 0, count: 7)
    /// Reap batch sizes, same buckets (fio's iodepth_complete).
    public var completeLevels = [UInt64](repeating: 0, count: 7)
    /// Data-op completion latency buckets (fio's latency_ns / latency_us / latency_ms):
    /// counts under 2, 4, 10, 20, 50, 100, 250, 500, 750, 1000 of the unit; ms adds 2000, >=2000.
    public var latencyNs = [UInt64](repeating: 0, count: 10)
    public var latencyUs = [UInt64](repeating: 0, count: 10)
    public var latencyMs = [UInt64](repeating: 0, count: 12)

    /// Issue lateness (actual issue - due), ns; only in original timing.
    public var lateness: LatencyStat
    /// Lateness less any wait for a free slot that ran past the due time (ns): what the
    /// scheduler itself added. Equal to `lateness` when the depth cap never blocked.
    public var schedulerLateness: LatencyStat
    /// I/Os that were still waiting for a free slot (the depth cap) at their due time.
    public var depthBlocked: UInt64 = 0
    /// I/Os issued within 10 us and 100 us of their due time.
    public var within10us: UInt64 = 0
    public var within100us: UInt64 = 0

    /// Monotonic ns at the start and end of the replay.
    public var startNs: UInt64 = 0
    public var endNs: UInt64 = 0
    /// Time of the last record replayed, ns since the trace start, summed over loops
    /// (the trace's own duration at speed 1).
    public var traceDurationNs: UInt64 = 0
    /// Records read from the trace, I/Os issued, records skipped (file events not counted).
    public var recordsRead: UInt64 = 0
    public var issued: UInt64 = 0
    public var skipped: UInt64 = 0
    /// Largest in-flight count observed.
    public var maxInFlight: Int = 0
    /// The first issue (monotonic ns) and its record's trace time (ns); 0 before any.
    public var firstIssueNs: UInt64 = 0
    public var firstIssueTraceNs: UInt64 = 0
    /// Scheduler thread CPU (ns) and the part of the wall time spent spinning (ns).
    public var cpuUserNs: UInt64 = 0
    public var cpuSystemNs: UInt64 = 0
    public var spinNs: UInt64 = 0
    /// Process context switches (voluntary + involuntary) and faults during the run.
    public var contextSwitches: UInt64 = 0
    public var majorFaults: UInt64 = 0
    public var minorFaults: UInt64 = 0

    public init(percentiles: Bool = true) {
        read = OpStats(percentiles: percentiles, isSync: false)
        write = OpStats(percentiles: percentiles, isSync: false)
        trim = OpStats(percentiles: percentiles, isSync: false)
        sync = OpStats(percentiles: percentiles, isSync: true)
        lateness = LatencyStat(percentiles: percentiles)
        schedulerLateness = LatencyStat(percentiles: percentiles)
    }

    /// The stats of one op.
    public subscript(op: StatOp) -> OpStats {
        get {
            switch op {
            case .read: return read
            case .write: return write
            case .trim: return trim
            case .sync: return sync
            }
        }
        _modify {
            switch op {
            case .read: yield &read
            case .write: yield &write
            case .trim: yield &trim
            case .sync: yield &sync
            }
        }
    }

    /// Wall time of the replay in ns.
    public var runtimeNs: UInt64 { endNs > startNs ? endNs - startNs : 0 }
    /// The merged streams' own runtimes added up (ns); 0 before any merge. fio divides a
    /// group's CPU time by this, so a group's usr/sys are per-job averages.
    public var mergedRuntimeNs: UInt64 = 0
    /// What CPU percentages are of (ns).
    public var cpuBaseNs: UInt64 { mergedRuntimeNs > 0 ? mergedRuntimeNs : runtimeNs }

    @inline(__always) static func levelIndex(_ d: Int) -> Int {
        if d >= 64 { return 6 }
        if d <= 1 { return 0 }
        return (Int.bitWidth - 1 - d.leadingZeroBitCount) // 2-3 ->1, 4-7 ->2, ...
    }

    @inline(__always) static func batchIndex(_ n: Int) -> Int {
        if n <= 0 { return 0 }
        if n <= 4 { return 1 }
        if n <= 8 { return 2 }
        if n <= 16 { return 3 }
        if n <= 32 { return 4 }
        if n <= 64 { return 5 }
        return 6
    }

    @inline(__always) mutating func markLatency(_ ns: UInt64) {
        if ns < 1000 {
            latencyNs[Self.bucket10(ns)] += 1
        } else if ns < 1_000_000 {
            latencyUs[Self.bucket10(ns / 1000)] += 1
        } else {
            let ms = ns / 1_000_000
            if ms >= 2000 { latencyMs[11] += 1 } else if ms >= 1000 { latencyMs[10] += 1 } else { latencyMs[Self.bucket10(ms)] += 1 }
        }
    }

    /// fio's bucket for a value below 1000 of a unit: <2, <4, <10, <20, <50, <100, <250, <500, <750, <1000.
    @inline(__always) static func bucket10(_ v: UInt64) -> Int {
        switch v {
        case 0..<2: return 0
        case 2..<4: return 1
        case 4..<10: return 2
        case 10..<20: return 3
        case 20..<50: return 4
        case 50..<100: return 5
        case 100..<250: return 6
        case 250..<500: return 7
        case 500..<750: return 8
        default: return 9
        }
    }

    /// Adds another thread's stats.
    public mutating func merge(_ o: ReplayStats) {
        mergedRuntimeNs = cpuBaseNs + o.cpuBaseNs
        for op in StatOp.allCases { self[op].merge(o[op]) }
        for i in 0..<7 { depthLevels[i] += o.depthLevels[i]; submitLevels[i] += o.submitLevels[i]; completeLevels[i] += o.completeLevels[i] }
        for i in 0..<10 { latencyNs[i] += o.latencyNs[i]; latencyUs[i] += o.latencyUs[i] }
        for i in 0..<12 { latencyMs[i] += o.latencyMs[i] }
        lateness.merge(o.lateness)
        schedulerLateness.merge(o.schedulerLateness)
        depthBlocked += o.depthBlocked
        within10us += o.within10us; within100us += o.within100us
        // A stream that never started (failed at setup) has no times: it must not stretch
        // the group's runtime back to the clock's origin.
        if o.startNs != 0 { startNs = startNs == 0 ? o.startNs : Swift.min(startNs, o.startNs) }
        if o.endNs != 0 { endNs = Swift.max(endNs, o.endNs) }
        traceDurationNs = Swift.max(traceDurationNs, o.traceDurationNs)
        recordsRead += o.recordsRead; issued += o.issued; skipped += o.skipped
        maxInFlight = Swift.max(maxInFlight, o.maxInFlight)
        if o.firstIssueNs != 0 && (firstIssueNs == 0 || o.firstIssueNs < firstIssueNs) {
            firstIssueNs = o.firstIssueNs
            firstIssueTraceNs = o.firstIssueTraceNs
        }
        cpuUserNs += o.cpuUserNs; cpuSystemNs += o.cpuSystemNs; spinNs += o.spinNs
        contextSwitches += o.contextSwitches; majorFaults += o.majorFaults; minorFaults += o.minorFaults
    }
}

// MARK: accounting (called by the scheduler per I/O; no allocation)

extension OpStats {
    /// One completed data I/O (read, write, trim) that returned `result` >= 0 bytes of
    /// `length` asked. `clat`: submit to completion; `lat`: issue to completion; `slat`:
    /// issue to submit (0 for synchronous engines, not recorded); `traced`: the latency
    /// the trace recorded for it (0: none). All ns.
    @inline(__always)
    mutating func account(result: Int64, length: UInt64, clat: UInt64, lat: UInt64, slat: UInt64, traced: UInt64) {
        ios &+= 1
        bytes &+= UInt64(result)
        intervalBytes &+= UInt64(result)
        intervalIOs &+= 1
        if UInt64(result) < length { shortIOs &+= 1 }
        self.clat.record(clat)
        self.lat.record(lat)
        if slat != 0 { self.slat.record(slat) }
        if traced > 0 {
            tracedClat.record(traced)
            replayedLat.record(lat)
        }
    }

    /// One completed sync of any flavour (fio reports sync latency as lat).
    @inline(__always)
    mutating func accountSync(clat: UInt64, lat: UInt64, traced: UInt64) {
        ios &+= 1
        self.lat.record(lat)
        self.clat.record(clat)
        if traced > 0 {
            tracedClat.record(traced)
            replayedLat.record(lat)
        }
    }
}

extension ReplayStats {
    /// A successful completion of `op` at `now`, issued at `startNs` and submitted at
    /// `submitNs` (ns, monotonic).
    @inline(__always)
    mutating func accountCompletion(op: StatOp, result: Int64, length: UInt64, startNs: UInt64, submitNs: UInt64,
                                    now: UInt64, traced: UInt64) {
        let clat = now &- submitNs
        let lat = now &- startNs
        switch op {
        case .read: read.account(result: result, length: length, clat: clat, lat: lat, slat: submitNs &- startNs, traced: traced)
        case .write: write.account(result: result, length: length, clat: clat, lat: lat, slat: submitNs &- startNs, traced: traced)
        case .trim: trim.account(result: result, length: length, clat: clat, lat: lat, slat: submitNs &- startNs, traced: traced)
        case .sync:
            sync.accountSync(clat: clat, lat: lat, traced: traced)
            return
        }
        markLatency(clat)
    }

    /// An issue at in-flight depth `inflight` (counting itself).
    @inline(__always)
    mutating func accountIssue(inflight: Int) {
        issued &+= 1
        if inflight > maxInFlight { maxInFlight = inflight }
        depthLevels[Self.levelIndex(inflight)] &+= 1
    }

    /// A timed issue at `now` of an I/O due at `due`; `slotFreeNs` > `due` when it waited
    /// past its due time for a free slot (then the depth cap, not the scheduler, made it late
    /// until then). Returns the lateness (ns).
    @inline(__always)
    mutating func accountLateness(now: UInt64, due: UInt64, slotFreeNs: UInt64) -> UInt64 {
        let late = now &- due
        lateness.record(late)
        if slotFreeNs > due {
            depthBlocked &+= 1
            schedulerLateness.record(now &- slotFreeNs)
        } else {
            schedulerLateness.record(late)
        }
        if late <= 10_000 { within10us &+= 1 }
        if late <= 100_000 { within100us &+= 1 }
        return late
    }

    /// Closes one bandwidth averaging interval of `elapsedNs` (fio's bwavgtime): a KiB/s
    /// sample per direction that has done I/O.
    mutating func closeBandwidthInterval(elapsedNs: UInt64) {
        guard elapsedNs > 0 else { return }
        let secs = Double(elapsedNs) / 1e9
        for k in 0..<3 { // read, write, trim (a loop over raw values allocates no array)
            let op = StatOp(rawValue: k)!
            guard self[op].ios > 0 else { continue }
            self[op].bwSamples.record(Double(self[op].intervalBytes) / 1024 / secs)
            self[op].intervalBytes = 0
        }
    }

    /// Closes one IOPS averaging interval of `elapsedNs` (fio's iopsavgtime).
    mutating func closeIOPSInterval(elapsedNs: UInt64) {
        guard elapsedNs > 0 else { return }
        let secs = Double(elapsedNs) / 1e9
        for k in 0..<3 {
            let op = StatOp(rawValue: k)!
            guard self[op].ios > 0 else { continue }
            self[op].iopsSamples.record(Double(self[op].intervalIOs) / secs)
            self[op].intervalIOs = 0
        }
    }
}

/// The calling thread's CPU use over a measured window (a run, from the end of its ramp).
struct CPUWindow {
    private var split: (user: UInt64, system: UInt64) = (0, 0)
    private var total: UInt64 = 0
    private var usage = rusage()

    /// Starts (or restarts) the window now.
    mutating func start() {
        split = threadCPUTime()
        total = threadCPUTotal()
        getrusage(__rusage_who_t(1), &usage) // RUSAGE_THREAD: streams run side by side
    }

    /// Ends the window into `stats`: CPU split into user and system in the proportions of
    /// the tick-sampled split (the total is precise), context switches and faults.
    func end(into stats: inout ReplayStats) {
        let cpu1 = threadCPUTime()
        let t = threadCPUTotal() &- total
        let u = Double(cpu1.user &- split.user), sy = Double(cpu1.system &- split.system)
        let userShare = u + sy > 0 ? u / (u + sy) : 1
        stats.cpuUserNs = UInt64(Double(t) * userShare)
        stats.cpuSystemNs = t &- stats.cpuUserNs
        var ru1 = rusage()
        getrusage(__rusage_who_t(1), &ru1)
        let ru0 = usage
        stats.contextSwitches = UInt64(max(0, (ru1.ru_nvcsw + ru1.ru_nivcsw) - (ru0.ru_nvcsw + ru0.ru_nivcsw)))
        stats.majorFaults = UInt64(max(0, ru1.ru_majflt - ru0.ru_majflt))
        stats.minorFaults = UInt64(max(0, ru1.ru_minflt - ru0.ru_minflt))
    }
}

/// Sample standard deviation (n - 1 in the denominator, as fio reports it) from running sums.
func sampleStdDev(count: UInt64, sum: Double, sumSquares: Double) -> Double {
    guard count > 1 else { return 0 }
    let n = Double(count)
    let v = (sumSquares - sum * sum / n) / (n - 1)
    return v > 0 ? v.squareRoot() : 0
}
