import Foundation
import Glibc
import Testing
@testable import FioTrace

// Statistical tests of fio-gen's workload generator. Every test compares against ground
// truth that does not come from the generator itself (a closed-form distribution, fio's
// own fio-genzipf, or an exact count) and has a negative control showing it can fail.

// MARK: - helpers shared by the Workload*Tests files

/// Parses `text` as a job file and generates every record.
func wlRecords(_ text: String, seed: UInt64? = 42,
               timing: GeneratorOptions.Timing = .serviceModel(serviceTime: 100_000, bytesPerSecond: nil),
               fastPath: Bool = true) throws -> [TraceRecord] {
    var g = try wlGenerator(text, seed: seed, timing: timing)
    g.fastPath = fastPath
    return wlDrain(&g)
}

func wlGenerator(_ text: String, seed: UInt64? = 42,
                 timing: GeneratorOptions.Timing = .serviceModel(serviceTime: 100_000, bytesPerSecond: nil)) throws -> WorkloadGenerator {
    let jobs = try parseJobText(text, fileName: "test.fio")
    return try WorkloadGenerator(jobs: jobs, options: GeneratorOptions(seed: seed, timing: timing))
}

func wlDrain(_ g: inout WorkloadGenerator, batch: Int = 4096) -> [TraceRecord] {
    var all: [TraceRecord] = []
    var b: [TraceRecord] = []
    while g.nextBatch(&b, maxCount: batch) { all.append(contentsOf: b) }
    return all
}

/// Upper-tail probability of a chi-square statistic with `df` degrees of freedom
/// (regularized incomplete gamma Q(df/2, x/2), series / continued fraction).
func wlChiSquareP(_ x: Double, df: Int) -> Double {
    let a = Double(df) / 2, z = x / 2
    if z <= 0 { return 1 }
    let gln: Double = Glibc.lgamma(a)
    if z < a + 1 {
        var sum = 1.0 / a, del = sum, ap = a
        for _ in 0..<10_000 {
            ap += 1
            del *= z / ap
            sum += del
            if abs(del) < abs(sum) * 1e-15 { break }
        }
        return max(0, 1 - sum * exp(-z + a * log(z) - gln))
    }
    var b = z + 1 - a, c = 1.0 / 1e-300, d = 1.0 / b, h = d
    for i in 1..<10_000 {
        let an = -Double(i) * (Double(i) - a)
        b += 2
        d = an * d + b
        if abs(d) < 1e-300 { d = 1e-300 }
        c = b + an / c
        if abs(c) < 1e-300 { c = 1e-300 }
        d = 1 / d
        let del = d * c
        h *= del
        if abs(del - 1) < 1e-15 { break }
    }
    return exp(-z + a * log(z) - gln) * h
}

/// Pearson's chi-square of counts against probabilities (buckets with an expected count
/// under 5 are merged into their neighbour). Returns (statistic, degrees of freedom, p).
func wlChiSquare(observed: [Double], probabilities: [Double]) -> (stat: Double, df: Int, p: Double) {
    let total = observed.reduce(0, +)
    var obs: [Double] = [], exp: [Double] = []
    var o = 0.0, e = 0.0
    for i in 0..<observed.count {
        o += observed[i]
        e += probabilities[i] * total
        if e >= 5 {
            obs.append(o); exp.append(e)
            o = 0; e = 0
        }
    }
    if e > 0 || o > 0 {
        if exp.isEmpty { obs.append(o); exp.append(e) } else { obs[obs.count - 1] += o; exp[exp.count - 1] += e }
    }
    var stat = 0.0
    for i in 0..<obs.count { stat += (obs[i] - exp[i]) * (obs[i] - exp[i]) / exp[i] }
    let df = obs.count - 1
    return (stat, df, wlChiSquareP(stat, df: df))
}

/// log2-spaced rank buckets over [0, n): [0], [1], [2,3], [4,7], ...
func wlLogBuckets(n: UInt64) -> [Range<UInt64>] {
    var out: [Range<UInt64>] = [0..<1]
    var lo: UInt64 = 1
    while lo < n {
        let hi = min(n, lo * 2)
        out.append(lo..<hi)
        lo = hi
    }
    return out
}

/// fio-genzipf's table from a list of block hits: blocks hit at least once, sorted by
/// hits, cut into `rows` equal groups; each row's share of all hits, in percent.
func wlGenzipfRows(hits: [UInt64: Int], samples: Int, rows: Int) -> [Double] {
    let counts = hits.values.sorted(by: >)
    let nnodes = counts.count
    let step = (nnodes - 1) / rows + 1
    var out: [Double] = []
    var cur = 0
    for (i, c) in counts.enumerated() {
        cur += c
        if i == out.count * step + step - 1 || i == nnodes - 1 {
            out.append(Double(cur) / Double(samples) * 100)
            cur = 0
        }
    }
    return out
}

/// Runs fio-genzipf (fio's own table of its distributions) when installed.
func wlFioGenzipf(_ args: [String]) -> [Double]? {
    let path = "/usr/bin/fio-genzipf"
    guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    guard (try? p.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    var rows: [Double] = []
    for line in text.split(separator: "\n") where line.hasPrefix("Top") || line.hasPrefix("|->") {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        // "Top 20.00% 91.58% 91.58% ..." : the second percentage is the row's hit share.
        let percents = fields.filter { $0.hasSuffix("%") }.compactMap { Double($0.dropLast()) }
        if percents.count >= 2 { rows.append(percents[1]) }
    }
    return rows.isEmpty ? nil : rows
}

/// The rank each block of file 0 of job 0 stands for: the inverse of fio's scatter,
/// block = (rank * 64-bit golden ratio + rotation) mod n, which is a bijection when n is a
/// power of two (the golden ratio is odd), as in these tests (checked here).
func wlRankOfBlock(_ g: WorkloadGenerator) -> [UInt32] {
    let rs = g.states[0].files[0].rank!
    let n = rs.nranges
    precondition(n & (n - 1) == 0, "fio's scatter is a bijection only for a power-of-two range count")
    var inv = [UInt32](repeating: .max, count: Int(n))
    for r in 0..<n { inv[Int((FioHash.u64(r) &+ rs.randOff) % n)] = UInt32(r) }
    precondition(!inv.contains(.max))
    return inv
}

// MARK: - zipf, pareto, normal

@Suite("Workload distributions")
struct WorkloadDistributionTests {
    static let blocks: UInt64 = 262_144 // 1 GiB of 4 KiB blocks, as fio-genzipf -g 1 -b 4096

    /// fio's zipf generator (lib/zipf.c) in closed form: the probability that a draw's rank
    /// is below k, from its inverse-transform formula (u uniform in [0, 1)).
    static func fioZipfCDF(_ k: Double, n: UInt64, theta: Double, zetan: Double) -> Double {
        let nn = Double(n)
        let zeta2 = 1 + pow(0.5, theta)
        let alpha = 1 / (1 - theta)
        let eta = (1 - pow(2 / nn, 1 - theta)) / (1 - zeta2 / zetan)
        let u1 = 1 / zetan, u2 = (1 + pow(0.5, theta)) / zetan
        if k <= 0 { return 0 }
        // Main branch (u >= u2): rank = floor(n * (1 + eta (u - 1))^alpha), increasing in u.
        let uk = 1 + (pow(k / nn, 1 / alpha) - 1) / eta
        var p = max(0, min(1, uk) - u2)
        if k >= 1 { p += u1 }          // u < u1 gives rank 0
        if k >= 2 { p += u2 - u1 }     // u1 <= u < u2 gives rank 1
        return min(1, p)
    }

    func zipfRanks(theta: Double, count: Int) throws -> (ranks: [UInt64], g: WorkloadGenerator, offsets: [UInt64]) {
        var g = try wlGenerator("""
            [z]
            rw=randread
            bs=4k
            size=1g
            random_distribution=zipf:\(theta)
            number_ios=\(count)
            """)
        let inv = wlRankOfBlock(g)
        let recs = wlDrain(&g)
        let offs = recs.map(\.offset)
        return (offs.map { UInt64(inv[Int($0 / 4096)]) }, g, offs)
    }

    @Test("zipf:1.2 ranks fit fio's zipf distribution (chi-square), and a wrong theta does not")
    func zipfGoodnessOfFit() throws {
        let (ranks, _, offsets) = try zipfRanks(theta: 1.2, count: 200_000)
        #expect(ranks.count == 200_000)
        #expect(offsets.allSatisfy { $0 % 4096 == 0 && $0 < 1 << 30 })
        let buckets = wlLogBuckets(n: Self.blocks)
        var obs = [Double](repeating: 0, count: buckets.count)
        for r in ranks { obs[r == 0 ? 0 : 64 - r.leadingZeroBitCount] += 1 }
        func probs(_ theta: Double) -> [Double] {
            var zetan = 0.0
            for i in 1...Self.blocks { zetan += pow(1.0 / Double(i), theta) }
            return buckets.map { Self.fioZipfCDF(Double($0.upperBound), n: Self.blocks, theta: theta, zetan: zetan)
                - Self.fioZipfCDF(Double($0.lowerBound), n: Self.blocks, theta: theta, zetan: zetan) }
        }
        let fit = wlChiSquare(observed: obs, probabilities: probs(1.2))
        #expect(fit.p > 0.001, "chi2=\(fit.stat) df=\(fit.df)")
        let wrong = wlChiSquare(observed: obs, probabilities: probs(1.1))
        #expect(wrong.p < 1e-6, "theta 1.1 should not fit: chi2=\(wrong.stat)")
    }

    @Test("zipf:1.2 hot set matches fio-genzipf's table (top 20% of blocks: 91.58% of hits)")
    func zipfMatchesFioGenzipf() throws {
        let n = Int(Self.blocks)
        let (_, _, offsets) = try zipfRanks(theta: 1.2, count: n)
        var hits: [UInt64: Int] = [:]
        for o in offsets { hits[o, default: 0] += 1 }
        let ours = wlGenzipfRows(hits: hits, samples: n, rows: 5)
        let fio = wlFioGenzipf(["-t", "zipf", "-i", "1.2", "-b", "4096", "-g", "1", "-o", "5"])
            ?? [91.58, 2.77, 1.89, 1.89, 1.89]
        // Measured: ours 91.54 / 2.83 / 1.88 / 1.88 / 1.88 against fio's 91.58 / 2.77 / 1.89 x3.
        for i in 0..<5 { #expect(abs(ours[i] - fio[i]) < 0.5, "row \(i): ours \(ours) fio \(fio)") }
        // Negative control: a uniform random job is nowhere near.
        var g = try wlGenerator("[u]\nrw=randread\nbs=4k\nsize=1g\nnorandommap\nnumber_ios=\(n)\n")
        var uh: [UInt64: Int] = [:]
        for r in wlDrain(&g) { uh[r.offset, default: 0] += 1 }
        #expect(wlGenzipfRows(hits: uh, samples: n, rows: 5)[0] < 50)
    }

    @Test("pareto:0.3 ranks fit fio's pareto (chi-square) and fio-genzipf's table")
    func paretoFit() throws {
        let n = Self.blocks
        var g = try wlGenerator("""
            [p]
            rw=randread
            bs=4k
            size=1g
            random_distribution=pareto:0.3
            number_ios=\(n)
            """)
        let inv = wlRankOfBlock(g)
        let recs = wlDrain(&g)
        let ranks = recs.map { UInt64(inv[Int($0.offset / 4096)]) }
        // fio: rank = floor((n - 1) * u^(log h / log(1 - h))), so P(rank < k) = (k / (n - 1))^(1 / pow).
        func cdf(_ k: Double, _ h: Double) -> Double {
            let pw = log(h) / log(1 - h)
            return min(1, pow(k / Double(n - 1), 1 / pw))
        }
        let buckets = wlLogBuckets(n: n)
        var obs = [Double](repeating: 0, count: buckets.count)
        for r in ranks { obs[r == 0 ? 0 : 64 - r.leadingZeroBitCount] += 1 }
        let fit = wlChiSquare(observed: obs, probabilities: buckets.map { cdf(Double($0.upperBound), 0.3) - cdf(Double($0.lowerBound), 0.3) })
        #expect(fit.p > 0.001, "chi2=\(fit.stat) df=\(fit.df)")
        let wrong = wlChiSquare(observed: obs, probabilities: buckets.map { cdf(Double($0.upperBound), 0.25) - cdf(Double($0.lowerBound), 0.25) })
        #expect(wrong.p < 1e-6)

        var hits: [UInt64: Int] = [:]
        for r in recs { hits[r.offset, default: 0] += 1 }
        let ours = wlGenzipfRows(hits: hits, samples: Int(n), rows: 5)
        let fio = wlFioGenzipf(["-t", "pareto", "-i", "0.3", "-b", "4096", "-g", "1", "-o", "5"])
            ?? [55.46, 17.25, 9.10, 9.10, 9.10]
        for i in 0..<5 { #expect(abs(ours[i] - fio[i]) < 0.5, "row \(i): ours \(ours) fio \(fio)") }
    }

    /// CDF of the mean of 12 U(0,1) (Irwin-Hall of 12, divided by 12).
    static func meanOf12CDF(_ x: Double) -> Double {
        let s = x * 12
        if s <= 0 { return 0 }
        if s >= 12 { return 1 }
        var sum = 0.0
        var binom = 1.0
        for k in 0...Int(s.rounded(.down)) {
            if k > 0 { binom = binom * Double(12 - k + 1) / Double(k) }
            sum += (k % 2 == 0 ? 1 : -1) * binom * pow(s - Double(k), 12)
        }
        return min(1, max(0, sum / 479_001_600))
    }

    @Test("normal:10 ranks fit fio's normal (mean of 12 uniforms + uniform deviation; chi-square)")
    func normalFit() throws {
        let n = Self.blocks
        var g = try wlGenerator("""
            [g]
            rw=randread
            bs=4k
            size=1g
            random_distribution=normal:10
            number_ios=200000
            """)
        let inv = wlRankOfBlock(g)
        let ranks = wlDrain(&g).map { Double(inv[Int($0.offset / 4096)]) }
        let nb = 64
        var obs = [Double](repeating: 0, count: nb)
        for r in ranks { obs[min(nb - 1, Int(r / Double(n) * Double(nb)))] += 1 }
        // Expected: X = (n + 1) * mean12 plus a deviation uniform over [-sd/2, sd/2), sd = 10% of n.
        func probs(dev: Double) -> [Double] {
            let sd = (Double(n) * dev / 100).rounded(.up)
            var p = [Double](repeating: 0, count: nb)
            let steps = 400
            for b in 0..<nb {
                let lo = Double(b) * Double(n) / Double(nb), hi = Double(b + 1) * Double(n) / Double(nb)
                var acc = 0.0
                for j in 0..<steps {
                    let dv = sd == 0 ? 0 : -sd / 2 + sd * (Double(j) + 0.5) / Double(steps)
                    acc += Self.meanOf12CDF((hi - dv) / Double(n + 1)) - Self.meanOf12CDF((lo - dv) / Double(n + 1))
                }
                p[b] = acc / Double(steps)
            }
            return p
        }
        let fit = wlChiSquare(observed: obs, probabilities: probs(dev: 10))
        #expect(fit.p > 0.001, "chi2=\(fit.stat) df=\(fit.df)")
        let wrong = wlChiSquare(observed: obs, probabilities: probs(dev: 40))
        #expect(wrong.p < 1e-6, "dev 40 should not fit: chi2=\(wrong.stat)")

        // fio-genzipf's normal table (its sample of n draws).
        var g2 = try wlGenerator("[g]\nrw=randread\nbs=4k\nsize=1g\nrandom_distribution=normal:10\nnumber_ios=\(n)\n")
        var hits: [UInt64: Int] = [:]
        for r in wlDrain(&g2) { hits[r.offset, default: 0] += 1 }
        let ours = wlGenzipfRows(hits: hits, samples: Int(n), rows: 5)
        let fio = wlFioGenzipf(["-t", "normal", "-i", "10", "-b", "4096", "-g", "1", "-o", "5"])
            ?? [41.14, 24.77, 16.90, 10.33, 6.86]
        for i in 0..<5 { #expect(abs(ours[i] - fio[i]) < 0.5, "row \(i): ours \(ours) fio \(fio)") }
    }

    @Test("zoned: access shares per zone within 1%, uniform inside a zone; zoned_abs likewise")
    func zoned() throws {
        let recs = try wlRecords("""
            [z]
            rw=randread
            bs=4k
            size=100m
            random_distribution=zoned:60/10:30/20:8/30:2/40
            number_ios=100000
            """)
        let size = 100.0 * 1048576
        var zoneHits = [Double](repeating: 0, count: 4)
        let edges = [0.1, 0.3, 0.6, 1.0].map { $0 * size }
        var inZone0 = [Double](repeating: 0, count: 10)
        for r in recs {
            let o = Double(r.offset)
            let z = edges.firstIndex { o < $0 }!
            zoneHits[z] += 1
            if z == 0 { inZone0[min(9, Int(o / (edges[0] / 10)))] += 1 }
        }
        let shares = zoneHits.map { $0 / Double(recs.count) }
        for (s, want) in zip(shares, [0.60, 0.30, 0.08, 0.02]) { #expect(abs(s - want) < 0.01, "\(shares)") }
        let uni = wlChiSquare(observed: inZone0, probabilities: Array(repeating: 0.1, count: 10))
        #expect(uni.p > 0.001)

        let abs = try wlRecords("""
            [za]
            rw=randread
            bs=4k
            size=1g
            random_distribution=zoned_abs:70/64m:30/256m
            number_ios=100000
            """)
        let first = Double(abs.filter { $0.offset < 64 << 20 }.count) / Double(abs.count)
        #expect(Swift.abs(first - 0.70) < 0.01)
        #expect(abs.allSatisfy { $0.offset < 320 << 20 })
    }

    @Test("zipf, pareto, normal and zoned turn the random map off, as fio does")
    func nonUniformHasNoRandomMap() throws {
        for d in ["zipf:1.2", "pareto:0.3", "normal:5", "zoned:50/50:50/50"] {
            let jobs = try parseJobText("[j]\nrw=randread\nsize=1m\nrandom_distribution=\(d)\n")
            #expect(jobs[0].randomMap == false, "\(d)")
        }
    }
}

// MARK: - mixes, sizes and arrivals

@Suite("Workload mixes and arrivals")
struct WorkloadMixTests {
    @Test("rwmixread=70 over 100k I/Os: reads within 1% of 70% (random and sequential)")
    func rwmix() throws {
        for rw in ["randrw", "rw"] {
            let recs = try wlRecords("[m]\nrw=\(rw)\nrwmixread=70\nbs=4k\nsize=1g\nnumber_ios=100000\n")
            #expect(recs.count == 100_000)
            let reads = Double(recs.filter { $0.op == .read }.count) / Double(recs.count)
            #expect(abs(reads - 0.70) < 0.01, "\(rw): \(reads)")
        }
        let w = try wlRecords("[m]\nrw=randrw\nrwmixwrite=20\nbs=4k\nsize=1g\nnumber_ios=100000\n")
        let reads = Double(w.filter { $0.op == .read }.count) / Double(w.count)
        #expect(abs(reads - 0.80) < 0.01)
        #expect(abs(reads - 0.70) > 0.05) // negative control
    }

    @Test("bssplit shares within 1% over 100k I/Os; bsrange uniform over its aligned sizes")
    func bssplit() throws {
        let want: [UInt64: Double] = [4096: 0.5, 16384: 0.3, 65536: 0.2]
        for (name, job) in [("random", "rw=randread\nnorandommap=1\nsize=4g"), ("sequential", "rw=write\nsize=64g")] {
            let recs = try wlRecords("[b]\n\(job)\nbssplit=4k/50:16k/30:64k/20\nnumber_ios=100000\n")
            #expect(recs.count == 100_000)
            var c: [UInt64: Double] = [:]
            for r in recs { c[r.length, default: 0] += 1 }
            #expect(Set(c.keys) == Set(want.keys), "\(name)")
            for (bs, share) in want { #expect(abs(c[bs, default: 0] / 100_000 - share) < 0.01, "\(name) \(bs): \(c[bs, default: 0])") }
        }
        let rr = try wlRecords("[b]\nrw=randread\nnorandommap\nsize=4g\nbsrange=4k-16k\nnumber_ios=100000\n")
        var c: [UInt64: Double] = [:]
        for r in rr { c[r.length, default: 0] += 1 }
        #expect(c.count == 4)
        for bs: UInt64 in [4096, 8192, 12288, 16384] { #expect(abs(c[bs, default: 0] / 100_000 - 0.25) < 0.01) }
        // Per direction: reads 4k, writes 64k.
        let pd = try wlRecords("[b]\nrw=randrw\nnorandommap\nsize=1g\nbssplit=4k/100,64k/100\nnumber_ios=1000\n")
        #expect(pd.allSatisfy { ($0.op == .read && $0.length == 4096) || ($0.op == .write && $0.length == 65536) })
    }

    @Test("poisson arrivals: mean gap within 1% of 1/rate and exponential shape (KS test)")
    func poisson() throws {
        let recs = try wlRecords("""
            [p]
            rw=randread
            bs=4k
            size=4g
            rate_iops=2000
            rate_process=poisson
            number_ios=100000
            """)
        #expect(recs.count == 100_000)
        #expect(recs.first?.time == 0)
        var gaps: [Double] = []
        for i in 1..<recs.count { gaps.append(Double(recs[i].time - recs[i - 1].time)) }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        #expect(abs(mean / 500_000 - 1) < 0.01, "mean gap \(mean) ns")
        func ks(_ m: Double) -> Double {
            let s = gaps.sorted()
            var d = 0.0
            for (i, x) in s.enumerated() {
                let f = 1 - exp(-x / m)
                d = max(d, abs(f - Double(i) / Double(s.count)), abs(f - Double(i + 1) / Double(s.count)))
            }
            return d
        }
        let crit = 1.95 / Double(gaps.count).squareRoot() // alpha = 0.001
        #expect(ks(500_000) < crit, "D=\(ks(500_000)) crit=\(crit)")
        #expect(ks(525_000) > crit) // a 5% wrong rate is rejected
        // Linear: exactly 1/rate apart.
        let lin = try wlRecords("[l]\nrw=randread\nbs=4k\nsize=1g\nrate_iops=2000\nnumber_ios=1000\n")
        for i in 1..<lin.count { #expect(lin[i].time - lin[i - 1].time == 500_000) }
    }

    @Test("rate per direction: rate_iops=300,100 over a 50/50 mix gives reads 3:1 on schedule, as fio's rate_ddir")
    func ratePerDirection() throws {
        let recs = try wlRecords("[r]\nrw=randrw\nbs=4k\nsize=1g\nrate_iops=300,100\nruntime=10\ntime_based\n")
        let reads = recs.filter { $0.op == .read }, writes = recs.filter { $0.op == .write }
        #expect(abs(reads.count - 3000) <= 2 && abs(writes.count - 1000) <= 2, "\(reads.count) \(writes.count)")
        #expect(recs.last!.time < 10_000_000_000)
        // Bytes-based rate: rate=1m with 4k blocks is 256 I/Os per second.
        let br = try wlRecords("[r]\nrw=read\nbs=4k\nsize=1g\nrate=1m\nruntime=2\ntime_based\n")
        #expect(br.count == 512)
    }
}
