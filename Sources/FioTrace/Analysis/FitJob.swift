#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fio job fitted to one scope of a trace: the options, and what they cannot say.
public struct FittedJob: Sendable {
    public var name: String
    /// (option, value) in the order they are written; nil value for a bare flag.
    public var options: [(String, String?)] = []
    /// What fio's vocabulary cannot express for this scope (written at the top of the file).
    public var notExpressed: [String] = []
    /// How well each fitted part matched (written at the top of the file too).
    public var quality: [String] = []
    public var distributionFit: DistributionFit?
    /// The fitted values, for tests and the command's summary.
    public var rw: String = ""
    public var rwmixread: Int?
    /// Per direction (read, write): block size -> percent.
    public var blockSplit: [[(bs: UInt64, percent: Int)]] = [[], []]
    public var arrival: String = ""
    public var iodepth: Int = 1
    public var fsync: UInt64?

    public func value(_ option: String) -> String? {
        options.first { $0.0 == option }.flatMap { $0.1 }
    }
}

public struct FitOptions: Sendable {
    /// Seed written as each job's `randseed` (plus the job's number).
    public var seed: UInt64 = 1
    /// How scopes become jobs: `.file`, or `.streamFile` (one job per stream and file).
    public var grouping: ProfileGrouping = .file
    /// Name of the data file of trace file i: `prefix.i.dat`, relative (fio creates it).
    public var filePrefix = "fio-fit"
    public init(seed: UInt64 = 1, grouping: ProfileGrouping = .file, filePrefix: String = "fio-fit") {
        self.seed = seed
        self.grouping = grouping
        self.filePrefix = filePrefix
    }
}

/// Every job fitted from a trace, and the job file text.
public struct FitResult: Sendable {
    public var jobs: [FittedJob]
    /// Notes about the whole trace (groups left out, records ignored).
    public var notes: [String]
    public var header: [String]

    /// The job file: a comment block (what could not be expressed, fit quality), then a
    /// `[global]` section and one section per job. fio 3.33 and fio-gen both read it.
    public var jobFileText: String {
        var t = ""
        for h in header { t += "# " + h + "\n" }
        t += "#\n# Not expressed by fio's job vocabulary (this job file does NOT reproduce it):\n"
        var any = false
        for n in notes { t += "#  - " + n + "\n"; any = true }
        for j in jobs { for n in j.notExpressed { t += "#  - [\(j.name)] " + n + "\n"; any = true } }
        if !any { t += "#  (nothing found)\n" }
        t += "#\n# Fit quality:\n"
        for j in jobs { for q in j.quality { t += "#  - [\(j.name)] " + q + "\n" } }
        t += "\n[global]\nrandom_generator=tausworthe64\n"
        for j in jobs {
            t += "\n[\(j.name)]\n"
            for (k, v) in j.options { t += v.map { "\(k)=\($0)" } ?? k; t += "\n" }
        }
        return t
    }
}

public enum WorkloadFit {
    /// Fits one job per group of `profiles` (grouped by file, or by stream and file).
    /// Throws a `TraceError` naming the trace when there is nothing fio could run.
    public static func fit(_ profiles: ProfileSet, files: [TraceFile], metadata: [String: String],
                           traceName: String, options: FitOptions = FitOptions()) throws -> FitResult {
        let w = profiles.whole
        let rw = w.ops[0].count + w.ops[1].count
        if w.records == 0 {
            throw TraceError(.unsupported, "\(traceName): the trace has no records: nothing to fit")
        }
        if rw == 0 {
            if w.ops[2].count > 0 {
                throw TraceError(.unsupported, "\(traceName): the trace has only trims (\(w.ops[2].count)) and no reads or writes: fio 3.33 cannot trim a regular file, so no fio job could run this workload")
            }
            throw TraceError(.unsupported, "\(traceName): the trace has no reads or writes (\(w.records) records: \(opList(w))): nothing to fit")
        }
        if rw < 2 {
            throw TraceError(.unsupported, "\(traceName): the trace has one read or write: too few I/Os to fit a workload (need at least 2)")
        }
        var notes: [String] = []
        if profiles.overflowGroups > 0 {
            notes.append("\(profiles.overflowGroups) groups past the first \(ProfileSet.maxGroups) (\(profiles.overflowRecords) records) have no job of their own")
        }
        var jobs: [FittedJob] = []
        for (i, g) in profiles.groups.enumerated() {
            let key = profiles.keys[i]
            let file = profiles.grouping == .streamFile ? UInt32(key & 0xFFFF_FFFF) : UInt32(key)
            let stream: UInt32? = profiles.grouping == .streamFile && key >> 32 != UInt64(UInt32.max) ? UInt32(key >> 32) : nil
            var name = "file\(file)"
            if let s = stream { name = "stream\(s)-file\(file)" }
            let gr = g.ops[0].count + g.ops[1].count
            if gr == 0 {
                if g.ops[2].count > 0 {
                    notes.append("\(name): \(g.ops[2].count) trims and no reads or writes: no job (fio 3.33 cannot trim a regular file)")
                } else if g.records > 0 {
                    notes.append("\(name): \(g.records) records without reads or writes (\(opList(g))): no job")
                }
                continue
            }
            let start = w.firstTime == .max ? 0 : w.firstTime
            var job = fitGroup(g, name: name, fileIndex: file, stream: stream, traceStart: start,
                               metadata: metadata, singleGroup: profiles.groups.count == 1, options: options)
            job.options.append(("randseed", String(options.seed &+ UInt64(jobs.count))))
            jobs.append(job)
        }
        let dur = Double(w.dataDuration) / 1e9
        let header = [
            "fio job fitted by `fio-replay fit` (fio-replay \(fioGenVersion)) from \(traceName)",
            "trace: \(w.dataIOs) data I/Os in \(fixed(dur, 3)) s, \(files.count) file\(files.count == 1 ? "" : "s"); "
                + "one job per \(options.grouping == .streamFile ? "stream and file" : "file") (\(jobs.count) job\(jobs.count == 1 ? "" : "s"))",
            "files: relative paths (fio creates them in its working directory); the trace's paths are not kept",
            "fio-gen reads this file as it is; fio 3.33 runs it as it is (psync by default; iodepth > 1 needs an async engine, e.g. fio --ioengine=libaio job.fio)",
        ]
        return FitResult(jobs: jobs, notes: notes, header: header)
    }

    static func opList(_ p: ScopeProfile) -> String {
        TraceOp.allCases.filter { p.ops[Int($0.rawValue)].count > 0 }.map { "\(p.ops[Int($0.rawValue)].count) \($0.fioName)" }
            .joined(separator: ", ")
    }

    // MARK: one job

    static func fitGroup(_ g: ScopeProfile, name: String, fileIndex: UInt32, stream: UInt32?, traceStart: UInt64,
                         metadata: [String: String], singleGroup: Bool, options: FitOptions) -> FittedJob {
        var job = FittedJob(name: name)
        var opts: [(String, String?)] = []
        let reads = g.ops[0].count, writes = g.ops[1].count, trims = g.ops[2].count
        let ios = reads + writes
        opts.append(("filename", "\(options.filePrefix).\(fileIndex).dat"))
        if trims > 0 {
            job.notExpressed.append("\(trims) trims left out (fio's rw cannot mix trims with reads and writes, and fio 3.33 cannot trim a regular file)")
        }

        // Block sizes per direction; one split for both when their difference is within
        // sampling noise (KS D under the 5 % critical value).
        let zeroLength = (g.blockSizes[0][0] ?? 0) + (g.blockSizes[1][0] ?? 0)
        if zeroLength > 0 { job.notExpressed.append("\(zeroLength) zero-length reads or writes left out of the block sizes") }
        var splitR = percentSplit(g.blockSizes[0]), splitW = percentSplit(g.blockSizes[1])
        if reads > 0 && writes > 0 {
            let d = Distance.between(g.blockSizes[0], g.blockSizes[1])
            if d.ks <= d.critical {
                let both = percentSplit(g.blockSizes[0].merging(g.blockSizes[1], uniquingKeysWith: +))
                splitR = both
                splitW = both
                job.quality.append("block sizes: reads and writes share one split (KS D \(fixed(d.ks, 3)) <= \(fixed(d.critical, 3)), the 5 % critical value)")
            } else {
                job.quality.append("block sizes: reads and writes differ (KS D \(fixed(d.ks, 3)) > \(fixed(d.critical, 3))): one split each")
            }
        }
        for (d, split, sizes) in [(0, splitR, g.blockSizes[0]), (1, splitW, g.blockSizes[1])] {
            let kept = Set(split.map(\.bs))
            let dropped = sizes.filter { $0.key > 0 && !kept.contains($0.key) }
            if !dropped.isEmpty {
                let n = dropped.values.reduce(0, +)
                job.notExpressed.append("\(dropped.count) rare \(d == 0 ? "read" : "write") sizes (\(n) I/Os, under 0.5 % each) left out of bssplit: "
                                        + dropped.keys.sorted().prefix(8).map { fioSize($0) }.joined(separator: " ") + (dropped.count > 8 ? " ..." : ""))
            }
        }
        if g.otherSizes > 0 {
            job.notExpressed.append("\(g.otherSizes) I/Os with sizes past the first \(ScopeProfile.maxSizes) distinct ones are not in bssplit")
        }
        job.blockSplit = [splitR, splitW]
        let minR = splitR.map(\.bs).min(), minW = splitW.map(\.bs).min()
        let minBS = [minR, minW].compactMap { $0 }.min() ?? 4096

        // Random or sequential, and runs.
        let seq = g.sequentialShare
        let random = seq < 0.98
        var rwName: String
        switch (reads > 0, writes > 0) {
        case (true, true): rwName = random ? "randrw" : "rw"
        case (true, false): rwName = random ? "randread" : "read"
        default: rwName = random ? "randwrite" : "write"
        }
        var percentageRandom: Int?
        if random && seq > 0.02 {
            // Runs of one length: fio's rw=randread:N (a new random offset every N I/Os).
            let runs = g.runLengths
            var mode = 1, modeWeight = 0.0
            for (i, w) in runs.weights.enumerated() where i < 64 && w > modeWeight { mode = i; modeWeight = w }
            if mode >= 2 && modeWeight >= 0.8 * runs.total {
                rwName += ":\(mode)"
                job.quality.append("sequential runs: \(fixed(100 * modeWeight / runs.total, 1)) % of runs are \(mode) I/Os long: rw=\(rwName)")
            } else {
                percentageRandom = max(1, min(99, Int((100 * (1 - seq)).rounded())))
                job.quality.append("sequential share \(fixed(100 * seq, 1)) %: percentage_random=\(percentageRandom!) (fio's runs are then geometric, mean \(fixed(100 / Double(percentageRandom!), 1)) I/Os; the trace's mean run is \(fixed(g.runLengths.mean, 1)))")
            }
        }
        job.rw = rwName
        opts.append(("rw", rwName))
        if reads > 0 && writes > 0 {
            let mix = Int((100 * Double(reads) / Double(ios)).rounded())
            job.rwmixread = mix
            opts.append(("rwmixread", String(mix)))
        }
        if let sizeOption = blockSizeOption(splitR, splitW, reads: reads > 0, writes: writes > 0) { opts.append(sizeOption) }

        // Region.
        let alignBits = g.offsetBits == 0 ? 63 : g.offsetBits.trailingZeroBitCount
        let align: UInt64 = alignBits >= 63 ? minBS : UInt64(1) << UInt64(alignBits)
        let unit = random ? minBS : min(minBS, align)
        var start = g.minOffset == .max ? 0 : g.minOffset
        start -= start % max(1, min(unit, align))
        var end = max(g.maxEnd, start &+ minBS)
        if random, let hits = g.hits, hits.distinct > 1 {
            // Random I/O rarely hits the region's very first and last blocks: the gap left
            // at each edge is about exponential with the mean spacing of the distinct
            // offsets hit (scattered hot ranks keep them spatially uniform). Snap the edges
            // to the roundest boundary within four such gaps (exceeded 1.8 % of the time).
            let distinct = Double(hits.distinct) / hits.samplingRate
            let gap = wholeRate(Double(end &- start) / max(1, distinct - 1))
            let within = gap > UInt64.max / 8 ? UInt64.max / 2 : 4 * gap
            start = snapDown(start, within: within, unit: minBS)
            end = snapUp(end, within: within, unit: minBS)
        }
        let size = roundUp(end &- start, minBS)
        if random && align < minBS {
            opts.append(("ba", fioSize(align)))
            job.quality.append("offsets are aligned to \(fioSize(align)) only, below the smallest block size \(fioSize(minBS)): ba=\(fioSize(align)) (fio then drops its random map)")
        }

        // Offset distribution.
        if random, let hits = g.hits {
            let range = minBS
            let blocks = max(1, roundUp(size, range) / range)
            // Offsets to blocks of the region (fio-gen's grid: the smallest block size).
            var counts: [UInt64: (hits: UInt64, weight: Double)] = [:]
            for e in hits.weightedCounts where e.offset >= start {
                let b = (e.offset - start) / range
                let old = counts[b] ?? (0, e.weight)
                counts[b] = (old.hits + e.hits, min(old.weight, e.weight))
            }
            if ios < 50 {
                job.quality.append("offset distribution: only \(ios) I/Os, too few to tell distributions apart: uniform assumed")
            } else if blocks > 1 << 40 {
                // fio-gen's samplers work in 64-bit sums of ranks (normal adds twelve).
                job.notExpressed.append("the offset distribution: the region (\(fioSize(size))) has more than 2^40 blocks, past what fio-gen's samplers handle; uniform assumed")
            } else {
                let fitter = DistributionFitter(weighted: Array(counts.values), blocks: blocks, samplingRate: hits.samplingRate,
                                                seed: options.seed ^ 0xD157)
                let f = fitter.fit()
                job.distributionFit = f
                var q = "offset distribution: \(f.model) (hit-table distance \(fixed(f.distance, 3)); others: "
                q += f.candidates.dropFirst().map { "\($0.model) \(fixed($0.distance, 3))" }.joined(separator: ", ") + ")"
                if f.samplingRate < 1 { q += "; from a spatial sample of \(fixed(100 * f.samplingRate, 2)) % of the blocks" }
                job.quality.append(q)
                if f.distance > 0.1 {
                    job.notExpressed.append("the offsets' hit table fits no fio distribution well (best \(f.model), distance \(fixed(f.distance, 3)))")
                }
                switch f.model {
                case .uniform(let map):
                    if !map { opts.append(("norandommap", nil)) }
                default:
                    opts.append(("random_distribution", f.model.fioValue!))
                }
                if case .uniform = f.model {} else {
                    job.notExpressed.append("where the hot blocks lie: fio scatters the distribution's ranks over the region, so spatial locality (hot neighbourhoods, seek distances) is not kept")
                }
            }
        }
        if let p = percentageRandom { opts.append(("percentage_random", String(p))) }
        if start > 0 { opts.append(("offset", fioSize(start))) }
        opts.append(("size", fioSize(size)))
        let bytes = g.ops[0].bytes &+ g.ops[1].bytes
        if bytes > size { opts.append(("io_size", String(bytes))) }
        opts.append(("number_ios", String(ios)))

        // Queue depth.
        var depth = 1
        var depthSource = "assumed (the trace records no depth)"
        if !g.depth.isEmpty {
            // The cap a closed loop kept: the recorded depth's p99 (max would let a rare
            // pile-up set it).
            depth = Int(min(65536, max(1, g.depth.percentile(99).rounded())))
            depthSource = "the recorded in-flight count's p99 (p50 \(fixed(g.depth.percentile(50), 0)), max \(g.depth.maxValue))"
        } else if let d = metadataDepth(metadata, stream: stream, singleGroup: singleGroup) {
            depth = d
            depthSource = "from the trace's metadata"
        }
        job.iodepth = depth
        opts.append(("iodepth", String(depth)))
        job.quality.append("iodepth=\(depth): \(depthSource)")

        // Arrivals.
        let arrival = fitArrivals(g, reads: reads, writes: writes, job: &job)
        opts.append(contentsOf: arrival)

        // Syncs.
        for (k, op, option) in [(0, TraceOp.sync, "fsync"), (1, TraceOp.datasync, "fdatasync")] {
            let n = g.ops[Int(op.rawValue)].count
            guard n > 0, writes > 0 else {
                if n > 0 { job.notExpressed.append("\(n) \(op.fioName)s without writes (fio issues \(option) only after writes)") }
                continue
            }
            let h = g.writesPerSync[k]
            var mode = 0, modeWeight = 0.0
            for (i, w) in h.weights.enumerated() where i < 64 && i > 0 && w > modeWeight { mode = i; modeWeight = w }
            let every: UInt64
            if mode > 0 && modeWeight >= 0.8 * h.total {
                every = UInt64(mode)
                job.quality.append("\(option)=\(every): \(fixed(100 * modeWeight / h.total, 1)) % of \(op.fioName)s follow exactly \(every) writes")
            } else {
                every = max(1, UInt64((Double(writes) / Double(n)).rounded()))
                job.notExpressed.append("\(op.fioName) cadence is irregular (writes between them: p10 \(fixed(h.percentile(10), 0)), p50 \(fixed(h.percentile(50), 0)), p90 \(fixed(h.percentile(90), 0))): \(option)=\(every) keeps only the average")
            }
            if k == 0 { job.fsync = every }
            opts.append((option, String(every)))
        }
        for op in [TraceOp.syncFileRange, .syncfs, .fallocate, .truncate] where g.ops[Int(op.rawValue)].count > 0 {
            job.notExpressed.append("\(g.ops[Int(op.rawValue)].count) \(op.fioName) records left out")
        }

        // Flags.
        if g.flagCounts[0] * 2 >= g.dataIOs { opts.append(("direct", "1")) }
        if g.flagCounts[0] > 0 && g.flagCounts[0] < g.dataIOs {
            job.notExpressed.append("\(g.flagCounts[0]) of \(g.dataIOs) I/Os were O_DIRECT: one setting for the job")
        }
        if g.flagCounts[1] > 0 { job.notExpressed.append("\(g.flagCounts[1]) FUA writes (fio has no per-I/O FUA for files)") }
        if g.flagCounts[2] > 0 { job.notExpressed.append("\(g.flagCounts[2]) preflush requests") }

        // Start.
        let first = g.firstDataTime == .max ? 0 : g.firstDataTime
        if first > traceStart && first - traceStart >= 1_000_000 {
            opts.append(("startdelay", "\((first - traceStart) / 1000)us"))
        }
        job.options = opts
        return job
    }

    /// The job's pace: a poisson or linear rate when the arrivals look open-loop, else a
    /// closed loop at iodepth (no rate), or thinktime for bursts.
    static func fitArrivals(_ g: ScopeProfile, reads: UInt64, writes: UInt64, job: inout FittedJob) -> [(String, String?)] {
        let gaps = g.interArrival
        let span = Double(g.dataDuration)
        let n = gaps.total
        guard n >= 10, span > 0 else {
            job.arrival = "closed"
            job.quality.append("arrivals: too few gaps (\(Int(n))) to tell a rate: unthrottled (closed loop at iodepth)")
            return []
        }
        let mean = gaps.mean
        let cv = mean > 0 ? gaps.standardDeviation / mean : 0
        // KS distance of the gaps from an exponential with the same mean.
        var dexp = 0.0
        if mean > 0 {
            var acc = 0.0
            for (i, w) in gaps.weights.enumerated() where w > 0 {
                let lo = Double(LogHistogram.lowerBound(i)), hi = Double(LogHistogram.upperBound(i))
                let before = acc / n
                acc += w
                let after = acc / n
                dexp = max(dexp, abs(before - (1 - exp(-lo / mean))), abs(after - (1 - exp(-(hi + 1) / mean))))
            }
        }
        let secs = span / 1e9
        func perDirection(_ r: UInt64, _ w: UInt64) -> String {
            func v(_ x: UInt64) -> String { String(wholeRate(Double(x) / secs)) }
            if r > 0 && w > 0 { return v(r) + "," + v(w) }
            return r > 0 ? v(r) : v(w)
        }
        let shape = "gaps mean \(humanValue(mean, "ns")), CV \(fixed(cv, 2)), KS distance from exponential \(fixed(dexp, 3))"
        // Poisson.
        if dexp <= 0.1 && cv >= 0.7 && cv <= 1.4 {
            job.arrival = "poisson"
            job.quality.append("arrivals: poisson (\(shape)): rate_iops=\(perDirection(reads, writes))")
            return [("rate_iops", perDirection(reads, writes)), ("rate_process", "poisson")]
        }
        // Linear: every direction's issue times lie on a line over its bytes.
        var linear = true
        for (d, count) in [(0, reads), (1, writes)] where count > 0 {
            let f = g.rateFits[d]
            let dirGap = span / Double(max(1, count))
            if count < 3 || f.residual > 0.1 * dirGap || f.slope <= 0 { linear = false }
        }
        if linear {
            job.arrival = "linear"
            let rb = g.ops[0].bytes, wb = g.ops[1].bytes
            func v(_ x: UInt64) -> String { String(wholeRate(Double(x) / secs)) }
            let value = reads > 0 && writes > 0 ? v(rb) + "," + v(wb) : v(reads > 0 ? rb : wb)
            job.quality.append("arrivals: linear rate (issue times lie on bytes / rate; \(shape)): rate=\(value) bytes/s")
            return [("rate", value)]
        }
        // Bursts: long idle gaps that hold most of the time.
        let median = gaps.percentile(50)
        let cut = max(10 * median, 1_000_000)
        var longCount = 0.0, longSum = 0.0
        for (i, w) in gaps.weights.enumerated() where w > 0 && Double(LogHistogram.lowerBound(i)) > cut {
            longCount += w
            longSum += w * LogHistogram.representative(i)
        }
        if longCount >= 2 && longSum >= 0.5 * span {
            let think = wholeRate(longSum / longCount / 1000)
            let blocks = max(1, Int((Double(reads + writes) / (longCount + 1)).rounded()))
            job.arrival = "thinktime"
            job.quality.append("arrivals: bursts of about \(blocks) I/Os separated by \(humanValue(longSum / longCount, "ns")) pauses (\(shape)): thinktime=\(think) thinktime_blocks=\(blocks)")
            job.notExpressed.append("the pace inside bursts (median gap \(humanValue(median, "ns"))): fio issues a burst as fast as the device allows")
            return [("thinktime", String(max(1, think))), ("thinktime_blocks", String(blocks))]
        }
        // Closed loop when the trace shows it (no idle time between completions and the next
        // issue) or, without completions, when the pace is fast and even.
        let hasLatency = g.latencyRecords * 2 >= g.dataIOs
        let idleShare = hasLatency ? Double(g.idleTime) / span : 1
        if (hasLatency && idleShare <= 0.1) || (!hasLatency && mean < 1_000_000 && cv < 1.5) {
            job.arrival = "closed"
            let why = hasLatency ? "the device was busy \(fixed(100 * (1 - idleShare), 1)) % of the time" : "no completions recorded and the pace is fast and even"
            job.quality.append("arrivals: closed loop (\(why); \(shape)): no rate, iodepth sets the pace")
            job.notExpressed.append("the absolute pace (\(fixed(Double(reads + writes) / secs, 0)) IOPS in the trace): a closed loop runs as fast as the target allows (fio-gen's service model: 100 us per I/O)")
            return []
        }
        job.arrival = "poisson"
        job.quality.append("arrivals: open loop, neither poisson nor linear (\(shape)): poisson at the mean rate, rate_iops=\(perDirection(reads, writes))")
        job.notExpressed.append("the arrivals' burstiness (CV \(fixed(cv, 2)); fio's poisson process has CV 1)")
        return [("rate_iops", perDirection(reads, writes)), ("rate_process", "poisson")]
    }

    /// The multiple of the largest power of two (at least `unit`) at or below `v` and no
    /// more than `within` below it.
    static func snapDown(_ v: UInt64, within: UInt64, unit: UInt64) -> UInt64 {
        if v <= within { return 0 }
        var best = v - v % max(1, unit)
        var p = max(1, unit)
        while p < (1 << 62) {
            p <<= 1
            let c = v - v % p
            if v - c > within { break }
            best = c
        }
        return best
    }

    /// The multiple of the largest power of two (at least `unit`) at or above `v` and no
    /// more than `within` above it.
    static func snapUp(_ v: UInt64, within: UInt64, unit: UInt64) -> UInt64 {
        let u = max(1, unit)
        var best = roundUp(v, u)
        var p = u
        while p < (1 << 62) {
            p <<= 1
            let c = roundUp(v, p)
            if c < v || c - v > within { break }
            best = c
        }
        return best
    }

    /// `v` rounded up to a multiple of `unit` (or down when that would overflow).
    static func roundUp(_ v: UInt64, _ unit: UInt64) -> UInt64 {
        let u = max(1, unit)
        let (s, o) = v.addingReportingOverflow(u - 1)
        return o ? v - v % u : s / u * u
    }

    /// A rate or count as a whole number for a job file: rounded, at least 1, and clamped
    /// (a trace a few nanoseconds long must not overflow the conversion).
    static func wholeRate(_ x: Double) -> UInt64 {
        guard x.isFinite, x >= 1 else { return 1 }
        return x >= 9e18 ? 9_000_000_000_000_000_000 : UInt64(x.rounded())
    }

    static func metadataDepth(_ md: [String: String], stream: UInt32?, singleGroup: Bool) -> Int? {
        func list(_ key: String) -> [Int]? {
            md[key].map { $0.split(separator: ",").compactMap { Int(String($0).trimmed) } }
        }
        if let s = stream {
            if let ids = list("streams"), let depths = list("iodepth.per-stream"), let i = ids.firstIndex(of: Int(s)), i < depths.count {
                return max(1, depths[i])
            }
            if let depths = list("fio-gen.iodepth.per-job"), Int(s) < depths.count { return max(1, depths[Int(s)]) }
        }
        if singleGroup, let d = md["iodepth"].flatMap({ Int($0.trimmed) }) { return max(1, d) }
        if singleGroup, let depths = list("fio-gen.iodepth.per-job"), depths.count == 1 { return max(1, depths[0]) }
        return nil
    }

    /// Block size -> integer percentages summing to 100 (largest remainder); sizes under
    /// 0.5 % are dropped when that leaves them at 0.
    static func percentSplit(_ all: [UInt64: UInt64]) -> [(bs: UInt64, percent: Int)] {
        let sizes = all.filter { $0.key > 0 }
        let total = sizes.values.reduce(0, +)
        guard total > 0 else { return [] }
        let exact = sizes.map { (bs: $0.key, share: 100 * Double($0.value) / Double(total)) }
        var out = exact.map { (bs: $0.bs, percent: Int($0.share.rounded(.down)), rem: $0.share - $0.share.rounded(.down)) }
        var left = 100 - out.reduce(0) { $0 + $1.percent }
        let order = out.indices.sorted { out[$0].rem != out[$1].rem ? out[$0].rem > out[$1].rem : out[$0].bs < out[$1].bs }
        for i in order where left > 0 {
            out[i].percent += 1
            left -= 1
        }
        return out.filter { $0.percent > 0 }.map { ($0.bs, $0.percent) }.sorted { $0.bs < $1.bs }
    }

    static func blockSizeOption(_ r: [(bs: UInt64, percent: Int)], _ w: [(bs: UInt64, percent: Int)],
                                reads: Bool, writes: Bool) -> (String, String?)? {
        func list(_ s: [(bs: UInt64, percent: Int)]) -> String { s.map { "\(fioSize($0.bs))/\($0.percent)" }.joined(separator: ":") }
        func same(_ a: [(bs: UInt64, percent: Int)], _ b: [(bs: UInt64, percent: Int)]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { $0.bs == $1.bs && $0.percent == $1.percent }
        }
        let one: [(bs: UInt64, percent: Int)]
        if reads && writes {
            if !same(r, w) {
                if r.count == 1 && w.count == 1 { return ("bs", "\(fioSize(r[0].bs)),\(fioSize(w[0].bs))") }
                return ("bssplit", list(r) + "," + list(w))
            }
            one = r
        } else {
            one = reads ? r : w
        }
        if one.isEmpty { return nil }
        if one.count == 1 { return ("bs", fioSize(one[0].bs)) }
        return ("bssplit", list(one))
    }
}

/// A size as fio writes it: `4k`, `1m`, `2g` when exact (fio's k = 1024), else bytes.
public func fioSize(_ v: UInt64) -> String {
    if v == 0 { return "0" }
    for (shift, s) in [(40, "t"), (30, "g"), (20, "m"), (10, "k")] where v % (UInt64(1) << UInt64(shift)) == 0 {
        return "\(v >> UInt64(shift))\(s)"
    }
    return String(v)
}
