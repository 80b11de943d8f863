/// One job's generator: fio's do_io / get_io_u / fill_io_u, without the I/O.
struct JobState {
    /// How a random offset is drawn: fio's uniform draw checked against its random map
    /// (`bitmap`) or not (`uniform`), a zipf/pareto/normal rank, or a zoned split.
    enum MapMode { case bitmap, uniform, ranked, zoned }

    let job: JobSpec
    let seed: UInt64
    /// fio's rand_seeds[] of this job, and whether a new pass re-seeds (randrepeat).
    let fioSeeds: FioSeeds
    let randRepeat: Bool
    /// random_generator=tausworthe64 (fio switches to it by itself only from the second
    /// pass of a job whose file holds more than 2^32 - 1 blocks: see `reseed`).
    var use64: Bool
    let switchTo64: Bool
    /// The record `stream`: the job's index, or nil when the trace has one job.
    let stream: UInt32?
    let dataFlags: TraceFlags
    let writeFlags: TraceFlags
    let splits: [[BlockSplit]]
    let fixedBS: Bool
    let mapMode: MapMode
    let zoneTables: [ZoneTable]
    /// Per direction: the zoned split has zones (fio's zone_split_nr != 0).
    let hasZones: (Bool, Bool, Bool)
    /// fio's rw_min_bs: the smallest minimum block size of the three directions (the
    /// random map's unit).
    let rwMinBS: UInt64
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

    // fio's separate random states (td->random_state, bsrange_state[], rwmix_state,
    // seq_rand_state[], next_file_state, zone_state); poisson gaps are the timing model's.
    var rngOffset: FioRand
    var rngBS: (FioRand, FioRand, FioRand)
    var rngMix: FioRand
    var rngSeqRand: (FioRand, FioRand, FioRand)
    var rngFile: FioRand
    var rngZone: FioRand
    /// fio's next_file_zipf / next_file_gauss (file_service_type=zipf|pareto|normal).
    var rngFileRank: FioRankState?
    /// Non-uniform file service: a file whose offsets run out starts over instead of
    /// being done (fio's __FIO_FSERVICE_NONUNIFORM).
    let nonUniformService: Bool
    var rngPoisson: (Xoshiro256, Xoshiro256, Xoshiro256)
    /// fio's rwmix_ddir and rwmix_issues: a mixed job draws a direction only once the
    /// current one has issued its share.
    var rwmixDir = 0
    var rwmixIssues: UInt64 = 0
    /// The offset of the last data I/O: fio logs a sync with the offset its io_u still
    /// holds, which at iodepth 1 is that one.
    var lastDataOffset: UInt64 = 0
    /// Fills that failed in a row with a non-uniform file service (a guard against fio's
    /// endless retry when no file can give an I/O).
    var serviceFails = 0

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

    init(job: JobSpec, files setups: [WorkloadGenerator.FileSetup], seed: UInt64, fioSeeds: FioSeeds, randRepeat: Bool,
         timing: GeneratorOptions.Timing, groupStart: UInt64, singleJob: Bool, runtimeByConsumer: Bool = false) {
        self.job = job
        self.seed = seed
        self.fioSeeds = fioSeeds
        nonUniformService = job.fileServiceDistribution != nil
            && (job.fileService == .zipf || job.fileService == .pareto || job.fileService == .normal)
        self.randRepeat = randRepeat
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
        var hz = (false, false, false)
        switch job.randomDistribution {
        case .random:
            mapMode = isRandom && randomMap ? .bitmap : .uniform
        case .ranked:
            mapMode = .ranked
        case .zoned(let z, let absolute):
            mapMode = .zoned
            for d in DataDirection.allCases {
                zt.append(ZoneTable(zones: z[d].zones.map { ($0.access, $0.size) }, absolute: absolute))
            }
            hz = (!z.read.zones.isEmpty, !z.write.zones.isEmpty, !z.trim.zones.isEmpty)
        }
        zoneTables = zt
        hasZones = hz
        var rmb = UInt64.max
        for d in DataDirection.allCases { rmb = min(rmb, mn[d.rawValue]) }
        rwMinBS = max(1, rmb)
        use64 = job.randomGenerator == .tausworthe64
        var big = false

        var fs: [FileState] = []
        for s in setups {
            var lb = Lanes4<UInt64>(repeating: 0)
            for d in DataDirection.allCases {
                var maxSize = s.ioSize
                if mn[d.rawValue] > al[d.rawValue] { maxSize -= min(maxSize, mn[d.rawValue] - al[d.rawValue]) }
                lb[d.rawValue] = maxSize / al[d.rawValue]
            }
            var f = FileState(index: s.globalIndex, fileOffset: s.fileOffset, ioSize: s.ioSize,
                              realSize: s.fileOffset + s.ioSize, lastBlocks: lb)
            if isRandom && s.ioSize / rwMinBS > UInt64(UInt32.max) { big = true }
            if case .ranked(let kind, let center) = job.randomDistribution {
                // fio's __init_rand_distribution: ranges of the smaller of the read and write
                // minimum sizes; the state is seeded from the file's name and the job number
                // (randrepeat), else from the offsets' seed, once per job (not per pass).
                let range = min(mn[0], mn[1])
                // Rounded up without `ioSize + range - 1`, which overflows near 2^64.
                let n = max(1, s.ioSize / range + (s.ioSize % range != 0 ? 1 : 0))
                let rseed = fioSeeds.fixedBlockSeed
                    ? FioHash.jhash(Array(s.path.utf8)) &* UInt32(truncatingIfNeeded: UInt64(job.index) + 1)
                    : UInt32(truncatingIfNeeded: fioSeeds[FioSeeds.block])
                f.rank = FioRankState(kind, center: center, nranges: n, seed: rseed)
            }
            if mapMode == .bitmap {
                f.bitmap = BlockBitmap(count: max(1, s.ioSize / rwMinBS))
            }
            fs.append(f)
        }
        let fileStates = fs
        // fio's check_rand_gen_limits: more blocks than the 32-bit generator reaches switch
        // the job to tausworthe64 unless random_generator was given; the states already
        // seeded keep 32 bits until a pass re-seeds them.
        switchTo64 = big && job.randomGenerator == nil

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
        // fio's do_io adds an I/O to the pass's bytes only when the engine queues it (async
        // engines, or null above depth 1); with synchronous completions (psync, the default,
        // or null at depth 1) it never does, and a pass ends at the job's total or when no
        // offset is left (the random map is full, the region is done).
        let engine = (job.ioengine ?? "psync").lowercased()
        let asyncEngines: Set<String> = ["libaio", "io_uring", "io_uring_cmd", "posixaio", "solarisaio", "windowsaio", "rdma"]
        passTotal = asyncEngines.contains(engine) || (engine == "null" && job.iodepth > 1) ? pt : .max
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

        let z = FioRand(seed: 0, use64: false)
        rngOffset = z
        rngBS = (z, z, z)
        rngMix = z
        rngSeqRand = (z, z, z)
        rngFile = z
        rngZone = z
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
        for i in 0..<fileCount { resetFile(i) }
    }

    /// fio's td_fill_rand_seeds: every state from the job's seeds (at the start, and at
    /// each new pass with randrepeat). verify makes writes draw sizes as reads do; trimwrite
    /// makes trims draw as writes do.
    mutating func reseed() {
        let s = fioSeeds
        let u = use64
        var ws = s[FioSeeds.bsWrite], ts = s[FioSeeds.bsTrim]
        if job.verify != nil { ws = s[FioSeeds.bsRead] }
        if trimWrite { ts = ws }
        rngBS = (FioRand(seed: s[FioSeeds.bsRead], use64: u), FioRand(seed: ws, use64: u), FioRand(seed: ts, use64: u))
        rngMix = FioRand(seed: s[FioSeeds.mix], use64: false)
        rngFile = FioRand(seed: s[FioSeeds.file], use64: u)
        if nonUniformService, let dist = job.fileServiceDistribution {
            // init_rand_file_service: nr_files << 10 ranges, unhashed, the file seed.
            rngFileRank = FioRankState(dist, center: job.fileServiceCenter, nranges: UInt64(max(1, fileCount)) << 10,
                                       seed: UInt32(truncatingIfNeeded: s[FioSeeds.file]), hashed: false)
        }
        rngZone = FioRand(seed: s[FioSeeds.zone], use64: false)
        rngOffset = FioRand(seed: s[FioSeeds.block], use64: u)
        let sr = FioRand(seed: s[FioSeeds.seqRandRead], use64: false)
        rngSeqRand = (sr, sr, sr)
        rngPoisson = (Xoshiro256(seed: s[FioSeeds.poisson]), Xoshiro256(seed: s[FioSeeds.poisson2]),
                      Xoshiro256(seed: s[FioSeeds.poisson3]))
    }

    /// fio's fio_file_reset: positions back to the start, the random map cleared.
    mutating func resetFile(_ i: Int) {
        files[i].done = false
        for d in 0..<4 {
            lastPos(i)[d] = files[i].fileOffset
            lastStart(i)[d] = noStart
        }
        if mapMode == .bitmap { files[i].bitmap?.reset() }
    }

}
