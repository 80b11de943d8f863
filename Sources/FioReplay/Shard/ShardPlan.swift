import FioTrace

/// Which part of a trace one host replays: shard `index` of `count` (0-based), split by
/// volume (each trace file wholly on one shard) or by offset range (every file split into
/// `count` byte ranges, so every byte has one owner).
public struct ShardSpec: Sendable, Equatable {
    public enum Unit: String, Sendable, CaseIterable {
        /// Whole files (volumes), balanced by data I/O count.
        case volume
        /// Offset ranges of every file, balanced by data I/O count.
        case range
    }
    public var index: Int
    public var count: Int
    public var unit: Unit
    public init(index: Int, count: Int, unit: Unit) {
        self.index = index
        self.count = count
        self.unit = unit
    }
}

/// The assignment every shard computes the same way from the same trace (one streaming pass,
/// deterministic): per trace file its owner (volume) or its range boundaries (range).
/// Memory: one entry per file, plus 4096 offset bins per file in range mode.
public struct ShardPlan: Sendable {
    public var spec: ShardSpec
    /// The trace's whole file table (the pass reads all of it).
    public var files: [TraceFile]
    /// Data I/Os (read, write, trim) per trace file.
    public var ioCount: [UInt64]
    /// Volume mode: the shard each trace file belongs to.
    public var owner: [Int]
    /// Range mode: per trace file `count + 1` byte boundaries; shard k owns
    /// `[bounds[k], bounds[k+1])` (the last one runs to 2^64).
    public var bounds: [[UInt64]]
    /// Data I/Os this shard replays (range mode: after splitting at boundaries).
    public var shardIOs: UInt64 = 0
    /// Data I/Os of every shard (the balance the plan reached).
    public var perShardIOs: [UInt64]

    /// Granularity of range boundaries (bytes): 1 MiB, so that boundaries fall on any
    /// device's block and stripe sizes.
    public static let rangeAlign: UInt64 = 1 << 20
    static let bins = 4096

    /// Whether this shard owns trace file `f` (volume mode; always in range mode).
    public func owns(file f: Int) -> Bool {
        spec.unit == .range || (f < owner.count && owner[f] == spec.index)
    }

    /// Reads `source` to its end and assigns files (or ranges) to shards.
    public static func scan(_ source: inout any TraceSource, spec: ShardSpec) throws -> ShardPlan {
        var counts: [UInt64] = []
        // Range mode: per file an offset histogram of `bins` bins of width 2^shift bytes; a
        // bin past the end doubles the width (pairs merge), so one pass needs no extent.
        var hist: [[UInt64]] = []
        var shift: [Int] = []
        var batch: [TraceRecord] = []
        let range = spec.unit == .range
        while try source.nextBatch(&batch, maxCount: 16384) {
            for r in batch where r.op.isData {
                let f = Int(r.file)
                if f >= counts.count {
                    counts += [UInt64](repeating: 0, count: f + 1 - counts.count)
                    if range {
                        while hist.count <= f { hist.append([UInt64](repeating: 0, count: bins)); shift.append(20) }
                    }
                }
                counts[f] &+= 1
                if range {
                    while (r.offset >> UInt64(shift[f])) >= UInt64(bins) {
                        var h = hist[f]
                        for i in 0..<bins / 2 { h[i] = h[2 * i] &+ h[2 * i + 1] }
                        for i in bins / 2..<bins { h[i] = 0 }
                        hist[f] = h
                        shift[f] += 1
                    }
                    hist[f][Int(r.offset >> UInt64(shift[f]))] &+= 1
                }
            }
        }
        let files = source.files
        if counts.count < files.count { counts += [UInt64](repeating: 0, count: files.count - counts.count) }
        var plan = ShardPlan(spec: spec, files: files, ioCount: counts, owner: [], bounds: [],
                             perShardIOs: [UInt64](repeating: 0, count: spec.count))
        if range {
            for f in 0..<counts.count {
                let h = f < hist.count ? hist[f] : []
                plan.bounds.append(rangeBounds(hist: h, shift: f < shift.count ? shift[f] : 20, total: counts[f], shards: spec.count))
            }
            // Balance as planned (I/Os split at a boundary count once per piece at run time).
            for f in 0..<counts.count {
                let h = f < hist.count ? hist[f] : []
                for (i, c) in h.enumerated() where c > 0 {
                    let lo = UInt64(i) << UInt64(shift[f])
                    plan.perShardIOs[plan.shardOf(file: f, offset: lo)] += c
                }
            }
        } else {
            // Largest first onto the least loaded shard (ties: the lower file, the lower shard).
            plan.owner = [Int](repeating: 0, count: counts.count)
            let order = counts.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
            for f in order {
                var best = 0
                for k in 1..<spec.count where plan.perShardIOs[k] < plan.perShardIOs[best] { best = k }
                plan.owner[f] = best
                plan.perShardIOs[best] += counts[f]
            }
        }
        plan.shardIOs = plan.perShardIOs[spec.index]
        return plan
    }

    /// Boundaries that give each of `shards` ranges about `total / shards` of the I/Os,
    /// on `rangeAlign` bytes.
    static func rangeBounds(hist: [UInt64], shift: Int, total: UInt64, shards: Int) -> [UInt64] {
        var b: [UInt64] = [0]
        var acc: UInt64 = 0
        var next = 1
        for (i, c) in hist.enumerated() {
            acc += c
            while next < shards && total > 0 && acc * UInt64(shards) >= total * UInt64(next) {
                var cut = UInt64(i + 1) << UInt64(shift)
                cut = (cut + rangeAlign - 1) / rangeAlign * rangeAlign
                b.append(max(cut, b.last!))
                next += 1
            }
        }
        // A file without I/O (or too few bins): the remaining shards own empty ranges at the end.
        while b.count < shards { b.append(UInt64.max) }
        b.append(UInt64.max)
        return b
    }

    /// The shard that owns byte `offset` of file `f` (range mode).
    public func shardOf(file f: Int, offset: UInt64) -> Int {
        guard f < bounds.count else { return 0 }
        let b = bounds[f]
        var k = 0
        while k + 1 < spec.count && offset >= b[k + 1] { k += 1 }
        return k
    }

    /// One line for the user: what this shard replays.
    public var summary: String {
        let total = perShardIOs.reduce(0, +)
        switch spec.unit {
        case .volume:
            let mine = owner.indices.filter { owner[$0] == spec.index }
            return "shard \(spec.index)/\(spec.count) by volume: \(mine.count) of \(files.count) files (\(shardIOs) of \(total) I/Os)"
        case .range:
            return "shard \(spec.index)/\(spec.count) by range: offsets [\(bounds.first.map { String($0[spec.index]) } ?? "0"), \(bounds.first.map { $0[spec.index + 1] == .max ? "end" : String($0[spec.index + 1]) } ?? "end")) of file 0 (about \(shardIOs) of \(total) I/Os)"
        }
    }
}
