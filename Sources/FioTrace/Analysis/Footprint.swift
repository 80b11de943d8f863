/// Distinct bytes touched, counted on a paged bitmap per file.
///
/// The bitmap's unit adapts: it starts at 4 KiB and is refined (down to 512 B) the first
/// time an I/O is not aligned to it, so an aligned 4 KiB workload over 4 GiB needs a
/// 128 KiB bitmap that stays in cache. Exact for 512-byte-aligned I/O; an unaligned I/O
/// counts the whole 512 B sectors it touches, and `unalignedIOs` says how many did.
///
/// Memory: 4 KiB per 2^15 units of address space actually touched, plus a directory of
/// 4 bytes per such page up to the highest offset seen (at most 4 MiB per file; pages
/// past 2^20 and files past 65,535 go to a dictionary). A reference type: copies of a
/// `TraceSummary` share it.
public final class Footprint {
    // Computed constants, not `static let`s: those are lazily initialised globals whose
    // accessor (with its once-check) would run several times per I/O.
    @inline(__always) static var minShift: UInt64 { 9 }
    @inline(__always) static var startShift: UInt64 { 12 }
    /// Units per page: 2^15 (a 4 KiB bitmap).
    @inline(__always) static var pageShift: UInt64 { 15 }
    @inline(__always) static var wordsPerPage: Int { 512 }
    @inline(__always) static var denseLimit: Int { 1 << 20 }
    @inline(__always) static var denseFiles: Int { 1 << 16 }

    /// The hot state lives behind a `let` pointer: class `var`s would cost a dynamic
    /// exclusivity check on every access, several per I/O.
    private struct State {
        /// log2 of the bitmap unit in bytes.
        var shift: UInt64 = Footprint.startShift
        /// Page bitmaps, `wordsPerPage` words each.
        var pool: UnsafeMutablePointer<UInt64> = .allocate(capacity: 1)
        var poolPages = 0
        var poolCap = 0
        /// Per file: directory of page slot + 1 (0 = no page yet), and its length.
        var dirs: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?> = .allocate(capacity: 1)
        var dirLen: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
        var fileCap = 0
        var units: UInt64 = 0
        var unalignedIOs: UInt64 = 0
        var sparse: [UInt64: Int32] = [:] // key: file << 44 | page

        func free() {
            pool.deallocate()
            for f in 0..<fileCap { dirs[f]?.deallocate() }
            dirs.deallocate()
            dirLen.deallocate()
        }
    }
    private let st: UnsafeMutablePointer<State>

    /// I/Os not aligned to 512 bytes at either end.
    public var unalignedIOs: UInt64 { st.pointee.unalignedIOs }
    /// Bytes touched.
    public var bytes: UInt64 { st.pointee.units << st.pointee.shift }
    /// The bitmap's current unit in bytes (4096 until an I/O needed a finer one).
    public var unitBytes: UInt64 { 1 << st.pointee.shift }

    public init() {
        st = .allocate(capacity: 1)
        st.initialize(to: State())
    }

    deinit {
        st.pointee.free()
        st.deinitialize(count: 1)
        st.deallocate()
    }

    /// Marks [offset, offset+length) of `file`.
    @inline(__always)
    public func add(file: UInt32, offset: UInt64, length: UInt64) {
        if length == 0 { return }
        let end = offset &+ length
        if end < offset { return }
        let both = offset | length
        if both & ((1 << st.pointee.shift) - 1) != 0 {
            if both & 511 != 0 { st.pointee.unalignedIOs &+= 1 }
            let want = max(Footprint.minShift, UInt64(both.trailingZeroBitCount))
            if want < st.pointee.shift { refine(to: want) }
        }
        let shift = st.pointee.shift
        mark(file: file, first: offset >> shift, end: (end >> shift) + (end & ((1 << shift) - 1) != 0 ? 1 : 0)) // no overflow near 2^64
    }

    /// Marks units [first, end) of `file`.
    @inline(__always)
    private func mark(file: UInt32, first: UInt64, end e: UInt64) {
        var s = first
        while s < e {
            let pageNo = s >> Footprint.pageShift
            let stop = min(e, (pageNo + 1) << Footprint.pageShift)
            let sl = Int(slot(file: file, page: pageNo)) // may grow (move) the pool: read `pool` after
            let words = st.pointee.pool + sl * Footprint.wordsPerPage
            let mask: UInt64 = (1 << Footprint.pageShift) - 1
            st.pointee.units &+= Footprint.setBits(words, Int(s & mask), Int((stop - 1) & mask))
            s = stop
        }
    }

    /// Re-expresses everything marked so far in a finer unit. Runs at most three times
    /// (4 KiB to 512 B); cost proportional to the pages touched.
    private func refine(to newShift: UInt64) {
        let old = st.pointee
        let factor = old.shift - newShift
        st.pointee = State(shift: newShift, unalignedIOs: old.unalignedIOs)
        func replay(file: UInt32, page: UInt64, slot: Int32) {
            let w = old.pool + Int(slot) * Footprint.wordsPerPage
            var runStart: UInt64? = nil
            for bit in 0..<(UInt64(Footprint.wordsPerPage) * 64) {
                let set = w[Int(bit >> 6)] >> (bit & 63) & 1 == 1
                let unit = page << Footprint.pageShift | bit
                if set && runStart == nil { runStart = unit }
                if !set, let rs = runStart {
                    mark(file: file, first: rs << factor, end: unit << factor)
                    runStart = nil
                }
            }
            if let rs = runStart {
                mark(file: file, first: rs << factor, end: ((page + 1) << Footprint.pageShift) << factor)
            }
        }
        for f in 0..<old.fileCap {
            guard let d = old.dirs[f] else { continue }
            for p in 0..<old.dirLen[f] where d[p] != 0 { replay(file: UInt32(f), page: UInt64(p), slot: d[p] - 1) }
        }
        for (key, slot) in old.sparse { replay(file: UInt32(key >> 44), page: key & ((1 << 44) - 1), slot: slot) }
        old.free()
    }

    @inline(__always)
    private static func setBits(_ w: UnsafeMutablePointer<UInt64>, _ first: Int, _ last: Int) -> UInt64 {
        let fw = first >> 6, lw = last >> 6
        if first == last {
            // One unit (the usual case: an I/O of the bitmap's unit size): a bit test,
            // no population count (which is a dozen instructions without POPCNT).
            let bit: UInt64 = 1 << UInt64(first & 63)
            let was = w[fw] & bit
            w[fw] |= bit
            return was == 0 ? 1 : 0
        }
        if fw == lw {
            let width = last - first + 1
            let mask = (width == 64 ? UInt64.max : ((1 << UInt64(width)) - 1)) << UInt64(first & 63)
            let added = UInt64((mask & ~w[fw]).nonzeroBitCount)
            w[fw] |= mask
            return added
        }
        let head = UInt64.max << UInt64(first & 63)
        var added = UInt64((head & ~w[fw]).nonzeroBitCount)
        w[fw] |= head
        var k = fw + 1
        while k < lw {
            added += UInt64(64 - w[k].nonzeroBitCount)
            w[k] = UInt64.max
            k += 1
        }
        let tailBits = (last & 63) + 1
        let tail = tailBits == 64 ? UInt64.max : (1 << UInt64(tailBits)) - 1
        added += UInt64((tail & ~w[lw]).nonzeroBitCount)
        w[lw] |= tail
        return added
    }

    @inline(__always)
    private func slot(file: UInt32, page: UInt64) -> Int32 {
        let f = Int(file)
        if page < UInt64(Footprint.denseLimit) && f < Footprint.denseFiles {
            let p = Int(page)
            if f < st.pointee.fileCap, p < st.pointee.dirLen[f], let d = st.pointee.dirs[f], d[p] != 0 { return d[p] - 1 }
            return denseSlotSlow(f, p)
        }
        let key = UInt64(file) << 44 | page
        if let s = st.pointee.sparse[key] { return s }
        let s = newPage()
        st.pointee.sparse[key] = s
        return s
    }

    private func denseSlotSlow(_ f: Int, _ p: Int) -> Int32 {
        var fileCap = st.pointee.fileCap, dirs = st.pointee.dirs, dirLen = st.pointee.dirLen
        defer {
            st.pointee.fileCap = fileCap
            st.pointee.dirs = dirs
            st.pointee.dirLen = dirLen
        }
        if f >= fileCap {
            let cap = max(f + 1, fileCap * 2, 4)
            let nd = UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>.allocate(capacity: cap)
            let nl = UnsafeMutablePointer<Int>.allocate(capacity: cap)
            nd.initialize(repeating: nil, count: cap)
            nl.initialize(repeating: 0, count: cap)
            if fileCap > 0 {
                nd.update(from: dirs, count: fileCap)
                nl.update(from: dirLen, count: fileCap)
            }
            dirs.deallocate()
            dirLen.deallocate()
            dirs = nd
            dirLen = nl
            fileCap = cap
        }
        if p >= dirLen[f] {
            let len = min(max(p + 1, dirLen[f] * 2, 64), Footprint.denseLimit)
            let nd = UnsafeMutablePointer<Int32>.allocate(capacity: len)
            nd.initialize(repeating: 0, count: len)
            if let old = dirs[f] {
                nd.update(from: old, count: dirLen[f])
                old.deallocate()
            }
            dirs[f] = nd
            dirLen[f] = len
        }
        let d = dirs[f]!
        if d[p] == 0 { d[p] = newPage() + 1 }
        return d[p] - 1
    }

    private func newPage() -> Int32 {
        var pool = st.pointee.pool, poolPages = st.pointee.poolPages, poolCap = st.pointee.poolCap
        defer {
            st.pointee.pool = pool
            st.pointee.poolPages = poolPages
            st.pointee.poolCap = poolCap
        }
        if poolPages == poolCap {
            let cap = max(poolCap * 2, 8)
            let np = UnsafeMutablePointer<UInt64>.allocate(capacity: cap * Footprint.wordsPerPage)
            if poolPages > 0 { np.update(from: pool, count: poolPages * Footprint.wordsPerPage) }
            pool.deallocate()
            pool = np
            poolCap = cap
        }
        (pool + poolPages * Footprint.wordsPerPage).initialize(repeating: 0, count: Footprint.wordsPerPage)
        poolPages += 1
        return Int32(poolPages - 1)
    }
}
