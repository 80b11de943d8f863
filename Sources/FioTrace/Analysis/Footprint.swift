/// Distinct bytes touched, per file, in memory bounded whatever the trace's length, its
/// I/O sizes or the spread of its offsets.
///
/// Three structures:
/// - **Dense pages** first: bitmap words in pages of 512 (4 KiB of bitmap, 2^15 units:
///   128 MiB of a file at 4 KiB units), found through a small table of pages. A random
///   4 KiB workload over 64 GiB needs 2 MiB of pages that stay in cache, and a sequential
///   one a page per 128 MiB. Pages may take an eighth of `memoryBudget`; past that (offsets
///   spread too thinly for pages to pay) every word moves to the word table, once.
/// - **Bitmap words in a hash table**: one 64-bit word of unit bits per (file, 64-unit
///   range) touched, 24 bytes per entry. The unit adapts: it starts at 4 KiB and is refined
///   (down to 512 B) the first time an I/O is not aligned to it, so an aligned 4 KiB
///   workload over 4 GiB needs 16,384 words. Memory follows the ranges touched, not the
///   address space: random I/O spread over 48 TB costs one word per I/O, not a page.
/// - **Extents** for I/Os longer than 4,096 units (16 MiB at 4 KiB units): each is kept
///   as a sector range and merged with the others, so one I/O of 2^62 bytes costs 24
///   bytes, not a walk over 2^50 units.
///
/// Exact for 512-byte-aligned I/O (an unaligned I/O counts the whole 512 B sectors it
/// touches; `unalignedIOs` says how many did) as long as the words fit `memoryBudget`
/// (default 128 MiB: about 3.5 million words). Past that, the words are spatially
/// sampled: a 256 KiB region of a file is kept when a hash of (file, region) falls below
/// a threshold that halves each time the table fills, and the bits kept are scaled up by
/// the inverse rate (an unbiased estimate; its relative error is about 1/sqrt(regions
/// kept), well under 1 % at that size). Extents past a million after merging are rounded
/// out to a coarser grid. Either way `isExact` turns false and `samplingRate` says how
/// much was kept. An I/O running past byte 2^64 - 1 counts up to the end of the address
/// space. A reference type: copies of a `TraceSummary` share it.
public final class Footprint {
    /// A bitmap word: bits of units [64*word, 64*word+64) of `file`; `bits == 0` is empty.
    struct Entry {
        var word: UInt64
        var bits: UInt64
        var file: UInt32
    }

    /// A long I/O: sectors (512 B) [start, end) of `file`; `end` may be 2^55 (the end of
    /// the address space).
    struct Extent {
        var file: UInt32
        var start: UInt64
        var end: UInt64
    }

    /// A dense page: bitmap words [512*page, 512*page+512) of `file` at `slot` of the pool;
    /// `slot < 0` is an empty place in the page table.
    struct PageEntry {
        var page: UInt64
        var file: UInt32
        var slot: Int32
    }

    // Computed constants, not `static let`s: those are lazily initialised globals whose
    // accessor (with its once-check) would run several times per I/O.
    @inline(__always) static var minShift: UInt64 { 9 }
    @inline(__always) static var startShift: UInt64 { 12 }
    /// I/Os longer than this many units become extents.
    @inline(__always) static var extentUnits: UInt64 { 4096 }
    /// log2 of the sampling region in bytes (256 KiB: one word at 4 KiB units).
    @inline(__always) static var regionShift: UInt64 { 18 }
    @inline(__always) static var initialCapacity: Int { 1024 }
    /// Bitmap words per dense page (4 KiB), and its log2.
    @inline(__always) static var pageWords: Int { 512 }
    @inline(__always) static var pageWordsShift: UInt64 { 9 }
    /// Places in a new page table (it doubles at half load).
    @inline(__always) static var initialPageSlots: Int { 64 }
    /// Extents kept after merging before the grid coarsens.
    public static let maxExtents = 1 << 20
    public static let defaultMemoryBudget = 128 << 20

    /// The hot state lives behind a `let` pointer: class `var`s would cost a dynamic
    /// exclusivity check on every access, several per I/O.
    private struct State {
        /// log2 of the bitmap unit in bytes.
        var shift: UInt64 = Footprint.startShift
        var table: UnsafeMutablePointer<Entry>
        var mask: Int
        var used = 0
        /// Set bits over all entries.
        var bits: UInt64 = 0
        /// Entries allowed before the table must grow (70 % load).
        var limit: Int
        /// The last entry touched (sequential I/O hits one word many times in a row).
        var lastWord = UInt64.max
        var lastFile = UInt32.max
        var lastSlot = 0
        /// Regions are kept when hash(file, region) >> `sampleShift` == 0 (all when 0).
        var sampleShift: UInt64 = 0
        var extents: [Extent] = []
        var extentsMerged = 0
        /// log2 of the grid (in sectors) extents are rounded out to (0: exact).
        var extentGrid: UInt64 = 0
        var unalignedIOs: UInt64 = 0
        /// Dense mode: words live in `pool` pages (`poolPages` used of `poolCap`), found
        /// through `pages`; the word table stays empty until the move.
        var dense: Bool
        var pool: UnsafeMutablePointer<UInt64>? = nil
        var poolPages = 0
        var poolCap = 0
        var pages: UnsafeMutablePointer<PageEntry>
        var pageMask: Int
        /// The last page touched (most I/Os of a run land in the page of the one before).
        var lastPage = UInt64.max
        var lastPageFile = UInt32.max
        var lastPageWords: UnsafeMutablePointer<UInt64>? = nil

        init(capacity: Int, dense: Bool) {
            table = .allocate(capacity: capacity)
            table.initialize(repeating: Entry(word: 0, bits: 0, file: 0), count: capacity)
            mask = capacity - 1
            limit = capacity * 7 / 10
            self.dense = dense
            let slots = dense ? Footprint.initialPageSlots : 1
            pages = .allocate(capacity: slots)
            pages.initialize(repeating: PageEntry(page: 0, file: 0, slot: -1), count: slots)
            pageMask = slots - 1
        }

        var capacity: Int { mask + 1 }

        /// Bytes the dense pages and their table take.
        var denseBytes: Int {
            poolCap * Footprint.pageWords * 8 + (pageMask + 1) * MemoryLayout<PageEntry>.stride
        }

        /// Frees the dense pages and their table (the state keeps dangling pointers: the
        /// caller drops it or puts fresh ones in).
        func freeDense() {
            pool?.deallocate()
            pages.deallocate()
        }

        /// Every non-empty word: (file, word, bits), from the pages or the table.
        func forEachWord(_ body: (UInt32, UInt64, UInt64) -> Void) {
            if dense {
                guard let pool else { return }
                for k in 0...pageMask where pages[k].slot >= 0 {
                    let p = pages[k]
                    let w = pool + Int(p.slot) * Footprint.pageWords
                    for i in 0..<Footprint.pageWords where w[i] != 0 {
                        body(p.file, p.page << Footprint.pageWordsShift | UInt64(i), w[i])
                    }
                }
            } else {
                for k in 0..<capacity where table[k].bits != 0 { body(table[k].file, table[k].word, table[k].bits) }
            }
        }
    }
    private let st: UnsafeMutablePointer<State>
    /// The most the word table may take, bytes.
    public let memoryBudget: Int

    /// I/Os not aligned to 512 bytes at either end.
    public var unalignedIOs: UInt64 { st.pointee.unalignedIOs }
    /// The bitmap's current unit in bytes (4096 until an I/O needed a finer one).
    public var unitBytes: UInt64 { 1 << st.pointee.shift }
    /// The share of the address space whose words are kept (1: all, exact).
    public var samplingRate: Double { 1 / Double(UInt64(1) << st.pointee.sampleShift) }
    /// Bytes the word table and the dense pages take now (at most `memoryBudget`).
    var tableBytes: Int { st.pointee.capacity * MemoryLayout<Entry>.stride + (st.pointee.dense ? st.pointee.denseBytes : 0) }
    /// True while the words live in dense pages (before the move to the word table).
    var isDense: Bool { st.pointee.dense }
    /// The most the dense pages and their table may take, bytes.
    private var denseBudget: Int { memoryBudget / 8 }
    /// True when `bytes` is exact (nothing sampled, extents not rounded out).
    public var isExact: Bool { st.pointee.sampleShift == 0 && st.pointee.extentGrid == 0 }

    public init(memoryBudget: Int = Footprint.defaultMemoryBudget) {
        self.memoryBudget = max(memoryBudget, Footprint.initialCapacity * MemoryLayout<Entry>.stride * 2)
        st = .allocate(capacity: 1)
        st.initialize(to: State(capacity: Footprint.initialCapacity, dense: true))
    }

    deinit {
        st.pointee.freeDense()
        st.pointee.table.deallocate()
        st.deinitialize(count: 1)
        st.deallocate()
    }

    /// Marks [offset, offset+length) of `file` (up to the end of the address space when
    /// that sum passes 2^64).
    @inline(__always)
    public func add(file: UInt32, offset: UInt64, length: UInt64) {
        if length == 0 { return }
        let (end, past) = offset.addingReportingOverflow(length)
        let both = offset | length
        var shift = st.pointee.shift
        if both & ((1 << shift) - 1) != 0 {
            if both & 511 != 0 { st.pointee.unalignedIOs &+= 1 }
            let want = max(Footprint.minShift, UInt64(both.trailingZeroBitCount))
            if want < shift {
                refine(to: want)
                shift = want
            }
        }
        let first = offset >> shift
        // The end unit, rounded up; 2^(64-shift) when the I/O reaches past 2^64.
        let stop = past ? 1 << (64 - shift) : (end >> shift) + (end & ((1 << shift) - 1) != 0 ? 1 : 0)
        if stop - first > Footprint.extentUnits {
            addExtent(file: file, start: first << (shift - 9), end: stop << (shift - 9))
        } else {
            mark(file: file, first: first, end: stop)
        }
    }

    /// Marks units [first, end) of `file` in the word table (a few words at most).
    @inline(__always)
    private func mark(file: UInt32, first: UInt64, end e: UInt64) {
        var u = first
        while u < e {
            let w = u >> 6
            let lo = u & 63
            let hi = min(e - (w << 6), 64)
            let m = (hi == 64 ? UInt64.max : (1 << hi) - 1) & (UInt64.max << lo)
            or(file: file, word: w, bits: m)
            u = (w + 1) << 6
        }
    }

    @inline(__always)
    private static func hash(_ file: UInt32, _ word: UInt64) -> UInt64 {
        var h = word &* 0x9E37_79B9_7F4A_7C15
        h ^= UInt64(file) &* 0xC2B2_AE3D_27D4_EB4F
        return h ^ (h >> 29)
    }

    /// Whether the sampling region holding `word` of `file` is kept.
    @inline(__always)
    private func sampled(_ file: UInt32, _ word: UInt64) -> Bool {
        let s = st.pointee.sampleShift
        if s == 0 { return true }
        // Words of 64 units; a region is 2^18 bytes: at most one word per region above 4 KiB units.
        let region = word >> (Footprint.regionShift - 6 - st.pointee.shift)
        return Footprint.hash(file, region) >> (64 - s) == 0
    }

    /// Set bits of `x`; an I/O of one unit sets one bit, and that needs no population count
    /// (a dozen instructions where the CPU baseline has no POPCNT).
    @inline(__always)
    private static func count(_ x: UInt64) -> UInt64 {
        x & (x &- 1) == 0 ? (x == 0 ? 0 : 1) : UInt64(x.nonzeroBitCount)
    }

    /// ORs `m` into `word` of `file`: in its dense page while pages fit, else in the table.
    @inline(__always)
    private func or(file: UInt32, word: UInt64, bits m: UInt64) {
        if st.pointee.dense {
            let page = word >> Footprint.pageWordsShift
            var w = st.pointee.lastPageWords
            if page != st.pointee.lastPage || file != st.pointee.lastPageFile || w == nil {
                w = densePage(file: file, page: page)
            }
            if let w {
                let e = w + Int(word & UInt64(Footprint.pageWords - 1))
                let old = e.pointee
                st.pointee.bits &+= Footprint.count(m & ~old)
                e.pointee = old | m
                return
            }
            // The pages passed their budget: everything moved to the table.
        }
        orTable(file: file, word: word, bits: m)
    }

    /// The words of `page` of `file`, a new zeroed page if it has none; nil after moving
    /// every word to the table when a new page would pass the dense budget.
    private func densePage(file: UInt32, page: UInt64) -> UnsafeMutablePointer<UInt64>? {
        var i = Int(truncatingIfNeeded: Footprint.hash(file, page)) & st.pointee.pageMask
        while st.pointee.pages[i].slot >= 0 {
            let p = st.pointee.pages[i]
            if p.page == page && p.file == file {
                let w = st.pointee.pool! + Int(p.slot) * Footprint.pageWords
                st.pointee.lastPage = page
                st.pointee.lastPageFile = file
                st.pointee.lastPageWords = w
                return w
            }
            i = (i + 1) & st.pointee.pageMask
        }
        let stride = Footprint.pageWords * 8
        if st.pointee.poolPages == st.pointee.poolCap {
            // Double the pool (and the page table at half load) within the dense budget.
            let slotBytes = MemoryLayout<PageEntry>.stride
            let want = max(16, st.pointee.poolCap * 2)
            let tableSlots = max(st.pointee.pageMask + 1, want * 2)
            let room = (denseBudget - tableSlots * slotBytes) / stride
            let cap = min(want, room)
            guard cap > st.pointee.poolCap, cap <= Int(Int32.max) else {
                moveToTable()
                return nil
            }
            let pool = UnsafeMutablePointer<UInt64>.allocate(capacity: cap * Footprint.pageWords)
            if let old = st.pointee.pool {
                pool.moveInitialize(from: old, count: st.pointee.poolPages * Footprint.pageWords)
                old.deallocate()
            }
            st.pointee.pool = pool
            st.pointee.poolCap = cap
            if tableSlots > st.pointee.pageMask + 1 { growPageTable(to: tableSlots) }
            i = Int(truncatingIfNeeded: Footprint.hash(file, page)) & st.pointee.pageMask
            while st.pointee.pages[i].slot >= 0 { i = (i + 1) & st.pointee.pageMask }
        }
        let slot = st.pointee.poolPages
        st.pointee.poolPages += 1
        let w = st.pointee.pool! + slot * Footprint.pageWords
        w.initialize(repeating: 0, count: Footprint.pageWords)
        st.pointee.pages[i] = PageEntry(page: page, file: file, slot: Int32(slot))
        st.pointee.lastPage = page
        st.pointee.lastPageFile = file
        st.pointee.lastPageWords = w
        return w
    }

    /// Re-places every page in a page table of `slots` places.
    private func growPageTable(to slots: Int) {
        let old = st.pointee.pages, oldSlots = st.pointee.pageMask + 1
        let t = UnsafeMutablePointer<PageEntry>.allocate(capacity: slots)
        t.initialize(repeating: PageEntry(page: 0, file: 0, slot: -1), count: slots)
        for k in 0..<oldSlots where old[k].slot >= 0 {
            var i = Int(truncatingIfNeeded: Footprint.hash(old[k].file, old[k].page)) & (slots - 1)
            while t[i].slot >= 0 { i = (i + 1) & (slots - 1) }
            t[i] = old[k]
        }
        old.deallocate()
        st.pointee.pages = t
        st.pointee.pageMask = slots - 1
    }

    /// Leaves dense mode for good: every word goes to the table (which samples, as
    /// always, if it passes the budget), and the pages are freed.
    private func moveToTable() {
        let old = st.pointee
        st.pointee.dense = false
        st.pointee.pool = nil
        st.pointee.poolPages = 0
        st.pointee.poolCap = 0
        st.pointee.pages = .allocate(capacity: 1)
        st.pointee.pages.initialize(to: PageEntry(page: 0, file: 0, slot: -1))
        st.pointee.pageMask = 0
        st.pointee.lastPageWords = nil
        st.pointee.bits = 0
        old.forEachWord { file, word, bits in insert(file: file, word: word, bits: bits) }
        old.freeDense()
    }

    @inline(__always)
    private func orTable(file: UInt32, word: UInt64, bits m: UInt64) {
        let t = st.pointee.table
        if word == st.pointee.lastWord && file == st.pointee.lastFile {
            let e = t + st.pointee.lastSlot
            st.pointee.bits &+= Footprint.count(m & ~e.pointee.bits)
            e.pointee.bits |= m
            return
        }
        var i = Int(truncatingIfNeeded: Footprint.hash(file, word)) & st.pointee.mask
        while true {
            let e = t + i
            if e.pointee.bits == 0 { break }
            if e.pointee.word == word && e.pointee.file == file {
                st.pointee.bits &+= Footprint.count(m & ~e.pointee.bits)
                e.pointee.bits |= m
                st.pointee.lastWord = word
                st.pointee.lastFile = file
                st.pointee.lastSlot = i
                return
            }
            i = (i + 1) & st.pointee.mask
        }
        insert(file: file, word: word, bits: m)
    }

    /// A word not in the table: added if its region is sampled, after making room.
    private func insert(file: UInt32, word: UInt64, bits m: UInt64) {
        guard sampled(file, word) else { return }
        if st.pointee.used >= st.pointee.limit {
            makeRoom()
            // (Past 63 halvings nothing is sampled: never probe a full table.)
            guard sampled(file, word), st.pointee.used < st.pointee.mask else { return }
        }
        let t = st.pointee.table
        var i = Int(truncatingIfNeeded: Footprint.hash(file, word)) & st.pointee.mask
        while t[i].bits != 0 {
            if t[i].word == word && t[i].file == file { break }
            i = (i + 1) & st.pointee.mask
        }
        st.pointee.bits &+= Footprint.count(m & ~t[i].bits)
        if t[i].bits == 0 { st.pointee.used += 1 }
        t[i] = Entry(word: word, bits: t[i].bits | m, file: file)
        st.pointee.lastWord = word
        st.pointee.lastFile = file
        st.pointee.lastSlot = i
    }

    /// Doubles the table, or, when that would pass the budget, halves the sampling rate
    /// (dropping the regions no longer sampled) until a quarter of the table is free.
    private func makeRoom() {
        let stride = MemoryLayout<Entry>.stride
        if st.pointee.capacity * 2 * stride <= memoryBudget {
            rebuild(capacity: st.pointee.capacity * 2)
            return
        }
        while st.pointee.used > st.pointee.limit * 3 / 4 && st.pointee.sampleShift < 63 {
            st.pointee.sampleShift += 1
            rebuild(capacity: st.pointee.capacity)
        }
    }

    /// Puts an empty word table of `capacity` (and, in dense mode, empty pages) in units of
    /// 2^`shift` bytes in place, keeping everything else (sampling, extents, counts of
    /// unaligned I/Os), and returns the old state, whose words the caller re-inserts and
    /// whose storage it frees (`release`).
    private func swapInEmptyTable(capacity: Int, shift: UInt64) -> State {
        var old = st.pointee
        var fresh = State(capacity: capacity, dense: old.dense)
        fresh.shift = shift
        fresh.sampleShift = old.sampleShift
        fresh.extents = old.extents
        fresh.extentsMerged = old.extentsMerged
        fresh.extentGrid = old.extentGrid
        fresh.unalignedIOs = old.unalignedIOs
        old.extents = []
        st.pointee = fresh
        return old
    }

    /// Re-inserts every kept entry into a table of `capacity` (dropping unsampled regions).
    private func rebuild(capacity: Int) {
        let old = swapInEmptyTable(capacity: capacity, shift: st.pointee.shift)
        for k in 0..<old.capacity where old.table[k].bits != 0 {
            let e = old.table[k]
            guard sampled(e.file, e.word) else { continue }
            var i = Int(truncatingIfNeeded: Footprint.hash(e.file, e.word)) & st.pointee.mask
            while st.pointee.table[i].bits != 0 { i = (i + 1) & st.pointee.mask }
            st.pointee.table[i] = e
            st.pointee.used += 1
            st.pointee.bits &+= Footprint.count(e.bits)
        }
        Footprint.release(old)
    }

    /// Frees a swapped-out state's storage.
    private static func release(_ old: State) {
        old.table.deallocate()
        old.freeDense()
    }

    /// Re-expresses every word in a finer unit (at most three times: 4 KiB to 512 B). A
    /// region keeps its sampling decision (regions are bytes, not words).
    private func refine(to newShift: UInt64) {
        let factor = st.pointee.shift - newShift
        let old = swapInEmptyTable(capacity: st.pointee.capacity, shift: newShift)
        old.forEachWord { file, word, bits in
            var b = bits
            while b != 0 {
                // One run of set bits at a time.
                let lo = UInt64(b.trailingZeroBitCount)
                let run = UInt64((~(b >> lo)).trailingZeroBitCount)
                let first = (word << 6 | lo) << factor
                mark(file: file, first: first, end: first + (run << factor))
                b &= run + lo >= 64 ? 0 : UInt64.max << (run + lo)
            }
        }
        Footprint.release(old)
    }

    private func addExtent(file: UInt32, start: UInt64, end: UInt64) {
        st.pointee.extents.append(Extent(file: file, start: start, end: end))
        let n = st.pointee.extents.count
        if n >= 4096 && n >= 2 * st.pointee.extentsMerged { compactExtents() }
    }

    /// Sorts and merges the extents; past `maxExtents`, rounds them out to a coarser grid.
    private func compactExtents() {
        var x = st.pointee.extents
        st.pointee.extents = []
        Footprint.merge(&x, grid: st.pointee.extentGrid)
        while x.count > Footprint.maxExtents && st.pointee.extentGrid < 55 {
            st.pointee.extentGrid += 1
            Footprint.merge(&x, grid: st.pointee.extentGrid)
        }
        st.pointee.extentsMerged = x.count
        st.pointee.extents = x
    }

    /// Sorts `x` by (file, start), rounds each out to 2^grid sectors, and merges overlaps.
    private static func merge(_ x: inout [Extent], grid: UInt64) {
        if grid > 0 {
            let g = grid
            for i in x.indices {
                x[i].start = (x[i].start >> g) << g
                x[i].end = min(((x[i].end + (1 << g) - 1) >> g) << g, 1 << 55)
            }
        }
        x.sort { $0.file != $1.file ? $0.file < $1.file : $0.start < $1.start }
        var out = 0
        for e in x {
            if out > 0 && x[out - 1].file == e.file && e.start <= x[out - 1].end {
                x[out - 1].end = max(x[out - 1].end, e.end)
            } else {
                x[out] = e
                out += 1
            }
        }
        x.removeLast(x.count - out)
    }

    /// Bytes touched (saturating at 2^64 - 1): exact when `isExact`, else an estimate.
    public var bytes: UInt64 {
        var x = st.pointee.extents
        Footprint.merge(&x, grid: st.pointee.extentGrid)
        var sectors: UInt64 = 0
        for e in x { sectors = sectors.addingReportingOverflow(e.end - e.start).overflow ? UInt64.max : sectors + (e.end - e.start) }
        let shift = st.pointee.shift
        // Bits of words that extents cover are counted once, by the extents.
        var bits = st.pointee.bits
        if !x.isEmpty {
            st.pointee.forEachWord { file, word, b in
                bits -= Footprint.covered(Entry(word: word, bits: b, file: file), by: x, shift: shift)
            }
        }
        var wordBytes: UInt64
        if st.pointee.sampleShift == 0 {
            let (b, o) = bits.multipliedReportingOverflow(by: 1 << shift)
            wordBytes = o ? UInt64.max : b
        } else {
            let scaled = Double(bits) * Double(UInt64(1) << st.pointee.sampleShift) * Double(UInt64(1) << shift)
            wordBytes = scaled >= 18_446_744_073_709_551_615.0 ? UInt64.max : UInt64(scaled)
        }
        let (ext, o1) = sectors.multipliedReportingOverflow(by: 512)
        let (sum, o2) = wordBytes.addingReportingOverflow(ext)
        return o1 || o2 ? UInt64.max : sum
    }

    /// Set bits of `e` whose units lie inside one of the sorted, merged extents `x`.
    private static func covered(_ e: Entry, by x: [Extent], shift: UInt64) -> UInt64 {
        // The word's sectors: [64*word, 64*word+64) units of 2^(shift-9) sectors.
        let f = shift - 9
        let lo = (e.word << 6) << f, hi = ((e.word << 6) + 64) << f
        // First extent of this file ending after `lo`.
        var a = 0, b = x.count
        while a < b {
            let m = (a + b) / 2
            if x[m].file < e.file || (x[m].file == e.file && x[m].end <= lo) { a = m + 1 } else { b = m }
        }
        var mask: UInt64 = 0
        var i = a
        while i < x.count && x[i].file == e.file && x[i].start < hi {
            // Units fully inside [start, end) (extents are aligned to the unit).
            let s = max(x[i].start, lo), t = min(x[i].end, hi)
            if t > s {
                let u0 = (s - lo) >> f, u1 = (t - lo) >> f
                mask |= (u1 >= 64 ? UInt64.max : (1 << u1) - 1) & (UInt64.max << u0)
            }
            i += 1
        }
        return UInt64((e.bits & mask).nonzeroBitCount)
    }
}
