/// What a workload looks like, gathered in one streaming pass over the records of one
/// scope (a whole trace, or one file or stream of it): the figures `compare` sets side by
/// side and `fit` turns into a fio job.
///
/// Memory is bounded whatever the trace's length: counters, `LogHistogram`s (15 KiB at
/// most each), a `Timeline` (4096 buckets), a reuse-distance tracker of `reuseCapacity`
/// blocks, the footprint bitmap (4 KiB per 128 MiB of address space touched), a hit table
/// of `hitCapacity` offsets when fitting, and one last-end offset per file touched.
public struct ScopeProfile {
    public struct OpStats: Sendable, Equatable {
        public var count: UInt64 = 0
        /// Bytes over offset/length (0 for syncs and file events).
        public var bytes: UInt64 = 0
    }

    /// Most distinct block sizes kept per op; more are counted in `otherSizes`.
    public static let maxSizes = 4096

    public private(set) var records: UInt64 = 0
    /// Counters indexed by `TraceOp.rawValue`.
    public private(set) var ops = [OpStats](repeating: OpStats(), count: 16)
    /// Block size (bytes) -> I/Os, per data op (read, write, trim).
    public private(set) var blockSizes: [[UInt64: UInt64]] = [[:], [:], [:]]
    /// I/Os whose size did not fit in `blockSizes` (more than `maxSizes` distinct sizes).
    public private(set) var otherSizes: UInt64 = 0
    /// Smallest and largest record time, ns.
    public private(set) var firstTime = UInt64.max
    public private(set) var lastTime: UInt64 = 0
    /// Times of the first and last data I/O, ns.
    public private(set) var firstDataTime = UInt64.max
    public private(set) var lastDataTime: UInt64 = 0
    /// Data I/Os that start where the previous data I/O of this scope on the same file ended.
    public private(set) var sequential: UInt64 = 0
    public let footprint = Footprint()
    /// Reuse distances of 4 KiB blocks (see `ReuseDistanceTracker`).
    public private(set) var reuse: ReuseDistanceTracker
    /// Gaps between consecutive data I/Os, ns.
    public private(set) var interArrival = LogHistogram()
    /// Completion latency (issue to completion) per data op and for syncs, ns.
    public private(set) var latency = [LogHistogram](repeating: LogHistogram(), count: 4)
    /// Recorded in-flight depth at issue.
    public private(set) var depth = LogHistogram()
    /// Data I/Os over time.
    public private(set) var timeline = Timeline()
    /// Lengths (in I/Os) of sequential runs: a run is a data I/O followed by the I/Os that
    /// each start where the one before ended.
    public private(set) var runLengths = LogHistogram()
    /// Writes between consecutive syncs: [0] fsync, [1] fdatasync.
    public private(set) var writesPerSync = [LogHistogram](repeating: LogHistogram(), count: 2)
    /// Per-I/O start offsets' hits (only when profiling for `fit`).
    public private(set) var hits: HitTable?
    /// Lowest data offset and highest data end, bytes.
    public private(set) var minOffset = UInt64.max
    public private(set) var maxEnd: UInt64 = 0
    /// OR of every data offset: its trailing zeros are the offsets' common alignment.
    public private(set) var offsetBits: UInt64 = 0
    /// Data I/Os carrying each flag: [direct, fua, preflush, sync].
    public private(set) var flagCounts = [UInt64](repeating: 0, count: 4)
    /// Files and streams seen (the first few; `files.count` says how many up to the cap).
    public private(set) var files: [UInt32] = []
    public private(set) var streams: [UInt32] = []
    static let maxListed = 256
    /// Open-loop test: per direction, the online least-squares fit of issue time against
    /// bytes issued so far in that direction (see `RateFit`).
    public private(set) var rateFits = [RateFit](repeating: RateFit(), count: 3)
    /// Time not covered by any earlier I/O of the scope (issue after every earlier
    /// completion), summed over data I/Os, ns; only when latencies are recorded.
    public private(set) var idleTime: UInt64 = 0
    /// Data I/Os longer than `maxFootprintIO`, left out of `footprint`.
    public private(set) var hugeIOs: UInt64 = 0
    public static let maxFootprintIO: UInt64 = 1 << 30
    public private(set) var latencyRecords: UInt64 = 0
    private var busyUntil: UInt64 = 0

    private var lastEnd: [UInt32: UInt64] = [:]
    private var cacheFile = UInt32.max
    private var cacheEnd = UInt64.max
    private var haveData = false
    private var prevDataTime: UInt64 = 0
    private var runLength: UInt64 = 0
    private var writesSinceSync: UInt64 = 0
    private var bytesByDir: [UInt64] = [0, 0, 0]

    public init(reuseCapacity: Int, hitCapacity: Int? = nil) {
        reuse = ReuseDistanceTracker(capacity: reuseCapacity)
        if let h = hitCapacity { hits = HitTable(capacity: h) }
    }

    public var dataIOs: UInt64 { ops[0].count &+ ops[1].count &+ ops[2].count }
    public var dataBytes: UInt64 { ops[0].bytes &+ ops[1].bytes &+ ops[2].bytes }
    /// First to last record, ns.
    public var duration: UInt64 { records == 0 ? 0 : lastTime - firstTime }
    /// First to last data I/O, ns.
    public var dataDuration: UInt64 { dataIOs == 0 ? 0 : lastDataTime - firstDataTime }
    public var readShare: Double { dataIOs > 0 ? Double(ops[0].count) / Double(dataIOs) : 0 }
    public var readBytesShare: Double { dataBytes > 0 ? Double(ops[0].bytes) / Double(dataBytes) : 0 }
    public var sequentialShare: Double { dataIOs > 0 ? Double(sequential) / Double(dataIOs) : 0 }
    /// Cold (first) accesses as a share of all 4 KiB block accesses.
    public var coldShare: Double {
        let all = reuse.cold + reuse.distances.total
        return all > 0 ? reuse.cold / all : 0
    }
    /// Block sizes over all data ops.
    public var allBlockSizes: [UInt64: UInt64] {
        var m: [UInt64: UInt64] = [:]
        for d in blockSizes { m.merge(d, uniquingKeysWith: +) }
        return m
    }

    public mutating func add(_ r: TraceRecord) {
        records &+= 1
        let o = Int(r.op.rawValue)
        ops[o].count &+= 1
        if r.time < firstTime { firstTime = r.time }
        if r.time > lastTime { lastTime = r.time }
        if r.op.isFileEvent { return }
        if let d = r.depth { depth.record(UInt64(d)) }
        if let s = r.stream, streams.count < Self.maxListed, !streams.contains(s) { streams.append(s) }
        if files.count < Self.maxListed, !files.contains(r.file) { files.append(r.file) }
        guard o <= 2 else {
            if r.op.isSync, let l = r.latency { latency[3].record(l) }
            if r.op == .sync || r.op == .datasync {
                writesPerSync[r.op == .sync ? 0 : 1].record(writesSinceSync)
                writesSinceSync = 0
            }
            return
        }
        ops[o].bytes &+= r.length
        if blockSizes[o][r.length] != nil || blockSizes[o].count < Self.maxSizes {
            blockSizes[o][r.length, default: 0] += 1
        } else {
            otherSizes &+= 1
        }
        if o == 1 { writesSinceSync &+= 1 }
        // Sequential: per file, the end of this scope's previous data I/O.
        let prevEnd: UInt64
        if r.file == cacheFile {
            prevEnd = cacheEnd
        } else {
            if cacheFile != .max { lastEnd[cacheFile] = cacheEnd }
            prevEnd = lastEnd[r.file] ?? .max
            cacheFile = r.file
        }
        let end = r.offset &+ r.length
        cacheEnd = end
        if prevEnd == r.offset {
            sequential &+= 1
            runLength &+= 1
        } else {
            if runLength > 0 { runLengths.record(runLength) }
            runLength = 1
        }
        // The footprint bitmap grows with the address range marked: an I/O of more than
        // 1 GiB (garbage, in practice) could take gigabytes and minutes, so it is counted
        // aside (the reuse tracker stops at an I/O's first 16 MiB).
        if r.length <= Self.maxFootprintIO {
            footprint.add(file: r.file, offset: r.offset, length: r.length)
        } else {
            hugeIOs &+= 1
        }
        reuse.access(file: r.file, offset: r.offset, length: r.length)
        hits?.add(r.offset)
        if r.offset < minOffset { minOffset = r.offset }
        if end > maxEnd { maxEnd = end }
        offsetBits |= r.offset
        if r.flags.contains(.direct) { flagCounts[0] &+= 1 }
        if r.flags.contains(.fua) { flagCounts[1] &+= 1 }
        if r.flags.contains(.preflush) { flagCounts[2] &+= 1 }
        if r.flags.contains(.sync) { flagCounts[3] &+= 1 }
        if haveData {
            interArrival.record(r.time >= prevDataTime ? r.time - prevDataTime : prevDataTime - r.time)
        } else {
            firstDataTime = r.time
        }
        haveData = true
        prevDataTime = r.time
        if r.time < firstDataTime { firstDataTime = r.time }
        if r.time > lastDataTime { lastDataTime = r.time }
        timeline.add(time: r.time)
        bytesByDir[o] &+= r.length
        rateFits[o].add(bytesBefore: bytesByDir[o] &- r.length, time: r.time)
        if let l = r.latency {
            latency[o].record(l)
            latencyRecords &+= 1
            if r.time > busyUntil && latencyRecords > 1 { idleTime &+= r.time - busyUntil }
            busyUntil = max(busyUntil, r.time &+ l)
        }
    }

    /// Call once after the last record: closes the open sequential run.
    public mutating func finish() {
        if runLength > 0 { runLengths.record(runLength) }
        runLength = 0
    }
}

/// An online least-squares line of issue time (ns) against bytes issued before the I/O:
/// a linear-rate workload (fio's `rate=`) lies on it, so the residuals are small next to
/// the mean gap. Centered (Welford) updates keep it exact for nanosecond times.
public struct RateFit: Sendable, Equatable {
    public private(set) var n: Double = 0
    private var meanX = 0.0, meanY = 0.0
    private var sxx = 0.0, syy = 0.0, sxy = 0.0

    public init() {}

    public mutating func add(bytesBefore x: UInt64, time y: UInt64) {
        n += 1
        let dx = Double(x) - meanX, dy = Double(y) - meanY
        meanX += dx / n
        meanY += dy / n
        sxx += dx * (Double(x) - meanX)
        syy += dy * (Double(y) - meanY)
        sxy += dx * (Double(y) - meanY)
    }

    /// ns per byte of the fitted line.
    public var slope: Double { sxx > 0 ? sxy / sxx : 0 }
    /// Root mean square distance of the times from the line, ns.
    public var residual: Double {
        guard n > 2, sxx > 0 else { return 0 }
        return max(0, (syy - sxy * sxy / sxx) / n).squareRoot()
    }
}

/// How records are split into scopes.
public enum ProfileGrouping: String, Sendable, CaseIterable {
    /// The whole trace only.
    case none
    /// One scope per file.
    case file
    /// One scope per stream (records without one share a scope).
    case stream
    /// One scope per (stream, file) pair: what `fit` turns into one fio job each.
    case streamFile = "stream-file"

    @inline(__always)
    func key(_ r: TraceRecord) -> UInt64 {
        switch self {
        case .none: 0
        case .file: UInt64(r.file)
        case .stream: UInt64(r.stream ?? .max)
        case .streamFile: UInt64(r.stream ?? .max) << 32 | UInt64(r.file)
        }
    }
}

/// A whole-trace profile and one per group, in the groups' order of first appearance.
/// At most `maxGroups` groups get their own profile; the records of later groups are
/// counted in `overflowRecords` (and in the whole-trace profile).
public struct ProfileSet {
    public static let maxGroups = 64
    public let grouping: ProfileGrouping
    public private(set) var whole: ScopeProfile
    public private(set) var groups: [ScopeProfile] = []
    /// Each group's key: file index, stream id (UInt32.max: no stream), or stream << 32 | file.
    public private(set) var keys: [UInt64] = []
    public private(set) var overflowRecords: UInt64 = 0
    public private(set) var overflowGroups = 0
    private var index: [UInt64: Int] = [:]
    private var lastKey = UInt64.max
    private var lastGroup = -1
    private let groupReuse: Int
    private let groupHits: Int?

    /// `fitting` adds a hit table per group (for `fit`'s distribution fit).
    public init(grouping: ProfileGrouping, fitting: Bool = false) {
        self.grouping = grouping
        whole = ScopeProfile(reuseCapacity: 1 << 16)
        groupReuse = 1 << 13
        groupHits = fitting ? 1 << 17 : nil
    }

    public mutating func add(_ batch: UnsafeBufferPointer<TraceRecord>) {
        for r in batch {
            whole.add(r)
            if grouping == .none { continue }
            let k = grouping.key(r)
            var g: Int
            if k == lastKey {
                g = lastGroup
            } else if let i = index[k] {
                g = i
            } else if groups.count < Self.maxGroups {
                // A group starts with its first data I/O or sync (file events alone make none).
                if r.op.isFileEvent { continue }
                g = groups.count
                groups.append(ScopeProfile(reuseCapacity: groupReuse, hitCapacity: groupHits))
                keys.append(k)
                index[k] = g
            } else {
                g = -1
                if !r.op.isFileEvent && index[k] == nil {
                    index[k] = -1
                    overflowGroups += 1
                }
            }
            lastKey = k
            lastGroup = g
            if g >= 0 { groups[g].add(r) } else { overflowRecords += 1 }
        }
    }

    public mutating func finish() {
        whole.finish()
        for i in groups.indices { groups[i].finish() }
    }

    /// Profiles a whole source. Memory: one batch plus the profiles.
    public static func of(_ source: inout any TraceSource, grouping: ProfileGrouping, fitting: Bool = false,
                          batchSize: Int = 65536) throws -> ProfileSet {
        var p = ProfileSet(grouping: grouping, fitting: fitting)
        var batch: [TraceRecord] = []
        batch.reserveCapacity(batchSize)
        while try source.nextBatch(&batch, maxCount: batchSize) {
            batch.withUnsafeBufferPointer { p.add($0) }
        }
        p.finish()
        return p
    }
}
