import Foundation

/// Writes a `ReplayResult` as fio's `--output-format=normal` summary, followed by the replay
/// fidelity lines of our own.
public struct TextReport {
    public var jobName: String
    /// The clat percentiles listed (the job's percentile_list) and their decimals.
    var percentileList: [Double] = fioPercentiles
    var percentilePrecision = 2
    public init(jobName: String = "replay") { self.jobName = jobName }

    /// fio's unit choice: nsec, switching to usec when the minimum reaches 10 us and to
    /// msec when it reaches 10 ms.
    static func unitFor(_ l: LatencyStat) -> (String, Double) {
        let m = l.minValue
        if m >= 10_000_000 { return ("msec", 1_000_000) }
        if m >= 10_000 { return ("usec", 1_000) }
        return ("nsec", 1)
    }

    static func bw(_ bytesPerSec: Double) -> String {
        let mib = bytesPerSec / 1_048_576
        let mb = bytesPerSec / 1_000_000
        if mib >= 1 { return String(format: "%.1fMiB/s (%.1fMB/s)", mib, mb) }
        return String(format: "%.1fKiB/s (%.1fkB/s)", bytesPerSec / 1024, bytesPerSec / 1000)
    }

    static func size(_ b: UInt64) -> String {
        if b >= 10 * 1_048_576 { return "\(b / 1_048_576)MiB" }
        return "\(b / 1024)KiB"
    }

    static func iops(_ v: Double) -> String {
        if v >= 10_000 { return String(format: "%.1fk", v / 1000) }
        return String(Int(v.rounded()))
    }

    public func render(_ r: ReplayResult) -> String {
        render([JobReport(name: jobName, result: r)])
    }

    /// fio's layout for several jobs: each job's section, then one "Run status" block per
    /// group, then each job's fidelity lines (headed `label`, with the job's name when
    /// there are several).
    public func render(_ jobs: [JobReport], label: String = "Replay") -> String {
        var out = ""
        for j in jobs { out += jobSection(j) }
        for g in Set(jobs.map(\.group)).sorted() { out += groupSection(g, jobs.filter { $0.group == g }) }
        for j in jobs { out += fidelity(j.result, label: jobs.count > 1 ? "\(label) \(j.name)" : label) }
        return out
    }

    func jobSection(_ job: JobReport) -> String {
        if let list = job.percentiles, list != percentileList || job.percentilePrecision != percentilePrecision {
            var me = self
            me.percentileList = list
            me.percentilePrecision = job.percentilePrecision
            return me.jobSection(job)
        }
        let r = job.result
        let s = r.stats
        var out = ""
        let rtMs = max(1, s.runtimeNs / 1_000_000)
        let err = r.error?.errno ?? (r.error == nil ? 0 : 5)
        out += "\(job.name): (groupid=\(job.group), jobs=\(job.jobs)): err=\(String(format: "%2d", err)): pid=\(getpid()): \(ctimeString(time(nil)))\n"
        for op in [StatOp.read, .write, .trim] where s[op].ios > 0 {
            let o = s[op]
            let secs = Double(rtMs) / 1000
            out += "  \(op.fioKey): IOPS=\(Self.iops(Double(o.ios) / secs)), BW=\(Self.bw(Double(o.bytes) / secs))(\(Self.size(o.bytes))/\(rtMs)msec)\n"
            if o.slat.count > 0 { out += line("slat", o.slat) }
            out += line("clat", o.clat)
            out += line(" lat", o.lat)
            out += percentiles("clat", o.clat)
            if o.bwSamples.count > 0 {
                let pct = 100.0
                out += String(format: "   bw (  KiB/s): min=%6.0f, max=%6.0f, per=%.2f%%, avg=%.2f, stdev=%.2f, samples=%d\n",
                              o.bwSamples.minValue, o.bwSamples.max, pct, o.bwSamples.mean, o.bwSamples.stddev, Int(o.bwSamples.count))
                out += String(format: "   iops        : min=%6.0f, max=%6.0f, avg=%.2f, stdev=%.2f, samples=%d\n",
                              o.iopsSamples.minValue, o.iopsSamples.max, o.iopsSamples.mean, o.iopsSamples.stddev, Int(o.iopsSamples.count))
            }
        }
        let dataIOs = s.read.ios + s.write.ios + s.trim.ios
        if dataIOs > 0 {
            let keys = ["2", "4", "10", "20", "50", "100", "250", "500", "750", "1000"]
            for (unit, counts, ks) in [("nsec", s.latencyNs, keys), ("usec", s.latencyUs, keys), ("msec", s.latencyMs, keys + ["2000", ">=2000"])] {
                let parts = zip(ks, counts).filter { $0.1 > 0 }.map { String(format: "%@=%.2f%%", $0.0, Double($0.1) * 100 / Double(dataIOs)) }
                var i = 0
                while i < parts.count {
                    out += "  lat (\(unit))   : " + parts[i..<min(i + 5, parts.count)].joined(separator: ", ") + "\n"
                    i += 5
                }
            }
        }
        if s.sync.ios > 0 {
            out += "  fsync/fdatasync/sync_file_range:\n"
            out += line("sync", s.sync.lat)
            out += percentiles("sync", s.sync.lat)
        }
        let rt = Double(max(1, s.cpuBaseNs))
        out += String(format: "  cpu          : usr=%.2f%%, sys=%.2f%%, ctx=%llu, majf=%llu, minf=%llu\n",
                      Double(s.cpuUserNs) * 100 / rt, Double(s.cpuSystemNs) * 100 / rt, s.contextSwitches, s.majorFaults, s.minorFaults)
        let total = Double(max(1, s.depthLevels.reduce(0, +)))
        let dk = ["1", "2", "4", "8", "16", "32", ">=64"]
        out += "  IO depths    : " + zip(dk, s.depthLevels).map { String(format: "%@=%.1f%%", $0.0, Double($0.1) * 100 / total) }.joined(separator: ", ") + "\n"
        out += "     issued rwts: total=\(s.read.ios),\(s.write.ios),\(s.trim.ios),\(s.sync.ios) short=\(s.read.shortIOs),\(s.write.shortIOs),\(s.trim.shortIOs),0 dropped=\(s.read.droppedIOs),\(s.write.droppedIOs),\(s.trim.droppedIOs),\(s.sync.droppedIOs)\n"
        out += "     latency   : target=0, window=0, percentile=100.00%, depth=\(r.iodepth)\n"
        if let v = job.verify { out += v.text }
        return out
    }

    /// fio's "Run status group N (all jobs)" block: per op, the group's bandwidth (all bytes
    /// over the longest runtime), the range of the jobs' own bandwidths, bytes and runtimes.
    func groupSection(_ g: Int, _ jobs: [JobReport]) -> String {
        var out = "\nRun status group \(g) (all jobs):\n"
        func split(_ b: String) -> (String, String) {
            (String(b[..<b.firstIndex(of: " ")!]), String(b[b.index(after: b.firstIndex(of: "(")!)..<b.firstIndex(of: ")")!]))
        }
        for op in [StatOp.read, .write, .trim] {
            let with = jobs.filter { $0.result.stats[op].ios > 0 }
            guard !with.isEmpty else { continue }
            let runs = with.map { max(1, $0.result.stats.runtimeNs / 1_000_000) }
            let bws = with.map { Double($0.result.stats[op].bytes) / (Double(max(1, $0.result.stats.runtimeNs / 1_000_000)) / 1000) }
            let bytes = with.reduce(0) { $0 + $1.result.stats[op].bytes }
            let agg = Double(bytes) / (Double(runs.max()!) / 1000)
            let name = op.fioKey.uppercased()
            let (lo, hi) = (split(Self.bw(bws.min()!)), split(Self.bw(bws.max()!)))
            out += String(repeating: " ", count: max(0, 7 - name.count)) + name
            out += ": bw=\(Self.bw(agg)), \(lo.0)-\(hi.0) (\(lo.1)-\(hi.1)), io=\(Self.size(bytes)) (\(bytes / 1000)kB), run=\(runs.min()!)-\(runs.max()!)msec\n"
        }
        return out
    }

    /// Our own lines: schedule fidelity, scheduler CPU, original versus replayed latency.
    func fidelity(_ r: ReplayResult, label: String) -> String {
        let s = r.stats
        let rt = Double(max(1, s.runtimeNs))
        var out = ""
        out += "\n\(label): engine=\(r.engineName), timing=\(r.timing.rawValue)\(r.timing == .original && r.speed != 1 ? String(format: " x%.3g", r.speed) : ""), iodepth=\(r.iodepth) (max in flight \(s.maxInFlight)), records=\(s.recordsRead), issued=\(s.issued), skipped=\(s.skipped)\n"
        let expected = Double(s.traceDurationNs) / r.speed
        out += String(format: "  duration     : trace=%.6fs, replay=%.6fs", expected / 1e9, Double(s.runtimeNs) / 1e9)
        if r.timing == .original && expected > 0 {
            out += String(format: ", error=%+.3f%%", (Double(s.runtimeNs) - expected) / expected * 100)
        }
        out += "\n"
        if s.lateness.count > 0 {
            let l = s.lateness
            out += "  lateness (ns): p50=\(l.percentile(50) ?? 0), p90=\(l.percentile(90) ?? 0), p99=\(l.percentile(99) ?? 0), p99.9=\(l.percentile(99.9) ?? 0), max=\(l.max)\n"
            out += String(format: "                 within 10us=%.2f%%, within 100us=%.2f%%\n",
                          Double(s.within10us) * 100 / Double(l.count), Double(s.within100us) * 100 / Double(l.count))
            if s.depthBlocked > 0 {
                let q = s.schedulerLateness
                out += String(format: "  depth-blocked: %llu I/Os (%.2f%%) waited past their due time for a free slot (iodepth=%d); without that wait: ",
                              s.depthBlocked, Double(s.depthBlocked) * 100 / Double(l.count), r.iodepth)
                out += "p50=\(q.percentile(50) ?? 0), p99=\(q.percentile(99) ?? 0), max=\(q.max) ns\n"
            }
        }
        out += String(format: "  scheduler cpu: usr=%.3fs, sys=%.3fs, spinning=%.3fs (%.1f%% of wall)\n",
                      Double(s.cpuUserNs) / 1e9, Double(s.cpuSystemNs) / 1e9, Double(s.spinNs) / 1e9, Double(s.spinNs) * 100 / rt)
        for op in StatOp.allCases where s[op].tracedClat.count > 0 {
            let rep = s[op].replayedLat
            let o = s[op].tracedClat
            out += "  \(op.fioKey) lat (issue to completion) original vs replayed (usec): "
            out += [50.0, 90, 99].map { p in
                String(format: "p%g=%.1f/%.1f", p, Double(o.percentile(p) ?? 0) / 1000, Double(rep.percentile(p) ?? 0) / 1000)
            }.joined(separator: ", ") + "\n"
        }
        if r.interrupted { out += "  interrupted: stopped issuing, drained in-flight I/O\n" }
        if let e = r.error { out += "  error: \(e.description)\n" }
        return out
    }

    func line(_ name: String, _ l: LatencyStat) -> String {
        let (u, div) = Self.unitFor(l)
        if div == 1 {
            return String(format: "    %@ (%@): min=%llu, max=%llu, avg=%.2f, stdev=%.2f\n", name, u, l.minValue, l.max, l.mean, l.stddev)
        }
        return String(format: "    %@ (%@): min=%.0f, max=%.0f, avg=%.2f, stdev=%.2f\n", name, u,
                      Double(l.minValue) / div, Double(l.max) / div, l.mean / div, l.stddev / div)
    }

    func percentiles(_ name: String, _ l: LatencyStat) -> String {
        guard l.count > 0, l.histogram != nil else { return "" }
        let (u, div) = Self.unitFor(l)
        var out = "    \(name) percentiles (\(u)):\n"
        let fmt = "%\(percentilePrecision + 3).\(percentilePrecision)fth=[%5.0f]"
        let items = percentileList.map { p in String(format: fmt, p, Double(l.percentile(p) ?? 0) / div) }
        var i = 0
        while i < items.count {
            out += "     | " + items[i..<min(i + 4, items.count)].joined(separator: ", ") + (i + 4 < items.count ? ",\n" : "\n")
            i += 4
        }
        return out
    }
}
