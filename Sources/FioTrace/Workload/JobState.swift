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
                // Rounded up without `ioSize + range - 1`, which overflows near 2^64.
                let n = max(1, s.ioSize / range + (s.ioSize % range != 0 ? 1 : 0))
                f.rangeSize = range
                f.ranked = RankSampler(kind: kind, n: n)
                var off: UInt64
                switch kind {
                case .normal:
                    if let c = center {
                        off = c >= 0.5 ? Self.scaled(n, by: c - 0.5) % n : (n - Self.scaled(n, by: 0.5 - c) % n) % n
                    } else { off = 0 }
                default:
                    if let c = center { off = Self.scaled(n, by: c) % n } else { off = SplitMix64.mix(dseed, 0x0FF) % n }
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
    /// `n * fraction` (fraction in [0, 1]) as an integer: Double(n) rounds up to 2^64 when
    /// n nears UInt64.max, which UInt64(_:) would trap on.
    static func scaled(_ n: UInt64, by fraction: Double) -> UInt64 {
        let v = Double(n) * fraction
        if !(v > 0) { return 0 }
        return v >= 18_446_744_073_709_551_616.0 ? .max : UInt64(v)
    }

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

}
