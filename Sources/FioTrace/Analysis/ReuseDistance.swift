/// LRU stack (reuse) distances of block accesses in bounded memory: SHARDS (Waldspurger et
/// al., FAST '15), fixed-size variant.
///
/// Each access to a 4 KiB block gets the number of *other* distinct blocks accessed since
/// that block's previous access (0: re-accessed at once), or counts as cold (first access).
/// Blocks are sampled by a hash of their number: a block is tracked when its 24-bit hash is
/// below `threshold`, so every access of a sampled block is seen and distances among
/// sampled blocks, divided by the sampling rate R, estimate true distances. While at most
/// `capacity` distinct blocks have been seen, R = 1 and every distance is exact. When more
/// come, the block with the highest hash is dropped and the threshold lowered to it, so
/// memory stays at `capacity` entries whatever the trace's length or footprint.
///
/// Error once sampling: the SHARDS paper reports a mean absolute error of about 0.01 in
/// miss-ratio curves with 8K sampled blocks; a distance is exact up to the sampling noise
/// of the distinct blocks between the two accesses (relative standard error about
/// 1/sqrt(R × distance)). Each sampled access weighs 1/R in the histograms.
///
/// Memory: about 60 bytes per tracked block (dictionary, heap, and a Fenwick tree over
/// 4 × capacity time slots).
public struct ReuseDistanceTracker: Sendable {
    /// Most distinct blocks tracked at once.
    public let capacity: Int
    /// log2 of the block size in bytes.
    public static let blockShift: UInt64 = 12
    /// Blocks of one I/O that count as accesses (16 MiB).
    public static let maxBlocksPerIO: UInt64 = 4096
    static let hashRange: UInt32 = 1 << 24
    /// A block is tracked when its 24-bit hash is below this.
    public private(set) var threshold: UInt32 = ReuseDistanceTracker.hashRange
    /// Reuse distances in blocks, each access weighing 1/R.
    public private(set) var distances = LogHistogram()
    /// First accesses (weighted like `distances`).
    public private(set) var cold: Double = 0

    private struct Entry: Sendable {
        var slot: Int
        let hash: UInt32
    }
    private var entries: [UInt64: Entry] = [:]
    /// Max-heap of (hash, block) of the tracked blocks.
    private var heap: [(hash: UInt32, key: UInt64)] = []
    /// Fenwick tree over time slots: 1 where a tracked block's last access is.
    private var tree: [Int32]
    private var nextSlot = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        tree = [Int32](repeating: 0, count: 4 * capacity + 1)
    }

    /// The fraction of blocks tracked: 1 until more than `capacity` distinct blocks came.
    public var samplingRate: Double { Double(threshold) / Double(Self.hashRange) }
    /// Distinct blocks tracked now.
    public var tracked: Int { entries.count }

    @inline(__always)
    static func hash24(_ key: UInt64) -> UInt32 {
        var z = key &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return UInt32(truncatingIfNeeded: z >> 40)
    }

    /// The key of block `offset >> 12` of `file`.
    @inline(__always)
    public static func key(file: UInt32, block: UInt64) -> UInt64 {
        UInt64(file) << 48 ^ (block & 0xFFFF_FFFF_FFFF)
    }

    /// Records accesses to every 4 KiB block of [offset, offset + length) of `file`.
    public mutating func access(file: UInt32, offset: UInt64, length: UInt64) {
        let first = offset >> Self.blockShift
        let (last, wrapped) = offset.addingReportingOverflow(length)
        let end = length == 0 ? first + 1
            : wrapped ? UInt64.max >> Self.blockShift : (last >> Self.blockShift) + (last & ((1 << Self.blockShift) - 1) != 0 ? 1 : 0)
        var b = first
        // A pathological multi-terabyte I/O would otherwise loop for hours: an I/O of more
        // than 16 MiB counts its first 16 MiB (4096 blocks).
        let stop = min(end, first &+ Self.maxBlocksPerIO)
        while b < stop {
            access(key: Self.key(file: file, block: b))
            b += 1
        }
    }

    /// Records one access to block `key`.
    public mutating func access(key: UInt64) {
        let h = Self.hash24(key)
        if h >= threshold { return }
        let rate = samplingRate
        let weight = 1 / rate
        if let e = entries[key] {
            // Distinct tracked blocks accessed after this block's last access: every tracked
            // block has one mark, at its last access.
            let after = entries.count - prefix(e.slot)
            distances.record(UInt64((Double(after) / rate).rounded()), weight: weight)
            // Unmark and unlist it before taking a slot: taking one may compact, which
            // renumbers the listed entries.
            update(e.slot, -1)
            entries.removeValue(forKey: key)
            let s = takeSlot()
            entries[key] = Entry(slot: s, hash: h)
            update(s, 1)
        } else {
            cold += weight
            let s = takeSlot()
            entries[key] = Entry(slot: s, hash: h)
            update(s, 1)
            heapPush((h, key))
            while entries.count > capacity { evictHighest() }
        }
    }

    private mutating func evictHighest() {
        guard let top = heap.first else { return }
        threshold = top.hash
        // Drop every block whose hash is no longer below the threshold.
        while let t = heap.first, t.hash >= threshold {
            heapPopMax()
            if let e = entries.removeValue(forKey: t.key) { update(e.slot, -1) }
        }
    }

    // MARK: time slots

    private mutating func takeSlot() -> Int {
        if nextSlot >= tree.count - 1 { compact() }
        let s = nextSlot
        nextSlot += 1
        return s
    }

    /// Renumbers the tracked blocks' last accesses 0..<n in order and rebuilds the tree:
    /// once per 3 × capacity accesses, O(capacity log capacity).
    private mutating func compact() {
        let order = entries.sorted { $0.value.slot < $1.value.slot }
        for i in tree.indices { tree[i] = 0 }
        nextSlot = 0
        for (key, e) in order {
            entries[key] = Entry(slot: nextSlot, hash: e.hash)
            update(nextSlot, 1)
            nextSlot += 1
        }
    }

    /// Marks in slots 0...slot.
    private func prefix(_ slot: Int) -> Int {
        var i = slot + 1
        var s = 0
        while i > 0 {
            s += Int(tree[i])
            i &= i - 1
        }
        return s
    }

    private mutating func update(_ slot: Int, _ delta: Int32) {
        var i = slot + 1
        while i < tree.count {
            tree[i] += delta
            i += i & -i
        }
    }

    // MARK: heap

    private mutating func heapPush(_ x: (hash: UInt32, key: UInt64)) {
        heap.append(x)
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if heap[p].hash >= heap[i].hash { break }
            heap.swapAt(p, i)
            i = p
        }
    }

    private mutating func heapPopMax() {
        let last = heap.removeLast()
        if heap.isEmpty { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].hash > heap[m].hash { m = l }
            if r < heap.count && heap[r].hash > heap[m].hash { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}
