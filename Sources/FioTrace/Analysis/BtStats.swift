/// Figures of `BtAnalysis`, named and computed as btt (blktrace's analyser) does.

/// btt's running average of one latency or size: count, total, min and max (ns for
/// latencies). A value of 0 is counted as 1, as btt's `tdelta` does.
public struct BtStat: Sendable, Equatable {
    public private(set) var n: UInt64 = 0
    public private(set) var total: UInt64 = 0
    public private(set) var min: UInt64 = 0
    public private(set) var max: UInt64 = 0

    public init() {}

    @inline(__always) mutating func add(_ v: UInt64) {
        if n == 0 {
            min = v; max = v; total = v
        } else {
            if v < min { min = v }
            if v > max { max = v }
            total &+= v
        }
        n += 1
    }

    mutating func merge(_ o: BtStat) {
        guard o.n > 0 else { return }
        if n == 0 { self = o; return }
        n += o.n
        total &+= o.total
        min = Swift.min(min, o.min)
        max = Swift.max(max, o.max)
    }

    /// Mean (total / n), in the unit of the values.
    public var mean: Double { n > 0 ? Double(total) / Double(n) : 0 }
}

/// The phases of an I/O through the block layer (btt's names), each a `BtStat` of ns:
/// Q2Q between arrivals, Q2G arrival to request allocation, G2I allocation to insertion
/// into the scheduler, Q2M arrival to merge into another request, I2D insertion to issue,
/// M2D merge to issue, D2C issue to completion (the device), Q2C arrival to completion.
/// Devices btt calls remappers (major 9 md, 253 and 254 device-mapper) count their
/// Q2Q and Q2C in `q2qDM` and `q2cDM` instead.
public struct BtPhases: Sendable, Equatable {
    public var q2q = BtStat(), q2g = BtStat(), g2i = BtStat(), q2m = BtStat()
    public var i2d = BtStat(), m2d = BtStat(), d2c = BtStat(), q2c = BtStat()
    public var q2qDM = BtStat(), q2cDM = BtStat()

    public init() {}

    /// (btt's label, figure) in btt's order, the ones with data only.
    public var named: [(String, BtStat)] {
        [("Q2Qdm", q2qDM), ("Q2Cdm", q2cDM), ("Q2Q", q2q), ("Q2G", q2g), ("G2I", g2i), ("Q2M", q2m),
         ("I2D", i2d), ("M2D", m2d), ("D2C", d2c), ("Q2C", q2c)].filter { $0.1.n > 0 }
    }

    mutating func merge(_ o: BtPhases) {
        q2q.merge(o.q2q); q2g.merge(o.q2g); g2i.merge(o.g2i); q2m.merge(o.q2m); i2d.merge(o.i2d)
        m2d.merge(o.m2d); d2c.merge(o.d2c); q2c.merge(o.q2c); q2qDM.merge(o.q2qDM); q2cDM.merge(o.q2cDM)
    }
}

/// Seek distances in sectors between consecutive Qs (or Ds) of a device, btt's way: 0
/// when the two ranges overlap or touch, else the distance from the previous range's
/// end (forward) or start (backward); the first I/O's distance is from sector 0.
public struct BtSeeks: Sendable, Equatable {
    public var count: UInt64 = 0
    /// Sum of the absolute distances, sectors.
    public var totalSectors: Double = 0
    /// The lower median of the absolute distances (the ⌈n/2⌉-th smallest), sectors.
    /// btt prints something else under MEDIAN (it walks its tree in pre-order), so this
    /// is checked against the distances btt lists (`btt -s`), not against its summary.
    public var median: UInt64 = 0
    /// The most frequent absolute distance and how often it occurs (ties: the smallest).
    /// Nil when more than `BtAnalysis.maxDistinctSeeks` distinct distances occurred: the
    /// median then comes from a histogram (3 significant digits) and `exact` is false.
    public var mode: (distance: UInt64, count: UInt64)?
    public var exact = true

    public var mean: Double { count > 0 ? totalSectors / Double(count) : 0 }

    public static func == (a: BtSeeks, b: BtSeeks) -> Bool {
        a.count == b.count && a.totalSectors == b.totalSectors && a.median == b.median
            && a.mode?.distance == b.mode?.distance && a.mode?.count == b.mode?.count && a.exact == b.exact
    }
}

/// A device's figures: phases, btt's merge information (#Q, #D, completed sizes in
/// sectors), front and back merges, seek distances and the average number of requests
/// active when a Q arrives.
public struct BtDevice: Sendable {
    public var device: DeviceNumber
    public var phases = BtPhases()
    /// Qs and Ds btt counted (it counts a D per request, a Q per bio it tracked).
    public var queued: UInt64 = 0
    public var dispatched: UInt64 = 0
    /// Sizes of the completions, sectors.
    public var completedBlocks = BtStat()
    public var backMerges: UInt64 = 0
    public var backMergeBytes: UInt64 = 0
    public var frontMerges: UInt64 = 0
    public var frontMergeBytes: UInt64 = 0
    public var q2qSeeks = BtSeeks()
    public var d2dSeeks = BtSeeks()
    /// Requests active when a Q arrived, summed over the Qs (btt's "Avg Reqs @ Q" is
    /// this over `queued`).
    public var activeAtQ: UInt64 = 0

    /// btt's Q/D ratio (1.0 when there are more Ds than Qs).
    public var mergeRatio: Double { dispatched > 0 ? Swift.max(1, Double(Swift.max(queued, dispatched)) / Double(dispatched)) : 0 }
    public var averageActiveAtQ: Double { queued > 0 ? Double(activeAtQ) / Double(queued) : 0 }
}

/// Phases per process, grouped by command name as btt groups them (the name up to its
/// first `/`, so `kworker/1:0` and `kworker/u8:2` are one `kworker`; the pid's I/O goes
/// to the name its first notify record gave, `pidNNNNNNNNN` before any, `kernel` for 0).
public struct BtProcess: Sendable {
    public var name: String
    public var phases = BtPhases()
}

/// Per-pid counts as `blkparse -s` prints them: every event counted for the pid that
/// traced it (a completion in interrupt context counts for the interrupted task).
/// Bytes are exact (blkparse prints KiB, rounded down).
public struct BtPid: Sendable {
    public var pid: UInt32
    /// The first name the capture gave this pid (blkparse's), `unknown` without one.
    public var name: String
    public var readsQueued: UInt64 = 0, readBytesQueued: UInt64 = 0
    public var writesQueued: UInt64 = 0, writeBytesQueued: UInt64 = 0
    public var readDispatches: UInt64 = 0, readBytesDispatched: UInt64 = 0
    public var writeDispatches: UInt64 = 0, writeBytesDispatched: UInt64 = 0
    public var readsCompleted: UInt64 = 0, readBytesCompleted: UInt64 = 0
    public var writesCompleted: UInt64 = 0, writeBytesCompleted: UInt64 = 0
    public var readMerges: UInt64 = 0, readBytesMerged: UInt64 = 0
    public var writeMerges: UInt64 = 0, writeBytesMerged: UInt64 = 0
    public var requeues: UInt64 = 0
    public var unplugs: UInt64 = 0
    public var timerUnplugs: UInt64 = 0
}
