import ArgumentParser
import FioReplay
import FioTrace

/// `replay`'s flags for fio's log files: the same logs, names and entries `run` writes for a
/// job's write_bw_log, write_lat_log, write_iops_log and write_hist_log options, so fio's
/// tools (fio2gnuplot, fiologparser.py, fio-histo-log-pctiles.py) read a replay as they read
/// fio. The job is called `replay` (a multi-stream replay's streams are jobs 1, 2, ...).
struct FioLogFlags: ParsableArguments {
    @Option(name: .customLong("write-bw-log"), help: ArgumentHelp("Write fio's bandwidth log, PREFIX_bw.N.log (KiB/s; per I/O: bytes*10^6/clat).", valueName: "prefix"))
    var bw: String?

    @Option(name: .customLong("write-lat-log"), help: ArgumentHelp("Write fio's latency logs, PREFIX_lat.N.log, PREFIX_slat.N.log and PREFIX_clat.N.log (ns).", valueName: "prefix"))
    var lat: String?

    @Option(name: .customLong("write-iops-log"), help: ArgumentHelp("Write fio's IOPS log, PREFIX_iops.N.log.", valueName: "prefix"))
    var iops: String?

    @Option(name: .customLong("write-hist-log"), help: ArgumentHelp("Write fio's clat histogram log, PREFIX_clat_hist.N.log (needs --log-hist-msec, else it stays empty, as in fio).", valueName: "prefix"))
    var hist: String?

    @Option(name: .customLong("log-avg-msec"), help: ArgumentHelp("One averaged entry per direction per this many ms (0: every I/O).", valueName: "ms"))
    var avgMsec: String?

    @Option(name: .customLong("log-hist-msec"), help: ArgumentHelp("One histogram per direction per this many ms in the hist log.", valueName: "ms"))
    var histMsec: String?

    @Option(name: .customLong("log-hist-coarseness"), help: ArgumentHelp("Halve the hist log's 1856 columns this many times (0-6).", valueName: "n"))
    var histCoarseness: String?

    @Flag(name: .customLong("log-max-value"), help: "Averaged entries carry the window's maximum, not its mean.")
    var maxValue = false

    @Flag(name: .customLong("log-offset"), help: "Entries carry the I/O's offset (a fifth column).")
    var offset = false

    @Flag(name: .customLong("log-unix-epoch"), help: "Log times in Unix milliseconds.")
    var unixEpoch = false

    @Flag(name: .customLong("no-per-job-logs"), help: "Leave the job number out of the file names: a multi-stream replay's streams share (append to) one file per log, as fio's per_job_logs=0.")
    var shared = false

    /// The fio options these flags stand for.
    var options: [JobOption] {
        var o: [JobOption] = []
        func add(_ name: String, _ v: String?) { if let v { o.append(JobOption(name: name, value: v, line: 0)) } }
        add("write_bw_log", bw)
        add("write_lat_log", lat)
        add("write_iops_log", iops)
        add("write_hist_log", hist)
        add("log_avg_msec", avgMsec)
        add("log_hist_msec", histMsec)
        add("log_hist_coarseness", histCoarseness)
        if maxValue { add("log_max_value", "1") }
        if offset { add("log_offset", "1") }
        if unixEpoch { add("log_unix_epoch", "1") }
        if shared { add("per_job_logs", "0") }
        return o
    }

    /// The settings of the replay's logs; throws a one-line error for a bad value.
    func settings() throws -> FioLogSettings {
        try FioLogSettings.from(options: options, jobName: "replay", origin: "command line")
    }
}
