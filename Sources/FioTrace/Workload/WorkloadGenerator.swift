#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HeapModule

/// A synthetic trace from fio jobs, streamed: memory is O(jobs + files), whatever the
/// length of the trace (the random map is a keyed permutation of block numbers, except
/// with variable block sizes, where it is one bit per block as in fio).
///
/// Jobs run concurrently (their records merged by issue time; equal times alternate)
/// except across `stonewall`, which starts a new group after the previous one ends.
/// With several jobs, records carry `stream` = the job's index (in file order, clones
/// included); with one job, no stream. `direct=1` jobs' records carry the `direct` flag. The same jobs and seed give the same records.
public struct WorkloadGenerator: TraceSource {
    public let jobs: [JobSpec]
    public let options: GeneratorOptions
    public private(set) var files: [TraceFile]
    public private(set) var metadata: [String: String]
    /// The seed jobs derive theirs from (recorded as `fio-gen.seed`).
    public let seed: UInt64
    /// Records handed out so far.
    public private(set) var recordCount: UInt64 = 0

    private var groups: [[Int]]
    private var groupIndex = 0
    private(set) var states: [JobState] = []
    /// Per active job: its next record, if it has one.
    private var heads: [TraceRecord] = []
    /// Per active job: how many records it has handed out (ties in time go to the job
    /// that has issued fewer, so equal times alternate).
    private var headSeq: [UInt64] = []
    /// The active jobs that have a next record, by that record's time.
    private var heap = Heap<HeadKey>()
    private var groupStart: UInt64 = 0
    private var groupEnd: UInt64 = 0
    private var finished = false
    private let zeroTimes: Bool
    /// Tests turn the single-job fast path off to check it against the general one.
    var fastPath = true
    private let fileSetup: [[FileSetup]]

    public init(jobs: [JobSpec], options: GeneratorOptions = GeneratorOptions()) throws {
        guard !jobs.isEmpty else { throw TraceError(.unsupported, "no jobs to generate") }
        self.jobs = jobs
        self.options = options
        zeroTimes = options.timing == .none
        var base = options.seed
        if base == nil {
            if let s = jobs.first(where: { $0.randSeed != nil })?.randSeed {
                base = s
            } else if jobs.allSatisfy(\.randRepeat) {
                base = fioDefaultSeed
            } else {
                var ts = timespec()
                clock_gettime(CLOCK_REALTIME, &ts)
                base = SplitMix64.mix(UInt64(ts.tv_sec), UInt64(ts.tv_nsec), UInt64(getpid()))
            }
        }
        seed = base!

        for job in jobs where job.timeBased && !options.runtimeByConsumer {
            if job.runtime == nil && job.numberIOs == nil {
                throw TraceError(.unsupported, "\(job.origin): job \(job.name): time_based needs runtime= (or number_ios=), else the trace never ends")
            }
            if case .serviceModel(let st, _) = options.timing, st == 0, !job.isRateLimited, job.thinktime == 0, job.numberIOs == nil {
                throw TraceError(.unsupported, "\(job.origin): job \(job.name): time_based with a zero service time never reaches its runtime; give a service time above zero, or number_ios=", remedy: .serviceTime)
            }
        }

        // Files: fio's names, one table for all jobs (a path two jobs share is one file).
        var table: [TraceFile] = []
        var byPath: [String: Int] = [:]
        var setups: [[FileSetup]] = []
        for job in jobs {
            let js = try WorkloadGenerator.layoutFiles(job: job, seed: WorkloadGenerator.jobSeed(job, options.seed, seed))
            var out: [FileSetup] = []
            for var f in js {
                try WorkloadGenerator.checkRegion(f, of: job)
                if let i = byPath[f.path] {
                    let end = f.fileOffset + f.ioSize
                    if let s = table[i].size, s < end { table[i].size = end }
                    f.globalIndex = UInt32(i)
                } else {
                    f.globalIndex = UInt32(table.count)
                    byPath[f.path] = table.count
                    table.append(TraceFile(path: f.path, size: f.fileOffset + f.ioSize))
                }
                out.append(f)
            }
            setups.append(out)
        }
        files = table
        fileSetup = setups

        var gs: [[Int]] = []
        for (i, j) in jobs.enumerated() {
            if i == 0 || j.stonewall { gs.append([i]) } else { gs[gs.count - 1].append(i) }
        }
        groups = gs

        var md: [String: String] = [:]
        md[MetadataKey.genVersion] = fioGenVersion
        md[MetadataKey.genSeed] = String(seed)
        md[MetadataKey.genJobCount] = String(jobs.count)
        if let t = options.jobText { md[MetadataKey.genJob] = t }
        md[MetadataKey.genOptions] = jobs.map { j in
            "[\(j.name)#\(j.jobNumber)] " + j.options.map(\.description).joined(separator: " ")
        }.joined(separator: "\n")
        var depth = 0
        for g in gs { depth = max(depth, g.reduce(0) { $0 + jobs[$1].iodepth }) }
        md[MetadataKey.iodepth] = String(depth)
        md[MetadataKey.genIodepthPerJob] = jobs.map { String($0.iodepth) }.joined(separator: ",")
        switch options.timing {
        case .none:
            md[MetadataKey.genTiming] = "none: every record is at time 0"
            md[MetadataKey.timeUnit] = "none"
        case .serviceModel(let st, let bw):
            var s = "service-model: unthrottled jobs run closed-loop at their iodepth, each I/O taking \(st) ns"
            if let bw { s += " + length / \(bw) B/s" }
            s += "; rate-limited directions follow their rate schedule (linear or poisson)"
            md[MetadataKey.genTiming] = s
            md[MetadataKey.genServiceTimeNs] = String(st)
            if let bw { md[MetadataKey.genServiceBW] = String(bw) }
            md[MetadataKey.timeUnit] = "ns"
        }
        md[MetadataKey.sourceFormat] = "fio-gen"
        metadata = md
        startGroup(0, at: 0)
    }

    /// fio's rand_seeds[] for a job: from randseed (fio's default 0x89), the job number
    /// (1-based, clones counted) and randrepeat. As in fio, with randrepeat=1 (the default)
    /// the offsets' seed is fio's fixed one times the job number whatever randseed says;
    /// randseed moves the offsets only with randrepeat=0. randrepeat=0 without a randseed
    /// takes fio's system-random seeds: here the clock-derived `base`.
    ///
    /// `--seed N` (override) seeds every stream, offsets included, from N, as fio's
    /// `randseed=N randrepeat=0` does; the job's randrepeat still decides whether each pass
    /// starts over from those seeds.
    static func fioSeeds(_ job: JobSpec, _ override: UInt64?, _ base: UInt64) -> (FioSeeds, randRepeat: Bool) {
        let thread = UInt64(job.index) + 1
        var s: FioSeeds
        if let o = override {
            s = FioSeeds(randSeed: o, threadNumber: thread, randRepeat: false)
        } else if let r = job.randSeed {
            s = FioSeeds(randSeed: r, threadNumber: thread, randRepeat: job.randRepeat)
        } else if job.randRepeat {
            s = FioSeeds(randSeed: FioSeeds.defaultRandSeed, threadNumber: thread, randRepeat: true)
        } else {
            s = FioSeeds(randSeed: base, threadNumber: thread, randRepeat: false)
        }
        if job.allRandRepeat && override == nil {
            for i in 0..<FioSeeds.count { s.values[i] = FioSeeds.fioRandSeed &* thread &+ UInt64(i) }
            if job.randRepeat { s.values[FioSeeds.block] = FioSeeds.fioRandSeed &* thread }
        }
        return (s, job.randRepeat)
    }

    static func jobSeed(_ job: JobSpec, _ override: UInt64?, _ base: UInt64) -> UInt64 {
        if let o = override { return SplitMix64.mix(o, UInt64(job.index)) }
        if let s = job.randSeed { return SplitMix64.mix(s, UInt64(job.index)) }
        return SplitMix64.mix(base, UInt64(job.index))
    }

    private mutating func startGroup(_ g: Int, at time: UInt64) {
        groupIndex = g
        groupStart = time
        groupEnd = time
        states.removeAll(keepingCapacity: true)
        heads.removeAll(keepingCapacity: true)
        headSeq.removeAll(keepingCapacity: true)
        heap = Heap()
        for ji in groups[g] {
            let job = jobs[ji]
            let fs = WorkloadGenerator.fioSeeds(job, options.seed, seed)
            let st = JobState(job: job, files: fileSetup[ji],
                              seed: WorkloadGenerator.jobSeed(job, options.seed, seed),
                              fioSeeds: fs.0, randRepeat: fs.randRepeat,
                              timing: options.timing, groupStart: time, singleJob: jobs.count == 1,
                              runtimeByConsumer: options.runtimeByConsumer)
            states.append(st)
        }
        for k in 0..<states.count {
            var r = TraceRecord(time: 0, op: .read, file: 0)
            if states[k].next(&r) {
                heads.append(r)
                headSeq.append(0)
                heap.insert(HeadKey(time: r.time, seq: 0, job: k))
            } else {
                heads.append(r)
                headSeq.append(0)
                groupEnd = max(groupEnd, states[k].endTime)
            }
        }
    }

    /// Replaces `batch` with up to `maxCount` next records. False (and empty) at the end.
    public mutating func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) -> Bool {
        if maxCount <= 0 || finished {
            batch.removeAll(keepingCapacity: true)
            return false
        }
        // Reuse the caller's elements as slots (filling placeholders costs more than
        // generating): only grow or shrink to maxCount, then overwrite.
        if batch.count > maxCount { batch.removeLast(batch.count - maxCount) }
        if batch.count < maxCount {
            batch.append(contentsOf: repeatElement(TraceRecord(time: 0, op: .read, file: 0), count: maxCount - batch.count))
        }
        let n = batch.withUnsafeMutableBufferPointer { nextRecords(into: $0) }
        batch.removeLast(maxCount - n)
        return n > 0
    }

    /// Writes up to `out.count` next records into `out` (initialized memory, overwritten)
    /// and returns how many; 0 at the end. For callers that keep their own buffers
    /// (`GenerateAhead`): no array, so no placeholders to write first.
    public mutating func nextRecords(into out: UnsafeMutableBufferPointer<TraceRecord>) -> Int {
        if out.isEmpty || finished { return 0 }
        // Copies of a generator share job storage until one of them moves on.
        for k in 0..<states.count where !isKnownUniquelyReferenced(&states[k].storage) {
            states[k].storage = states[k].storage.clone()
        }
        let n = fill(out)
        recordCount += UInt64(n)
        return n
    }

    private mutating func fill(_ out: UnsafeMutableBufferPointer<TraceRecord>) -> Int {
        let maxCount = out.count
        var n = 0
        while n < maxCount && !finished {
            if heap.isEmpty {
                if groupIndex + 1 < groups.count {
                    startGroup(groupIndex + 1, at: groupEnd)
                    continue
                }
                finished = true
                break
            }
            if heap.count == 1 {
                // One job running: straight from the job into the batch (its key in the
                // heap goes stale, which does not matter while it is alone).
                let k = heap.min!.job
                out[n] = heads[k]
                n += 1
                var more = true
                states.withUnsafeMutableBufferPointer { sp in
                    let fast = fastPath && sp[k].fastEligible
                    while n < maxCount {
                        if fast {
                            let m = sp[k].fastFill(out.baseAddress! + n, maxCount - n)
                            n += m
                            if n == maxCount { break }
                        }
                        if !sp[k].next(&out[n]) { more = false; break }
                        n += 1
                    }
                    if more {
                        if !sp[k].next(&heads[k]) { more = false }
                    }
                }
                if !more {
                    groupEnd = max(groupEnd, states[k].endTime)
                    heap = Heap()
                }
                continue
            }
            let k = heap.min!.job
            out[n] = heads[k]
            n += 1
            if states[k].next(&heads[k]) {
                headSeq[k] &+= 1
                _ = heap.replaceMin(with: HeadKey(time: heads[k].time, seq: headSeq[k], job: k))
            } else {
                groupEnd = max(groupEnd, states[k].endTime)
                _ = heap.removeMin()
                if states[k].job.exitAll {
                    // exitall: the others stop now (their later records are not issued).
                    for e in heap.unordered { groupEnd = max(groupEnd, states[e.job].clock) }
                    heap = Heap()
                }
            }
        }
        if zeroTimes {
            for i in 0..<n { out[i].time = 0 }
        }
        return n
    }
}

/// A job's place in the merge: its next record's time, then how many records it has
/// handed out, then its index (a total order, so the merge is deterministic).
struct HeadKey: Comparable {
    var time: UInt64
    var seq: UInt64
    var job: Int
    @inline(__always) static func < (a: HeadKey, b: HeadKey) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.seq != b.seq { return a.seq < b.seq }
        return a.job < b.job
    }
}
