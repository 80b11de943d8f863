#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// fio's own random numbers, so that fio-gen draws what fio 3.33 draws: the combined
// Tausworthe generators of lib/rand.{h,c} (taus88, 32-bit, fio's default; taus258, 64-bit,
// `random_generator=tausworthe64`), their seeding from a job's seeds (init.c), and the
// hash fio's non-uniform distributions scatter ranks with. Written from fio's published
// behaviour; checked against `fio --ioengine=null --write_iolog` by FioGenExactTests.

/// One of fio's `frand_state`s: taus88 (three 32-bit words) or taus258 (five 64-bit words).
struct FioRand: Sendable {
    let use64: Bool
    var s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0, s4: UInt64 = 0, s5: UInt64 = 0

    /// fio's init_rand_seed: the 32-bit generator takes the seed's low 32 bits. The start
    /// value `(2^31) + (2^17) + (2^7)` is C's xor, that is 53.
    init(seed: UInt64, use64: Bool) {
        self.use64 = use64
        @inline(__always) func floor(_ x: UInt64, _ m: UInt64) -> UInt64 { x < m ? x &+ m : x }
        if use64 {
            @inline(__always) func lcg(_ x: UInt64) -> UInt64 { (x &* 6_906_969_069) ^ seed }
            s1 = floor(lcg(53), 1)
            s2 = floor(lcg(s1), 7)
            s3 = floor(lcg(s2), 15)
            s4 = floor(lcg(s3), 33)
            s5 = floor(lcg(s4), 49)
        } else {
            let sd = UInt32(truncatingIfNeeded: seed)
            @inline(__always) func lcg(_ x: UInt32) -> UInt32 { (x &* 69069) ^ sd }
            @inline(__always) func floor32(_ x: UInt32, _ m: UInt32) -> UInt32 { x < m ? x &+ m : x }
            let a = floor32(lcg(53), 1)
            let b = floor32(lcg(a), 7)
            let c = floor32(lcg(b), 15)
            s1 = UInt64(a); s2 = UInt64(b); s3 = UInt64(c)
        }
        for _ in 0..<6 { _ = next() }
    }

    /// fio's `__rand`: the next value, below 2^32 for the 32-bit generator.
    @inline(__always) mutating func next() -> UInt64 {
        if use64 {
            var x = ((s1 << 1) ^ s1) >> 53
            s1 = ((s1 & 18_446_744_073_709_551_614) << 10) ^ x
            x = ((s2 << 24) ^ s2) >> 50
            s2 = ((s2 & 18_446_744_073_709_551_104) << 5) ^ x
            x = ((s3 << 3) ^ s3) >> 23
            s3 = ((s3 & 18_446_744_073_709_547_520) << 29) ^ x
            x = ((s4 << 5) ^ s4) >> 24
            s4 = ((s4 & 18_446_744_073_709_420_544) << 23) ^ x
            x = ((s5 << 3) ^ s5) >> 33
            s5 = ((s5 & 18_446_744_073_701_163_008) << 8) ^ x
            return s1 ^ s2 ^ s3 ^ s4 ^ s5
        }
        var a = UInt32(truncatingIfNeeded: s1), b = UInt32(truncatingIfNeeded: s2), c = UInt32(truncatingIfNeeded: s3)
        a = ((a & 4_294_967_294) << 12) ^ (((a << 13) ^ a) >> 19)
        b = ((b & 4_294_967_288) << 4) ^ (((b << 2) ^ b) >> 25)
        c = ((c & 4_294_967_280) << 17) ^ (((c << 3) ^ c) >> 11)
        s1 = UInt64(a); s2 = UInt64(b); s3 = UInt64(c)
        return UInt64(a ^ b ^ c)
    }

    /// `rand_max + 1.0`: 2^32 or 2^64, as a double.
    @inline(__always) var range: Double { use64 ? 18_446_744_073_709_551_616.0 : 4_294_967_296.0 }

    /// `1 / range`: 2^-32 or 2^-64. A power of two, so `x * scale` is exactly `x / range`
    /// (no rounding differs) and costs a multiplication instead of a division.
    @inline(__always) var scale: Double { use64 ? 0x1p-64 : 0x1p-32 }

    /// fio's `n * (r / (rand_max + 1.0))`, truncated: how fio scales a draw to [0, n).
    @inline(__always) mutating func scaled(_ n: UInt64) -> UInt64 {
        let r = next()
        return FioRand.toUInt64(Double(n) * (Double(r) * scale))
    }

    /// About `scaled(n)` in integers (the high half of draw x n over the generator's
    /// range): off by at most one from fio's value, so only for hints such as a prefetch.
    @inline(__always) mutating func roughlyScaled(_ n: UInt64) -> UInt64 {
        let r = next()
        return use64 ? r.multipliedFullWidth(by: n).high : ((r &* (n & 0xFFFF_FFFF)) >> 32) &+ (r &* (n >> 32))
    }

    /// fio's rand_between(state, start, end), both inclusive.
    @inline(__always) mutating func between(_ start: UInt64, _ end: UInt64) -> UInt64 {
        let r = next()
        if use64 {
            return start &+ FioRand.toUInt64(Double(end &- start &+ 1) * (Double(r) * scale))
        }
        // rand32_upto: `end` is a uint32_t there; the result goes through an int.
        let e = UInt32(truncatingIfNeeded: end &- start) &+ 1
        let v = Int64(Double(e) * (Double(r) * scale))
        return start &+ UInt64(truncatingIfNeeded: Int32(truncatingIfNeeded: v))
    }

    /// fio's `rand_between(state, 1, 100)`.
    @inline(__always) mutating func percent() -> Int { Int(between(1, 100)) }

    /// C's double to uint64 conversion for values fio can produce (0 <= v < 2^64).
    @inline(__always) static func toUInt64(_ v: Double) -> UInt64 {
        if !(v > 0) { return 0 }
        return v >= 18_446_744_073_709_551_616.0 ? .max : UInt64(v)
    }
}

/// A job's `rand_seeds[]` (fio's init.c setup_random_seeds and td_fill_rand_seeds).
struct FioSeeds: Sendable {
    /// Indexes into `values` (fio's FIO_RAND_*_OFF).
    static let bsRead = 0, bsWrite = 1, bsTrim = 2, verify = 3, mix = 4, file = 5, block = 6,
               fileSize = 7, trim = 8, buf = 9, seqRandRead = 10, seqRandWrite = 11, seqRandTrim = 12,
               startDelay = 13, dedupe = 14, poisson = 15, zone = 16, poisson2 = 17, poisson3 = 18,
               prio = 19, dedupeWorkingSet = 20, count = 21
    /// fio's FIO_RANDSEED: with randrepeat the offsets' seed is this times the job number.
    static let fioRandSeed: UInt64 = 0xb189_9bed
    /// fio's `randseed` default.
    static let defaultRandSeed: UInt64 = 0x89

    var values: [UInt64]
    /// The offsets' seed is fio's fixed one (randrepeat): zipf, pareto and normal then seed
    /// from the file's name, else from the offsets' seed.
    let fixedBlockSeed: Bool

    /// `randSeed`: the job's randseed (fio's default 0x89 when unset); `threadNumber`: fio's
    /// 1-based job number (clones of numjobs count); `randRepeat`: randrepeat.
    init(randSeed: UInt64, threadNumber: UInt64, randRepeat: Bool) {
        var seed = randSeed
        for _ in 0..<4 { seed = seed &* 0x9e37_0001 }
        var v = [UInt64](repeating: 0, count: FioSeeds.count)
        for i in 0..<FioSeeds.count {
            v[i] = seed &* threadNumber &+ UInt64(i)
            seed = seed &* 0x9e37_0001
        }
        if randRepeat { v[FioSeeds.block] = FioSeeds.fioRandSeed &* threadNumber }
        values = v
        fixedBlockSeed = randRepeat
    }

    subscript(_ i: Int) -> UInt64 { values[i] }
}

/// fio's hash.h: `__hash_u64` (a multiply by the 64-bit golden ratio) and its `jhash`,
/// which adds one byte (not one word) per 4 bytes of the key in its main loop.
enum FioHash {
    static let goldenRatio64: UInt64 = 0x61C8_8646_80B5_83EB
    static let goldenRatio32: UInt32 = 0x61C8_8647

    @inline(__always) static func u64(_ v: UInt64) -> UInt64 { v &* goldenRatio64 }

    static func jhash(_ key: [UInt8], initval: UInt32 = 0) -> UInt32 {
        @inline(__always) func rol(_ w: UInt32, _ s: UInt32) -> UInt32 { (w << s) | (w >> (32 - s)) }
        var length = UInt32(truncatingIfNeeded: key.count)
        var a = goldenRatio32 &+ length &+ initval
        var b = a, c = a
        var k = 0
        while length > 12 {
            a &+= UInt32(key[k]); b &+= UInt32(key[k + 4]); c &+= UInt32(key[k + 8])
            a &-= c; a ^= rol(c, 4); c &+= b
            b &-= a; b ^= rol(a, 6); a &+= c
            c &-= b; c ^= rol(b, 8); b &+= a
            a &-= c; a ^= rol(c, 16); c &+= b
            b &-= a; b ^= rol(a, 19); a &+= c
            c &-= b; c ^= rol(b, 4); b &+= a
            length -= 12
            k += 12
        }
        if length == 0 { return c }
        let n = Int(length)
        func byte(_ i: Int) -> UInt32 { i < n ? UInt32(key[k + i]) : 0 }
        c &+= byte(11) << 24 &+ byte(10) << 16 &+ byte(9) << 8 &+ byte(8)
        b &+= byte(7) << 24 &+ byte(6) << 16 &+ byte(5) << 8 &+ byte(4)
        a &+= byte(3) << 24 &+ byte(2) << 16 &+ byte(1) << 8 &+ byte(0)
        c ^= b; c &-= rol(b, 14)
        a ^= c; a &-= rol(c, 11)
        b ^= a; b &-= rol(a, 25)
        c ^= b; c &-= rol(b, 16)
        a ^= c; a &-= rol(c, 4)
        b ^= a; b &-= rol(a, 14)
        c ^= b; c &-= rol(b, 24)
        return c
    }
}

/// fio's lib/zipf.c and lib/gauss.c for one file: the rank draw, hashed and rotated onto
/// `nranges` ranges (block numbers in units of the smaller of the read and write minimum
/// block sizes). Its generator is always the 32-bit one, seeded from the file's name.
struct FioRankState: Sendable {
    enum Kind: Sendable { case zipf, pareto, gauss }
    let kind: Kind
    let nranges: UInt64
    var rand: FioRand
    /// zipf: theta, zetan, zeta2 and the two constants fio derives from them on every draw
    /// (the same expressions, computed once: the same doubles); pareto: its power.
    let theta: Double
    let zetan: Double
    let zeta2: Double
    let alpha: Double
    let eta: Double
    let twoThreshold: Double
    let paretoPow: Double
    /// gauss: the deviation width in ranges (fio's unsigned int).
    let stddev: UInt32
    /// The rotation added before the modulo (gauss keeps it in an unsigned int).
    let randOff: UInt64
    /// fio hashes ranks for offsets, not for its non-uniform file service.
    let hashed: Bool

    init(_ dist: RankDistribution, center: Double?, nranges: UInt64, seed: UInt32, hashed: Bool = true) {
        self.nranges = nranges
        self.hashed = hashed
        rand = FioRand(seed: UInt64(seed), use64: false)
        var theta = 0.0, zetan = 0.0, zeta2 = 0.0, ppow = 0.0
        var sd: UInt32 = 0
        var off: UInt64 = 0
        switch dist {
        case .zipf(let t):
            kind = .zipf
            off = rand.next()
            if let c = center { off = FioRand.toUInt64(Double(nranges) * c) }
            theta = t
            zeta2 = pow(1.0, t) + pow(0.5, t)
            zetan = ZetaCache.shared.zetan(n: nranges, theta: t)
        case .pareto(let h):
            kind = .pareto
            off = rand.next()
            if let c = center { off = FioRand.toUInt64(Double(nranges) * c) }
            ppow = log(h) / log(1.0 - h)
        case .normal(let dev):
            kind = .gauss
            if dev != 0 {
                let want = (Double(nranges) * dev / 100.0).rounded(.up)
                // An unsigned int in fio.
                var s: UInt64 = want >= 4_294_967_295 ? 4_294_967_295 : UInt64(want)
                if s > nranges / 2 { s = nranges / 2 }
                sd = UInt32(truncatingIfNeeded: s)
            }
            if let c = center {
                // An unsigned int in fio; below the middle the negative double wraps (x86).
                let x = Double(nranges) * (c - 0.5)
                let i = x <= -9.2e18 || x >= 9.2e18 ? 0 : Int64(x)
                off = UInt64(UInt32(truncatingIfNeeded: i))
            }
        }
        self.theta = theta
        self.zetan = zetan
        self.zeta2 = zeta2
        alpha = 1.0 / (1.0 - theta)
        eta = (1.0 - pow(2.0 / Double(nranges), 1.0 - theta)) / (1.0 - zeta2 / zetan)
        twoThreshold = 1.0 + pow(0.5, theta)
        self.paretoPow = ppow
        self.stddev = sd
        self.randOff = off
    }

    /// The next range number in [0, nranges).
    mutating func next() -> UInt64 {
        let n = nranges
        switch kind {
        case .zipf:
            let u = Double(rand.next()) / 4_294_967_295.0
            let z = u * zetan
            var val: UInt64
            if z < 1.0 {
                val = 1
            } else if z < twoThreshold {
                val = 2
            } else {
                val = 1 &+ FioRand.toUInt64(Double(n) * pow(eta * u - eta + 1.0, alpha))
            }
            val &-= 1
            return ((hashed ? FioHash.u64(val) : val) &+ randOff) % n
        case .pareto:
            let u = Double(rand.next()) / 4_294_967_295.0
            let v = FioRand.toUInt64(Double(n &- 1) * pow(u, paretoPow))
            return ((hashed ? FioHash.u64(v) : v) &+ randOff) % n
        case .gauss:
            var sum: UInt64 = 0
            for _ in 0..<12 { sum &+= rand.next() % (n &+ 1) }
            sum = (sum &+ 11) / 12
            if stddev != 0 {
                // gauss_dev: an int in [-stddev/2, stddev/2), compared as unsigned.
                let r = rand.next()
                let vr = Int32(truncatingIfNeeded: Int64(Double(stddev) * (Double(r) / 4_294_967_296.0)))
                var dev = Int32(bitPattern: UInt32(bitPattern: vr) &- stddev / 2)
                // (fio loops for ever when the mean is n itself and dev 0; we stop.)
                while dev != 0 && UInt64(bitPattern: Int64(dev)) &+ sum >= n { dev /= 2 }
                sum = sum &+ UInt64(bitPattern: Int64(dev))
            }
            return ((hashed ? FioHash.u64(sum) : sum) &+ randOff) % n
        }
    }
}
