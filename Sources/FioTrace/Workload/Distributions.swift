#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Random numbers, the block permutation behind the random map, and fio's offset
// distributions (zipf, pareto, normal, zoned), all deterministic from a seed and all
// O(1) memory (the random map, one bit per block like fio's axmap, is in RandomMap.swift).

// MARK: - PRNG

/// splitmix64: seeds the other generators and derives independent sub-seeds.
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A well-mixed 64-bit value of `(seed, a, b)`: independent streams per job and purpose.
    @inlinable public static func mix(_ seed: UInt64, _ a: UInt64, _ b: UInt64 = 0) -> UInt64 {
        var s = SplitMix64(seed: seed ^ (a &* 0xD1B5_4A32_D192_ED03) ^ (b &* 0xABC9_8388_FB8F_AC03))
        _ = s.next()
        return s.next()
    }
}

/// xoshiro256** (Blackman and Vigna): the generator every random choice uses.
public struct Xoshiro256: Sendable {
    @usableFromInline var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) <<< 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 <<< 45
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable @inline(__always)
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in (0, 1]: safe for `-log(u)`.
    @inlinable @inline(__always)
    public mutating func nextOpenDouble() -> Double {
        Double((next() >> 11) &+ 1) * 0x1.0p-53
    }

    /// Uniform in [0, n) (Lemire's multiply-shift with rejection: exactly uniform). n > 0.
    @inlinable @inline(__always)
    public mutating func below(_ n: UInt64) -> UInt64 {
        var m = next().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n
            while m.low < threshold { m = next().multipliedFullWidth(by: n) }
        }
        return m.high
    }

    /// fio's `rand_between(state, 1, 100)`: uniform in 1...100.
    @inlinable @inline(__always)
    public mutating func percent() -> Int { Int(below(100)) + 1 }
}

infix operator <<< : BitwiseShiftPrecedence
@inlinable @inline(__always) func <<< (x: UInt64, k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

// MARK: - Block permutation

/// A keyed bijection of `[0, n)`: the random map without a map. Walking `i = 0..<n`
/// through `apply(i)` visits every block exactly once, in an order that looks random.
///
/// Construction: three rounds of bijections of `b`-bit words (add a key, multiply by an
/// odd key, xor-shift right), `2^b` the next power of two >= n. `apply` cycle-walks (applies
/// again while the value is >= n), which keeps it a bijection of `[0, n)`; the generator's
/// random map instead runs `round` over a counter 0..<2^b and keeps the values < n, which
/// visits the same blocks once each without walking. Expected cost: under two round-sets
/// per block. Memory: 64 bytes whatever n is.
public struct BlockPermutation: Sendable, Equatable {
    public let count: UInt64
    @usableFromInline let mask: UInt64
    @usableFromInline let shift: UInt64
    @usableFromInline let k0, k1, k2: UInt64
    @usableFromInline let m0, m1, m2: UInt64

    public init(count: UInt64, key: UInt64) {
        precondition(count > 0 && count <= 1 << 63)
        self.count = count
        let bits = count <= 1 ? 1 : 64 - (count - 1).leadingZeroBitCount
        mask = bits >= 64 ? .max : (UInt64(1) << UInt64(bits)) - 1
        shift = UInt64(max(1, (bits + 1) / 2))
        var sm = SplitMix64(seed: key)
        k0 = sm.next(); k1 = sm.next(); k2 = sm.next()
        m0 = sm.next() | 1; m1 = sm.next() | 1; m2 = sm.next() | 1
    }

    /// One bijection of the b-bit words: three rounds of (add a key, multiply by an odd
    /// key, xor-shift right by about b/2). The low b bits of a product depend only on the
    /// low b bits of its factors, so one mask per round keeps the value in range.
    @inlinable @inline(__always)
    func round(_ x: UInt64) -> UInt64 {
        var x = ((x &+ k0) &* m0) & mask
        x ^= x >> shift
        x = ((x &+ k1) &* m1) & mask
        x ^= x >> shift
        x = ((x &+ k2) &* m2) & mask
        x ^= x >> shift
        return x
    }

    /// 2^b: the domain of `round`.
    @inlinable public var domain: UInt64 { mask &+ 1 }

    /// The image of `i` (which must be < count).
    @inlinable @inline(__always)
    public func apply(_ i: UInt64) -> UInt64 {
        var x = round(i)
        while x >= count { x = round(x) }
        return x
    }
}

// MARK: - fio's non-uniform distributions

/// Caches fio's zipf normaliser (a sum of up to 10M powers) per (n, theta).
final class ZetaCache: @unchecked Sendable {
    static let shared = ZetaCache()
    private var values: [String: Double] = [:]
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }

    func zetan(n: UInt64, theta: Double) -> Double {
        let key = "\(n):\(theta.bitPattern)"
        pthread_mutex_lock(&lock)
        if let v = values[key] { pthread_mutex_unlock(&lock); return v }
        pthread_mutex_unlock(&lock)
        // fio (lib/zipf.c) caps the sum at 10M terms; so do we, to draw the same distribution.
        let terms = min(n, 10_000_000)
        var z = 0.0
        var i: UInt64 = 0
        while i < terms {
            z += pow(1.0 / Double(i + 1), theta)
            i += 1
        }
        pthread_mutex_lock(&lock)
        values[key] = z
        pthread_mutex_unlock(&lock)
        return z
    }
}

/// The rank part of fio's non-uniform generators (lib/zipf.c, lib/gauss.c): a value in
/// `[0, n)` where small ranks (zipf, pareto) or ranks near n/2 (normal) are hot. The
/// generator then scatters ranks over the blocks, as fio does with its hash.
public enum RankDistribution: Sendable, Equatable {
    /// Zipf with exponent theta (fio's `zipf:theta`; theta != 1).
    case zipf(theta: Double)
    /// Pareto with fio's power h in (0, 1) (`pareto:h`).
    case pareto(h: Double)
    /// fio's "normal" (`normal:dev`): the mean of 12 uniform values over [0, n], plus a
    /// uniform deviation of width `dev` percent of n.
    case normal(dev: Double)
}

/// One file's state for a `RankDistribution`, as in fio: the parameters are derived once.
public struct RankSampler: Sendable {
    public let n: UInt64
    public let kind: RankDistribution
    // zipf
    let zetan: Double
    let alpha: Double
    let eta: Double
    let twoThreshold: Double
    // pareto
    let paretoPow: Double
    // normal: the deviation's width in ranks (at most n / 2)
    let stddev: UInt64

    public init(kind: RankDistribution, n: UInt64) {
        precondition(n > 0)
        self.n = n
        self.kind = kind
        var zetan = 0.0, alpha = 0.0, eta = 0.0, two = 0.0, ppow = 0.0
        var sd: UInt64 = 0
        switch kind {
        case .zipf(let theta):
            zetan = ZetaCache.shared.zetan(n: n, theta: theta)
            let zeta2 = pow(1.0, theta) + pow(0.5, theta)
            alpha = 1.0 / (1.0 - theta)
            eta = (1.0 - pow(2.0 / Double(n), 1.0 - theta)) / (1.0 - zeta2 / zetan)
            two = 1.0 + pow(0.5, theta)
        case .pareto(let h):
            ppow = log(h) / log(1.0 - h)
        case .normal(let dev):
            if dev != 0 {
                // Clamped to n/2 in floating point first: n * dev% can exceed Int64 when n
                // nears 2^64 (a region of exabytes in small blocks).
                let want = (Double(n) * dev / 100.0).rounded(.up)
                sd = want >= Double(n / 2) ? n / 2 : UInt64(want)
            }
        }
        self.zetan = zetan
        self.alpha = alpha
        self.eta = eta
        self.twoThreshold = two
        self.paretoPow = ppow
        self.stddev = sd
    }

    /// The next rank in [0, n).
    @inlinable
    public func next(_ rng: inout Xoshiro256) -> UInt64 {
        switch kind {
        case .zipf: return zipfNext(&rng)
        case .pareto: return paretoNext(&rng)
        case .normal: return normalNext(&rng)
        }
    }

    @usableFromInline func zipfNext(_ rng: inout Xoshiro256) -> UInt64 {
        Self.zipfRank(u: rng.nextDouble(), n: n, zetan: zetan, eta: eta, alpha: alpha, twoThreshold: twoThreshold)
    }

    /// fio's zipf draw (Gray et al.'s method, as fio's lib/zipf.c uses it): the 0-based rank
    /// for a uniform `u` in [0, 1), from the distribution's precomputed constants.
    @inline(__always)
    public static func zipfRank(u: Double, n: UInt64, zetan: Double, eta: Double, alpha: Double, twoThreshold: Double) -> UInt64 {
        let z = u * zetan
        var val: UInt64
        if z < 1.0 {
            val = 1
        } else if z < twoThreshold {
            val = 2
        } else {
            let x = Double(n) * pow(eta * u - eta + 1.0, alpha)
            if !(x >= 0) { val = 1 } else if x >= Double(n) { val = n } else { val = 1 + UInt64(x) }
        }
        val -= 1
        return val < n ? val : n - 1
    }

    @usableFromInline func paretoNext(_ rng: inout Xoshiro256) -> UInt64 {
        let u = rng.nextDouble()
        let x = Double(n - 1) * pow(u, paretoPow)
        if !(x >= 0) { return 0 }
        let v = UInt64(min(x, Double(n - 1)))
        return v < n ? v : n - 1
    }

    /// fio's gauss_next: the rounded-up mean of 12 uniform draws over [0, n], plus the
    /// deviation. The sum is kept in 128 bits and the deviation as a sign and magnitude:
    /// fio's 64-bit sum wraps once n passes 2^60 (and a signed one traps in Swift), which
    /// a region above 2^62 bytes in small blocks reaches. Below that the result is fio's.
    @usableFromInline func normalNext(_ rng: inout Xoshiro256) -> UInt64 {
        var high: UInt64 = 0, low: UInt64 = 0
        for _ in 0..<12 {
            // [0, n]: n + 1 values, all 2^64 of them when n is UInt64.max.
            let v = n == .max ? rng.next() : rng.below(n + 1)
            let (l, carry) = low.addingReportingOverflow(v)
            low = l
            if carry { high += 1 }
        }
        let (l, carry) = low.addingReportingOverflow(11)
        low = l
        if carry { high += 1 }
        var sum = UInt64(12).dividingFullWidth((high: high, low: low)).quotient // <= n
        if stddev != 0 {
            // fio's gauss_dev: uniform in [-stddev/2, stddev/2), halved until it stays in range.
            let draw = min(stddev, UInt64(Double(stddev) * rng.nextDouble()))
            let half = stddev / 2
            let negative = draw < half
            var magnitude = negative ? half - draw : draw - half
            while magnitude != 0 && (negative ? magnitude > sum : magnitude >= n - min(n, sum) ) {
                magnitude /= 2
            }
            sum = negative ? sum - magnitude : sum + magnitude
        }
        return sum < n ? sum : n - 1
    }
}

/// Scatters ranks over blocks as fio's hash does, but as a bijection (fio's
/// `hash(rank) % n` sends several ranks to one block and leaves others unreachable).
/// Rank 0 lands on block `offset`, like fio's `(hash(0) + rand_off) % n`.
public struct RankScatter: Sendable {
    public let permutation: BlockPermutation
    let base: UInt64
    public let offset: UInt64

    public init(n: UInt64, key: UInt64, offset: UInt64) {
        permutation = BlockPermutation(count: n, key: key)
        base = permutation.apply(0)
        self.offset = offset % n
    }

    public var n: UInt64 { permutation.count }

    @inline(__always) public func block(ofRank r: UInt64) -> UInt64 {
        let n = permutation.count
        let p = permutation.apply(r)
        var v = p >= base ? p - base : p + (n - base)
        v += offset
        if v >= n { v -= n }
        return v
    }
}

/// fio's zoned split: for v in 1...100, the zone that access percentile falls in.
public struct ZoneTable: Sendable, Equatable {
    /// Per percentile 1...100 (index v-1): the zone's [start, end) as a percentage of the
    /// region (`zoned`) or in bytes (`zoned_abs`).
    public var start: [UInt64]
    public var end: [UInt64]
    public var absolute: Bool

    public init(zones: [(access: Int, size: UInt64)], absolute: Bool) {
        self.absolute = absolute
        start = Array(repeating: UInt64.max, count: 100)
        end = Array(repeating: UInt64.max, count: 100)
        var aprev = 0
        var sprev: UInt64 = 0
        for z in zones {
            for j in aprev..<min(100, aprev + z.access) {
                start[j] = sprev
                end[j] = sprev + z.size
            }
            aprev += z.access
            sprev += z.size
        }
    }

    public static func == (a: ZoneTable, b: ZoneTable) -> Bool {
        a.start == b.start && a.end == b.end && a.absolute == b.absolute
    }
}
