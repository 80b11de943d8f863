import FioTrace
import Glibc

/// fio's reporting and clean-up options a live run honours beyond the I/O itself: the log
/// files (`write_*_log` and their settings, see `FioLogSettings`), `percentile_list` and
/// `unlink`.
extension LiveRun {
    /// The last value given for option `key` (canonical: lower case, `_`) in `job`, with the
    /// option itself; nil when the job does not set it.
    static func lastOption(_ job: JobSpec, _ key: String) -> JobOption? {
        job.options.last { optionKey($0.name) == key }
    }

    /// Every job's log settings, in job order.
    public func logSettings() throws -> [FioLogSettings] {
        try jobs.map { try FioLogSettings.from(options: $0.options, jobName: $0.name, origin: $0.origin) }
    }

    /// The log files the run writes (fio's names, relative to the working directory), in job
    /// order; a file shared by jobs (per_job_logs=0) is named once.
    public func logFiles() throws -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for (j, s) in try logSettings().enumerated() {
            for f in s.fileNames(jobNumber: j + 1) where seen.insert(f).inserted { out.append(f) }
        }
        return out
    }

    /// Opens the log files of every job that asks for logs with `writer` and hands each
    /// stream its tap (fio's job number is the job's place in the run, from 1).
    public mutating func openLogs(_ writer: FioLogWriter) throws {
        var taps: [FioLogTap?] = []
        for (j, s) in try logSettings().enumerated() {
            taps.append(s.isEmpty ? nil : try FioLogTap.make(writer: writer, settings: s, jobNumber: j + 1, rampNs: jobs[j].rampTime))
        }
        options.fioLogTaps = taps
    }

    /// fio's percentile_list for `job`: the percentiles (0-100, at most 20, sorted as fio
    /// sorts them) and the decimals its text report shows (the most any entry was given
    /// with); nil when the job keeps fio's default list.
    public static func percentileList(_ job: JobSpec) throws -> (list: [Double], precision: Int)? {
        guard let o = lastOption(job, "percentile_list") else { return nil }
        let text = (o.value ?? "").trimmingWhitespace
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace }
        func bad(_ why: String) -> ReplayError {
            ReplayError(.invalidOption, "\(job.origin): job \(job.name): percentile_list=\(text): \(why)")
        }
        guard !text.isEmpty else { throw bad("expected percentiles separated by ':' (e.g. 50:99:99.9)") }
        guard parts.count <= 20 else { throw bad("at most 20 percentiles (fio's limit)") }
        var list: [Double] = []
        var precision = 0
        for p in parts {
            guard let v = Double(p), v.isFinite, v >= 0, v <= 100, !p.contains("e"), !p.contains("E") else {
                throw bad("\"\(p)\" is not a percentile from 0 to 100")
            }
            list.append(v)
            if let dot = p.firstIndex(of: ".") { precision = max(precision, p.distance(from: dot, to: p.endIndex) - 1) }
        }
        return (list.sorted(), precision)
    }

    /// Whether fio's `unlink` is set for `job` (its files are removed when it is done).
    public static func unlinks(_ job: JobSpec) throws -> Bool {
        guard let o = lastOption(job, "unlink") else { return false }
        switch (o.value ?? "1").trimmingWhitespace.lowercased() {
        case "1", "true", "yes", "on", "": return true
        case "0", "false", "no", "off": return false
        default: throw ReplayError(.invalidOption, "\(job.origin): job \(job.name): unlink=\(o.value ?? ""): expected 0 or 1")
        }
    }

    /// fio's `unlink`: removes the files of the jobs that set it, once the run (and its verify
    /// pass) is over. Regular files only: a block device (or any other kind of file) is never
    /// removed. Returns one note per file removed.
    public func unlinkFiles() throws -> [String] {
        var notes: [String] = []
        var done = Set<String>()
        for (j, job) in jobs.enumerated() where try Self.unlinks(job) {
            for k in fileMaps[j] {
                let path = targetPath(files[Int(k)])
                guard done.insert(path).inserted else { continue }
                var st = stat()
                guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                if unlink(path) == 0 {
                    notes.append("unlinked \(path) (unlink=1)")
                } else {
                    let e = errno
                    throw ReplayError(.ioFailed, "job \(job.name): cannot unlink \(path): \(ReplayError.errnoString(e))", errno: e)
                }
            }
        }
        return notes
    }
}
