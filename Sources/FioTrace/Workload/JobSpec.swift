/// One fio job, parsed: fio's option names, units and defaults, after `[global]`
/// inheritance and `numjobs` expansion (each clone is its own `JobSpec`).
///
/// Sizes are bytes, times nanoseconds, rates bytes or I/Os per second, percentages 0-100.
/// Per-direction options (`bs=4k,8k`) are `PerDirection` values indexed read, write, trim.
public struct JobSpec: Sendable, Equatable {
    /// The section name (`[name]`), or `name=`.
    public var name: String
    /// Clone number within `numjobs` (fio's subjob number: `$jobnum`).
    public var jobNumber: Int = 0
    /// Global job number across the file, 0-based, in file order (used to derive seeds
    /// and as the record `stream`).
    public var index: Int = 0
    /// Where the job's section starts (for messages), e.g. `job.fio:12` or `command line`.
    public var origin: String = ""
    /// Why fio-gen cannot generate this job's I/O (fio's verify read-back adds I/O a trace
    /// does not hold), with the file and line; nil when it can. A live run still runs it.
    public var notGeneratable: String?
    /// The options as written (global ones first), with their lines: the metadata keeps them.
    public var options: [JobOption] = []
    /// The options' canonical names (aliases resolved), in the order given: lets a consumer
    /// refuse an option it does not model, whatever its value.
    public var optionNames: [String] = []
    /// The options as fio's JSON report lists them under "job options": the name as written
    /// (lower case, `_` for `-`) to its value (`1` for a bare flag); the last one wins.
    /// Only the job's own options (its section, or from its `--name` on): the [global] ones
    /// are in `globalReportOptions`, which fio prints once as "global options".
    public var reportOptions: [String: String] = [:]
    public var globalReportOptions: [String: String] = [:]
    /// Of those, the ones last given bare (no value): fio's JSON leaves them out.
    public var bareReportOptions: Set<String> = []

    // I/O pattern
    public var rw: ReadWrite = .read
    /// `rw=randread:8`: a new random offset every N I/Os (sequential in between).
    public var ddirSeqNr: Int = 1
    /// `rw=write:4k`: a hole of N bytes between sequential I/Os.
    public var ddirSeqAdd: Int64 = 0
    public var rwSequencer: RWSequencer = .sequential
    /// rwmixread (rwmixwrite = 100 - this).
    public var rwmixRead: Int = 50
    public var blockSize: PerDirection<BlockSizeSpec> = .init(BlockSizeSpec(fixed: 4096))
    /// blockalign; nil means the direction's minimum block size.
    public var blockAlign: PerDirection<UInt64?> = .init(nil)
    public var bsUnaligned = false
    public var percentageRandom: PerDirection<Int> = .init(100)
    public var randomDistribution: RandomDistributionSpec = .random
    /// fio's random map (off with `norandommap`, and off for non-uniform distributions).
    public var randomMap = true
    public var randRepeat = true
    public var randSeed: UInt64?
    /// random_generator as given (nil: fio's default, tausworthe, which fio itself switches
    /// to tausworthe64 when a file holds more than 2^32 - 1 blocks).
    public var randomGenerator: RandomGenerator?
    /// allrandrepeat: every seed from fio's fixed seed and the job number (randseed ignored).
    public var allRandRepeat = false

    // Region
    /// `size` in bytes, or a percentage of the file size (`size=50%`).
    public var size: SizeOrPercent?
    /// `filesize` (a range picks each file's size at random between the bounds).
    public var fileSize: ClosedRange<UInt64>?
    public var offset: SizeOrPercent = .bytes(0)
    public var offsetIncrement: UInt64 = 0
    public var offsetAlign: UInt64 = 0
    /// io_size / io_limit, in bytes or a percentage of size.
    public var ioSize: SizeOrPercent?
    public var numberIOs: UInt64?
    public var nrFiles: Int = 1
    /// Explicit `filename`s (a `:` list); empty means fio's default naming.
    public var filenames: [String] = []
    public var directories: [String] = []
    public var filenameFormat: String?
    public var fileService: FileService = .roundRobin
    public var fileServiceNr: Int = 1
    /// file_service_type=zipf|pareto|normal: the distribution and its center (nil: fio's default).
    public var fileServiceDistribution: RankDistribution?
    public var fileServiceCenter: Double?

    // Time
    public var runtime: UInt64?
    public var timeBased = false
    public var rampTime: UInt64 = 0
    public var startDelay: ClosedRange<UInt64> = 0...0
    public var stonewall = false
    /// exitall: when this job finishes, the jobs running with it stop.
    public var exitAll = false
    public var loops: Int = 1
    public var thinktime: UInt64 = 0
    public var thinktimeBlocks: Int = 1
    public var rate: PerDirection<UInt64> = .init(0)
    public var rateIOPS: PerDirection<UInt64> = .init(0)
    public var rateProcess: RateProcess = .linear

    // Sync and flags
    public var fsync: UInt64 = 0
    public var fdatasync: UInt64 = 0
    public var endFsync = false
    public var fsyncOnClose = false
    public var iodepth: Int = 1
    public var direct = false
    public var syncIO = false

    // Engine and reporting: nothing the generator uses; a live run does.
    /// `ioengine=` as written (nil: fio's default, psync).
    public var ioengine: String?
    /// I/Os submitted together (`iodepth_batch_submit`, alias `iodepth_batch`; 0 means 1 in fio).
    public var iodepthBatchSubmit: Int?
    /// Completions taken per reap at most (`iodepth_batch_complete_max`; 0: no limit).
    public var iodepthBatchCompleteMax: Int?
    /// `new_group`: this job starts a new reporting group.
    public var newGroup = false
    /// `group_reporting`: the group's jobs are reported as one.
    public var groupReporting = false

    // Write buffer contents (fio's defaults; fio's implied settings applied in option order:
    // `buffer_pattern` turns scrambling and zeroing off and refills only for jobs that read or
    // compress, `dedupe_percentage` turns refilling on).
    /// `buffer_compress_percentage`, 0-100: how compressible each buffer is.
    public var bufferCompressPercentage: Int?
    /// `buffer_compress_chunk`, bytes: the size of the compressible stretches (fio's default 512).
    public var bufferCompressChunk: UInt64?
    /// `dedupe_percentage`, 0-100: the share of buffers that repeat an earlier one.
    public var dedupePercentage: Int?
    /// `refill_buffers`: new contents for every write.
    public var refillBuffers = false
    /// `scramble_buffers`: lightly changed contents for every write when not refilling (fio's default on).
    public var scrambleBuffers = true
    /// `zero_buffers`: buffers of zeros.
    public var zeroBuffers = false
    /// `buffer_pattern`: the bytes buffers repeat (at most 512, fio's limit).
    public var bufferPattern: [UInt8]?

    // Verify (fio's options and defaults).
    /// `verify=`, the algorithm as written (`crc32c`, `md5`, `pattern`, ...); nil for `0` or
    /// `null` (fio's "pretend to verify"). `verify_pattern` without `verify=` means `pattern`.
    public var verify: String?
    /// `verify_interval`, bytes (fio: at least 80): a verify header every this many bytes.
    public var verifyInterval: UInt64?
    /// `verify_pattern`: bytes and block-offset markers (`%o`).
    public var verifyPattern: DataPattern?
    /// `do_verify`: read back and check after writing (fio's default on).
    public var doVerify = true
    /// `verify_only`: only read back and check what an earlier run wrote.
    public var verifyOnly = false
    /// `verify_fatal`: stop at the first bad block.
    public var verifyFatal = false
    /// `verify_backlog`: check written blocks after every this many writes.
    public var verifyBacklog: UInt64?
    /// `verify_state_save`: save which writes completed when the job ends (fio's default on).
    public var verifyStateSave = true
    /// `verify_state_load`: load that state before verifying.
    public var verifyStateLoad = false

    public init(name: String) { self.name = name }

    /// True when some direction has `rate` or `rate_iops`.
    public var isRateLimited: Bool {
        for d in DataDirection.allCases where rate[d] > 0 || rateIOPS[d] > 0 { return true }
        return false
    }
}

/// An option as it appeared: name (as fio spells it), value (nil for a bare flag), where.
public struct JobOption: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var value: String?
    /// 1-based line in the job file; 0 for options from the command line.
    public var line: Int
    public init(name: String, value: String?, line: Int) {
        self.name = name
        self.value = value
        self.line = line
    }
    public var description: String { value.map { "\(name)=\($0)" } ?? name }
}

public enum DataDirection: Int, Sendable, CaseIterable {
    case read = 0, write = 1, trim = 2
    public var op: TraceOp {
        switch self {
        case .read: .read
        case .write: .write
        case .trim: .trim
        }
    }
}

/// Three values, one per data direction (fio's `int[,int][,int]` options).
public struct PerDirection<T: Sendable & Equatable>: Sendable, Equatable {
    public var read: T
    public var write: T
    public var trim: T
    public init(_ all: T) { read = all; write = all; trim = all }
    public init(read: T, write: T, trim: T) { self.read = read; self.write = write; self.trim = trim }
    public subscript(_ d: DataDirection) -> T {
        get {
            switch d {
            case .read: read
            case .write: write
            case .trim: trim
            }
        }
        set {
            switch d {
            case .read: read = newValue
            case .write: write = newValue
            case .trim: trim = newValue
            }
        }
    }
}

public enum ReadWrite: String, Sendable, CaseIterable {
    case read, write, trim, randread, randwrite, randtrim, rw, randrw, trimwrite, randtrimwrite

    public var isRandom: Bool {
        switch self {
        case .randread, .randwrite, .randtrim, .randrw, .randtrimwrite: true
        default: false
        }
    }
    public var reads: Bool { self == .read || self == .randread || self == .rw || self == .randrw }
    public var writes: Bool {
        switch self {
        case .write, .randwrite, .rw, .randrw, .trimwrite, .randtrimwrite: true
        default: false
        }
    }
    public var trims: Bool {
        switch self {
        case .trim, .randtrim, .trimwrite, .randtrimwrite: true
        default: false
        }
    }
    /// Both reads and writes (fio's `td_rw`).
    public var isMixed: Bool { self == .rw || self == .randrw }
    public var isTrimWrite: Bool { self == .trimwrite || self == .randtrimwrite }
    public var directions: [DataDirection] {
        var d: [DataDirection] = []
        if reads { d.append(.read) }
        if writes { d.append(.write) }
        if trims { d.append(.trim) }
        return d
    }
}

/// fio's random_generator values fio-gen draws with (lfsr is refused by name).
public enum RandomGenerator: String, Sendable { case tausworthe, tausworthe64 }

public enum RWSequencer: String, Sendable { case sequential, identical }

/// file_service_type: round robin, sequential, uniform random, or files chosen by a
/// zipf, pareto or normal distribution (fio's non-uniform file service).
public enum FileService: String, Sendable { case roundRobin = "roundrobin", sequential, random, zipf, pareto, normal }

public enum RateProcess: String, Sendable { case linear, poisson }

public enum SizeOrPercent: Sendable, Equatable {
    case bytes(UInt64)
    case percent(Double)
}

/// bs / bsrange / bssplit for one direction.
public struct BlockSizeSpec: Sendable, Equatable {
    public var min: UInt64
    public var max: UInt64
    /// bssplit entries (block size, percent), in fio's lookup order (ascending percent).
    public var split: [BlockSplit]

    public init(fixed: UInt64) { min = fixed; max = fixed; split = [] }
    public init(min: UInt64, max: UInt64) { self.min = min; self.max = max; split = [] }
    public init(split: [BlockSplit]) {
        self.split = split
        min = split.map(\.bs).min() ?? 4096
        max = split.map(\.bs).max() ?? 4096
    }
}

public struct BlockSplit: Sendable, Equatable {
    public var bs: UInt64
    public var percent: Int
    public init(bs: UInt64, percent: Int) { self.bs = bs; self.percent = percent }
}

/// random_distribution.
public enum RandomDistributionSpec: Sendable, Equatable {
    case random
    /// zipf:theta[:center], pareto:h[:center], normal:dev[:center]; center nil means fio's
    /// default (a random rotation for zipf and pareto, none for normal).
    case ranked(RankDistribution, center: Double?)
    /// zoned / zoned_abs, per direction: (access %, size % or bytes).
    case zoned(PerDirection<ZoneSplit>, absolute: Bool)

    public var isUniform: Bool { self == .random }
}

public struct ZoneSplit: Sendable, Equatable {
    public var zones: [Zone]
    public init(_ zones: [Zone]) { self.zones = zones }
    public struct Zone: Sendable, Equatable {
        public var access: Int
        /// Percent of the region (`zoned`) or bytes (`zoned_abs`).
        public var size: UInt64
        public init(access: Int, size: UInt64) { self.access = access; self.size = size }
    }
}
