#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// fio's value syntax: sizes with k/m/g/t/p suffixes (kb_base=1024: `k` is 1024 and `ki`
/// is 1000, fio's compatibility inversion), times with us/ms/s/m/h/d, ranges `a-b` or
/// `a:b`, per-direction lists `read,write,trim`, splits `bs/perc:bs/perc`.
public enum FioValue {
    /// Parses a size or count. `kbBase` 1024 (fio's default) or 1000.
    public static func size(_ text: String, kbBase: UInt64 = 1024) -> UInt64? {
        var s = Substring(text.trimmed)
        if s.isEmpty { return nil }
        if s.lowercased().hasPrefix("0x") {
            return UInt64(s.dropFirst(2), radix: 16)
        }
        var numEnd = s.startIndex
        while numEnd < s.endIndex, s[numEnd].isNumber || s[numEnd] == "." { numEnd = s.index(after: numEnd) }
        let num = s[s.startIndex..<numEnd]
        guard !num.isEmpty, let value = Double(num) else { return nil }
        s = s[numEnd...]
        var suffix = s.lowercased()
        if suffix.hasSuffix("b") { suffix.removeLast() }
        let other: UInt64 = kbBase == 1000 ? 1024 : 1000
        let mult: UInt64
        switch suffix {
        case "": mult = 1
        case "k": mult = kbBase
        case "ki": mult = other
        case "m": mult = kbBase * kbBase
        case "mi": mult = other * other
        case "g": mult = kbBase * kbBase * kbBase
        case "gi": mult = other * other * other
        case "t": mult = kbBase * kbBase * kbBase * kbBase
        case "ti": mult = other * other * other * other
        case "p": mult = kbBase * kbBase * kbBase * kbBase * kbBase
        case "pi": mult = other * other * other * other * other
        default: return nil
        }
        if num.contains(".") {
            let v = value * Double(mult)
            guard v >= 0, v < 1.8e19 else { return nil }
            return UInt64(v)
        }
        guard let iv = UInt64(num) else { return nil }
        let (r, o) = iv.multipliedReportingOverflow(by: mult)
        return o ? nil : r
    }

    /// Parses a time into nanoseconds; a bare number is in `defaultUnit` nanoseconds
    /// (1_000_000_000 for seconds, 1_000 for microseconds).
    public static func time(_ text: String, defaultUnit: UInt64) -> UInt64? {
        let s = text.trimmed.lowercased()
        if s.isEmpty { return nil }
        var numEnd = s.startIndex
        while numEnd < s.endIndex, s[numEnd].isNumber || s[numEnd] == "." { numEnd = s.index(after: numEnd) }
        guard let value = Double(s[s.startIndex..<numEnd]) else { return nil }
        let unit: Double
        switch s[numEnd...] {
        case "": unit = Double(defaultUnit)
        case "ns", "nsec": unit = 1
        case "us", "usec": unit = 1e3
        case "ms", "msec": unit = 1e6
        case "s", "sec": unit = 1e9
        case "m", "min": unit = 60e9
        case "h": unit = 3600e9
        case "d": unit = 86400e9
        default: return nil
        }
        let v = value * unit
        guard v >= 0, v < 1.8e19 else { return nil }
        return UInt64(v.rounded())
    }

    /// `a-b` or `a:b` (swapped when a > b); a single value is `a...a`.
    public static func range(_ text: String, _ one: (String) -> UInt64?) -> ClosedRange<UInt64>? {
        let t = text.trimmed
        for sep in [":", "-"] where t.contains(sep) {
            let parts = t.split(separator: Character(sep), maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let a = one(String(parts[0])), let b = one(String(parts[1])) else { return nil }
            return min(a, b)...max(a, b)
        }
        guard let a = one(t) else { return nil }
        return a...a
    }

    /// fio's `int[,int][,int]`: one value for all directions; `a,b` gives writes and trims
    /// b; an empty field keeps the default.
    public static func perDirection<T>(_ text: String, default def: T,
                                       _ one: (String) -> T?) -> PerDirection<T>? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmed }
        func val(_ s: String) -> T?? { s.isEmpty ? .some(def) : one(s).map { .some($0) } ?? .none }
        switch parts.count {
        case 1:
            guard let v = val(parts[0]), let v else { return nil }
            return PerDirection(v)
        case 2:
            guard let r = val(parts[0]), let r, let w = val(parts[1]), let w else { return nil }
            return PerDirection(read: r, write: w, trim: w)
        case 3:
            guard let r = val(parts[0]), let r, let w = val(parts[1]), let w,
                  let t = val(parts[2]), let t else { return nil }
            return PerDirection(read: r, write: w, trim: t)
        default:
            return nil
        }
    }

    public static func bool(_ text: String?) -> Bool? {
        guard let t = text?.trimmed.lowercased() else { return true }
        switch t {
        case "1", "true", "yes", "on", "": return true
        case "0", "false", "no", "off": return false
        default:
            if let v = Int(t) { return v != 0 }
            return nil
        }
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s.removeLast() }
        return String(s)
    }
}

/// How fio-gen treats each fio option name.
enum OptionClass {
    /// Changes what fio-gen generates.
    case supported
    /// A fio option that changes nothing fio-gen generates (engine, reporting, buffer
    /// contents, CPU placement...): accepted and kept in the metadata.
    case noEffect
}

enum FioOptionNames {
    /// Canonical names of the options fio-gen models, with fio's aliases.
    static let aliases: [String: String] = [
        "readwrite": "rw", "blocksize": "bs", "blocksize_range": "bsrange", "blockalign": "ba",
        "blocksize_unaligned": "bs_unaligned", "io_limit": "io_size", "nr_files": "nrfiles",
        "timeout": "runtime", "wait_for_previous": "stonewall", "rand_repeatable": "randrepeat",
        "allrandrepeat": "randrepeat", "percentage_sequential": "percentage_sequential",
        "odirect": "direct", "fileoffset": "offset",
    ]

    static let supported: Set<String> = [
        "name", "numjobs", "rw", "rwmixread", "rwmixwrite", "rw_sequencer", "bs", "bsrange", "bssplit",
        "ba", "bs_unaligned", "size", "filesize", "offset", "offset_increment", "offset_align",
        "io_size", "number_ios", "nrfiles", "filename", "directory", "filename_format",
        "file_service_type", "runtime", "time_based", "ramp_time", "iodepth", "random_distribution",
        "percentage_random", "percentage_sequential", "norandommap", "randrepeat", "randseed",
        "fsync", "fdatasync", "end_fsync", "fsync_on_close", "rate", "rate_iops", "rate_process",
        "thinktime", "thinktime_blocks", "thinktime_spin", "thinktime_blocks_type", "startdelay",
        "stonewall", "loops", "direct", "buffered", "sync", "kb_base", "verify", "do_verify",
        "softrandommap", "random_generator", "new_group", "description", "ioengine", "exitall",
    ]

    /// fio options that change nothing in the trace fio-gen writes.
    static let noEffect: Set<String> = [
        "thread", "group_reporting", "stats", "write_bw_log", "write_lat_log", "write_iops_log",
        "write_hist_log", "log_avg_msec", "log_hist_msec", "log_hist_coarseness", "log_max_value",
        "log_offset", "log_compression", "log_compression_cpus", "log_store_compressed",
        "log_unix_epoch", "log_alternate_epoch", "log_alternate_epoch_clock_id", "log_prio",
        "log_entries", "per_job_logs", "write_iolog", "iodepth_batch", "iodepth_batch_submit",
        "iodepth_batch_complete", "iodepth_batch_complete_min", "iodepth_batch_complete_max",
        "iodepth_low", "io_submit_mode", "invalidate", "create_serialize", "create_fsync",
        "create_on_open", "allow_file_create", "allow_mounted_write", "pre_read", "unlink",
        "unlink_each_loop", "overwrite", "fallocate", "fadvise_hint", "refill_buffers",
        "scramble_buffers", "zero_buffers", "buffer_pattern", "buffer_compress_percentage",
        "buffer_compress_chunk", "dedupe_percentage", "dedupe_mode", "dedupe_working_set_percentage",
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

/// Parses a fio job file: `[global]` sections (applying to the jobs after them), job
/// sections, `numjobs` clones, fio's option names (with `-` accepted for `_`) and units.
/// An option fio-gen does not model is an error naming the option and its line.
/// `extraOptions` (from the command line) are appended to every job: they override the file.
public func parseJobFile(path: String, extraOptions: [JobOption] = []) throws -> [JobSpec] {
    let text = try readTextFile(path)
    return try parseJobText(text, fileName: path, extraOptions: extraOptions)
}

/// The same from text (`fileName` names it in errors).
public func parseJobText(_ text: String, fileName: String = "<job>", extraOptions: [JobOption] = []) throws -> [JobSpec] {
    var sections: [(name: String, line: Int, options: [JobOption])] = []
    var global: [JobOption] = []
    var current: (name: String, line: Int, options: [JobOption])?
    var inGlobal = false
    var lineNo = 0
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
        lineNo += 1
        let line = String(raw).trimmed
        if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
        if line.hasPrefix("[") {
            guard line.hasSuffix("]"), line.count > 2 else {
                throw TraceError(.malformedLine, "\(fileName):\(lineNo): malformed section header \"\(line)\"")
            }
            if let c = current { sections.append(c) }
            current = nil
            let name = String(line.dropFirst().dropLast()).trimmed
            if name == "global" {
                inGlobal = true
            } else {
                inGlobal = false
                current = (name, lineNo, global)
            }
            continue
        }
        if line.hasPrefix("include ") || line == "include" {
            throw TraceError(.unsupported, "\(fileName):\(lineNo): `include` is not supported by fio-gen; inline the included job file")
        }
        let opt = try splitOption(line, fileName: fileName, line: lineNo)
        if inGlobal {
            global.append(opt)
        } else if current != nil {
            current!.options.append(opt)
        } else {
            throw TraceError(.malformedLine, "\(fileName):\(lineNo): option \"\(opt.name)\" outside any section (add [global] or [jobname] above it)")
        }
    }
    if let c = current { sections.append(c) }
    if sections.isEmpty {
        throw TraceError(.malformedLine, "\(fileName): no job sections (only [global]?): nothing to generate")
    }
    var jobs: [JobSpec] = []
    for s in sections {
        let clones = try buildJobs(name: s.name, options: s.options + extraOptions, fileName: fileName, sectionLine: s.line)
        for var j in clones {
            j.index = jobs.count
            jobs.append(j)
        }
    }
    return jobs
}

/// Jobs from fio-style command-line options (`--name=a --rw=randread ...`): options before
/// the first `--name` are global, each `--name` starts a job, as on fio's command line.
/// Without any `--name` there is one job called `job`.
public func parseJobOptions(_ options: [JobOption]) throws -> [JobSpec] {
    var global: [JobOption] = []
    var sections: [(String, [JobOption])] = []
    for o in options {
        let name = normalizedOptionName(o.name)
        if name == "name" {
            sections.append((o.value ?? "job", global + [o]))
        } else if sections.isEmpty {
            global.append(o)
        } else {
            sections[sections.count - 1].1.append(o)
        }
    }
    if sections.isEmpty { sections = [("job", global)] }
    var jobs: [JobSpec] = []
    for (name, opts) in sections {
        for var j in try buildJobs(name: name, options: opts, fileName: "command line", sectionLine: 0) {
            j.index = jobs.count
            jobs.append(j)
        }
    }
    return jobs
}

/// Renders jobs' options back as a job file (what the metadata keeps for flag-made jobs).
public func jobFileText(options: [JobOption]) -> String {
    var out = ""
    var started = false
    for o in options {
        if normalizedOptionName(o.name) == "name" {
            out += "\n[\(o.value ?? "job")]\n"
            started = true
            continue
        }
        if !started && out.isEmpty { out += "[global]\n" }
        out += o.description + "\n"
    }
    if !started { out += "\n[job]\n" }
    return out
}

func normalizedOptionName(_ raw: String) -> String {
    let n = raw.trimmed.lowercased().replacingDashes
    return FioOptionNames.aliases[n] ?? n
}

extension String {
    var replacingDashes: String { String(map { $0 == "-" ? "_" : $0 }) }
}

private func splitOption(_ line: String, fileName: String, line lineNo: Int) throws -> JobOption {
    if let eq = line.firstIndex(of: "=") {
        let name = String(line[..<eq]).trimmed
        let value = try expandEnv(String(line[line.index(after: eq)...]).trimmed, fileName: fileName, line: lineNo)
        if name.isEmpty {
            throw TraceError(.malformedLine, "\(fileName):\(lineNo): missing option name before '='")
        }
        return JobOption(name: name, value: value, line: lineNo)
    }
    return JobOption(name: line, value: nil, line: lineNo)
}

/// fio expands `${VAR}` from the environment.
private func expandEnv(_ v: String, fileName: String, line: Int) throws -> String {
    guard v.contains("${") else { return v }
    var out = ""
    var rest = Substring(v)
    while let r = rest.firstRange(of: "${") {
        out += rest[..<r.lowerBound]
        guard let close = rest[r.upperBound...].firstIndex(of: "}") else {
            throw TraceError(.malformedLine, "\(fileName):\(line): unterminated ${ in \"\(v)\"")
        }
        let name = String(rest[r.upperBound..<close])
        guard let val = getenv(name) else {
            throw TraceError(.malformedLine, "\(fileName):\(line): environment variable \(name) is not set (used in \"\(v)\")")
        }
        out += String(cString: val)
        rest = rest[rest.index(after: close)...]
    }
    return out + rest
}

func readTextFile(_ path: String) throws -> String {
    guard let f = fopen(path, "rb") else {
        throw TraceError(.cannotOpen, "\(path): cannot open: \(String(cString: strerror(errno)))")
    }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count {
            if ferror(f) != 0 { throw TraceError(.io, "\(path): read error: \(String(cString: strerror(errno)))") }
            break
        }
        if bytes.count > 16 << 20 { throw TraceError(.unsupported, "\(path): job file larger than 16 MiB") }
    }
    return String(decoding: bytes, as: UTF8.self)
}

// MARK: - Building a JobSpec from options

private struct OptionContext {
    let fileName: String
    let option: JobOption
    var whereText: String {
        option.line > 0 ? "\(fileName):\(option.line)" : fileName
    }
    func bad(_ why: String) -> TraceError {
        TraceError(.malformedLine, "\(whereText): option \(option.name): \(why) (value \"\(option.value ?? "")\")")
    }
    func value() throws -> String {
        guard let v = option.value, !v.isEmpty else {
            throw TraceError(.malformedLine, "\(whereText): option \(option.name) needs a value")
        }
        return v
    }
}

private func buildJobs(name: String, options: [JobOption], fileName: String, sectionLine: Int) throws -> [JobSpec] {
    var job = JobSpec(name: name)
    job.origin = sectionLine > 0 ? "\(fileName):\(sectionLine)" : fileName
    job.options = options
    var numjobs = 1
    var kbBase: UInt64 = 1024
    // kb_base changes how every size parses: take it first.
    for o in options where normalizedOptionName(o.name) == "kb_base" {
        let c = OptionContext(fileName: fileName, option: o)
        guard let v = UInt64(try c.value()), v == 1000 || v == 1024 else { throw c.bad("must be 1000 or 1024") }
        kbBase = v
    }
    var rwPostfix: (String, OptionContext)?
    var verify = false
    var doVerify = true
    var distributionText: (String, OptionContext)?
    for o in options {
        let c = OptionContext(fileName: fileName, option: o)
        let key = normalizedOptionName(o.name)
        func size(_ s: String) -> UInt64? { FioValue.size(s, kbBase: kbBase) }
        func sizeValue() throws -> UInt64 {
            guard let v = size(try c.value()) else { throw c.bad("not a size") }
            return v
        }
        func intValue(_ range: ClosedRange<Int> = 0...Int.max) throws -> Int {
            guard let v = size(try c.value()), v <= UInt64(Int.max), range.contains(Int(v)) else {
                throw c.bad("expected an integer in \(range.lowerBound)...\(range.upperBound == Int.max ? "" : String(range.upperBound))")
            }
            return Int(v)
        }
        func boolValue() throws -> Bool {
            guard let b = FioValue.bool(o.value) else { throw c.bad("expected 0 or 1") }
            return b
        }
        func timeValue(_ unit: UInt64) throws -> UInt64 {
            guard let t = FioValue.time(try c.value(), defaultUnit: unit) else { throw c.bad("not a time") }
            return t
        }
        func sizeOrPercent() throws -> SizeOrPercent {
            let v = try c.value()
            if v.hasSuffix("%") {
                guard let p = Double(String(v.dropLast()).trimmed), p >= 0, p <= 100 else { throw c.bad("bad percentage") }
                return .percent(p)
            }
            return .bytes(try sizeValue())
        }

        if FioOptionNames.noEffect.contains(key) { continue }
        guard FioOptionNames.supported.contains(key) else {
            if knownFioOptions.contains(key) {
                throw TraceError(.unsupported, "\(c.whereText): fio option \(o.name) is not supported by fio-gen (it changes the I/O pattern in a way fio-gen does not model)")
            }
            throw TraceError(.unsupported, "\(c.whereText): unknown option \(o.name) (not a fio 3.33 option)")
        }
        switch key {
        case "name", "description", "new_group", "ioengine", "softrandommap", "random_generator",
             "thinktime_spin", "kb_base":
            break
        case "thinktime_blocks_type":
            let v = try c.value().lowercased()
            guard v == "complete" || v == "issue" else { throw c.bad("expected complete or issue") }
        case "numjobs":
            numjobs = try intValue(1...65536)
        case "rw":
            let v = try c.value()
            let parts = v.split(separator: ":", maxSplits: 1)
            let base = String(parts[0]).trimmed.lowercased()
            switch base {
            case "readwrite": job.rw = .rw
            default:
                guard let rw = ReadWrite(rawValue: base) else {
                    throw c.bad("expected read, write, trim, randread, randwrite, randtrim, rw, readwrite, randrw, trimwrite or randtrimwrite")
                }
                job.rw = rw
            }
            job.ddirSeqNr = 1
            job.ddirSeqAdd = 0
            rwPostfix = parts.count > 1 ? (String(parts[1]), c) : nil
        case "rw_sequencer":
            let v = try c.value().lowercased()
            let parts = v.split(separator: ":", maxSplits: 1)
            guard let s = RWSequencer(rawValue: String(parts[0])) else { throw c.bad("expected sequential or identical") }
            job.rwSequencer = s
            if parts.count > 1 {
                guard let n = Int(parts[1]), n > 0 else { throw c.bad("bad count") }
                job.ddirSeqNr = n
            }
        case "rwmixread":
            job.rwmixRead = try intValue(0...100)
        case "rwmixwrite":
            job.rwmixRead = 100 - (try intValue(0...100))
        case "bs":
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(4096), { size($0) }) else { throw c.bad("not a block size") }
            for d in DataDirection.allCases {
                guard v[d] > 0 else { throw c.bad("block size must be > 0") }
                job.blockSize[d] = BlockSizeSpec(fixed: v[d])
            }
        case "bsrange":
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(4096)...UInt64(4096), { FioValue.range($0, size) }) else {
                throw c.bad("expected a range like 4k-64k")
            }
            for d in DataDirection.allCases {
                guard v[d].lowerBound > 0 else { throw c.bad("block size must be > 0") }
                job.blockSize[d] = BlockSizeSpec(min: v[d].lowerBound, max: v[d].upperBound)
            }
        case "bssplit":
            let v = try c.value()
            let parts = v.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 3 else { throw c.bad("at most three comma-separated splits (read,write,trim)") }
            var specs: [BlockSizeSpec?] = []
            for p in parts {
                if p.trimmed.isEmpty { specs.append(nil); continue }
                specs.append(try parseBSSplit(p, c: c, size: size))
            }
            let r = specs[0], w = specs.count > 1 ? specs[1] : specs[0]
            let t = specs.count > 2 ? specs[2] : w
            if let r { job.blockSize.read = r }
            if let w { job.blockSize.write = w }
            if let t { job.blockSize.trim = t }
        case "ba":
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(0), { size($0) }) else { throw c.bad("not a size") }
            job.blockAlign = PerDirection(read: v.read == 0 ? nil : v.read, write: v.write == 0 ? nil : v.write,
                                          trim: v.trim == 0 ? nil : v.trim)
        case "bs_unaligned":
            job.bsUnaligned = try boolValue()
        case "size":
            job.size = try sizeOrPercent()
        case "filesize":
            guard let r = FioValue.range(try c.value(), size) else { throw c.bad("not a size or range") }
            job.fileSize = r
        case "offset":
            job.offset = try sizeOrPercent()
        case "offset_increment":
            job.offsetIncrement = try sizeValue()
        case "offset_align":
            job.offsetAlign = try sizeValue()
        case "io_size":
            job.ioSize = try sizeOrPercent()
        case "number_ios":
            job.numberIOs = try sizeValue()
        case "nrfiles":
            job.nrFiles = try intValue(1...1_000_000)
        case "filename":
            job.filenames = splitColonList(try c.value())
        case "directory":
            job.directories = splitColonList(try c.value())
        case "filename_format":
            job.filenameFormat = try c.value()
        case "file_service_type":
            let v = try c.value().lowercased()
            let parts = v.split(separator: ":", maxSplits: 1)
            guard let fs = FileService(rawValue: String(parts[0])) else {
                throw TraceError(.unsupported, "\(c.whereText): file_service_type=\(v): fio-gen supports roundrobin, sequential and random")
            }
            job.fileService = fs
            job.fileServiceNr = 1
            if parts.count > 1 {
                guard let n = Int(parts[1]), n > 0 else { throw c.bad("bad switch count") }
                job.fileServiceNr = n
            }
        case "runtime":
            job.runtime = try timeValue(1_000_000_000)
            if job.runtime == 0 { job.runtime = nil }
        case "time_based":
            job.timeBased = try boolValue()
        case "ramp_time":
            job.rampTime = try timeValue(1_000_000_000)
        case "iodepth":
            job.iodepth = try intValue(1...65536)
        case "random_distribution":
            distributionText = (try c.value(), c)
        case "percentage_random":
            guard let v = FioValue.perDirection(try c.value(), default: 100, { s -> Int? in
                guard let x = Int(s.trimmed), (0...100).contains(x) else { return nil }
                return x
            }) else { throw c.bad("expected percentages 0-100") }
            job.percentageRandom = v
        case "percentage_sequential":
            guard let v = FioValue.perDirection(try c.value(), default: 0, { s -> Int? in
                guard let x = Int(s.trimmed), (0...100).contains(x) else { return nil }
                return x
            }) else { throw c.bad("expected percentages 0-100") }
            job.percentageRandom = PerDirection(read: 100 - v.read, write: 100 - v.write, trim: 100 - v.trim)
        case "norandommap":
            job.randomMap = !(try boolValue())
        case "randrepeat":
            job.randRepeat = try boolValue()
        case "randseed":
            job.randSeed = try sizeValue()
        case "fsync":
            job.fsync = try sizeValue()
        case "fdatasync":
            job.fdatasync = try sizeValue()
        case "end_fsync":
            job.endFsync = try boolValue()
        case "fsync_on_close":
            job.fsyncOnClose = try boolValue()
        case "rate":
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(0), { size($0) }) else { throw c.bad("not a rate") }
            job.rate = v
        case "rate_iops":
            guard let v = FioValue.perDirection(try c.value(), default: UInt64(0), { size($0) }) else { throw c.bad("not a rate") }
            job.rateIOPS = v
        case "rate_process":
            guard let p = RateProcess(rawValue: try c.value().lowercased()) else { throw c.bad("expected linear or poisson") }
            job.rateProcess = p
        case "thinktime":
            job.thinktime = try timeValue(1_000)
        case "thinktime_blocks":
            job.thinktimeBlocks = try intValue(1...Int(Int32.max))
        case "startdelay":
            guard let r = FioValue.range(try c.value(), { FioValue.time($0, defaultUnit: 1_000_000_000) }) else {
                throw c.bad("not a time or time range")
            }
            job.startDelay = r
        case "stonewall":
            job.stonewall = try boolValue()
        case "exitall":
            job.exitAll = try boolValue()
        case "loops":
            job.loops = try intValue(1...Int(Int32.max))
        case "direct":
            job.direct = try boolValue()
        case "buffered":
            job.direct = !(try boolValue())
        case "sync":
            let v = (o.value ?? "1").lowercased()
            switch v {
            case "0", "none", "false": job.syncIO = false
            case "1", "sync", "dsync", "true": job.syncIO = true
            default: throw c.bad("expected 0, 1, sync or dsync")
            }
        case "verify":
            let v = (o.value ?? "").lowercased()
            verify = !(v == "0" || v == "none" || v == "null")
        case "do_verify":
            doVerify = try boolValue()
        default:
            throw TraceError(.unsupported, "\(c.whereText): option \(o.name) is not supported by fio-gen")
        }
    }
    if verify && doVerify && job.rw.writes {
        let o = options.last { normalizedOptionName($0.name) == "verify" }!
        throw TraceError(.unsupported, "\(o.line > 0 ? "\(fileName):\(o.line)" : fileName): verify=\(o.value ?? "") adds fio's read-back verify pass, which fio-gen does not generate (set do_verify=0, or verify with fio-replay)")
    }
    if let (p, c) = rwPostfix {
        if job.rw.isRandom {
            guard let n = Int(p.trimmed), n > 0 else { throw c.bad("the :N of a random rw must be a positive count") }
            job.ddirSeqNr = n
        } else {
            let t = p.trimmed
            if t.hasPrefix("-") {
                throw TraceError(.unsupported, "\(c.whereText): backwards sequential I/O (rw=\(c.option.value ?? ""), a negative :N) is not supported by fio-gen")
            }
            guard let n = FioValue.size(t, kbBase: kbBase) else { throw c.bad("the :N of a sequential rw must be a size") }
            job.ddirSeqAdd = Int64(n)
        }
    }
    if let (text, c) = distributionText {
        job.randomDistribution = try parseDistribution(text, c: c, kbBase: kbBase)
    }
    if !job.randomDistribution.isUniform { job.randomMap = false }
    if job.size == nil && job.fileSize == nil {
        let w = sectionLine > 0 ? "\(fileName):\(sectionLine)" : fileName
        throw TraceError(.malformedLine, "\(w): job \(name): you need to specify size= (or filesize=)")
    }
    if case .percent = job.size, job.fileSize == nil {
        let w = sectionLine > 0 ? "\(fileName):\(sectionLine)" : fileName
        throw TraceError(.unsupported, "\(w): job \(name): size as a percentage needs filesize= (fio-gen does not look at existing files)")
    }
    if case .percent = job.offset, job.fileSize == nil, job.size == nil {
        let w = sectionLine > 0 ? "\(fileName):\(sectionLine)" : fileName
        throw TraceError(.unsupported, "\(w): job \(name): offset as a percentage needs filesize= or size=")
    }
    if !job.filenames.isEmpty && job.nrFiles < job.filenames.count { job.nrFiles = job.filenames.count }
    if !job.filenames.isEmpty { job.nrFiles = job.filenames.count }
    var out: [JobSpec] = []
    for n in 0..<numjobs {
        var j = job
        j.jobNumber = n
        out.append(j)
    }
    return out
}

private func splitColonList(_ v: String) -> [String] {
    // fio splits on ':' and accepts '\:' for a literal colon.
    var out: [String] = []
    var cur = ""
    var it = v.makeIterator()
    while let ch = it.next() {
        if ch == "\\" {
            if let n = it.next() {
                if n == ":" { cur.append(":") } else { cur.append("\\"); cur.append(n) }
            } else { cur.append("\\") }
        } else if ch == ":" {
            if !cur.isEmpty { out.append(cur) }
            cur = ""
        } else {
            cur.append(ch)
        }
    }
    if !cur.isEmpty { out.append(cur) }
    return out
}

private func parseBSSplit(_ text: String, c: OptionContext, size: (String) -> UInt64?) throws -> BlockSizeSpec {
    var entries: [(UInt64, Int?)] = []
    for item in text.split(separator: ":") {
        let p = item.split(separator: "/", maxSplits: 1).map { String($0).trimmed }
        guard let bs = size(p[0]), bs > 0 else { throw c.bad("bad block size \"\(p[0])\" in bssplit") }
        var perc: Int?
        if p.count > 1 && !p[1].isEmpty {
            guard let x = Int(p[1]), (0...100).contains(x) else { throw c.bad("bad percentage \"\(p[1])\" in bssplit") }
            perc = x
        }
        entries.append((bs, perc))
    }
    guard !entries.isEmpty else { throw c.bad("empty bssplit") }
    let given = entries.compactMap(\.1).reduce(0, +)
    let missing = entries.filter { $0.1 == nil }.count
    if given > 100 { throw c.bad("bssplit percentages add to more than 100%") }
    let fill = missing > 0 ? (100 - given) / missing : 0
    var split = entries.map { BlockSplit(bs: $0.0, percent: $0.1 ?? fill) }
    if entries.count == 1 { split[0].percent = 100 }
    // fio sorts the entries by percentage (ascending) for its lookup.
    split = split.enumerated().sorted { a, b in
        a.element.percent != b.element.percent ? a.element.percent < b.element.percent : a.offset < b.offset
    }.map(\.element)
    return BlockSizeSpec(split: split)
}

private func parseDistribution(_ text: String, c: OptionContext, kbBase: UInt64) throws -> RandomDistributionSpec {
    let t = text.trimmed.lowercased()
    if t == "random" { return .random }
    if t.hasPrefix("zoned_abs") || t.hasPrefix("zoned") {
        let absolute = t.hasPrefix("zoned_abs")
        let rest = t.dropFirst(absolute ? 9 : 5)
        guard let first = rest.first, first == ":" || first == "=" else {
            throw c.bad("expected zoned:access/size:... or zoned_abs:access/size:...")
        }
        let body = String(rest.dropFirst())
        let parts = body.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 3 else { throw c.bad("at most three comma-separated zone lists (read,write,trim)") }
        var lists: [ZoneSplit?] = []
        for p in parts {
            if p.trimmed.isEmpty { lists.append(nil); continue }
            var zones: [(Int?, UInt64?)] = []
            for item in p.split(separator: ":") {
                let f = item.split(separator: "/", maxSplits: 1).map { String($0).trimmed }
                guard f.count == 2 else { throw c.bad("zone \"\(item)\" must be access/size") }
                let acc: Int? = f[0].isEmpty ? nil : Int(f[0])
                if !f[0].isEmpty && acc == nil { throw c.bad("bad access percentage \"\(f[0])\"") }
                var sz: UInt64?
                if !f[1].isEmpty {
                    if absolute {
                        guard let v = FioValue.size(f[1], kbBase: kbBase) else { throw c.bad("bad zone size \"\(f[1])\"") }
                        sz = v
                    } else {
                        guard let v = UInt64(f[1]), v <= 100 else { throw c.bad("bad zone size percentage \"\(f[1])\"") }
                        sz = v
                    }
                }
                zones.append((acc, sz))
            }
            let acc = zones.compactMap(\.0).reduce(0, +)
            let accMissing = zones.filter { $0.0 == nil }.count
            let sperc = absolute ? 0 : zones.compactMap(\.1).reduce(0, +)
            let sMissing = zones.filter { $0.1 == nil }.count
            if acc > 100 || sperc > 100 { throw c.bad("zone percentages add to more than 100%") }
            if acc < 100 && accMissing == 0 { throw c.bad("access percentages don't add up to 100 (got \(acc))") }
            if absolute && sMissing > 0 { throw c.bad("every zoned_abs zone needs a size") }
            let fillAcc = accMissing > 0 ? (100 - UInt64(acc)) / UInt64(accMissing) : 0
            let fillSize = sMissing > 0 ? (100 - sperc) / UInt64(sMissing) : 0
            lists.append(ZoneSplit(zones.map { ZoneSplit.Zone(access: $0.0 ?? Int(fillAcc), size: $0.1 ?? fillSize) }))
        }
        let r = lists[0] ?? ZoneSplit([])
        let w = lists.count > 1 ? (lists[1] ?? ZoneSplit([])) : r
        let tr = lists.count > 2 ? (lists[2] ?? ZoneSplit([])) : w
        return .zoned(PerDirection(read: r, write: w, trim: tr), absolute: absolute)
    }
    let parts = t.split(separator: ":").map(String.init)
    let kind = parts[0]
    var val: Double?
    var center: Double?
    if parts.count > 1 {
        guard let v = Double(parts[1]) else { throw c.bad("bad distribution parameter \"\(parts[1])\"") }
        val = v
    }
    if parts.count > 2 {
        guard let v = Double(parts[2]), v >= 0, v <= 1 else { throw c.bad("distribution center must be in 0...1") }
        center = v
    }
    if parts.count > 3 { throw c.bad("too many fields") }
    switch kind {
    case "zipf":
        let theta = val ?? 1.1
        if theta == 1.0 || theta <= 0 { throw c.bad("zipf theta must be > 0 and different from 1.0") }
        return .ranked(.zipf(theta: theta), center: center)
    case "pareto":
        let h = val ?? 0.2
        if h <= 0 || h >= 1 { throw c.bad("pareto input out of range (0 < input < 1.0)") }
        return .ranked(.pareto(h: h), center: center)
    case "normal", "gauss":
        let d = val ?? 0
        if d < 0 || d >= 100 { throw c.bad("normal deviation out of range (0 <= input < 100.0)") }
        return .ranked(.normal(dev: d), center: center)
    default:
        throw c.bad("expected random, zipf, pareto, normal, zoned or zoned_abs")
    }
}
