import FioTrace

/// The kinds of fio's per-job log files, in the order fio sets them up, with the type fio
/// puts in the file name (`PREFIX_TYPE.N.log`).
public enum FioLogKind: Int, CaseIterable, Sendable {
    case lat = 0, slat, clat, hist, bw, iops
    /// The type part of fio's file name.
    public var fileType: String { ["lat", "slat", "clat", "clat_hist", "bw", "iops"][rawValue] }
}

/// What fio's logging options ask of one job: which logs (`write_bw_log`, `write_lat_log`
/// (lat, slat and clat), `write_iops_log`, `write_hist_log`) under which prefix, and how
/// entries are formed (`log_avg_msec`, `log_max_value`, `log_offset`, `log_hist_msec`,
/// `log_hist_coarseness`, `per_job_logs`, `log_prio`, `log_unix_epoch`, `bwavgtime`,
/// `iopsavgtime`). Times in milliseconds, as fio's options take them.
public struct FioLogSettings: Sendable, Equatable {
    /// File-name prefix per kind; nil: that log is not written.
    public var prefix: [FioLogKind: String] = [:]
    /// fio's log_avg_msec: 0 logs every I/O; N logs one averaged (or maximum) entry per
    /// direction per N ms.
    public var avgMsec: UInt64 = 0
    /// fio's bwavgtime / iopsavgtime when the job sets them (the bandwidth and IOPS logs are
    /// then sampled at that interval when averaging).
    public var bwAvgMsec: UInt64?
    public var iopsAvgMsec: UInt64?
    /// fio's log_max_value: averaged entries carry the window's maximum instead of its mean.
    public var maxValue = false
    /// fio's log_offset: entries carry the I/O's offset (a fifth column).
    public var offset = false
    /// fio's log_prio: the last column is the I/O's priority in hex (0x0000 here: the
    /// engines set no I/O priority).
    public var prio = false
    /// fio's log_hist_msec: one latency histogram per direction per N ms (0: the hist log
    /// stays empty, as in fio).
    public var histMsec: UInt64 = 0
    /// fio's log_hist_coarseness (0...6): each step halves the histogram's columns.
    public var histCoarseness = 0
    /// fio's per_job_logs: file names carry the job number; when off, jobs of one name share
    /// a file, which fio appends to (also across runs).
    public var perJobLogs = true
    /// fio's log_unix_epoch: times are Unix milliseconds instead of milliseconds since the
    /// job's start.
    public var unixEpoch = false

    public init() {}

    /// True when the job writes any log.
    public var isEmpty: Bool { prefix.isEmpty }

    /// fio's file name for log `kind` of job number `jobNumber` (1-based over the run, fio's
    /// thread_number), relative to the working directory as fio writes them.
    public func fileName(_ kind: FioLogKind, jobNumber: Int) -> String? {
        guard let p = prefix[kind] else { return nil }
        return perJobLogs ? "\(p)_\(kind.fileType).\(jobNumber).log" : "\(p)_\(kind.fileType).log"
    }

    /// Every file this job writes, in fio's order.
    public func fileNames(jobNumber: Int) -> [String] {
        FioLogKind.allCases.compactMap { fileName($0, jobNumber: jobNumber) }
    }

    /// The sampling interval of the windowed bandwidth / IOPS log (ms): fio samples at
    /// bwavgtime (iopsavgtime) when the job sets it and logs each sample, else at
    /// log_avg_msec. 0 when every I/O is logged.
    public var bwWindowMsec: UInt64 { avgMsec == 0 ? 0 : (bwAvgMsec ?? avgMsec) }
    public var iopsWindowMsec: UInt64 { avgMsec == 0 ? 0 : (iopsAvgMsec ?? avgMsec) }

    /// Logging options fio has that are not honoured here; a job that sets one is refused.
    public static let unsupported: [String: String] = [
        "log_store_compressed": "logs are written as text; fio's .fz files are not written",
        "log_alternate_epoch": "log times count from the job's start, or in Unix time with log_unix_epoch",
    ]

    /// The settings fio's options in `options` (a job's options as written, aliases not
    /// resolved, later ones winning) give a job named `jobName`. Throws a message naming
    /// `origin` for a bad value or an option listed in `unsupported`.
    public static func from(options: [JobOption], jobName: String, origin: String) throws -> FioLogSettings {
        var s = FioLogSettings()
        var disabled: Set<String> = []
        func key(_ n: String) -> String { String(n.lowercased().map { $0 == "-" ? "_" : $0 }) }
        func bad(_ o: JobOption, _ why: String) -> ReplayError {
            ReplayError(.invalidOption, "\(origin): job \(jobName): \(o.name)=\(o.value ?? ""): \(why)")
        }
        func bool(_ o: JobOption) throws -> Bool {
            guard let v = o.value?.trimmingWhitespace.lowercased(), !v.isEmpty else { return true }
            switch v {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default:
                guard let n = Int(v) else { throw bad(o, "expected 0 or 1") }
                return n != 0
            }
        }
        func msec(_ o: JobOption) throws -> UInt64 {
            guard let v = o.value?.trimmingWhitespace, let n = UInt64(v), n <= 86_400_000 else {
                throw bad(o, "expected a whole number of milliseconds (0 to 86400000)")
            }
            return n
        }
        for o in options {
            let k = key(o.name)
            switch k {
            case "write_bw_log", "write_iops_log", "write_lat_log", "write_hist_log":
                let v = o.value?.trimmingWhitespace ?? ""
                let p = v.isEmpty ? jobName : v
                switch k {
                case "write_bw_log": s.prefix[.bw] = p
                case "write_iops_log": s.prefix[.iops] = p
                case "write_hist_log": s.prefix[.hist] = p
                default:
                    s.prefix[.lat] = p
                    s.prefix[.slat] = p
                    s.prefix[.clat] = p
                }
            case "log_avg_msec": s.avgMsec = try msec(o)
            case "log_hist_msec": s.histMsec = try msec(o)
            case "bwavgtime": s.bwAvgMsec = try msec(o)
            case "iopsavgtime": s.iopsAvgMsec = try msec(o)
            case "log_hist_coarseness":
                guard let v = o.value?.trimmingWhitespace, let n = Int(v), (0...6).contains(n) else { throw bad(o, "expected 0 to 6") }
                s.histCoarseness = n
            case "log_max_value": s.maxValue = try bool(o)
            case "log_offset": s.offset = try bool(o)
            case "log_prio": s.prio = try bool(o)
            case "per_job_logs": s.perJobLogs = try bool(o)
            case "log_unix_epoch": s.unixEpoch = try bool(o)
            case "disable_lat", "disable_clat", "disable_slat":
                if try bool(o) { disabled.insert(k) } else { disabled.remove(k) }
            case let u where unsupported[u] != nil:
                if try bool(o) { throw bad(o, "not supported: \(unsupported[u]!); remove it") }
            default: break
            }
        }
        // fio sets up no lat/clat/slat log for a latency it does not measure.
        if disabled.contains("disable_lat") { s.prefix[.lat] = nil }
        if disabled.contains("disable_clat") { s.prefix[.clat] = nil }
        if disabled.contains("disable_slat") { s.prefix[.slat] = nil }
        // bwavgtime / iopsavgtime above log_avg_msec: fio logs every sample all the same.
        return s
    }
}
