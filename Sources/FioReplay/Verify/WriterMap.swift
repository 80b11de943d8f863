/// Which write owns each 512-byte sector of each target now: the last writer of every byte,
/// kept compact enough for devices of terabytes.
///
/// - Layout: per target, a dictionary from 1 MiB region (2048 sectors) to a sorted array of
///   the region's extents. An extent is one `UInt64`: start sector in the region (11 bits),
///   length - 1 (11 bits), an ambiguity flag, and a 40-bit value (the write generation, or
///   for an ambiguous extent an index into `ranges`). Extents never cross a region, and
///   neighbours with the same owner are merged.
/// - Memory: 8 bytes per extent plus about 70 bytes per touched region (dictionary slot,
///   array header, spare capacity) and 16 bytes per ambiguity event. For 10M random 4 KiB
///   writes over 64 GiB (about 7.3M distinct extents in 65,536 regions) that is about
///   9 bytes per extent, plus array growth slack (up to 2x the entries, 1.3x on average).
/// - Cost: a write updates one region per MiB it covers: a dictionary probe, a binary search
///   and an in-place splice of a few hundred bytes at most.
struct WriterMap {
    /// Who owns an extent: one write generation, or any of a range of generations (writes
    /// that were in flight together over it, or a failed write and what it may have left).
    enum Owner: Equatable {
        case generation(UInt64)
        case range(lo: UInt64, hi: UInt64)

        var lo: UInt64 { switch self { case .generation(let g): g; case .range(let l, _): l } }
        var hi: UInt64 { switch self { case .generation(let g): g; case .range(_, let h): h } }
        func contains(_ g: UInt64) -> Bool { g >= lo && g <= hi }
    }

    static let regionShift: UInt64 = 11
    static let regionSectors: UInt64 = 1 << regionShift
    /// Largest generation an extent can hold (40 bits).
    static let maxGeneration: UInt64 = (1 << 40) - 1

    private var targets: [[UInt64: [UInt64]]] = []
    /// Ambiguous owners by index: (lo, hi) generation pairs.
    private var ranges: [UInt64] = []
    /// Extents stored now (for memory figures).
    private(set) var extentCount = 0

    init() {}

    // MARK: packing

    @inline(__always) private static func pack(start: Int, length: Int, ambiguous: Bool, value: UInt64) -> UInt64 {
        UInt64(start) << 52 | UInt64(length - 1) << 41 | (ambiguous ? 1 << 40 : 0) | (value & maxGeneration)
    }
    @inline(__always) private static func start(_ e: UInt64) -> Int { Int(e >> 52) }
    @inline(__always) private static func length(_ e: UInt64) -> Int { Int((e >> 41) & 0x7FF) + 1 }
    @inline(__always) private static func end(_ e: UInt64) -> Int { start(e) + length(e) }
    /// The owner bits (flag and value), equal for extents of one owner.
    @inline(__always) private static func ownerBits(_ e: UInt64) -> UInt64 { e & ((1 << 41) - 1) }
    @inline(__always) private static func with(_ e: UInt64, start: Int, end: Int) -> UInt64 {
        pack(start: start, length: end - start, ambiguous: false, value: 0) | ownerBits(e)
    }

    private mutating func ownerBits(for owner: Owner) -> UInt64 {
        switch owner {
        case .generation(let g):
            return g & Self.maxGeneration
        case .range(let lo, let hi):
            if lo == hi { return lo & Self.maxGeneration }
            let n = ranges.count
            if n >= 2 && ranges[n - 2] == lo && ranges[n - 1] == hi { return 1 << 40 | UInt64(n / 2 - 1) }
            ranges.append(lo)
            ranges.append(hi)
            return 1 << 40 | UInt64(n / 2)
        }
    }

    private func owner(_ e: UInt64) -> Owner {
        let v = e & Self.maxGeneration
        if e & (1 << 40) == 0 { return .generation(v) }
        return .range(lo: ranges[Int(v) * 2], hi: ranges[Int(v) * 2 + 1])
    }

    // MARK: updates

    /// Sectors `start..<end` of `target` now belong to `owner` (nil: to nobody: nothing is
    /// checked there).
    mutating func set(target: Int, start: UInt64, end: UInt64, owner: Owner?) {
        guard end > start else { return }
        while targets.count <= target { targets.append([:]) }
        let bits = owner.map { ownerBits(for: $0) }
        var s = start
        while s < end {
            let region = s >> Self.regionShift
            let base = region << Self.regionShift
            let e = min(end, base + Self.regionSectors)
            let a = Int(s - base), b = Int(e - base)
            let delta = Self.replace(&targets[target][region, default: []], from: a, to: b, with: bits)
            extentCount += delta
            if bits == nil && targets[target][region]?.isEmpty == true { targets[target][region] = nil }
            s = e
        }
    }

    /// Replaces sectors a..<b of one region's sorted extents with one extent of `bits`
    /// (or with nothing), splitting the extents it cuts and merging equal neighbours.
    /// Returns the change in the number of extents. Allocates nothing but array growth.
    private static func replace(_ list: inout [UInt64], from a: Int, to b: Int, with bits: UInt64?) -> Int {
        let before = list.count
        // First extent ending after a.
        var lo = 0, hi = list.count
        while lo < hi {
            let m = (lo + hi) / 2
            if end(list[m]) <= a { lo = m + 1 } else { hi = m }
        }
        let i = lo
        var j = i
        var head: UInt64? = nil, tail: UInt64? = nil
        // The part of the first overlapped extent before a, and of the last one after b.
        if j < list.count && start(list[j]) < a { head = with(list[j], start: start(list[j]), end: a) }
        while j < list.count && start(list[j]) < b {
            if end(list[j]) > b { tail = with(list[j], start: b, end: end(list[j])) }
            j += 1
        }
        let mid: UInt64? = bits.map { pack(start: a, length: b - a, ambiguous: false, value: 0) | $0 }
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 3) { buf in
            var n = 0
            if let x = head { buf[n] = x; n += 1 }
            if let x = mid { buf[n] = x; n += 1 }
            if let x = tail { buf[n] = x; n += 1 }
            list.replaceSubrange(i..<j, with: UnsafeBufferPointer(rebasing: buf[0..<n]))
        }
        // Merge the new extent with equal neighbours.
        if mid != nil {
            var k = i + (head != nil ? 1 : 0)
            if k > 0 && end(list[k - 1]) == start(list[k]) && ownerBits(list[k - 1]) == ownerBits(list[k]) {
                list[k - 1] = with(list[k - 1], start: start(list[k - 1]), end: end(list[k]))
                list.remove(at: k)
                k -= 1
            }
            if k + 1 < list.count && end(list[k]) == start(list[k + 1]) && ownerBits(list[k]) == ownerBits(list[k + 1]) {
                list[k] = with(list[k], start: start(list[k]), end: end(list[k + 1]))
                list.remove(at: k + 1)
            }
        }
        return list.count - before
    }

    // MARK: queries

    /// Calls `body(start, end, owner)` for every owned extent of `target` overlapping
    /// `start..<end` (clipped to it), in order. Extents of one owner that continue across a
    /// region boundary come as separate calls.
    func forEach(target: Int, start: UInt64, end: UInt64, _ body: (UInt64, UInt64, Owner) -> Void) {
        guard target < targets.count, end > start else { return }
        var region = start >> Self.regionShift
        let last = (end - 1) >> Self.regionShift
        while region <= last {
            if let list = targets[target][region] {
                let base = region << Self.regionShift
                for e in list {
                    let s = base + UInt64(Self.start(e)), t = base + UInt64(Self.end(e))
                    if t <= start { continue }
                    if s >= end { break }
                    body(max(s, start), min(t, end), owner(e))
                }
            }
            region += 1
        }
    }

    /// The regions of `target` that hold extents, in order (for a full pass).
    func regions(target: Int) -> [UInt64] {
        guard target < targets.count else { return [] }
        return targets[target].keys.sorted()
    }

    /// Every extent of one region of `target`, in order: (start, end, owner), sectors.
    func extents(target: Int, region: UInt64) -> [(UInt64, UInt64, Owner)] {
        guard target < targets.count, let list = targets[target][region] else { return [] }
        let base = region << Self.regionShift
        return list.map { (base + UInt64(Self.start($0)), base + UInt64(Self.end($0)), owner($0)) }
    }

    /// Targets the map has seen.
    var targetCount: Int { targets.count }

    /// Bytes the map holds: extents (array capacity), about 64 bytes per region for the
    /// dictionary slot and array header, and the ambiguity table.
    var memoryBytes: Int {
        var n = ranges.capacity * 8
        for t in targets {
            n += t.capacity * 24
            for (_, l) in t { n += l.capacity * 8 + 32 }
        }
        return n
    }
}
