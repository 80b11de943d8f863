#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An offset distribution fio can express, as fio-gen draws it (Workload/Distributions.swift).
public enum AccessModel: Sendable, Equatable, CustomStringConvertible {
    /// `random_distribution=random`: with fio's random map every block once per pass,
    /// without it (`norandommap`) independent uniform draws.
    case uniform(randomMap: Bool)
    case zipf(theta: Double)
    case pareto(h: Double)
    case normal(dev: Double)

    /// The `random_distribution=` value (nil for uniform).
    public var fioValue: String? {
        switch self {
        case .uniform: nil
        case .zipf(let t): "zipf:" + fixed(t, 2)
        case .pareto(let h): "pareto:" + fixed(h, 2)
        case .normal(let d): "normal:" + fixed(d, 0)
        }
    }

    public var description: String {
        switch self {
        case .uniform(let map): map ? "random (random map)" : "random (norandommap)"
        default: fioValue!
        }
    }
}

/// The result of fitting an access distribution to a hit table.
public struct DistributionFit: Sendable {
    /// The best model and its distance: the largest gap between the trace's hit curve and
    /// the model's (share of hits taken by the hottest k blocks, over k).
    public var model: AccessModel
    public var distance: Double
    /// Every family's best parameter and distance, best first.
    public var candidates: [(model: AccessModel, distance: Double)]
    /// Hits compared (after thinning) and the fraction of blocks they stand for.
    public var hitsUsed: Int
    public var samplingRate: Double
}

/// Fits fio's offset distributions to a trace's hit table.
///
/// The statistic is fio-genzipf's hit table: sort the blocks by hits and ask which share
/// of the hits the hottest k blocks take. The model side is not a formula but a
/// simulation with fio-gen's own samplers (`RankSampler`'s arithmetic): the same number of
/// draws over the same number of blocks, sorted the same way, so both curves carry the
/// same finite-sample bias (a block hit once looks "hot" next to the unhit ones). Every
/// candidate parameter reuses one random stream (common random numbers), which makes the
/// distance a smooth enough function of the parameter for a grid search refined by
/// golden-section search. Above `maxDraws` hits the trace's counts are thinned
/// binomially to that many, which is what drawing fewer hits would give.
///
/// A trace's counts may be weighted: a count of weight w stands for w blocks hit that
/// often (a spatial sample at rate R gives weight 1/R; see `HitTable.weightedCounts`).
public struct DistributionFitter {
    /// Blocks in the region (fio-gen: ceil(size / min block size)).
    public let blocks: UInt64
    /// Fraction of the blocks the counts come from individually (for the report).
    public let samplingRate: Double
    public let draws: Int
    let dataCurve: [Double]
    let points: [Int]
    let seed: UInt64
    /// Hits behind `dataCurve`, unweighted (after thinning).
    let curveHits: UInt64
    public static let maxDraws = 1 << 17

    /// `counts`: the hits of each block that was hit (any order), each standing for
    /// `weight` such blocks.
    public init(weighted counts: [(hits: UInt64, weight: Double)], blocks: UInt64, samplingRate: Double = 1,
                seed: UInt64 = 0x5EED) {
        precondition(blocks > 0)
        self.blocks = blocks
        self.samplingRate = samplingRate
        self.seed = seed
        let totalHits = counts.reduce(0.0) { $0 + Double($1.hits) * $1.weight }
        var use = counts
        if totalHits > Double(Self.maxDraws) {
            let q = Double(Self.maxDraws) / totalHits
            var rng = Xoshiro256(seed: seed ^ 0x7417)
            use = counts.map { (DistributionFitter.binomial($0.hits, q, &rng), $0.weight) }.filter { $0.0 > 0 }
            draws = Self.maxDraws
        } else {
            draws = max(1, Int(totalHits.rounded()))
        }
        points = DistributionFitter.curvePoints(Int(min(blocks, UInt64(Int.max))))
        dataCurve = DistributionFitter.curve(use, points)
        curveHits = max(1, use.reduce(0) { $0 + $1.hits })
    }

    /// Unweighted counts (every block counted).
    public init(counts: [UInt64], blocks: UInt64, seed: UInt64 = 0x5EED) {
        self.init(weighted: counts.map { ($0, 1.0) }, blocks: blocks, samplingRate: 1, seed: seed)
    }

    /// k = 1...16, then 15 % steps, then the last block.
    static func curvePoints(_ m: Int) -> [Int] {
        var p: [Int] = []
        var k = 1
        while k <= m {
            p.append(k)
            let next = Double(k) * 1.15
            if next >= Double(m) { break }
            k = k < 16 ? k + 1 : max(k + 1, Int(next))
        }
        if p.last != m { p.append(m) }
        return p
    }

    /// Share of the hits in the hottest k blocks, for each k of `points`. Sorts by
    /// frequency of counts (few distinct values), not the counts themselves; a weight
    /// that straddles a k counts in part.
    static func curve(_ counts: [(hits: UInt64, weight: Double)], _ points: [Int]) -> [Double] {
        var freq: [UInt64: Double] = [:]
        var total = 0.0
        for c in counts where c.hits > 0 {
            freq[c.hits, default: 0] += c.weight
            total += Double(c.hits) * c.weight
        }
        guard total > 0 else { return points.map { _ in 0 } }
        let levels = freq.keys.sorted(by: >)
        var out: [Double] = []
        out.reserveCapacity(points.count)
        var acc = 0.0   // hits in the blocks taken so far
        var taken = 0.0 // blocks taken so far
        var li = 0
        var leftAtLevel = levels.isEmpty ? 0 : freq[levels[0]]!
        for k in points {
            let kk = Double(k)
            while taken < kk && li < levels.count {
                let take = min(kk - taken, leftAtLevel)
                acc += take * Double(levels[li])
                taken += take
                leftAtLevel -= take
                if leftAtLevel <= 1e-9 {
                    li += 1
                    if li < levels.count { leftAtLevel = freq[levels[li]]! }
                }
            }
            out.append(min(1, acc / total))
        }
        return out
    }

    static func binomial(_ n: UInt64, _ q: Double, _ rng: inout Xoshiro256) -> UInt64 {
        if n <= 64 {
            var k: UInt64 = 0
            for _ in 0..<n where rng.nextDouble() < q { k += 1 }
            return k
        }
        // Normal approximation (Box-Muller) for large counts.
        let mean = Double(n) * q, sd = (Double(n) * q * (1 - q)).squareRoot()
        let u1 = rng.nextOpenDouble(), u2 = rng.nextDouble()
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        return UInt64(max(0, min(Double(n), (mean + sd * z).rounded())))
    }

    /// The distance between the trace's hit curve and `model`'s.
    public func distance(_ model: AccessModel) -> Double {
        let c = modelCurve(model)
        var d = 0.0
        for (x, y) in zip(dataCurve, c) { d = max(d, abs(x - y)) }
        return d
    }

    func modelCurve(_ model: AccessModel) -> [Double] {
        let n = blocks
        if case .uniform(true) = model {
            // The random map: each block once per pass; `extra` blocks get one more.
            let base = UInt64(draws) / n, extra = Double(UInt64(draws) % n)
            let m = Double(n)
            let total = extra * Double(base + 1) + (m - extra) * Double(base)
            return points.map { k in
                let kk = Double(k)
                let v = min(kk, extra) * Double(base + 1) + max(0, min(kk, m) - extra) * Double(base)
                return total > 0 ? v / total : 0
            }
        }
        var rng = Xoshiro256(seed: seed)
        let sampler: RankSampler?
        switch model {
        case .uniform, .zipf: sampler = nil
        case .pareto(let h): sampler = RankSampler(kind: .pareto(h: h), n: n)
        case .normal(let d): sampler = RankSampler(kind: .normal(dev: d), n: n)
        }
        var zipf: ZipfSampler?
        if case .zipf(let t) = model { zipf = ZipfSampler(theta: t, n: n) }
        // Exact counts of every rank drawn: a flat array for regions up to 4M blocks (only
        // the touched entries are read back), else a dictionary (at most `maxDraws` keys).
        let useDense = n <= 1 << 22
        var dense: [UInt32] = useDense ? [UInt32](repeating: 0, count: Int(n)) : []
        var touched: [Int] = []
        var counts: [UInt64: UInt64] = [:]
        for _ in 0..<draws {
            let r = zipf?.next(&rng) ?? sampler?.next(&rng) ?? rng.below(n)
            if useDense {
                let i = Int(r)
                if dense[i] == 0 { touched.append(i) }
                dense[i] &+= 1
            } else {
                counts[r, default: 0] += 1
            }
        }
        let values: [(hits: UInt64, weight: Double)] = useDense ? touched.map { (UInt64(dense[$0]), 1) } : counts.values.map { ($0, 1) }
        return Self.curve(values, points)
    }

    /// Fits every family and returns the best.
    public func fit() -> DistributionFit {
        var cands: [(AccessModel, Double)] = []
        cands.append((.uniform(randomMap: true), distance(.uniform(randomMap: true))))
        cands.append((.uniform(randomMap: false), distance(.uniform(randomMap: false))))
        // zipf: theta in (0, 3], never 1 (fio rejects it); search each side of 1.
        let zipfGrid: [Double] = [0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 1.05, 1.1, 1.2, 1.3, 1.4, 1.6, 1.8, 2.0, 2.5, 3.0]
        cands.append(search(zipfGrid, { .zipf(theta: $0) }, forbidden: 1.0))
        let paretoGrid: [Double] = [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97]
        cands.append(search(paretoGrid, { .pareto(h: $0) }, forbidden: nil))
        // fio's normal is nearly the same for every deviation (its spread is fixed at about
        // 8.3 % of the region; the parameter adds a narrow uniform jitter): a grid suffices.
        let normalGrid: [Double] = [0, 20, 40, 60, 80, 99]
        cands.append(normalGrid.map { (AccessModel.normal(dev: $0), distance(.normal(dev: $0))) }.min { $0.1 < $1.1 }!)
        cands.sort { $0.1 < $1.1 }
        // Prefer uniform when it is as good within the curve's own noise (pareto:0.5 is
        // uniform, and a sampled hit table blurs small differences): half the two-sample
        // KS critical value for the hits behind the curve.
        var best = cands[0]
        let tolerance = 0.5 * Distance.ksCritical(Double(curveHits), Double(curveHits))
        if case .uniform = best.0 {} else if let u = cands.first(where: { if case .uniform = $0.0 { true } else { false } }),
                                             u.1 <= best.1 + tolerance {
            best = u
        }
        cands.removeAll { $0.0 == best.0 }
        cands.insert(best, at: 0)
        return DistributionFit(model: best.0, distance: best.1, candidates: cands.map { ($0.0, $0.1) },
                               hitsUsed: draws, samplingRate: samplingRate)
    }

    /// Grid search, then golden-section refinement between the best point's neighbours
    /// (not crossing `forbidden`), to two decimals.
    func search(_ grid: [Double], _ make: (Double) -> AccessModel, forbidden: Double?) -> (AccessModel, Double) {
        let scores = grid.map { distance(make($0)) }
        var bi = 0
        for i in scores.indices where scores[i] < scores[bi] { bi = i }
        var lo = bi > 0 ? grid[bi - 1] : grid[bi]
        var hi = bi + 1 < grid.count ? grid[bi + 1] : grid[bi]
        if let f = forbidden {
            if lo < f && grid[bi] > f { lo = f + 0.01 }
            if hi > f && grid[bi] < f { hi = f - 0.01 }
        }
        var best = (grid[bi], scores[bi])
        let g = (5.0.squareRoot() - 1) / 2
        var a = lo, b = hi
        var c = b - g * (b - a), d = a + g * (b - a)
        var fc = distance(make(c)), fd = distance(make(d))
        while b - a > 0.02 {
            if fc <= fd {
                b = d; d = c; fd = fc
                c = b - g * (b - a)
                fc = distance(make(c))
            } else {
                a = c; c = d; fc = fd
                d = a + g * (b - a)
                fd = distance(make(d))
            }
        }
        for x in [c, d] {
            let r = (x * 100).rounded() / 100
            if r == forbidden { continue }
            let s = distance(make(r))
            if s < best.1 { best = (r, s) }
        }
        return (make(best.0), best.1)
    }
}

/// fio-gen's zipf sampler (`RankSampler.zipfNext`, fio's approximation after Gray et al.),
/// with its normaliser (the sum of i^-theta over the first min(n, 10M) ranks, as fio caps
/// it) computed from 10,000 exact terms and an Euler-Maclaurin tail instead of 10M powers:
/// the fit tries dozens of thetas, and 10M powers each took seconds on a disk-sized region.
/// The two sums agree to about 1e-12 relative (checked in the tests).
struct ZipfSampler {
    let n: UInt64
    let zetan: Double
    let alpha: Double
    let eta: Double
    let twoThreshold: Double

    init(theta: Double, n: UInt64) {
        self.n = n
        zetan = ZipfSampler.zeta(min(n, 10_000_000), theta)
        let zeta2 = 1 + pow(0.5, theta)
        alpha = 1 / (1 - theta)
        eta = (1 - pow(2 / Double(n), 1 - theta)) / (1 - zeta2 / zetan)
        twoThreshold = 1 + pow(0.5, theta)
    }

    /// The sum of i^-theta for i in 1...m.
    static func zeta(_ m: UInt64, _ theta: Double) -> Double {
        let k = min(m, 10_000)
        var s = 0.0
        var i: UInt64 = 1
        while i <= k {
            s += pow(1 / Double(i), theta)
            i += 1
        }
        guard m > k else { return s }
        // Euler-Maclaurin for i = a...b: the integral, + (f(a) + f(b)) / 2,
        // + (f'(b) - f'(a)) / 12, - (f'''(b) - f'''(a)) / 720.
        let a = Double(k + 1), b = Double(m)
        func f(_ x: Double) -> Double { pow(x, -theta) }
        func d1(_ x: Double) -> Double { -theta * pow(x, -theta - 1) }
        func d3(_ x: Double) -> Double { -theta * (theta + 1) * (theta + 2) * pow(x, -theta - 3) }
        let integral = theta == 1 ? log(b / a) : (pow(b, 1 - theta) - pow(a, 1 - theta)) / (1 - theta)
        return s + integral + (f(a) + f(b)) / 2 + (d1(b) - d1(a)) / 12 - (d3(b) - d3(a)) / 720
    }

    /// The same arithmetic as `RankSampler.zipfNext`.
    func next(_ rng: inout Xoshiro256) -> UInt64 {
        RankSampler.zipfRank(u: rng.nextDouble(), n: n, zetan: zetan, eta: eta, alpha: alpha, twoThreshold: twoThreshold)
    }
}
