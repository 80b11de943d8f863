/// One fio option the job parser models: its canonical name (as fio-gen's job fields and
/// messages use it), fio's other names for it, and what it does to the job.
struct JobOptionDef: Sendable {
    let name: String
    let aliases: [String]
    let apply: @Sendable (inout JobBuilder, OptionContext) throws -> Void

    init(_ name: String, aliases: [String] = [], _ apply: @escaping @Sendable (inout JobBuilder, OptionContext) throws -> Void) {
        self.name = name
        self.aliases = aliases
        self.apply = apply
    }
}

/// fio's job options, by name: what each one sets on a `JobSpec`, with fio's units (sizes
/// with kb_base; `runtime`, `ramp_time`, `startdelay` in seconds and `thinktime` in
/// microseconds when bare), ranges and aliases. Options that change nothing in the records
/// are in `noEffect`; any other fio option is refused by name.
enum JobOptionTable {
    static let definitions: [JobOptionDef] = pattern + region + timing + syncAndFlags + engine + buffers + verify

    /// Canonical name and every alias -> definition.
    static let byName: [String: JobOptionDef] = {
        var m: [String: JobOptionDef] = [:]
        for d in definitions {
            m[d.name] = d
            for a in d.aliases { m[a] = d }
        }
        return m
    }()

    /// Alias -> canonical name.
    static let canonicalName: [String: String] = {
        var m: [String: String] = [:]
        for d in definitions { for a in d.aliases { m[a] = d.name } }
        return m
    }()

    // MARK: I/O pattern

    static let pattern: [JobOptionDef] = [
        // The section name and kb_base are read before the options are applied.
        JobOptionDef("name") { _, _ in },
        JobOptionDef("kb_base") { _, _ in },
        JobOptionDef("numjobs") { b, c in b.numjobs = try c.intValue(1...65536) },
        JobOptionDef("rw", aliases: ["readwrite"]) { b, c in
            let v = try c.value()
            let parts = v.split(separator: ":", maxSplits: 1)
            let base = String(parts.first ?? "").trimmed.lowercased() // ":" alone splits into nothing
            switch base {
            case "readwrite": b.job.rw = .rw
            default:
                guard let rw = ReadWrite(rawValue: base) else {
                    throw c.bad("expected read, write, trim, randread, randwrite, randtrim, rw, readwrite, randrw, trimwrite or randtrimwrite")
                }
                b.job.rw = rw
            }
            b.job.ddirSeqNr = 1
            b.job.ddirSeqAdd = 0
            b.rwPostfix = parts.count > 1 ? (String(parts[1]), c) : nil
        },
        JobOptionDef("rw_sequencer") { b, c in
            let v = try c.value().lowercased()
            let parts = v.split(separator: ":", maxSplits: 1)
            guard let s = RWSequencer(rawValue: String(parts.first ?? "")) else { throw c.bad("expected sequential or identical") }
            b.job.rwSequencer = s
            if parts.count > 1 {
                guard let n = Int(parts[1]), n > 0 else { throw c.bad("bad count") }
                b.job.ddirSeqNr = n
            }
        },
        JobOptionDef("rwmixread") { b, c in b.job.rwmixRead = try c.intValue(0...100) },
        JobOptionDef("rwmixwrite") { b, c in b.job.rwmixRead = 100 - (try c.intValue(0...100)) },
        JobOptionDef("bs", aliases: ["blocksize"]) { b, c in
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(4096), { c.size($0) }) else { throw c.bad("not a block size") }
            for d in DataDirection.allCases {
                guard v[d] > 0 else { throw c.bad("block size must be > 0") }
                b.job.blockSize[d] = BlockSizeSpec(fixed: v[d])
            }
        },
        JobOptionDef("bsrange", aliases: ["blocksize_range"]) { b, c in
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(4096)...UInt64(4096), { FioValue.range($0, c.size) }) else {
                throw c.bad("expected a range like 4k-64k")
            }
            for d in DataDirection.allCases {
                guard v[d].lowerBound > 0 else { throw c.bad("block size must be > 0") }
                b.job.blockSize[d] = BlockSizeSpec(min: v[d].lowerBound, max: v[d].upperBound)
            }
        },
        JobOptionDef("bssplit") { b, c in
            let v = try c.value()
            let parts = v.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 3 else { throw c.bad("at most three comma-separated splits (read,write,trim)") }
            var specs: [BlockSizeSpec?] = []
            for p in parts {
                if p.trimmed.isEmpty { specs.append(nil); continue }
                specs.append(try parseBSSplit(p, c: c, size: c.size))
            }
            let r = specs[0], w = specs.count > 1 ? specs[1] : specs[0]
            let t = specs.count > 2 ? specs[2] : w
            if let r { b.job.blockSize.read = r }
            if let w { b.job.blockSize.write = w }
            if let t { b.job.blockSize.trim = t }
        },
        JobOptionDef("ba", aliases: ["blockalign"]) { b, c in
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(0), { c.size($0) }) else { throw c.bad("not a size") }
            b.job.blockAlign = PerDirection(read: v.read == 0 ? nil : v.read, write: v.write == 0 ? nil : v.write,
                                            trim: v.trim == 0 ? nil : v.trim)
        },
        JobOptionDef("bs_unaligned", aliases: ["blocksize_unaligned"]) { b, c in b.job.bsUnaligned = try c.boolValue() },
        JobOptionDef("random_distribution") { b, c in b.distribution = (try c.value(), c) },
        JobOptionDef("percentage_random") { b, c in b.job.percentageRandom = try c.percentages(default: 100) },
        JobOptionDef("percentage_sequential") { b, c in
            let v = try c.percentages(default: 0)
            b.job.percentageRandom = PerDirection(read: 100 - v.read, write: 100 - v.write, trim: 100 - v.trim)
        },
        JobOptionDef("norandommap") { b, c in b.job.randomMap = !(try c.boolValue()) },
        JobOptionDef("randrepeat", aliases: ["rand_repeatable"]) { b, c in b.job.randRepeat = try c.boolValue() },
        JobOptionDef("allrandrepeat") { b, c in b.job.allRandRepeat = try c.boolValue() },
        JobOptionDef("random_generator") { b, c in
            let v = try c.value().lowercased()
            guard let g = RandomGenerator(rawValue: v) else {
                if v == "lfsr" {
                    throw TraceError(.unsupported, "\(c.whereText): random_generator=lfsr: fio-gen draws with fio's tausworthe generators only (tausworthe, tausworthe64); fio's LFSR sequence is not modelled")
                }
                throw c.bad("expected tausworthe, tausworthe64 or lfsr")
            }
            b.job.randomGenerator = g
        },
        JobOptionDef("randseed") { b, c in b.job.randSeed = try c.sizeValue() },
    ]

    // MARK: Region and files

    static let region: [JobOptionDef] = [
        JobOptionDef("size") { b, c in b.job.size = try c.sizeOrPercent() },
        JobOptionDef("filesize") { b, c in
            guard let r = FioValue.range(try c.value(), c.size) else { throw c.bad("not a size or range") }
            b.job.fileSize = r
        },
        JobOptionDef("offset", aliases: ["fileoffset"]) { b, c in b.job.offset = try c.sizeOrPercent() },
        JobOptionDef("offset_increment") { b, c in b.job.offsetIncrement = try c.sizeValue() },
        JobOptionDef("offset_align") { b, c in b.job.offsetAlign = try c.sizeValue() },
        JobOptionDef("io_size", aliases: ["io_limit"]) { b, c in b.job.ioSize = try c.sizeOrPercent() },
        JobOptionDef("number_ios") { b, c in b.job.numberIOs = try c.sizeValue() },
        JobOptionDef("nrfiles", aliases: ["nr_files"]) { b, c in b.job.nrFiles = try c.intValue(1...1_000_000) },
        JobOptionDef("filename") { b, c in b.job.filenames = splitColonList(try c.value()) },
        JobOptionDef("directory") { b, c in b.job.directories = splitColonList(try c.value()) },
        JobOptionDef("filename_format") { b, c in b.job.filenameFormat = try c.value() },
        JobOptionDef("file_service_type") { b, c in
            let v = try c.value().lowercased()
            let parts = v.split(separator: ":", maxSplits: 1)
            let head = String(parts.first ?? "")
            if ["zipf", "pareto", "normal", "gauss"].contains(head) {
                // fio's non-uniform file service: the distribution's syntax (kind:value:center).
                guard case .ranked(let dist, let center) = try parseDistribution(head == "gauss" ? "normal" + v.dropFirst(5) : v, c: c, kbBase: 1024) else {
                    throw c.bad("expected zipf, pareto or normal with its parameter")
                }
                b.job.fileService = head == "zipf" ? .zipf : (head == "pareto" ? .pareto : .normal)
                b.job.fileServiceDistribution = dist
                b.job.fileServiceCenter = center
                b.job.fileServiceNr = 1
                return
            }
            guard let fs = FileService(rawValue: head), fs == .roundRobin || fs == .sequential || fs == .random else {
                throw TraceError(.unsupported, "\(c.whereText): file_service_type=\(v): expected roundrobin, sequential, random, zipf, pareto or normal")
            }
            b.job.fileService = fs
            b.job.fileServiceNr = 1
            if parts.count > 1 {
                guard let n = Int(parts[1]), n > 0 else { throw c.bad("bad switch count") }
                b.job.fileServiceNr = n
            }
        },
    ]

    // MARK: Time and rates

    static let timing: [JobOptionDef] = [
        JobOptionDef("runtime", aliases: ["timeout"]) { b, c in
            b.job.runtime = try c.timeValue(FioValue.seconds)
            if b.job.runtime == 0 { b.job.runtime = nil }
        },
        JobOptionDef("time_based") { b, c in b.job.timeBased = try c.boolValue() },
        JobOptionDef("ramp_time") { b, c in b.job.rampTime = try c.timeValue(FioValue.seconds) },
        JobOptionDef("startdelay") { b, c in
            guard let r = FioValue.range(try c.value(), { FioValue.time($0, defaultUnit: FioValue.seconds) }) else {
                throw c.bad("not a time or time range")
            }
            b.job.startDelay = r
        },
        JobOptionDef("stonewall", aliases: ["wait_for_previous"]) { b, c in b.job.stonewall = try c.boolValue() },
        JobOptionDef("exitall") { b, c in b.job.exitAll = try c.boolValue() },
        JobOptionDef("loops") { b, c in b.job.loops = try c.intValue(1...Int(Int32.max)) },
        JobOptionDef("thinktime") { b, c in b.job.thinktime = try c.timeValue(FioValue.microseconds) },
        JobOptionDef("thinktime_blocks") { b, c in b.job.thinktimeBlocks = try c.intValue(1...Int(Int32.max)) },
        JobOptionDef("thinktime_blocks_type") { _, c in
            let v = try c.value().lowercased()
            guard v == "complete" || v == "issue" else { throw c.bad("expected complete or issue") }
        },
        JobOptionDef("rate") { b, c in
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(0), { c.size($0) }) else { throw c.bad("not a rate") }
            b.job.rate = v
        },
        JobOptionDef("rate_iops") { b, c in
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(0), { c.size($0) }) else { throw c.bad("not a rate") }
            b.job.rateIOPS = v
        },
        JobOptionDef("rate_process") { b, c in
            guard let p = RateProcess(rawValue: try c.value().lowercased()) else { throw c.bad("expected linear or poisson") }
            b.job.rateProcess = p
        },
    ]

    // MARK: Syncs, flags, depth

    static let syncAndFlags: [JobOptionDef] = [
        JobOptionDef("fsync") { b, c in b.job.fsync = try c.sizeValue() },
        JobOptionDef("fdatasync") { b, c in b.job.fdatasync = try c.sizeValue() },
        JobOptionDef("end_fsync") { b, c in b.job.endFsync = try c.boolValue() },
        JobOptionDef("fsync_on_close") { b, c in b.job.fsyncOnClose = try c.boolValue() },
        JobOptionDef("iodepth") { b, c in b.job.iodepth = try c.intValue(1...65536) },
        JobOptionDef("direct", aliases: ["odirect"]) { b, c in b.job.direct = try c.boolValue() },
        JobOptionDef("buffered") { b, c in b.job.direct = !(try c.boolValue()) },
        JobOptionDef("sync") { b, c in
            switch (c.option.value ?? "1").lowercased() {
            case "0", "none", "false": b.job.syncIO = false
            case "1", "sync", "dsync", "true": b.job.syncIO = true
            default: throw c.bad("expected 0, 1, sync or dsync")
            }
        },
    ]

    // MARK: Engine and reporting (for live runs)

    static let engine: [JobOptionDef] = [
        JobOptionDef("ioengine") { b, c in b.job.ioengine = try c.value() },
        JobOptionDef("iodepth_batch_submit", aliases: ["iodepth_batch"]) { b, c in b.job.iodepthBatchSubmit = try c.intValue(0...65536) },
        JobOptionDef("iodepth_batch_complete_max") { b, c in b.job.iodepthBatchCompleteMax = try c.intValue(0...65536) },
        JobOptionDef("new_group") { b, c in b.job.newGroup = try c.boolValue() },
        JobOptionDef("group_reporting") { b, c in b.job.groupReporting = try c.boolValue() },
    ]

    // MARK: Write buffer contents (fio's callbacks' side effects, in option order)

    static let buffers: [JobOptionDef] = [
        JobOptionDef("buffer_compress_percentage") { b, c in b.job.bufferCompressPercentage = try c.intValue(0...100) },
        JobOptionDef("buffer_compress_chunk") { b, c in b.job.bufferCompressChunk = try c.sizeValue() },
        JobOptionDef("dedupe_percentage") { b, c in
            b.job.dedupePercentage = try c.intValue(0...100)
            b.job.refillBuffers = true
        },
        JobOptionDef("refill_buffers") { b, c in b.job.refillBuffers = try c.boolValue() },
        JobOptionDef("scramble_buffers") { b, c in b.job.scrambleBuffers = try c.boolValue() },
        JobOptionDef("zero_buffers") { b, c in b.job.zeroBuffers = try c.boolValue() },
        JobOptionDef("buffer_pattern") { b, c in
            b.job.bufferPattern = try c.pattern(allowOffset: false).plainBytes
            // fio: a pattern refills only for jobs that read (reads would overwrite it) or
            // compress; it is neither scrambled nor zeroed.
            b.job.refillBuffers = (b.job.bufferCompressPercentage ?? 0) > 0 || b.job.rw.reads
            b.job.scrambleBuffers = false
            b.job.zeroBuffers = false
        },
    ]

    // MARK: Verify

    /// fio 3.33's verify= values (`fio --cmdhelp=verify`).
    static let verifyAlgorithms: Set<String> = [
        "md5", "crc64", "crc32", "crc32c-intel", "crc32c", "crc16", "crc7", "sha1", "sha256", "sha512",
        "sha3-224", "sha3-256", "sha3-384", "sha3-512", "xxhash", "meta", "pattern",
    ]

    static let verify: [JobOptionDef] = [
        JobOptionDef("verify") { b, c in
            let v = try c.value()
            b.verifyGiven = true
            switch v.lowercased() {
            case "0", "null":
                b.job.verify = nil
                b.verifyAt = nil
            case let a where verifyAlgorithms.contains(a):
                b.job.verify = v
                b.verifyAt = c
            default:
                throw c.bad("expected 0, null or a verify algorithm (\(verifyAlgorithms.sorted().joined(separator: ", ")))")
            }
        },
        JobOptionDef("verify_interval") { b, c in
            let v = try c.sizeValue()
            guard v >= 80 else { throw c.bad("fio's verify_interval is at least 80 bytes") }
            b.job.verifyInterval = v
        },
        JobOptionDef("verify_pattern") { b, c in
            b.job.verifyPattern = try c.pattern(allowOffset: true)
            if !b.verifyGiven {
                b.job.verify = "pattern"
                b.verifyAt = c
            }
        },
        JobOptionDef("do_verify") { b, c in b.job.doVerify = try c.boolValue() },
        JobOptionDef("verify_only") { b, c in
            b.job.verifyOnly = try c.boolValue()
            b.verifyOnlyAt = c
        },
        JobOptionDef("verify_fatal") { b, c in b.job.verifyFatal = try c.boolValue() },
        JobOptionDef("verify_backlog") { b, c in b.job.verifyBacklog = try c.sizeValue() },
        JobOptionDef("verify_state_save") { b, c in b.job.verifyStateSave = try c.boolValue() },
        JobOptionDef("verify_state_load") { b, c in b.job.verifyStateLoad = try c.boolValue() },
    ]

    /// fio options that change nothing in the records fio-gen writes (reporting, logging,
    /// CPU placement, engine tuning...): accepted and kept in the metadata.
    static let noEffect: Set<String> = [
        "description", "softrandommap", "thinktime_spin",
        "thread", "stats", "write_bw_log", "write_lat_log", "write_iops_log",
        "write_hist_log", "log_avg_msec", "log_hist_msec", "log_hist_coarseness", "log_max_value",
        "log_offset", "log_compression", "log_compression_cpus", "log_store_compressed",
        "log_unix_epoch", "log_alternate_epoch", "log_alternate_epoch_clock_id", "log_prio",
        "log_entries", "per_job_logs", "write_iolog",
        "iodepth_batch_complete", "iodepth_batch_complete_min",
        "iodepth_low", "io_submit_mode", "invalidate", "create_serialize", "create_fsync",
        "create_on_open", "allow_file_create", "allow_mounted_write", "pre_read", "unlink",
        "unlink_each_loop", "overwrite", "fallocate", "fadvise_hint",
        "dedupe_mode", "dedupe_working_set_percentage",
        "dedupe_global", "mem", "iomem", "iomem_align", "mem_align", "lockmem", "cpus_allowed",
        "cpus_allowed_policy", "cpumask", "numa_cpu_nodes", "numa_mem_policy", "nice", "prio",
        "prioclass", "ioscheduler", "gtod_reduce", "gtod_cpu", "disable_lat", "disable_clat",
        "disable_slat", "disable_bw_measurement", "disable_bw", "clat_percentiles", "lat_percentiles",
        "slat_percentiles", "percentile_list", "significant_figures", "clocksource",
        "exitall_on_error", "exit_what", "continue_on_error", "ignore_error", "error_dump",
        "unit_base", "uid", "gid", "cgroup", "cgroup_weight", "cgroup_nodelete", "max_latency",
        "rate_min", "rate_iops_min", "ratemin", "rate_cycle", "ratecycle", "hipri", "hipri_percentage",
        "fixedbufs", "registerfiles", "sqthread_poll", "sqthread_poll_cpu", "nonvectored",
        "uncached", "nowait", "force_async", "cmdprio", "cmdprio_percentage", "cmdprio_class",
        "cmdprio_bssplit", "userspace_reap", "serialize_overlap", "lockfile", "bwavgtime",
        "iopsavgtime", "disk_util", "unified_rw_reporting", "stat_type", "cpuload", "cpuchunks",
        "busy_poll", "write_hint", "readfua", "writefua", "block_error_percentiles",
        "latency_percentile", "exec_prerun", "exec_postrun", "unique_filename", "steadystate",
        "steadystate_duration", "steadystate_ramp_time", "ss", "ss_dur", "ss_ramp", "openfiles",
    ]
}
