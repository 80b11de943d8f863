import CFioLinux
import Glibc

/// What replayed and live writes carry, in fio's vocabulary. SSDs that compress or
/// deduplicate behave differently with real data, and a reused slot must never write what
/// the last read left in it, so every write's buffer is filled at submit.
public struct WritePayloadOptions: Sendable, Equatable {
    /// Base content of a write buffer.
    public enum Content: Sendable, Equatable {
        /// Random bytes (fio's default).
        case random
        /// All zeros (fio's `zero_buffers`).
        case zeros
        /// These bytes repeated from the start of each buffer (fio's `buffer_pattern`).
        case pattern([UInt8])
    }
    public var content: Content = .random
    /// Fresh random content for every write (fio's `refill_buffers`); otherwise writes copy
    /// from a random pool made once and, with `scramble`, are stamped per 512-byte sector.
    public var refill = false
    /// Stamp each 512-byte sector with its offset and a per-write sequence number, so no two
    /// written sectors are alike (fio's `scramble_buffers`, default on).
    public var scramble = true
    /// Share (0...100) of each `compressChunk` bytes that is zeros (or the pattern) instead of
    /// random: the data compresses to about (100 - this) % (fio's
    /// `buffer_compress_percentage`). Implies refilling every write.
    public var compressPercentage = 0
    /// Bytes per compressible chunk (fio's `buffer_compress_chunk`, default 512).
    public var compressChunk = 512
    /// Share (0...100) of writes whose content repeats an earlier write's exactly (fio's
    /// `dedupe_percentage` in its default `repeat` mode). Implies refilling every write.
    public var dedupePercentage = 0
    /// Seed of the content generator (same seed, same bytes).
    public var seed: UInt64 = 0x243F_6A88_85A3_08D3

    public init() {}

    /// fio's rules: 100 % compressible is zeros; compression or dedupe refill every write;
    /// scrambling is off for them (it would break both) and for explicit zeros.
    public var normalized: WritePayloadOptions {
        var o = self
        if o.compressPercentage >= 100 { o.content = .zeros; o.compressPercentage = 0 }
        o.compressChunk = max(1, o.compressChunk)
        if o.compressPercentage > 0 || o.dedupePercentage > 0 { o.refill = true; o.scramble = false }
        if o.content == .zeros { o.scramble = false }
        return o
    }
}

/// A small fast generator (wyrand) for payload bytes: 8 bytes per step.
struct PayloadRandom {
    var state: UInt64
    @inline(__always) mutating func next() -> UInt64 {
        state &+= 0xA076_1D64_78BD_642F
        let m = state.multipliedFullWidth(by: state ^ 0xE703_7ED1_A0B4_28DB)
        return m.high ^ m.low
    }
    /// Fills `count` bytes at `p` (any alignment).
    @inline(__always) mutating func fill(_ p: UnsafeMutableRawPointer, _ count: Int) {
        var i = 0
        while i + 8 <= count {
            p.storeBytes(of: next(), toByteOffset: i, as: UInt64.self)
            i += 8
        }
        if i < count {
            var v = next()
            while i < count { p.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self); v >>= 8; i += 1 }
        }
    }
}

/// Fills write buffers at submit (see `WritePayloadOptions`). Cost per 4 KiB write: one
/// 4 KiB XOR-copy from the pool plus eight 16-byte stamps by default; a full random fill
/// (about 0.5 µs) with `refill`, compression or dedupe.
public struct WritePayload {
    let options: WritePayloadOptions
    /// 1 MiB of base content (random, zeros or the pattern tiled) plus room to copy any
    /// 4 KiB-aligned window of up to `poolWindow` bytes.
    private let pool: PayloadPool
    private var rng: PayloadRandom
    /// Writes filled so far: the scramble stamp's sequence number.
    private var writes: UInt64 = 0
    /// Seeds of recent writes, for dedupe's repeats.
    private var recentSeeds: [UInt64]
    private var recentCount = 0

    public init(options: WritePayloadOptions) {
        let o = options.normalized
        self.options = o
        pool = PayloadPool(content: o.content, seed: o.seed)
        rng = PayloadRandom(state: o.seed ^ 0x9E37_79B9_7F4A_7C15)
        recentSeeds = [UInt64](repeating: 0, count: 64)
    }

    /// Fills the first `length` bytes at `buffer` for a write at `offset` (bytes).
    @inline(__always)
    public mutating func fill(_ buffer: UnsafeMutableRawPointer, length: Int, offset: UInt64) {
        writes &+= 1
        if options.refill {
            refill(buffer, length: length)
        } else if options.content == .random {
            // A window of the random pool, XORed with a key of its own: as random as a fresh
            // fill (no two writes share byte sequences, so nothing compresses or dedupes
            // across them) at the cost of a copy.
            pool.copyRandom(into: buffer, length: length, phase: Int(truncatingIfNeeded: rng.next()), key: rng.next() | 1)
        } else {
            pool.copy(into: buffer, length: length, phase: 0)
        }
        if options.scramble { scramble(buffer, length: length, offset: offset) }
    }

    /// Random content from a seed chosen per write (or a recent write's seed, for dedupe).
    private mutating func refill(_ buffer: UnsafeMutableRawPointer, length: Int) {
        var seed = rng.next()
        if options.dedupePercentage > 0 {
            let roll = Int(rng.next() % 100)
            if roll < options.dedupePercentage && recentCount > 0 {
                seed = recentSeeds[Int(rng.next() % UInt64(min(recentCount, recentSeeds.count)))]
            } else {
                recentSeeds[recentCount % recentSeeds.count] = seed
                recentCount += 1
            }
        }
        var gen = PayloadRandom(state: seed)
        let pct = options.compressPercentage
        guard pct > 0 else {
            if case .pattern = options.content {
                pool.copy(into: buffer, length: length, phase: 0)
            } else if options.content == .zeros {
                memset(buffer, 0, length)
            } else {
                gen.fill(buffer, length)
            }
            return
        }
        // fio's buffer_compress_percentage: each chunk starts with (100 - pct) % random bytes,
        // the rest zeros (or the pattern).
        let chunk = options.compressChunk
        var at = 0
        while at < length {
            let n = min(chunk, length - at)
            let random = min(n, chunk * (100 - pct) / 100)
            gen.fill(buffer + at, random)
            if random < n {
                if case .pattern = options.content {
                    pool.copy(into: buffer + at + random, length: n - random, phase: 0)
                } else {
                    memset(buffer + at + random, 0, n - random)
                }
            }
            at += n
        }
    }

    /// Stamps each 512-byte sector: its byte offset in the first 8 bytes of a cache line
    /// picked per write, and the write's sequence number in the last 8 of that line.
    @inline(__always)
    private func scramble(_ buffer: UnsafeMutableRawPointer, length: Int, offset: UInt64) {
        let line = Int((writes ^ offset >> 9) & 7) << 6
        var at = 0
        var off = offset
        while at + 512 <= length {
            buffer.storeBytes(of: off, toByteOffset: at + line, as: UInt64.self)
            buffer.storeBytes(of: writes, toByteOffset: at + line + 56, as: UInt64.self)
            at += 512
            off &+= 512
        }
    }
}

/// The base content writes copy from: 1 MiB (the pattern tiled, zeros, or random) followed
/// by its own first bytes again, so any window that starts in the first MiB can be copied
/// in one piece; windows longer than that wrap.
final class PayloadPool {
    static let size = 1 << 20
    static let window = 1 << 20
    let bytes: UnsafeMutableRawPointer
    /// 0 for random content, else the length of the repeating unit (1 for zeros).
    private let patternLength: Int

    init(content: WritePayloadOptions.Content, seed: UInt64) {
        let total = Self.size + Self.window
        bytes = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 4096)
        switch content {
        case .zeros:
            memset(bytes, 0, total)
            patternLength = 1
        case .random:
            var g = PayloadRandom(state: seed)
            g.fill(bytes, Self.size)
            memcpy(bytes + Self.size, bytes, Self.window)
            patternLength = 0
        case .pattern(let p):
            let pat = p.isEmpty ? [0] : p
            patternLength = pat.count
            var at = 0
            while at < total {
                let n = min(pat.count, total - at)
                pat.withUnsafeBytes { memcpy(bytes + at, $0.baseAddress!, n) }
                at += n
            }
        }
    }

    deinit { bytes.deallocate() }

    /// Copies `length` bytes of the random pool from a 512-byte aligned start picked by
    /// `phase`, each 8-byte word XORed with `key`.
    @inline(__always)
    func copyRandom(into dest: UnsafeMutableRawPointer, length: Int, phase: Int, key: UInt64) {
        var start = Int(UInt(bitPattern: phase) % UInt(Self.size)) & ~511
        var done = 0
        while done < length {
            let n = min(length - done, Self.window)
            let words = n / 8
            let src = (bytes + start).assumingMemoryBound(to: UInt64.self)
            let dst = dest + done
            for w in 0..<words {
                dst.storeBytes(of: src[w] ^ key, toByteOffset: w &* 8, as: UInt64.self)
            }
            let tail = n - words * 8
            if tail > 0 {
                var v = src[words] ^ key
                for b in 0..<tail { dst.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: words * 8 + b, as: UInt8.self); v >>= 8 }
            }
            done += n
            start = 0
        }
    }

    /// Copies `length` bytes: for random content from a 512-byte aligned start picked by
    /// `phase`; for a pattern from its start, so the pattern begins the buffer as fio's does
    /// and continues unbroken past 1 MiB.
    @inline(__always)
    func copy(into dest: UnsafeMutableRawPointer, length: Int, phase: Int) {
        var start = patternLength == 0 ? Int(UInt(bitPattern: phase) % UInt(Self.size)) & ~511 : 0
        var done = 0
        while done < length {
            let n = min(length - done, Self.window)
            memcpy(dest + done, bytes + start, n)
            done += n
            start = patternLength > 1 ? done % patternLength : 0
        }
    }
}
