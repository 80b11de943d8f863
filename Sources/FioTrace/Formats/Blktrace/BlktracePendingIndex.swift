/// One slot of the open-addressing table that finds pending records by start sector.
struct BlkSlot {
    var sector: UInt64
    var seq: UInt64
    /// (file << 2 | direction class) + 1; 0 marks an empty slot.
    var tag: UInt32
}

/// Finds the pending (uncompleted) records of a blktrace reader by (start sector, tag):
/// linear probing with backward-shift deletion, grown at half load. Several records may
/// share a key (the same sectors in flight twice); lookups return the oldest (lowest
/// sequence number). Owned by one `BlktraceCore`, which calls `deallocate()`.
struct BlkPendingIndex {
    var slots: UnsafeMutablePointer<BlkSlot>
    var slotMask: Int
    var slotShift: UInt64
    var slotCount = 0

    init() {
        let cap = 1024
        slots = .allocate(capacity: cap)
        slots.initialize(repeating: BlkSlot(sector: 0, seq: 0, tag: 0), count: cap)
        slotMask = cap - 1
        slotShift = UInt64(64 - 10)
    }

    func deallocate() { slots.deallocate() }

    @inline(__always) func home(_ sector: UInt64, _ tag: UInt32) -> Int {
        let h = (sector &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(tag) &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> slotShift)
    }

    mutating func insert(sector: UInt64, tag: UInt32, seq: UInt64) {
        if (slotCount + 1) * 2 > slotMask + 1 { grow() }
        var i = home(sector, tag)
        while slots[i].tag != 0 { i = (i + 1) & slotMask }
        slots[i] = BlkSlot(sector: sector, seq: seq, tag: tag)
        slotCount += 1
    }

    /// The slot of the oldest pending record found under (sector, tag).
    @inline(__always) func findOldest(sector: UInt64, tag: UInt32) -> Int? {
        var i = home(sector, tag)
        var best = -1
        var bestSeq = UInt64.max
        while true {
            let s = slots[i]
            if s.tag == 0 { break }
            if s.tag == tag && s.sector == sector && s.seq < bestSeq { best = i; bestSeq = s.seq }
            i = (i + 1) & slotMask
        }
        return best < 0 ? nil : best
    }

    mutating func remove(sector: UInt64, tag: UInt32, seq: UInt64) {
        var i = home(sector, tag)
        while slots[i].tag != 0 {
            if slots[i].seq == seq && slots[i].tag == tag && slots[i].sector == sector {
                remove(at: i)
                return
            }
            i = (i + 1) & slotMask
        }
    }

    mutating func remove(at pos: Int) {
        var i = pos
        var j = pos
        while true {
            j = (j + 1) & slotMask
            let s = slots[j]
            if s.tag == 0 { break }
            let k = home(s.sector, s.tag)
            // Slot j may stay if its home lies cyclically in (i, j].
            let stays = i <= j ? (i < k && k <= j) : (i < k || k <= j)
            if stays { continue }
            slots[i] = s
            i = j
        }
        slots[i].tag = 0
        slotCount -= 1
    }

    mutating func grow() {
        let oldCap = slotMask + 1
        let old = slots
        let newCap = oldCap * 2
        slots = .allocate(capacity: newCap)
        slots.initialize(repeating: BlkSlot(sector: 0, seq: 0, tag: 0), count: newCap)
        slotMask = newCap - 1
        slotShift -= 1
        for k in 0..<oldCap where old[k].tag != 0 {
            var i = home(old[k].sector, old[k].tag)
            while slots[i].tag != 0 { i = (i + 1) & slotMask }
            slots[i] = old[k]
        }
        old.deallocate()
    }
}
