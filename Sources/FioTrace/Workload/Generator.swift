#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// fio-gen's version, recorded in every trace it writes (`fio-gen.version`).
public let fioGenVersion = "0.1.0"

/// fio's default random seed (`FIO_RANDSEED`), used when neither `--seed` nor `randseed`
/// is given and `randrepeat` is on (fio's default).
public let fioDefaultSeed: UInt64 = 0xb189_9bed

/// How the generator stamps issue times.
public struct GeneratorOptions: Sendable, Equatable {
    public enum Timing: Sendable, Equatable {
        /// The service-time model (the default). Each job is a closed loop at its iodepth
        /// on a device that serves every data I/O in `serviceTime + length / bandwidth`
        /// nanoseconds (no bandwidth term when nil) and never queues between jobs:
        /// - an unthrottled I/O is issued when the I/O `iodepth` places before it
        ///   completes (completions in issue order), so a QD1 job at the default 100 µs
        ///   issues 10,000 I/Os per second;
        /// - a rate-limited direction (`rate`, `rate_iops`) follows its schedule exactly:
        ///   linear (`bytes issued so far / rate`) or poisson (exponential gaps with mean
        ///   `min bs / rate`), per direction, as fio computes it;
        /// - a sync waits for every I/O in flight, then takes `serviceTime`;
        /// - `thinktime` waits for every I/O in flight, then the think time, after every
        ///   `thinktime_blocks` I/Os; `startdelay` shifts the job; a `stonewall` job
        ///   starts when every job before it has completed its last I/O.
        case serviceModel(serviceTime: UInt64, bytesPerSecond: UInt64?)
        /// No times: every record is at time 0 (the model above still decides `runtime`
        /// cut-offs and the order in which jobs interleave).
        case none
    }

    /// Overrides every job's `randseed`. nil: `randseed`, else fio's default seed
    /// (or, with `randrepeat=0`, a seed from the clock, recorded in the metadata).
    public var seed: UInt64?
    public var timing: Timing
    /// The job text to keep in the metadata (`fio-gen.job`).
    public var jobText: String?
    /// Leave `runtime=` to the consumer: the model never ends a job at its runtime, and a
    /// `time_based` job repeats its region forever. A live run sets this and stops each
    /// stream by the wall clock instead of the model's clock.
    public var runtimeByConsumer = false

    public static let defaultServiceTime: UInt64 = 100_000

    public init(seed: UInt64? = nil, timing: Timing = .serviceModel(serviceTime: defaultServiceTime, bytesPerSecond: nil),
                jobText: String? = nil) {
        self.seed = seed
        self.timing = timing
        self.jobText = jobText
    }
}

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
    private var headSeq: [UInt64] = []
    private var heap: [Int] = []
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
                throw TraceError(.unsupported, "\(job.origin): job \(job.name): time_based with a zero service time never reaches its runtime; give --service-time or number_ios=")
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
        md["fio-gen.version"] = fioGenVersion
        md["fio-gen.seed"] = String(seed)
        md["fio-gen.jobs"] = String(jobs.count)
        if let t = options.jobText { md["fio-gen.job"] = t }
        md["fio-gen.options"] = jobs.map { j in
            "[\(j.name)#\(j.jobNumber)] " + j.options.map(\.description).joined(separator: " ")
        }.joined(separator: "\n")
        var depth = 0
        for g in gs { depth = max(depth, g.reduce(0) { $0 + jobs[$1].iodepth }) }
        md["iodepth"] = String(depth)
        md["fio-gen.iodepth.per-job"] = jobs.map { String($0.iodepth) }.joined(separator: ",")
        switch options.timing {
        case .none:
            md["fio-gen.timing"] = "none: every record is at time 0 (--no-timing)"
            md["time.unit"] = "none"
        case .serviceModel(let st, let bw):
            var s = "service-model: unthrottled jobs run closed-loop at their iodepth, each I/O taking \(st) ns"
            if let bw { s += " + length / \(bw) B/s" }
            s += "; rate-limited directions follow their rate schedule (linear or poisson)"
            md["fio-gen.timing"] = s
            md["fio-gen.service-time-ns"] = String(st)
            if let bw { md["fio-gen.service-bw"] = String(bw) }
            md["time.unit"] = "ns"
        }
        md["source.format"] = "fio-gen"
        metadata = md
        startGroup(0, at: 0)
    }

    static func jobSeed(_ job: JobSpec, _ override: UInt64?, _ base: UInt64) -> UInt64 {
        if let o = override { return SplitMix64.mix(o, UInt64(job.index)) }
        if let s = job.randSeed { return SplitMix64.mix(s, UInt64(job.index)) }
        return SplitMix64.mix(base, UInt64(job.index))
    }

    struct FileSetup {
        var path: String
        var fileOffset: UInt64
        var ioSize: UInt64
        var globalIndex: UInt32 = 0
    }

    /// fio's file naming and sizing (filesetup.c): `size` split evenly over `nrfiles`
    /// (the first files take the remainder in whole blocks), or `filesize` per file,
    /// starting at `offset + jobnum * offset_increment`.
    static func layoutFiles(job: JobSpec, seed: UInt64) throws -> [FileSetup] {
        let n = max(1, job.nrFiles)
        var minBS = UInt64.max
        for d in job.rw.directions { minBS = min(minBS, job.blockSize[d].min) }
        if minBS == .max { minBS = job.blockSize.read.min }
        var names: [String] = []
        for i in 0..<n {
            var name: String
            if !job.filenames.isEmpty {
                name = job.filenames[i]
            } else if let fmt = job.filenameFormat {
                name = fmt.replacingToken("$jobname", with: job.name)
                    .replacingToken("$jobnum", with: String(job.jobNumber))
                    .replacingToken("$filenum", with: String(i))
            } else {
                name = "\(job.name).\(job.jobNumber).\(i)"
            }
            if !job.directories.isEmpty && !name.hasPrefix("/") {
                let dir = job.directories[i % job.directories.count]
                name = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            }
            names.append(name)
        }
        var rng = Xoshiro256(seed: SplitMix64.mix(seed, 0xF11E5))
        var sizeTotal: UInt64?
        if case .bytes(let b)? = job.size { sizeTotal = b }
        var out: [FileSetup] = []
        var extra: UInt64 = 0
        var fs: UInt64 = 0
        if job.fileSize == nil {
            let total = sizeTotal ?? 0
            fs = total / UInt64(n)
            let all = fs * UInt64(n)
            if all < total { extra = (total - all) / minBS }
        }
        for i in 0..<n {
            var fileSize: UInt64
            if let r = job.fileSize {
                fileSize = r.lowerBound == r.upperBound ? r.lowerBound
                    : r.lowerBound + rng.below(r.upperBound - r.lowerBound + 1) / minBS * minBS
            } else {
                fileSize = fs
                if extra > 0 { extra -= 1; fileSize += minBS }
            }
            // Start offset (fio's get_start_offset).
            var start: UInt64
            var align = false
            switch job.offset {
            case .bytes(let b): start = b
            case .percent(let p):
                let real = job.fileSize?.lowerBound ?? fileSize
                start = UInt64(Double(real) * p / 100)
                align = true
            }
            start += UInt64(job.jobNumber) * job.offsetIncrement
            if align || job.offsetAlign > 0 {
                let a = job.offsetAlign > 0 ? job.offsetAlign : minBS
                start = (start + a - 1) / a * a
            }
            var io: UInt64
            if job.fileSize != nil {
                guard fileSize > start else {
                    throw TraceError(.unsupported, "\(job.origin): job \(job.name): offset \(start) is past the file size \(fileSize)")
                }
                io = fileSize - start
                if case .percent(let p)? = job.size {
                    io = min(io, UInt64(Double(fileSize) * p / 100))
                    io -= io % minBS
                } else if let s = sizeTotal {
                    io = min(io, s / UInt64(n))
                }
            } else {
                io = fileSize
            }
            out.append(FileSetup(path: names[i], fileOffset: start, ioSize: io))
        }
        let total = out.reduce(0) { $0 + $1.ioSize }
        if let small = out.first(where: { $0.ioSize < minBS }), total >= minBS {
            throw TraceError(.unsupported, "\(job.origin): job \(job.name): file \(small.path) gets \(small.ioSize) bytes, less than the block size \(minBS)")
        }
        if total < minBS {
            throw TraceError(.unsupported, "\(job.origin): job \(job.name): the block size is larger than the data set (\(total) bytes)")
        }
        return out
    }

    private mutating func startGroup(_ g: Int, at time: UInt64) {
        groupIndex = g
        groupStart = time
        groupEnd = time
        states.removeAll(keepingCapacity: true)
        heads.removeAll(keepingCapacity: true)
        headSeq.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for ji in groups[g] {
            let job = jobs[ji]
            let st = JobState(job: job, files: fileSetup[ji],
                              seed: WorkloadGenerator.jobSeed(job, options.seed, seed),
                              timing: options.timing, groupStart: time, singleJob: jobs.count == 1,
                              runtimeByConsumer: options.runtimeByConsumer)
            states.append(st)
        }
        for k in 0..<states.count {
            var r = TraceRecord(time: 0, op: .read, file: 0)
            if states[k].next(&r) {
                heads.append(r)
                headSeq.append(0)
                heapPush(k)
            } else {
                heads.append(r)
                headSeq.append(0)
                groupEnd = max(groupEnd, states[k].endTime)
            }
        }
    }

    @inline(__always) private func less(_ a: Int, _ b: Int) -> Bool {
        let ta = heads[a].time, tb = heads[b].time
        if ta != tb { return ta < tb }
        if headSeq[a] != headSeq[b] { return headSeq[a] < headSeq[b] }
        return a < b
    }

    private mutating func heapPush(_ k: Int) {
        heap.append(k)
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if less(heap[i], heap[p]) { heap.swapAt(i, p); i = p } else { break }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && less(heap[l], heap[m]) { m = l }
            if r < n && less(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    /// Replaces `batch` with up to `maxCount` next records. False (and empty) at the end.
    public mutating func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) -> Bool {
        if maxCount <= 0 || finished {
            batch.removeAll(keepingCapacity: true)
            return false
        }
        // Copies of a generator share job storage until one of them moves on.
        for k in 0..<states.count where !isKnownUniquelyReferenced(&states[k].storage) {
            states[k].storage = states[k].storage.clone()
        }
        // Reuse the caller's elements as slots (filling placeholders costs more than
        // generating): only grow or shrink to maxCount, then overwrite.
        if batch.count > maxCount { batch.removeLast(batch.count - maxCount) }
        if batch.count < maxCount {
            batch.append(contentsOf: repeatElement(TraceRecord(time: 0, op: .read, file: 0), count: maxCount - batch.count))
        }
        let n = batch.withUnsafeMutableBufferPointer { fill($0) }
        batch.removeLast(maxCount - n)
        recordCount += UInt64(n)
        return n > 0
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
                // One job running: straight from the job into the batch.
                let k = heap[0]
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
                    heap.removeAll(keepingCapacity: true)
                }
                continue
            }
            let k = heap[0]
            out[n] = heads[k]
            n += 1
            if states[k].next(&heads[k]) {
                headSeq[k] &+= 1
                siftDown(0)
            } else {
                groupEnd = max(groupEnd, states[k].endTime)
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
                if states[k].job.exitAll {
                    // exitall: the others stop now (their later records are not issued).
                    for j in heap { groupEnd = max(groupEnd, states[j].clock) }
                    heap.removeAll(keepingCapacity: true)
                }
                if !heap.isEmpty { siftDown(0) }
            }
        }
        if zeroTimes {
            for i in 0..<n { out[i].time = 0 }
        }
        return n
    }
}

extension String {
    func replacingToken(_ token: String, with value: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: token) {
            out += rest[..<r.lowerBound]
            out += value
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

// MARK: - One job

private let noStart = UInt64.max

/// Four values indexed by direction. Plain memory: a `SIMD4` written at a variable lane
/// goes through a vector reload that stalls on every I/O.
struct Lanes4<T: BitwiseCopyable> {
    var v: (T, T, T, T)
    init(repeating x: T) { v = (x, x, x, x) }
    @inline(__always) subscript(_ i: Int) -> T {
        get { withUnsafeBytes(of: v) { $0.load(fromByteOffset: i &* MemoryLayout<T>.stride, as: T.self) } }
        set { withUnsafeMutableBytes(of: &v) { $0.storeBytes(of: newValue, toByteOffset: i &* MemoryLayout<T>.stride, as: T.self) } }
    }
}

/// Per file of a job: fio's `fio_file` state that matters for offsets.
struct FileState {
    var index: UInt32
    var fileOffset: UInt64
    var ioSize: UInt64
    var realSize: UInt64
    var done = false
    /// fio's last_block per direction (blocks of `ba` that fit).
    var lastBlocks: Lanes4<UInt64>  // constant after setup (read rarely)
    // random map
    /// Next permutation index to compute into the file's block buffer.
    var permIndex: UInt64 = 0
    /// Read position and fill of the file's slice of `JobStorage.blocks`.
    var bufPos = 0
    var bufLen = 0
    /// Blocks in the permutation (0: no permutation).
    var permCount: UInt64 = 0
    var perm = BlockPermutation(count: 1, key: 0)
    var bitmap: BlockBitmap?
    var bitmapUnit: UInt64 = 0
    // zipf / pareto / normal
    var ranked: RankSampler?
    var scatter: RankScatter?
    var rangeSize: UInt64 = 0
    var distRNG: Xoshiro256
    var distSeed: UInt64
}

/// A job's per-file states and service-model slots, in raw memory so the per-I/O path
/// has no copy-on-write checks. `WorkloadGenerator` clones it before mutating a shared one,
/// which keeps the generator a value type.
final class JobStorage {
    let files: UnsafeMutablePointer<FileState>
    let fileCount: Int
    let ring: UnsafeMutablePointer<UInt64>
    let depth: Int
    /// Per file, `blockBatch` precomputed random-map blocks (see `refillBlocks`).
    let blocks: UnsafeMutablePointer<UInt64>
    static let blockBatch = 64
    /// Per file and direction: fio's last_pos (at [f*12 + d]), last_start (at [f*12 + 4 + d])
    /// and last_block (at [f*12 + 8 + d]).
    let dirs: UnsafeMutablePointer<UInt64>
    /// Per direction, constant: min bs [d], max bs [4+d], blockalign [8+d], rate in bytes/s
    /// [12+d], percentage_random [16+d], 1 if its bytes count toward io_size [20+d],
    /// poisson mean gap in ns as Double bits [24+d].
    let consts: UnsafeMutablePointer<UInt64>
    /// Per direction: bytes issued [d], I/Os issued [4+d], rate bytes [8+d], next rate time [12+d].
    let counters: UnsafeMutablePointer<UInt64>

    init(files fs: [FileState], depth: Int, start: UInt64) {
        fileCount = fs.count
        files = .allocate(capacity: max(1, fs.count))
        files.initialize(from: fs, count: fs.count)
        self.depth = max(1, depth)
        ring = .allocate(capacity: self.depth)
        ring.initialize(repeating: start, count: self.depth)
        blocks = .allocate(capacity: max(1, fs.count) * JobStorage.blockBatch)
        blocks.initialize(repeating: 0, count: max(1, fs.count) * JobStorage.blockBatch)
        dirs = .allocate(capacity: max(1, fs.count) * 12)
        dirs.initialize(repeating: 0, count: max(1, fs.count) * 12)
        counters = .allocate(capacity: 16)
        counters.initialize(repeating: 0, count: 16)
        consts = .allocate(capacity: 32)
        consts.initialize(repeating: 0, count: 32)
    }

    private init(copying o: JobStorage) {
        fileCount = o.fileCount
        files = .allocate(capacity: max(1, o.fileCount))
        files.initialize(from: o.files, count: o.fileCount)
        depth = o.depth
        ring = .allocate(capacity: depth)
        ring.initialize(from: o.ring, count: depth)
        blocks = .allocate(capacity: max(1, fileCount) * JobStorage.blockBatch)
        blocks.initialize(from: o.blocks, count: max(1, fileCount) * JobStorage.blockBatch)
        dirs = .allocate(capacity: max(1, fileCount) * 12)
        dirs.initialize(from: o.dirs, count: max(1, fileCount) * 12)
        counters = .allocate(capacity: 16)
        counters.initialize(from: o.counters, count: 16)
        consts = .allocate(capacity: 32)
        consts.initialize(from: o.consts, count: 32)
    }

    func clone() -> JobStorage { JobStorage(copying: self) }

    deinit {
        files.deinitialize(count: fileCount)
        files.deallocate()
        ring.deinitialize(count: depth)
        ring.deallocate()
        blocks.deallocate()
        dirs.deallocate()
        counters.deallocate()
        consts.deallocate()
    }
}

/// One job's generator: fio's do_io / get_io_u / fill_io_u, without the I/O.
struct JobState {
    enum MapMode { case permutation, bitmap, uniform, ranked, zoned }

    let job: JobSpec
    let seed: UInt64
    /// The record `stream`: the job's index, or nil when the trace has one job.
    let stream: UInt32?
    let dataFlags: TraceFlags
    let writeFlags: TraceFlags
    let splits: [[BlockSplit]]
    let fixedBS: Bool
    let mapMode: MapMode
    let zoneTables: [ZoneTable]
    let isRandom: Bool
    let mixed: Bool
    let trimWrite: Bool
    let singleDir: DataDirection
    let maxBSAll: UInt64
    // limits
    let passTotal: UInt64
    let cumulativeLimit: UInt64
    let keepRunningLimit: UInt64
    let numberIOsLimit: UInt64
    let endTimeLimit: UInt64
    // timing
    let serviceTime: UInt64
    let serviceBW: UInt64
    let rateLimited: Bool
    let timeBased: Bool
    let fsyncEvery: UInt64
    let fdatasyncEvery: UInt64
    let thinktime: UInt64
    let thinktimeBlocks: UInt64
    let poisson: Bool

    var storage: JobStorage
    @inline(__always) var files: UnsafeMutablePointer<FileState> { storage.files }
    @inline(__always) var fileCount: Int { storage.fileCount }
    @inline(__always) var ring: UnsafeMutablePointer<UInt64> { storage.ring }
    @inline(__always) var depth: Int { storage.depth }
    var nextFile = 0
    var serviceFile = -1
    var serviceLeft = 0
    var doneFiles = 0

    // RNG streams (fio's separate random states)
    var rngOffset: Xoshiro256
    var rngBS: (Xoshiro256, Xoshiro256, Xoshiro256)
    var rngMix: Xoshiro256
    var rngSeqRand: (Xoshiro256, Xoshiro256, Xoshiro256)
    var rngFile: Xoshiro256
    var rngZone: Xoshiro256
    var rngPoisson: (Xoshiro256, Xoshiro256, Xoshiro256)

    // counters
    var passBytes: UInt64 = 0
    /// fio's last_pos / last_start of file `fi` (index by direction).
    @inline(__always) func lastPos(_ fi: Int) -> UnsafeMutablePointer<UInt64> { storage.dirs + fi &* 12 }
    @inline(__always) func lastStart(_ fi: Int) -> UnsafeMutablePointer<UInt64> { storage.dirs + (fi &* 12 &+ 4) }
    /// fio's last_block: blocks of `ba` that fit in the file's region, per direction.
    @inline(__always) func lastBlocks(_ fi: Int) -> UnsafeMutablePointer<UInt64> { storage.dirs + (fi &* 12 &+ 8) }
    @inline(__always) var minBS: UnsafeMutablePointer<UInt64> { storage.consts }
    @inline(__always) var maxBS: UnsafeMutablePointer<UInt64> { storage.consts + 4 }
    @inline(__always) var ba: UnsafeMutablePointer<UInt64> { storage.consts + 8 }
    /// Bytes per second per direction (0: not rate-limited).
    @inline(__always) var rated: UnsafeMutablePointer<UInt64> { storage.consts + 12 }
    @inline(__always) var percentRandom: UnsafeMutablePointer<UInt64> { storage.consts + 16 }
    @inline(__always) var cumWeight: UnsafeMutablePointer<UInt64> { storage.consts + 20 }
    @inline(__always) func poissonMean(_ d: Int) -> Double { Double(bitPattern: storage.consts[24 &+ d]) }
    /// Cumulative bytes and data I/Os issued, per direction.
    @inline(__always) var bytesIssued: UnsafeMutablePointer<UInt64> { storage.counters }
    @inline(__always) var ioIssues: UnsafeMutablePointer<UInt64> { storage.counters + 4 }
    /// Rate-limited directions: bytes so far and the next due time (ns after the start).
    @inline(__always) var rateBytes: UnsafeMutablePointer<UInt64> { storage.counters + 8 }
    @inline(__always) var rateNext: UnsafeMutablePointer<UInt64> { storage.counters + 12 }
    var dataIOs: UInt64 = 0
    var cumBytes: UInt64 = 0
    var ddirSeqCounter = 1
    var loopsLeft: Int
    var pendingSync: TraceOp?
    var lastWasSync = false
    var endSyncFile = -1      // next file to end-of-pass fsync, or -1
    var finished = false
    var started = false

    // clock
    let jobStart: UInt64
    var clock: UInt64
    var ringPos = 0
    var maxCompletion: UInt64 = 0
    var thinkCount: UInt64 = 0

    var endTime: UInt64 { max(clock, maxCompletion) }

    init(job: JobSpec, files setups: [WorkloadGenerator.FileSetup], seed: UInt64,
         timing: GeneratorOptions.Timing, groupStart: UInt64, singleJob: Bool, runtimeByConsumer: Bool = false) {
        self.job = job
        self.seed = seed
        stream = singleJob ? nil : UInt32(truncatingIfNeeded: job.index)
        var df: TraceFlags = []
        if job.direct { df.insert(.direct) }
        dataFlags = df
        var wf = df
        if job.syncIO { wf.insert(.sync) }
        writeFlags = wf
        var mn = Lanes4<UInt64>(repeating: 4096), mx = mn, al = mn
        var sp: [[BlockSplit]] = [[], [], []]
        for d in DataDirection.allCases {
            let b = job.blockSize[d]
            mn[d.rawValue] = b.min
            mx[d.rawValue] = b.max
            sp[d.rawValue] = b.split
            // fio: blockalign applies to random I/O only; it defaults to the minimum bs.
            al[d.rawValue] = (job.rw.isRandom ? job.blockAlign[d] : nil) ?? b.min
        }
        splits = sp
        let dirs = job.rw.directions
        fixedBS = dirs.allSatisfy { mn[$0.rawValue] == mx[$0.rawValue] && mn[$0.rawValue] == mn[dirs[0].rawValue] }
        isRandom = job.rw.isRandom
        mixed = job.rw.isMixed
        trimWrite = job.rw.isTrimWrite
        singleDir = job.rw.trims ? .trim : (job.rw.writes ? .write : .read)
        maxBSAll = dirs.map { mx[$0.rawValue] }.max() ?? 4096
        var baDiffers = false
        for d in dirs where al[d.rawValue] != mn[d.rawValue] { baDiffers = true }
        // fio: blockalign other than the block size, or a non-uniform distribution, turns
        // the random map off.
        let randomMap = job.randomMap && !baDiffers && job.randomDistribution.isUniform
        var zt: [ZoneTable] = []
        switch job.randomDistribution {
        case .random:
            mapMode = !isRandom ? .uniform : (randomMap ? (fixedBS ? .permutation : .bitmap) : .uniform)
        case .ranked:
            mapMode = .ranked
        case .zoned(let z, let absolute):
            mapMode = .zoned
            for d in DataDirection.allCases {
                zt.append(ZoneTable(zones: z[d].zones.map { ($0.access, $0.size) }, absolute: absolute))
            }
        }
        zoneTables = zt

        var fs: [FileState] = []
        for (i, s) in setups.enumerated() {
            var lb = Lanes4<UInt64>(repeating: 0)
            for d in DataDirection.allCases {
                var maxSize = s.ioSize
                if mn[d.rawValue] > al[d.rawValue] { maxSize -= min(maxSize, mn[d.rawValue] - al[d.rawValue]) }
                lb[d.rawValue] = maxSize / al[d.rawValue]
            }
            let dseed = SplitMix64.mix(seed, 0xD157, UInt64(i))
            var f = FileState(index: s.globalIndex, fileOffset: s.fileOffset, ioSize: s.ioSize,
                              realSize: s.fileOffset + s.ioSize,
                              lastBlocks: lb, distRNG: Xoshiro256(seed: dseed), distSeed: dseed)
            if case .ranked(let kind, let center) = job.randomDistribution {
                let range = min(mn[0], mn[1])
                let n = max(1, (s.ioSize + range - 1) / range)
                f.rangeSize = range
                f.ranked = RankSampler(kind: kind, n: n)
                var off: UInt64
                switch kind {
                case .normal:
                    if let c = center {
                        let v = Double(n) * (c - 0.5)
                        off = v >= 0 ? UInt64(v) % n : (n - UInt64(-v) % n) % n
                    } else { off = 0 }
                default:
                    if let c = center { off = UInt64(Double(n) * c) % n } else { off = SplitMix64.mix(dseed, 0x0FF) % n }
                }
                f.scatter = RankScatter(n: n, key: SplitMix64.mix(dseed, 0x5CA7), offset: off)
            }
            if mapMode == .bitmap {
                var unit = UInt64.max
                for d in dirs { unit = min(unit, al[d.rawValue]) }
                f.bitmapUnit = unit
                f.bitmap = BlockBitmap(count: max(1, s.ioSize / unit))
            }
            fs.append(f)
        }
        let fileStates = fs

        // Limits (fio's do_io and keep_running).
        let sizeTotal = setups.reduce(0) { $0 + $1.ioSize }
        let size: UInt64
        if case .bytes(let b)? = job.size, b > 0 { size = min(b, sizeTotal) } else { size = sizeTotal }
        var ioLimit = size
        if let io = job.ioSize {
            switch io {
            case .bytes(let b): ioLimit = b
            case .percent(let p): ioLimit = UInt64(Double(size) * p / 100)
            }
        }
        var pt = size
        if job.rw.writes && isRandom && !randomMap { pt = max(pt, ioLimit) }
        if trimWrite { pt += sizeTotal }
        passTotal = pt
        keepRunningLimit = ioLimit
        let (cl, o1) = ioLimit.multipliedReportingOverflow(by: UInt64(max(1, job.loops)))
        cumulativeLimit = o1 ? .max : cl
        var nio = job.numberIOs ?? 0
        if nio > 0 {
            nio = nio &* UInt64(max(1, job.loops))
            if trimWrite { nio = nio &* 2 }
        }
        numberIOsLimit = nio == 0 ? .max : nio
        loopsLeft = max(1, job.loops) - 1

        // Clock.
        var drng = Xoshiro256(seed: SplitMix64.mix(seed, 0xDE1A))
        let sd = job.startDelay
        let delay = sd.lowerBound == sd.upperBound ? sd.lowerBound : sd.lowerBound + drng.below(sd.upperBound - sd.lowerBound + 1)
        jobStart = groupStart + delay
        clock = jobStart
        if let rt = job.runtime, !runtimeByConsumer {
            endTimeLimit = jobStart + rt + job.rampTime
        } else {
            endTimeLimit = .max
        }
        switch timing {
        case .serviceModel(let st, let bw):
            serviceTime = st
            serviceBW = bw ?? 0
        case .none:
            serviceTime = GeneratorOptions.defaultServiceTime
            serviceBW = 0
        }
        storage = JobStorage(files: fileStates, depth: job.iodepth, start: jobStart)
        maxCompletion = jobStart
        var rt = Lanes4<UInt64>(repeating: 0)
        var pm = Lanes4<Double>(repeating: 0)
        for d in DataDirection.allCases {
            let bps = job.rate[d] > 0 ? job.rate[d] : job.rateIOPS[d] &* mn[d.rawValue]
            rt[d.rawValue] = bps
            if bps > 0 { pm[d.rawValue] = 1e9 * Double(mn[d.rawValue]) / Double(bps) }
        }
        rateLimited = job.isRateLimited
        timeBased = job.timeBased
        fsyncEvery = job.fsync
        fdatasyncEvery = job.fdatasync
        thinktime = job.thinktime
        thinktimeBlocks = UInt64(max(1, job.thinktimeBlocks))
        poisson = job.rateProcess == .poisson

        rngOffset = Xoshiro256(seed: 0)
        rngBS = (Xoshiro256(seed: 0), Xoshiro256(seed: 0), Xoshiro256(seed: 0))
        rngMix = Xoshiro256(seed: 0)
        rngSeqRand = (Xoshiro256(seed: 0), Xoshiro256(seed: 0), Xoshiro256(seed: 0))
        rngFile = Xoshiro256(seed: 0)
        rngZone = Xoshiro256(seed: 0)
        rngPoisson = (Xoshiro256(seed: 0), Xoshiro256(seed: 0), Xoshiro256(seed: 0))
        reseed()
        // Rate schedules start at the job's start; poisson's first I/O is at 0, like fio's.
        for d in 0..<3 {
            let c = storage.consts
            c[d] = mn[d]
            c[4 + d] = mx[d]
            c[8 + d] = al[d]
            c[12 + d] = rt[d]
            c[16 + d] = UInt64(job.percentageRandom[DataDirection(rawValue: d)!])
            c[24 + d] = pm[d].bitPattern
            let counts: Bool
            if job.rw.isMixed { counts = d < 2 } else if job.rw.writes { counts = d == 1 } else if job.rw.reads { counts = d == 0 } else { counts = d == 2 }
            c[20 + d] = counts ? 1 : 0
        }
        for i in 0..<fileStates.count {
            for d in 0..<4 { lastBlocks(i)[d] = fileStates[i].lastBlocks[d] }
        }
        for i in 0..<fileCount { resetFile(i, newKey: SplitMix64.mix(seed, 0x9E7, UInt64(i))) }
    }

    /// fio's td_fill_rand_seeds: every stream from the job's seed.
    mutating func reseed() {
        rngOffset = Xoshiro256(seed: SplitMix64.mix(seed, 1))
        rngBS = (Xoshiro256(seed: SplitMix64.mix(seed, 2, 0)), Xoshiro256(seed: SplitMix64.mix(seed, 2, 1)),
                 Xoshiro256(seed: SplitMix64.mix(seed, 2, 2)))
        rngMix = Xoshiro256(seed: SplitMix64.mix(seed, 3))
        rngSeqRand = (Xoshiro256(seed: SplitMix64.mix(seed, 4, 0)), Xoshiro256(seed: SplitMix64.mix(seed, 4, 1)),
                      Xoshiro256(seed: SplitMix64.mix(seed, 4, 2)))
        rngFile = Xoshiro256(seed: SplitMix64.mix(seed, 5))
        rngZone = Xoshiro256(seed: SplitMix64.mix(seed, 6))
        rngPoisson = (Xoshiro256(seed: SplitMix64.mix(seed, 7, 0)), Xoshiro256(seed: SplitMix64.mix(seed, 7, 1)),
                      Xoshiro256(seed: SplitMix64.mix(seed, 7, 2)))
        for i in 0..<fileCount { files[i].distRNG = Xoshiro256(seed: files[i].distSeed) }
    }

    mutating func resetFile(_ i: Int, newKey: UInt64) {
        files[i].done = false
        for d in 0..<4 {
            lastPos(i)[d] = files[i].fileOffset
            lastStart(i)[d] = noStart
        }
        files[i].permIndex = 0
        files[i].bufPos = 0
        files[i].bufLen = 0
        if mapMode == .permutation {
            let n = lastBlocks(i)[singleDirForMap.rawValue]
            files[i].perm = BlockPermutation(count: max(1, n), key: newKey)
            files[i].permCount = n
        }
        if mapMode == .bitmap { files[i].bitmap?.reset() }
    }

    var singleDirForMap: DataDirection { job.rw.directions.first ?? .read }

    /// Whether `fastFill` may run: one file, fixed block size equal to the alignment, no
    /// rate, thinktime, syncs, runtime or rw modifiers, full random map or plain
    /// sequential I/O. It produces exactly what `next` would (same RNG draws, same state).
    var fastEligible: Bool {
        guard fileCount == 1, fixedBS, !rateLimited, thinktime == 0, fsyncEvery == 0, fdatasyncEvery == 0,
              endTimeLimit == .max, job.ddirSeqNr == 1, !trimWrite, job.ddirSeqAdd == 0 else { return false }
        let dirs = job.rw.directions
        for d in dirs where ba[d.rawValue] != minBS[d.rawValue] { return false }
        if isRandom {
            guard mapMode == .permutation else { return false }
            for d in dirs where percentRandom[d.rawValue] < 100 { return false }
        }
        return true
    }

    /// Up to `maxCount` records straight into `out` (the common case of `next`, without
    /// its per-I/O dispatch). Returns how many; fewer (maybe 0) when a pass or the job
    /// reaches a limit or the region its end, which `next` then handles.
    mutating func fastFill(_ out: UnsafeMutablePointer<TraceRecord>, _ maxCount: Int) -> Int {
        if finished || endSyncFile >= 0 || pendingSync != nil || files[0].done { return 0 }
        let dirs = job.rw.directions
        let bs = minBS[dirs[0].rawValue]
        let hasR = job.rw.reads, hasW = job.rw.writes, hasT = job.rw.trims
        // I/Os left before a limit `next` checks could stop the pass.
        var budget = UInt64(maxCount)
        if numberIOsLimit != .max { budget = min(budget, numberIOsLimit &- min(numberIOsLimit, dataIOs)) }
        if !timeBased {
            if passBytes >= passTotal || cumBytes >= cumulativeLimit { return 0 }
            budget = min(budget, (passTotal - passBytes + bs - 1) / bs)
            budget = min(budget, (cumulativeLimit - cumBytes + bs - 1) / bs)
        }
        if budget == 0 { return 0 }
        let f = files
        let base = f.pointee.fileOffset
        let end = base &+ f.pointee.ioSize
        let fileIndex = f.pointee.index
        let lp = lastPos(0), ls = lastStart(0)
        let single = singleDir.rawValue
        let rwmix = job.rwmixRead
        let depthN = depth
        let ringP = ring
        let svc = serviceTime(bs)
        let blocks = storage.blocks
        var clock = self.clock
        var ringPos = self.ringPos
        var maxCompletion = self.maxCompletion
        var bufPos = f.pointee.bufPos, bufLen = f.pointee.bufLen
        var n = 0
        let limit = Int(budget)
        while n < limit {
            var offset: UInt64
            var d: Int
            if isRandom {
                if bufPos == bufLen {
                    refillBlocks(0)
                    bufPos = 0
                    bufLen = f.pointee.bufLen
                    if bufLen == 0 { break }
                }
                d = mixed ? (rngMix.percent() <= rwmix ? 0 : 1) : single
                offset = base &+ blocks[bufPos] &* bs
                bufPos &+= 1
            } else {
                // The position depends on the direction: stop before a draw could fail.
                if (hasR && lp[0] &+ bs > end) || (hasW && lp[1] &+ bs > end) || (hasT && lp[2] &+ bs > end) { break }
                d = mixed ? (rngMix.percent() <= rwmix ? 0 : 1) : single
                offset = lp[d]
            }
            ls[d] = offset
            lp[d] = offset &+ bs
            bytesIssued[d] &+= bs
            cumBytes &+= bs &* cumWeight[d]
            ioIssues[d] &+= 1
            let t: UInt64
            if depthN == 1 {
                t = max(clock, maxCompletion)
                maxCompletion = t &+ svc
            } else {
                t = max(clock, ringP[ringPos])
                let done = t &+ svc
                ringP[ringPos] = done
                ringPos = ringPos &+ 1 == depthN ? 0 : ringPos &+ 1
                if done > maxCompletion { maxCompletion = done }
            }
            clock = t
            out[n] = TraceRecord(time: t, op: d == 0 ? .read : (d == 1 ? .write : .trim), file: fileIndex,
                                 offset: offset, length: bs, stream: stream, flags: d == 1 ? writeFlags : dataFlags)
            n &+= 1
        }
        if depthN == 1 { ringP[0] = maxCompletion }
        f.pointee.bufPos = bufPos
        f.pointee.bufLen = bufLen
        self.clock = clock
        self.ringPos = ringPos
        self.maxCompletion = maxCompletion
        passBytes &+= UInt64(n) &* bs
        dataIOs &+= UInt64(n)
        if n > 0 { lastWasSync = false }
        return n
    }

    /// The next record of this job, or false when the job is over.
    mutating func next(_ r: inout TraceRecord) -> Bool {
        if finished { return false }
        while true {
            // End-of-pass fsyncs (end_fsync / fsync_on_close), one per file.
            if endSyncFile >= 0 {
                let f = endSyncFile
                endSyncFile = f + 1 < fileCount ? f + 1 : -1
                emitSync(.sync, file: f, &r)
                if endSyncFile < 0 { lastWasSync = true; afterPass() }
                return true
            }
            if finished { return false }
            // In-pass stop conditions.
            if dataIOs >= numberIOsLimit {
                endPass(stopJob: true)
                continue
            }
            if !timeBased && (passBytes >= passTotal || cumBytes >= cumulativeLimit) {
                endPass(stopJob: false)
                continue
            }
            if clock >= endTimeLimit {
                endPass(stopJob: true)
                continue
            }
            guard let fi = pickFile() else {
                endPass(stopJob: false)
                continue
            }
            // A sync due after the N-th write goes to the file picked for the next I/O (fio).
            if let op = pendingSync {
                pendingSync = nil
                emitSync(op, file: fi, &r)
                lastWasSync = true
                return true
            }
            let d = chooseDirection(file: fi)
            if fill(file: fi, dir: d, &r) {
                if r.time >= endTimeLimit {
                    finished = true
                    return false
                }
                return true
            }
            // No offset left in this file: it is done (fio closes it and moves on).
            files[fi].done = true
            doneFiles += 1
            if job.timeBased {
                // time_based: the region starts over (a new random order), as in fio.
                resetFile(fi, newKey: rngOffset.next())
                doneFiles -= 1
            }
        }
    }

    /// fio's io_bytes for the io_size limit: reads+writes for mixed jobs, else the job's
    /// main direction (writes for trimwrite).
    private var cumulativeBytes: UInt64 { cumBytes }

    /// A pass ended: end_fsync, then fio's keep_running decides on another pass.
    private mutating func endPass(stopJob: Bool) {
        if stopJob { finished = true }
        if job.rw.writes && !lastWasSync && (job.endFsync || job.fsyncOnClose) && fileCount > 0 && dataIOs > 0 {
            endSyncFile = 0
            return
        }
        afterPass()
    }

    private mutating func afterPass() {
        if finished { return }
        if keepRunning() {
            startPass()
        } else {
            finished = true
        }
    }

    private mutating func keepRunning() -> Bool {
        if clock >= endTimeLimit { return false }
        if job.timeBased { return true }
        if loopsLeft > 0 { loopsLeft -= 1; return true }
        if dataIOs >= numberIOsLimit { return false }
        let cum = cumulativeBytes
        if cum < keepRunningLimit {
            if keepRunningLimit - cum < maxBSAll { return false }
            if job.ioSize == nil && doneFiles >= fileCount { return false }
            return job.ioSize != nil
        }
        return false
    }

    private mutating func startPass() {
        passBytes = 0
        lastWasSync = false
        doneFiles = 0
        if job.randRepeat { reseed() }
        for i in 0..<fileCount {
            let key = job.randRepeat ? SplitMix64.mix(seed, 0x9E7, UInt64(i)) : rngOffset.next()
            resetFile(i, newKey: key)
        }
    }

    // MARK: files

    /// fio's __get_next_file: round robin (switching every `fileServiceNr` I/Os),
    /// sequential, or random over the files not done.
    @inline(__always) private mutating func pickFile() -> Int? {
        let n = fileCount
        if doneFiles >= n { return nil }
        if n == 1 { return files[0].done ? nil : 0 }
        if serviceFile >= 0 && !files[serviceFile].done {
            if job.fileService == .sequential { return serviceFile }
            if serviceLeft > 0 { serviceLeft -= 1; return serviceFile }
        }
        var f = -1
        switch job.fileService {
        case .roundRobin, .sequential:
            for _ in 0..<n {
                let c = nextFile
                nextFile = nextFile + 1 >= n ? 0 : nextFile + 1
                if !files[c].done { f = c; break }
            }
        case .random:
            while true {
                let c = Int(rngFile.below(UInt64(n)))
                if !files[c].done { f = c; break }
            }
        }
        if f < 0 { return nil }
        serviceFile = f
        serviceLeft = job.fileServiceNr - 1
        return f
    }

    // MARK: direction

    @inline(__always) private mutating func chooseDirection(file fi: Int) -> DataDirection {
        if trimWrite {
            return lastStart(fi)[1] == lastStart(fi)[2] ? .trim : .write
        }
        var d = singleDir
        if mixed {
            d = rngMix.percent() <= job.rwmixRead ? .read : .write
        }
        if rateLimited { d = rateDirection(d) }
        return d
    }

    /// fio's rate_ddir: a direction ahead of its schedule yields to the other one if that
    /// one is behind, else the earlier of the two goes first.
    @inline(__always) private func rateDirection(_ d: DataDirection) -> DataDirection {
        func due(_ x: DataDirection) -> UInt64 { rated[x.rawValue] > 0 ? jobStart &+ rateNext[x.rawValue] : 0 }
        let now = clock
        if due(d) <= now { return d }
        if mixed {
            let od: DataDirection = d == .read ? .write : .read
            let odShare = od == .read ? job.rwmixRead : 100 - job.rwmixRead
            if odShare > 0 {
                if due(od) <= now { return od }
                return due(d) <= due(od) ? d : od
            }
        }
        return d
    }

    // MARK: one I/O

    @inline(__always) private func serviceTime(_ len: UInt64) -> UInt64 {
        serviceBW == 0 ? serviceTime : serviceTime &+ len &* 1_000_000_000 / serviceBW
    }

    private mutating func emitSync(_ op: TraceOp, file fi: Int, _ r: inout TraceRecord) {
        let t = max(clock, maxCompletion)
        let done = t &+ serviceTime
        clock = done
        maxCompletion = done
        for i in 0..<depth { ring[i] = done }
        let lp = lastPos(fi)
        let prevEnd = max(lp[1], lp[0], lp[2])
        r = TraceRecord(time: t, op: op, file: files[fi].index, offset: prevEnd, length: 0, stream: stream, flags: [])
    }

    /// fio's fill_io_u for a data direction: offset, length, random map, then the time.
    private mutating func fill(file fi: Int, dir d: DataDirection, _ r: inout TraceRecord) -> Bool {
        let di = d.rawValue
        var offset: UInt64
        var len: UInt64
        if trimWrite && d == .write {
            // The write of a trim+write pair covers exactly what was trimmed.
            offset = lastStart(fi)[2]
            len = lastPos(fi)[2] &- offset
        } else {
            guard let o = nextOffset(file: fi, dir: d) else { return false }
            offset = o.offset
            guard let l = nextLength(file: fi, dir: d, offset: offset) else { return false }
            len = l
            if offset &+ len > files[fi].realSize { return false }
            if o.mark {
                if mapMode == .bitmap {
                    let unit = files[fi].bitmapUnit
                    let first = (offset - files[fi].fileOffset) / unit
                    let run = files[fi].bitmap!.setRun(from: first, max: (len + unit - 1) / unit)
                    if run == 0 { return false }
                    if run * unit < len { len = run * unit }
                }
            }
        }
        lastStart(fi)[di] = offset
        lastPos(fi)[di] = offset &+ len

        // Time.
        var t: UInt64
        if rated[di] > 0 {
            t = max(clock, jobStart &+ rateNext[di])
        } else {
            t = max(clock, ring[ringPos])
        }
        let done = t &+ serviceTime(len)
        ring[ringPos] = done
        ringPos = ringPos + 1 == depth ? 0 : ringPos + 1
        if done > maxCompletion { maxCompletion = done }
        clock = t
        if rated[di] > 0 {
            rateBytes[di] &+= len
            if poisson {
                let u: Double
                switch d {
                case .read: u = rngPoisson.0.nextOpenDouble()
                case .write: u = rngPoisson.1.nextOpenDouble()
                case .trim: u = rngPoisson.2.nextOpenDouble()
                }
                rateNext[di] &+= UInt64(-log(u) * poissonMean(di))
            } else {
                let (hi, lo) = rateBytes[di].multipliedFullWidth(by: 1_000_000_000)
                rateNext[di] = rated[di].dividingFullWidth((hi, lo)).quotient
            }
        }

        r = TraceRecord(time: t, op: d.op, file: files[fi].index, offset: offset, length: len, stream: stream,
                        flags: d == .write ? writeFlags : dataFlags)
        passBytes &+= len
        bytesIssued[di] &+= len
        cumBytes &+= len &* cumWeight[di]
        ioIssues[di] &+= 1
        dataIOs &+= 1
        lastWasSync = false
        if d == .write {
            let w = ioIssues[1]
            if fsyncEvery > 0 && w % fsyncEvery == 0 {
                pendingSync = .sync
            } else if fdatasyncEvery > 0 && w % fdatasyncEvery == 0 {
                pendingSync = .datasync
            }
        }
        if thinktime > 0 {
            thinkCount &+= 1
            if thinkCount >= thinktimeBlocks {
                thinkCount = 0
                clock = max(clock, maxCompletion) &+ thinktime
                maxCompletion = clock
                for i in 0..<depth { ring[i] = clock }
            }
        }
        return true
    }

    /// fio's get_next_block. `mark`: the I/O goes into the random map (not for the
    /// sequential stretches of a random job, which fio issues "busy ok").
    @inline(__always) private mutating func nextOffset(file fi: Int, dir d: DataDirection) -> (offset: UInt64, mark: Bool)? {
        var rwSeqHit = true
        if job.ddirSeqNr > 1 {
            ddirSeqCounter -= 1
            if ddirSeqCounter == 0 {
                ddirSeqCounter = job.ddirSeqNr
            } else {
                rwSeqHit = false
            }
        }
        if rwSeqHit {
            if isRandom {
                if shouldDoRandom(d) {
                    guard let b = randomOffset(file: fi, dir: d) else { return nil }
                    return (b, true)
                }
                if let o = seqOffset(file: fi, dir: d) { return (o, false) }
                guard let b = randomOffset(file: fi, dir: d) else { return nil }
                return (b, true)
            }
            guard let o = seqOffset(file: fi, dir: d) else { return nil }
            return (o, false)
        }
        if job.rwSequencer == .identical {
            let ls = lastStart(fi)[d.rawValue]
            return (ls != noStart ? ls : files[fi].fileOffset, false)
        }
        if let o = seqOffset(file: fi, dir: d) { return (o, false) }
        guard let b = randomOffset(file: fi, dir: d) else { return nil }
        return (b, false)
    }

    @inline(__always) private mutating func shouldDoRandom(_ d: DataDirection) -> Bool {
        let p = Int(percentRandom[d.rawValue])
        if p >= 100 { return true }
        let v: Int
        switch d {
        case .read: v = rngSeqRand.0.percent()
        case .write: v = rngSeqRand.1.percent()
        case .trim: v = rngSeqRand.2.percent()
        }
        return v <= p
    }

    /// fio's get_next_seq_offset (absolute offset), nil at the end of the region.
    @inline(__always) private func seqOffset(file fi: Int, dir d: DataDirection) -> UInt64? {
        let f = files + fi
        var pos = lastPos(fi)[d.rawValue] - f.pointee.fileOffset
        if pos > 0 && job.ddirSeqAdd > 0 {
            pos += UInt64(job.ddirSeqAdd)
            // fio compares this region-relative position with the absolute file size and
            // wraps to the (absolute) start offset: with offset=0 the holes wrap around
            // until size bytes are done; with an offset the file simply ends. Kept as is.
            if pos >= f.pointee.realSize { pos = f.pointee.fileOffset }
        }
        if pos >= f.pointee.ioSize { return nil }
        return f.pointee.fileOffset + pos
    }

    /// A random offset (absolute) by the job's distribution, nil when the map is full.
    @inline(__always) private mutating func randomOffset(file fi: Int, dir d: DataDirection) -> UInt64? {
        let di = d.rawValue
        let lastb = lastBlocks(fi)[di]
        if lastb == 0 { return nil }
        let base = files[fi].fileOffset
        switch mapMode {
        case .permutation:
            let f = files + fi
            if f.pointee.bufPos == f.pointee.bufLen {
                refillBlocks(fi)
                if f.pointee.bufLen == 0 { return nil }
            }
            let b = storage.blocks[fi &* JobStorage.blockBatch &+ f.pointee.bufPos]
            f.pointee.bufPos &+= 1
            return base + b * ba[di]
        case .uniform:
            return base + rngOffset.below(lastb) * ba[di]
        case .bitmap:
            let unit = files[fi].bitmapUnit
            let b = rngOffset.below(lastb)
            var idx = b * ba[di] / unit
            if files[fi].bitmap!.isSet(idx) {
                guard let nf = files[fi].bitmap!.nextFree(after: idx) else { return nil }
                idx = nf
            }
            return base + idx * unit
        case .ranked:
            let f = files + fi
            let rank = f.pointee.ranked!.next(&f.pointee.distRNG)
            let block = f.pointee.scatter!.block(ofRank: rank)
            var off = block * f.pointee.rangeSize
            off -= off % ba[di]
            let last = lastb &* ba[di]
            if off >= last { off = last - ba[di] }
            return base + off
        case .zoned:
            let v = rngZone.percent() - 1
            let zt = zoneTables[di]
            if zt.start[v] == .max {
                return base + rngOffset.below(lastb) * ba[di]
            }
            if zt.absolute {
                let stotal = zt.start[v] / ba[di]
                let send = zt.end[v] / ba[di]
                if send > lastb || send <= stotal { return nil }
                return base + (stotal + rngOffset.below(send - stotal)) * ba[di]
            }
            let startB = zt.start[v] * lastb / 100
            let range = lastb * (zt.end[v] - zt.start[v]) / 100
            if range == 0 { return base + startB * ba[di] }
            return base + (startB + rngOffset.below(range)) * ba[di]
        }
    }

    /// Computes the next blocks of the file's random map in one go. The order is the
    /// permutation's round function applied to a counter running over the whole 2^b
    /// domain, keeping the values below n: every block exactly once per pass. The loop is
    /// branch-free (the keep decision only moves the write cursor), so the rounds of
    /// successive counters overlap in the CPU.
    private func refillBlocks(_ fi: Int) {
        let f = files + fi
        let p = f.pointee.perm
        let n = f.pointee.permCount
        let domain = p.domain
        var i = f.pointee.permIndex
        let out = storage.blocks + fi &* JobStorage.blockBatch
        let cap = JobStorage.blockBatch
        var w = 0
        if n > 0 {
            while w < cap && i < domain {
                let y = p.round(i)
                out[w] = y
                w &+= y < n ? 1 : 0
                i &+= 1
            }
        }
        f.pointee.permIndex = i
        f.pointee.bufPos = 0
        f.pointee.bufLen = w
    }

    /// fio's get_next_buflen: fixed, bsrange (uniform, aligned to the minimum) or bssplit,
    /// redrawn until the I/O fits in the region. nil when not even the minimum fits.
    @inline(__always) private mutating func nextLength(file fi: Int, dir d: DataDirection, offset: UInt64) -> UInt64? {
        let di = d.rawValue
        let minbs = minBS[di], maxbs = maxBS[di]
        if minbs == maxbs { return minbs }
        let end = files[fi].fileOffset + files[fi].ioSize
        if offset + minbs > end { return nil }
        let split = splits[di]
        var tries = 0
        while true {
            let u: Double
            switch d {
            case .read: u = rngBS.0.nextDouble()
            case .write: u = rngBS.1.nextDouble()
            case .trim: u = rngBS.2.nextDouble()
            }
            var buflen: UInt64
            if split.isEmpty {
                buflen = minbs + UInt64(Double(maxbs) * u)
            } else {
                buflen = minbs
                var perc = 0
                let x = u * 100
                for s in split where s.percent > 0 {
                    buflen = s.bs
                    perc += s.percent
                    if x < Double(perc) && offset + buflen <= end { break }
                }
            }
            if !job.bsUnaligned {
                if minbs & (minbs - 1) == 0 { buflen &= ~(minbs - 1) } else { buflen -= buflen % minbs }
            }
            if buflen > maxbs { buflen = maxbs }
            if buflen > 0 && offset + buflen <= end { return buflen }
            tries += 1
            if tries > 64 {
                // Only sizes that the draw rarely picks fit: take the largest that does.
                var best: UInt64 = minbs
                for s in split where s.bs > best && offset + s.bs <= end { best = s.bs }
                if split.isEmpty { best = min(maxbs, (end - offset) / minbs * minbs) }
                return best
            }
        }
    }
}
