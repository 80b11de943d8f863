import Foundation
import Glibc

/// fio's "time" field: ctime(3) without the newline, e.g. "Sat Nov 28 00:47:55 2026".
func ctimeString(_ t: Int) -> String {
    var t = t
    var buf = [CChar](repeating: 0, count: 64)
    guard ctime_r(&t, &buf) != nil else { return "" }
    return String(cString: buf).trimmingWhitespace
}

/// fio's percentile list (its default `percentile_list`).
public let fioPercentiles: [Double] = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99]

/// Writes a `ReplayResult` as fio's `--output-format=json` (fio 3.33's keys and types), plus
/// a `replay` object of our own inside the job.
public struct FioJSONReport {
    public var jobName: String
    /// Include `clat_ns.bins` (fio's json+), which fio_jsonplus_clat2csv reads.
    public var plus: Bool
    /// The clat/lat percentiles listed (the job's percentile_list).
    var percentileList: [Double] = fioPercentiles
    public init(jobName: String = "replay", plus: Bool = false) {
        self.jobName = jobName
        self.plus = plus
    }

    public func render(_ r: ReplayResult, options: [String: String] = [:]) -> String {
        json(r, options: options).render() + "\n"
    }

    public func json(_ r: ReplayResult, options: [String: String] = [:]) -> JSONValue {
        json([JobReport(name: jobName, result: r, options: options)])
    }

    /// Several jobs (a live run's streams), one `jobs[]` entry each, as fio prints them.
    public func render(_ jobs: [JobReport], globalOptions: [String: String] = [:], disks: [DiskUtilStat] = []) -> String {
        json(jobs, globalOptions: globalOptions, disks: disks).render() + "\n"
    }

    /// `globalOptions`: the [global] section's options (and options before the first job on
    /// the command line), printed once as fio does; `disks`: fio's `disk_util` array.
    public func json(_ jobs: [JobReport], globalOptions: [String: String] = [:], disks: [DiskUtilStat] = []) -> JSONValue {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var top: [(String, JSONValue)] = [
            ("fio version", .string("fio-replay-\(fioTraceVersion) (fio-3.33 json)")),
            ("timestamp", .int(Int64(tv.tv_sec))),
            ("timestamp_ms", .int(Int64(tv.tv_sec) * 1000 + Int64(tv.tv_usec) / 1000)),
            ("time", .string(ctimeString(tv.tv_sec))),
        ]
        if !globalOptions.isEmpty {
            top.append(("global options", .object(globalOptions.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        top.append(("jobs", .array(jobs.map { jobObject($0) })))
        if !disks.isEmpty { top.append(("disk_util", .array(disks.map(\.json)))) }
        return .object(top)
    }

    func jobObject(_ report: JobReport) -> JSONValue {
        if let list = report.percentiles, list != percentileList {
            var me = self
            me.percentileList = list
            return me.jobObject(report)
        }
        let r = report.result
        let options = report.options
        let s = r.stats
        let runtimeMs = Int64(s.runtimeNs / 1_000_000)
        let wallSec = max(Double(s.runtimeNs) / 1e9, 1e-9)
        var job: [(String, JSONValue)] = [
            ("jobname", .string(report.name)),
            ("groupid", .int(Int64(report.group))),
            ("error", .int(Int64(r.error?.errno ?? (r.error == nil ? 0 : 5)))),
            ("eta", .int(0)),
            ("elapsed", .int(Int64((Double(s.runtimeNs) / 1e9).rounded(.up)))),
            ("job options", .object(options.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ]
        for op in [StatOp.read, .write, .trim] {
            job.append((op.fioKey, dataOp(s[op], runtimeMs: runtimeMs)))
        }
        job.append(("sync", syncOp(s.sync)))
        let cpuTotal = Double(s.cpuBaseNs)
        job += [
            ("job_runtime", .int(runtimeMs)),
            ("usr_cpu", .double(cpuTotal > 0 ? Double(s.cpuUserNs) / cpuTotal * 100 : 0)),
            ("sys_cpu", .double(cpuTotal > 0 ? Double(s.cpuSystemNs) / cpuTotal * 100 : 0)),
            ("ctx", .uint(s.contextSwitches)),
            ("majf", .uint(s.majorFaults)),
            ("minf", .uint(s.minorFaults)),
            ("iodepth_level", levels(s.depthLevels, keys: ["1", "2", "4", "8", "16", "32", ">=64"])),
            ("iodepth_submit", levels(s.submitLevels, keys: ["0", "4", "8", "16", "32", "64", ">=64"])),
            ("iodepth_complete", levels(s.completeLevels, keys: ["0", "4", "8", "16", "32", "64", ">=64"])),
        ]
        let dataIOs = s.read.ios + s.write.ios + s.trim.ios
        let tenKeys = ["2", "4", "10", "20", "50", "100", "250", "500", "750", "1000"]
        job.append(("latency_ns", buckets(s.latencyNs, keys: tenKeys, total: dataIOs)))
        job.append(("latency_us", buckets(s.latencyUs, keys: tenKeys, total: dataIOs)))
        job.append(("latency_ms", buckets(s.latencyMs, keys: tenKeys + ["2000", ">=2000"], total: dataIOs)))
        job += [
            ("latency_depth", .int(Int64(r.iodepth))),
            ("latency_target", .int(0)),
            ("latency_percentile", .double(100)),
            ("latency_window", .int(0)),
        ]
        job.append(("replay", replay(r, wallSec: wallSec)))
        if let v = report.verify { job.append(("verify", v.json)) }
        return .object(job)
    }

    func latency(_ l: LatencyStat, percentiles: Bool) -> JSONValue {
        var kv: [(String, JSONValue)] = [
            ("min", .uint(l.minValue)),
            ("max", .uint(l.max)),
            ("mean", .double(l.mean)),
            ("stddev", .double(l.stddev)),
            ("N", .uint(l.count)),
        ]
        if percentiles, l.count > 0, l.histogram != nil {
            kv.append(("percentile", .object(percentileList.map { (String(format: "%.6f", $0), .uint(l.percentile($0) ?? 0)) })))
            if plus, let h = l.histogram {
                var bins: [(String, JSONValue)] = []
                for v in h.recordedValues() {
                    bins.append((String(v.value), .uint(v.count)))
                }
                kv.append(("bins", .object(bins)))
            }
        }
        return .object(kv)
    }

    func dataOp(_ o: OpStats, runtimeMs: Int64) -> JSONValue {
        let rt = o.ios > 0 ? max(runtimeMs, 1) : 0
        let bwBytes = rt > 0 ? Double(o.bytes) * 1000 / Double(rt) : 0
        let iops = rt > 0 ? Double(o.ios) * 1000 / Double(rt) : 0
        return .object([
            ("io_bytes", .uint(o.bytes)),
            ("io_kbytes", .uint(o.bytes / 1024)),
            ("bw_bytes", .int(Int64(bwBytes))),
            ("bw", .int(Int64(bwBytes / 1024))),
            ("iops", .double(iops)),
            ("runtime", .int(rt)),
            ("total_ios", .uint(o.ios)),
            ("short_ios", .uint(o.shortIOs)),
            ("drop_ios", .uint(o.droppedIOs)),
            ("slat_ns", latency(o.slat, percentiles: false)),
            ("clat_ns", latency(o.clat, percentiles: true)),
            ("lat_ns", latency(o.lat, percentiles: false)),
            ("bw_min", .int(Int64(o.bwSamples.minValue))),
            ("bw_max", .int(Int64(o.bwSamples.max))),
            ("bw_agg", .double(o.bwSamples.count > 0 ? 100 : 0)),
            ("bw_mean", .double(o.bwSamples.mean)),
            ("bw_dev", .double(o.bwSamples.stddev)),
            ("bw_samples", .uint(o.bwSamples.count)),
            ("iops_min", .int(Int64(o.iopsSamples.minValue))),
            ("iops_max", .int(Int64(o.iopsSamples.max))),
            ("iops_mean", .double(o.iopsSamples.mean)),
            ("iops_stddev", .double(o.iopsSamples.stddev)),
            ("iops_samples", .uint(o.iopsSamples.count)),
        ])
    }

    func syncOp(_ o: OpStats) -> JSONValue {
        .object([
            ("total_ios", .uint(o.ios)),
            ("lat_ns", latency(o.lat, percentiles: true)),
        ])
    }

    func levels(_ counts: [UInt64], keys: [String]) -> JSONValue {
        let total = counts.reduce(0, +)
        return .object(zip(keys, counts).map { ($0, .double(total > 0 ? Double($1) * 100 / Double(total) : 0)) })
    }

    func buckets(_ counts: [UInt64], keys: [String], total: UInt64) -> JSONValue {
        .object(zip(keys, counts).map { ($0, .double(total > 0 ? Double($1) * 100 / Double(total) : 0)) })
    }

    func replay(_ r: ReplayResult, wallSec: Double) -> JSONValue {
        let s = r.stats
        var kv: [(String, JSONValue)] = [
            ("engine", .string(r.engineName)),
            ("timing", .string(r.timing.rawValue)),
            ("speed", .double(r.speed)),
            ("iodepth", .int(Int64(r.iodepth))),
            ("max_inflight", .int(Int64(s.maxInFlight))),
            ("records", .uint(s.recordsRead)),
            ("issued", .uint(s.issued)),
            ("skipped", .uint(s.skipped)),
            ("trace_duration_ns", .uint(s.traceDurationNs)),
            ("replay_duration_ns", .uint(s.runtimeNs)),
        ]
        let expected = Double(s.traceDurationNs) / r.speed
        kv.append(("duration_error_pct", .double(r.timing == .original && expected > 0 ? (Double(s.runtimeNs) - expected) / expected * 100 : 0)))
        var late: [(String, JSONValue)] = [("N", .uint(s.lateness.count))]
        if s.lateness.count > 0 {
            for (k, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)] {
                late.append((k, .uint(s.lateness.percentile(p) ?? 0)))
            }
            late.append(("max", .uint(s.lateness.max)))
            late.append(("mean", .double(s.lateness.mean)))
            late.append(("within_10us_pct", .double(Double(s.within10us) * 100 / Double(s.lateness.count))))
            late.append(("within_100us_pct", .double(Double(s.within100us) * 100 / Double(s.lateness.count))))
        }
        kv.append(("lateness_ns", .object(late)))
        // The same without waits for a free slot past the due time (the trace's depth cap).
        var sched: [(String, JSONValue)] = [("depth_blocked", .uint(s.depthBlocked))]
        if s.schedulerLateness.count > 0 {
            sched.append(("depth_blocked_pct", .double(Double(s.depthBlocked) * 100 / Double(s.schedulerLateness.count))))
            for (k, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)] {
                sched.append((k, .uint(s.schedulerLateness.percentile(p) ?? 0)))
            }
            sched.append(("max", .uint(s.schedulerLateness.max)))
        }
        kv.append(("scheduler_lateness_ns", .object(sched)))
        kv.append(("scheduler_policy", .string(r.schedulerPolicy)))
        kv.append(("scheduler_cpu", .object([
            ("usr_ns", .uint(s.cpuUserNs)),
            ("sys_ns", .uint(s.cpuSystemNs)),
            ("spin_ns", .uint(s.spinNs)),
            ("cpu_pct", .double(s.runtimeNs > 0 ? Double(s.cpuUserNs + s.cpuSystemNs) * 100 / Double(s.runtimeNs) : 0)),
        ])))
        // A trace's latency is issue to completion (docs/trace-format.md), so it is set
        // against the replay's lat (issue to completion), not clat (submit to completion):
        // with libaio and O_DIRECT, io_submit alone takes tens of µs on this machine.
        var fid: [(String, JSONValue)] = []
        for op in StatOp.allCases where s[op].tracedClat.count > 0 {
            let replayed = s[op].replayedLat
            fid.append((op.fioKey, .object([
                ("N", .uint(s[op].tracedClat.count)),
                ("original", .object(fioPercentiles.map { (String(format: "%.6f", $0), .uint(s[op].tracedClat.percentile($0) ?? 0)) })),
                ("replayed", .object(fioPercentiles.map { (String(format: "%.6f", $0), .uint(replayed.percentile($0) ?? 0)) })),
            ])))
        }
        kv.append(("lat_fidelity", .object(fid)))
        if let e = r.error {
            kv.append(("error", .string(e.message)))
            if let rec = e.record { kv.append(("error_record", .uint(rec))) }
        }
        kv.append(("interrupted", .bool(r.interrupted)))
        if let shard = r.shard { kv += [("shard", shard.json), ("merge", MergeData.json(s))] }
        return .object(kv)
    }
}
