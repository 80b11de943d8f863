/// How often each start offset was hit, in bounded memory: what `fit` needs to recognise
/// a zipf, pareto, normal or uniform access pattern.
///
/// Exact while at most `capacity` distinct offsets are seen. Beyond that the table keeps a
/// spatial sample: an offset is counted only when its hash is below a threshold, and the
/// threshold halves (dropping the offsets above it) each time the table fills, so memory
/// stays at `capacity` entries. The sampled offsets' counts are exact; `samplingRate` says
/// which fraction of offsets the sample stands for. A `TopCounter` beside it follows the
/// hottest offsets whether sampled or not (a sample keeps or drops the few blocks that
/// take most hits by chance). Memory: 24 bytes per entry (an open-addressing table at
/// most half full), plus 4096 top counters.
public struct HitTable: Sendable {
    public let capacity: Int
    /// Hits seen, sampled or not.
    public private(set) var totalHits: UInt64 = 0
    /// Hits on the offsets kept (all of them while `samplingRate` is 1).
    public private(set) var sampledHits: UInt64 = 0
    /// An offset is kept when its hash is <= this.
    public private(set) var threshold = UInt64.max
    private var keys: [UInt64]
    private var counts: [UInt32]
    private var used = 0
    private static let empty = UInt64.max
    /// The hottest offsets (Space-Saving over every hit).
    public private(set) var top = TopCounter(capacity: 4096)

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        // Start small and double while filling (to 2 x capacity slots), so that many
        // groups with few offsets each cost little.
        keys = [UInt64](repeating: Self.empty, count: 1024)
        counts = [UInt32](repeating: 0, count: 1024)
    }

    /// The fraction of offsets the table stands for.
    public var samplingRate: Double { threshold == .max ? 1 : Double(threshold) / 0x1p64 }
    /// Distinct offsets kept.
    public var distinct: Int { used }

    @inline(__always)
    static func hash(_ key: UInt64) -> UInt64 {
        var z = key ^ 0x5851_F42D_4C95_7F2D
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }

    /// Counts one hit on `offset`.
    public mutating func add(_ offset: UInt64) {
        totalHits &+= 1
        let key = offset == Self.empty ? offset - 1 : offset
        top.add(key)
        let h = Self.hash(key)
        if h > threshold { return }
        let mask = keys.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let k = keys[i]
            if k == key {
                if counts[i] < UInt32.max { counts[i] += 1 }
                sampledHits &+= 1
                return
            }
            if k == Self.empty { break }
            i = (i + 1) & mask
        }
        keys[i] = key
        counts[i] = 1
        used += 1
        sampledHits &+= 1
        while used > capacity { halve() }
        if used * 2 > keys.count { rehash(size: keys.count * 2) }
    }

    /// Moves every entry into a table of `size` slots.
    private mutating func rehash(size: Int) {
        let oldKeys = keys, oldCounts = counts
        keys = [UInt64](repeating: Self.empty, count: size)
        counts = [UInt32](repeating: 0, count: size)
        let mask = size - 1
        for (k, c) in zip(oldKeys, oldCounts) where k != Self.empty {
            var i = Int(truncatingIfNeeded: Self.hash(k)) & mask
            while keys[i] != Self.empty { i = (i + 1) & mask }
            keys[i] = k
            counts[i] = c
        }
    }

    /// Keeps only the offsets whose hash is at most half the threshold.
    private mutating func halve() {
        threshold = threshold / 2
        let oldKeys = keys, oldCounts = counts
        for i in keys.indices { keys[i] = Self.empty; counts[i] = 0 }
        used = 0
        sampledHits = 0
        let mask = keys.count - 1
        for (k, c) in zip(oldKeys, oldCounts) where k != Self.empty {
            let h = Self.hash(k)
            if h > threshold { continue }
            var i = Int(truncatingIfNeeded: h) & mask
            while keys[i] != Self.empty { i = (i + 1) & mask }
            keys[i] = k
            counts[i] = c
            used += 1
            sampledHits &+= UInt64(c)
        }
    }

    /// Hit counts of the offsets, each with the number of offsets it stands for: while
    /// exact, every offset with weight 1; once sampling, the offsets the top counters
    /// prove hot (count minus error >= max(2, hits / 4096); weight 1, count minus error)
    /// and the other sampled offsets (weight 1 / samplingRate).
    public var weightedCounts: [(offset: UInt64, hits: UInt64, weight: Double)] {
        if threshold == .max { return entries.map { ($0.offset, $0.hits, 1) } }
        let floor = max(2, totalHits / UInt64(top.capacity))
        var heavy: [UInt64: UInt64] = [:]
        for e in top.entries where e.count - e.error >= floor { heavy[e.key] = e.count - e.error }
        var out = heavy.map { (offset: $0.key, hits: $0.value, weight: 1.0) }
        let w = 1 / samplingRate
        for e in entries where heavy[e.offset] == nil { out.append((e.offset, e.hits, w)) }
        return out
    }

    /// (offset, hits) of every offset kept, in no particular order.
    public var entries: [(offset: UInt64, hits: UInt64)] {
        var out: [(UInt64, UInt64)] = []
        out.reserveCapacity(used)
        for (k, c) in zip(keys, counts) where k != Self.empty { out.append((k, UInt64(c))) }
        return out
    }
}
