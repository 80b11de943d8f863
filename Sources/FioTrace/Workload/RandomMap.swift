import CFioTraceSupport

/// fio's random map (its axmap, lib/axmap.c, in behaviour): one bit per block (1 = done),
/// with summary levels above it (one bit per word of the level below, 1 = that word is
/// full), so that "the first free block after b" reads one word per level.
///
/// Memory: about `count / 8` bytes for level 0 plus 1/64 of that per level above, in one
/// allocation. The per-I/O path is a bit test in a map of up to 512 MiB, a cache miss per
/// random I/O once the map outgrows the caches: `prefetch(_:)` lets the generator start
/// that miss a few I/Os ahead.
///
/// A struct over raw memory, so the per-I/O path has no reference counting and no
/// copy-on-write check. Copies share the memory: the one owner (`JobStorage`) frees it
/// once with `deallocate()` and deep-copies it with `copy()` when it clones itself.
struct BlockBitmap {
    /// Blocks tracked (the bits of level 0).
    let count: UInt64
    /// How many levels: level 0 and its summaries, up to a level of one word.
    let levelCount: Int
    /// Every level's words, level 0 first. Padding bits past a level's end are set.
    private let words: UnsafeMutablePointer<UInt64>
    /// All words of all levels.
    private let totalWords: Int
    /// Per level l: [2l] the index in `words` of the level's first word, [2l + 1] its bits.
    private let meta: UnsafeMutablePointer<UInt64>

    /// A map of `count` free blocks. O(count / 64) time.
    init(count: UInt64) {
        self.count = count
        var layout: [(start: UInt64, bits: UInt64)] = []
        var n = count
        var start: UInt64 = 0
        repeat {
            let w = (n + 63) / 64
            layout.append((start, n))
            start += w
            n = w
        } while n > 1
        levelCount = layout.count
        totalWords = Int(start)
        words = .allocate(capacity: Swift.max(1, totalWords))
        meta = .allocate(capacity: 2 * layout.count)
        for (l, e) in layout.enumerated() {
            meta[2 * l] = e.start
            meta[2 * l + 1] = e.bits
        }
        reset()
    }

    private init(copying o: BlockBitmap) {
        count = o.count
        levelCount = o.levelCount
        totalWords = o.totalWords
        words = .allocate(capacity: Swift.max(1, totalWords))
        words.update(from: o.words, count: totalWords)
        meta = .allocate(capacity: 2 * levelCount)
        meta.update(from: o.meta, count: 2 * levelCount)
    }

    /// An independent map with the same bits. O(count / 64).
    func copy() -> BlockBitmap { BlockBitmap(copying: self) }

    /// Frees the memory; no copy of this map may be used afterwards.
    func deallocate() {
        words.deallocate()
        meta.deallocate()
    }

    /// The first word of level `l`.
    @inline(__always) private func level(_ l: Int) -> UnsafeMutablePointer<UInt64> {
        words + Int(truncatingIfNeeded: meta[2 &* l])
    }

    /// The bits of level `l`.
    @inline(__always) private func bits(_ l: Int) -> UInt64 { meta[2 &* l &+ 1] }

    /// Every block free again (fio's axmap_reset). O(count / 64).
    func reset() {
        words.update(repeating: 0, count: Swift.max(1, totalWords))
        for l in 0..<levelCount {
            let n = bits(l)
            let tail = n % 64
            if tail != 0 { level(l)[Int((n + 63) / 64) - 1] = ~((UInt64(1) << tail) - 1) }
        }
    }

    /// Whether block `i` (< count) is done. O(1).
    @inline(__always) func isSet(_ i: UInt64) -> Bool {
        words[Int(truncatingIfNeeded: i >> 6)] & (UInt64(1) << (i & 63)) != 0
    }

    /// Starts loading the word that holds block `i` into the cache (a hint; blocks past
    /// the end are ignored).
    @inline(__always) func prefetch(_ i: UInt64) {
        if i < count { cfiotrace_prefetch(words + Int(truncatingIfNeeded: i >> 6)) }
    }

    /// Sets bit `i` of level `l` and, while words fill up, the bits above it.
    private func setBit(_ i: UInt64, level l0: Int = 0) {
        var idx = i
        var l = l0
        while l < levelCount {
            let p = level(l) + Int(truncatingIfNeeded: idx >> 6)
            p.pointee |= UInt64(1) << (idx & 63)
            if p.pointee != .max { return }
            idx >>= 6
            l &+= 1
        }
    }

    /// Marks up to `max` blocks from `start`, stopping at the first block already done or
    /// at the end (fio's mark_random_map cut). Returns how many were marked (0 if `start`
    /// itself is done). O(levels) for one block; whole free words go in one range.
    /// Marks block `b` (< count, known free): `setRun(from: b, max: 1)` for the fixed-block
    /// path, inlined. O(1), O(levels) when a word fills.
    @inline(__always) func markFree(_ b: UInt64) {
        let p = words + Int(truncatingIfNeeded: b >> 6)
        p.pointee |= UInt64(1) << (b & 63)
        if p.pointee == .max { setBit(b >> 6, level: 1) }
    }

    @discardableResult
    func setRun(from start: UInt64, max: UInt64) -> UInt64 {
        var n: UInt64 = 0
        var i = start
        let w = words
        while n < max && i < count {
            // Whole free words inside the run, 64 blocks each, marked in one range (an I/O
            // of many small blocks, e.g. bsrange down to 1 byte, would otherwise cost a call
            // per block or per word).
            if i & 63 == 0 && max - n >= 64 && count - i >= 64 {
                let first = Int(i >> 6)
                let most = Int(Swift.min((max - n) / 64, (count - i) / 64))
                var free = 0
                while free < most && w[first + free] == 0 { free += 1 }
                if free > 0 {
                    setRange(level: 0, from: i, count: UInt64(free) * 64)
                    n += UInt64(free) * 64
                    i += UInt64(free) * 64
                    continue
                }
            }
            if isSet(i) { break }
            setBit(i)
            n += 1
            i += 1
        }
        return n
    }

    /// Sets bits [from, from+n) of level `l` and, for the words that fill up, their bits on
    /// the levels above (in runs, so a long run costs a pass per level, not a call per word).
    private func setRange(level l: Int, from: UInt64, count n: UInt64) {
        if n == 0 || l >= levelCount { return }
        let w = level(l)
        let end = from + n
        let firstWord = Int(from >> 6), lastWord = Int((end - 1) >> 6)
        var i = from
        while i < end {
            let wi = Int(i >> 6), lo = i & 63
            let hi = Swift.min(64, lo + (end - i))
            w[wi] |= (hi == 64 ? UInt64.max : (UInt64(1) << hi) - 1) & (UInt64.max << lo)
            i = UInt64(wi + 1) << 6
        }
        var k = firstWord
        while k <= lastWord {
            if w[k] != .max { k += 1; continue }
            var e = k
            while e < lastWord && w[e + 1] == .max { e += 1 }
            setRange(level: l + 1, from: UInt64(k), count: UInt64(e - k + 1))
            k = e + 1
        }
    }

    /// The first free bit at index >= `from` on level `l`, or nil.
    private func firstFree(level l: Int, from: UInt64) -> UInt64? {
        let n = bits(l)
        if from >= n { return nil }
        let w = level(l)
        let wi = Int(from >> 6)
        let word = w[wi] | ((UInt64(1) << (from & 63)) &- 1)
        if word != .max {
            let r = UInt64(wi) << 6 + UInt64((~word).trailingZeroBitCount)
            return r < n ? r : nil
        }
        if l + 1 < levelCount {
            guard let nw = firstFree(level: l + 1, from: UInt64(wi) + 1) else { return nil }
            let r = nw << 6 + UInt64((~w[Int(nw)]).trailingZeroBitCount)
            return r < n ? r : nil
        }
        // The top level is one word, so this is reached only when that word is full.
        return nil
    }

    /// fio's `axmap_next_free`: the first free block after `b`, wrapping to the start;
    /// nil when every block is done. O(levels).
    func nextFree(after b: UInt64) -> UInt64? {
        let start = b + 1 >= count ? 0 : b + 1
        if let r = firstFree(level: 0, from: start) { return r }
        if start != 0 { return firstFree(level: 0, from: 0) }
        return nil
    }
}
