import Foundation

/// Writes a `ReplayResult` as fio's `--output-format=normal` summary, followed by the replay
/// fidelity lines of our own.
public struct TextReport {
    public var jobName: String
    /// The clat percentiles listed (the job's percentile_list) and their decimals.
    var percentileList: [Double] = fioPercentiles
    var percentilePrecision = 2
    public init(jobName: String = "replay") { self.jobName = jobName }

    /// fio's unit for a min/max/avg/stdev line (its nsec_to_usec / nsec_to_msec): usec when
    /// min > 2000 ns, max > 99999 ns and stdev > 1000 ns; msec at a thousand times that.
    static func unitFor(_ l: LatencyStat) -> (String, UInt64) {
        let (mn, mx, dev) = (l.minValue, l.max, l.stddev)
        if mn > 2_000_000 && mx > 99_999_999 && dev > 1_000_000 { return ("msec", 1_000_000) }
        if mn > 2000 && mx > 99_999 && dev > 1000 { return ("usec", 1000) }
        return ("nsec", 1)
    }

    /// fio's pair "10.3MiB/s (10.8MB/s)" for bytes per second.
    static func bw(_ bytesPerSec: UInt64) -> String {
        "\(FioNumber.format(bytesPerSec, pow2: true, unit: .bytePerSec)) (\(FioNumber.format(bytesPerSec, pow2: false, unit: .bytePerSec)))"
    }

    static func size(_ b: UInt64, pow2: Bool = true) -> String { FioNumber.format(b, pow2: pow2, unit: .byte) }

    static func iops(_ v: UInt64) -> String { FioNumber.format(v, pow2: false, unit: .none) }

    /// fio's share of a distribution: percent of `total`, with a nonzero count never shown
    /// below `floor` (0.1 for depths, 0.01 for latency buckets).
    static func share(_ n: UInt64, _ total: UInt64, floor: Double) -> Double {
        guard total > 0 else { return 0 }
        let v = Double(n) * 100 / Double(total)
        return n > 0 && v < floor ? floor : v
    }

    /// fio's lines printed before the run (normal output): one per job
    /// (`name: (g=0): rw=..., bs=(R) ..., ioengine=..., iodepth=...`, "..." for a job's
    /// further numjobs clones), the version and "Starting N processes".
    public static func header(_ jobs: [HeaderJob], threads: Bool) -> String {
        var out = ""
        var previous: (String, Int)?
        var clones = 0
        for j in jobs {
            if let p = previous, p == (j.name, j.index) {
                clones += 1
                if clones == 1 { out += "...\n" }
                continue
            }
            previous = (j.name, j.index)
            clones = 0
            func r(_ d: (UInt64, UInt64)) -> String { "\(size(d.0))-\(size(d.1))" }
            out += "\(j.name): (g=\(j.group)): rw=\(j.rw), bs=(R) \(r(j.bsRead)), (W) \(r(j.bsWrite)), (T) \(r(j.bsTrim)), ioengine=\(j.engine), iodepth=\(j.iodepth)\n"
        }
        out += "fio-replay-\(fioTraceVersion)\n"
        let n = jobs.count
        out += threads ? "Starting \(n) thread\(n > 1 ? "s" : "")\n" : "Starting \(n) process\(n > 1 ? "es" : "")\n"
        return out
    }

    /// One job as the header line shows it (block sizes in bytes, min and max per direction).
    public struct HeaderJob {
        public var name: String, index: Int, group: Int, rw: String, engine: String, iodepth: Int
        public var bsRead: (UInt64, UInt64), bsWrite: (UInt64, UInt64), bsTrim: (UInt64, UInt64)
        public init(name: String, index: Int, group: Int, rw: String, engine: String, iodepth: Int,
                    bsRead: (UInt64, UInt64), bsWrite: (UInt64, UInt64), bsTrim: (UInt64, UInt64)) {
            self.name = name; self.index = index; self.group = group; self.rw = rw; self.engine = engine
            self.iodepth = iodepth; self.bsRead = bsRead; self.bsWrite = bsWrite; self.bsTrim = bsTrim
        }
    }

    public func render(_ r: ReplayResult) -> String {
        render([JobReport(name: jobName, result: r)])
    }

    /// fio's layout for several jobs: each job's section, then one "Run status" block per
    /// group, then each job's fidelity lines (headed `label`, with the job's name when
    /// there are several).
    public func render(_ jobs: [JobReport], label: String = "Replay", disks: [DiskUtilStat] = []) -> String {
        var out = ""
        for j in jobs { out += jobSection(j) }
        for g in Set(jobs.map(\.group)).sorted() { out += groupSection(g, jobs.filter { $0.group == g }) }
        if !disks.isEmpty { out += "\nDisk stats (read/write):\n" + disks.map(\.text).joined() }
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
            let bw = Self.perSecond(o.bytes, ms: rtMs)
            let iops = Self.perSecond(o.ios, ms: rtMs)
            out += "  \(op.fioKey): IOPS=\(Self.iops(iops)), BW=\(Self.bw(bw))(\(Self.size(o.bytes))/\(rtMs)msec)\(op == .write ? "; 0 zone resets" : "")\n"
            if o.slat.count > 0 { out += line("slat", o.slat) }
            if o.clat.count > 0 { out += line("clat", o.clat) }
            if o.lat.count > 0 { out += line(" lat", o.lat) }
            out += percentiles("clat", o.clat)
            if o.bwSamples.count > 0 {
                var (mn, mx, mean, dev) = (o.bwSamples.minValue, o.bwSamples.max, o.bwSamples.mean, o.bwSamples.stddev)
                var unit = "KiB"
                if mean > 1024 * 1024 { mn /= 1024; mx /= 1024; mean /= 1024; dev /= 1024; unit = "MiB" }
                out += String(format: "   bw (%@/s): min=%5llu, max=%5llu, per=%3.2f%%, avg=%5.02f, stdev=%5.02f, samples=%llu\n",
                              String(repeating: " ", count: 5 - unit.count) + unit, UInt64(mn), UInt64(mx), 100.0, mean, dev, o.bwSamples.count)
                out += String(format: "   iops        : min=%5llu, max=%5llu, avg=%5.02f, stdev=%5.02f, samples=%llu\n",
                              UInt64(o.iopsSamples.minValue), UInt64(o.iopsSamples.max), o.iopsSamples.mean, o.iopsSamples.stddev, o.iopsSamples.count)
            }
        }
        let dataIOs = s.read.ios + s.write.ios + s.trim.ios
        if dataIOs > 0 {
            let keys = ["2", "4", "10", "20", "50", "100", "250", "500", "750", "1000"]
            for (unit, counts, ks) in [("nsec", s.latencyNs, keys), ("usec", s.latencyUs, keys), ("msec", s.latencyMs, keys + ["2000", ">=2000"])] {
                let parts = zip(ks, counts).filter { $0.1 > 0 }.map { String(format: "%@=%3.2f%%", $0.0, Self.share($0.1, dataIOs, floor: 0.01)) }
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
        out += String(format: "  cpu          : usr=%3.2f%%, sys=%3.2f%%, ctx=%llu, majf=%llu, minf=%llu\n",
                      Double(s.cpuUserNs) * 100 / rt, Double(s.cpuSystemNs) * 100 / rt, s.contextSwitches, s.majorFaults, s.minorFaults)
        func dist(_ label: String, _ counts: [UInt64], _ keys: [String]) -> String {
            let total = counts.reduce(0, +)
            return label + zip(keys, counts).map { String(format: "%@=%3.1f%%", $0.0, Self.share($0.1, total, floor: 0.1)) }.joined(separator: ", ") + "\n"
        }
        out += dist("  IO depths    : ", s.depthLevels, ["1", "2", "4", "8", "16", "32", ">=64"])
        out += dist("     submit    : ", s.submitLevels, ["0", "4", "8", "16", "32", "64", ">=64"])
        out += dist("     complete  : ", s.completeLevels, ["0", "4", "8", "16", "32", "64", ">=64"])
        out += "     issued rwts: total=\(s.read.ios),\(s.write.ios),\(s.trim.ios),\(s.sync.ios) short=\(s.read.shortIOs),\(s.write.shortIOs),\(s.trim.shortIOs),0 dropped=\(s.read.droppedIOs),\(s.write.droppedIOs),\(s.trim.droppedIOs),\(s.sync.droppedIOs)\n"
        out += "     latency   : target=0, window=0, percentile=100.00%, depth=\(r.iodepth)\n"
        if let v = job.verify { out += v.text }
        return out
    }

    /// fio's "Run status group N (all jobs)" block: per op, the group's bandwidth (all bytes
    /// over the longest runtime), the range of the jobs' own bandwidths, bytes and runtimes,
    /// each in both binary and decimal units as fio's num2str writes them.
    func groupSection(_ g: Int, _ jobs: [JobReport]) -> String {
        var out = "\nRun status group \(g) (all jobs):\n"
        for op in [StatOp.read, .write, .trim] {
            let with = jobs.filter { $0.result.stats[op].ios > 0 }
            guard !with.isEmpty else { continue }
            let runs = with.map { max(1, $0.result.stats.runtimeNs / 1_000_000) }
            let bws = with.map { Self.perSecond($0.result.stats[op].bytes, ms: max(1, $0.result.stats.runtimeNs / 1_000_000)) }
            let bytes = with.reduce(UInt64(0)) { $0 &+ $1.result.stats[op].bytes }
            let agg = Self.perSecond(bytes, ms: runs.max()!)
            func two(_ v: UInt64) -> (String, String) {
                (FioNumber.format(v, pow2: true, unit: .bytePerSec), FioNumber.format(v, pow2: false, unit: .bytePerSec))
            }
            let name = op.fioKey.uppercased()
            let (lo, hi) = (two(bws.min()!), two(bws.max()!))
            out += String(repeating: " ", count: max(0, 7 - name.count)) + name
            out += ": bw=\(Self.bw(agg)), \(lo.0)-\(hi.0) (\(lo.1)-\(hi.1)), io=\(Self.size(bytes)) (\(Self.size(bytes, pow2: false))), run=\(runs.min()!)-\(runs.max()!)msec\n"
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

    /// fio's `1000 * n / runtime_ms` (integer), saturating instead of overflowing.
    static func perSecond(_ n: UInt64, ms: UInt64) -> UInt64 {
        let (p, o) = n.multipliedReportingOverflow(by: 1000)
        if !o { return p / max(1, ms) }
        return UInt64(min(Double(n) * 1000 / Double(max(1, ms)), Double(UInt64.max / 2)))
    }

    /// fio's display_lat: `clat (usec): min=..., max=..., avg=..., stdev=...`, min and max
    /// cut to six digits by num2str.
    func line(_ name: String, _ l: LatencyStat) -> String {
        let (u, div) = Self.unitFor(l)
        let mn = FioNumber.format(l.minValue / div, maxlen: 6, pow2: false, unit: .none)
        let mx = FioNumber.format(l.max / div, maxlen: 6, pow2: false, unit: .none)
        return String(format: "    %@ (%@): min=%@, max=%@, avg=%5.02f, stdev=%5.02f\n", name, u, mn, mx,
                      l.mean / Double(div), l.stddev / Double(div))
    }

    /// fio's show_clat_percentiles: the unit follows the smallest and largest percentile
    /// shown (usec when the smallest is above 2000 ns and the largest above 99999 ns; msec
    /// at a thousand times that), values rounded up into it, the column as wide as the
    /// largest value.
    func percentiles(_ name: String, _ l: LatencyStat) -> String {
        guard l.count > 0, l.histogram != nil else { return "" }
        let values = percentileList.map { l.percentile($0) ?? 0 }
        let minv = values.min() ?? 0, maxv = values.max() ?? 0
        let (u, scale): (String, Int) = minv > 2_000_000 && maxv > 99_999_999 ? ("msec", 2)
            : minv > 2000 && maxv > 99_999 ? ("usec", 1) : ("nsec", 0)
        var divisor: UInt64 = 1
        for _ in 0..<scale { divisor *= 1000 }
        let width = max(5, Int(log10(Double(max(1, maxv / divisor)))) + 1)
        let perLine = (80 - 7) / (percentilePrecision + 10 + width)
        var out = "    \(name) percentiles (\(u)):\n     |"
        for (j, p) in percentileList.enumerated() {
            if j != 0 && j % perLine == 0 { out += "     |" }
            var v = values[j]
            for _ in 0..<scale { v = (v + 999) / 1000 }
            let last = j == percentileList.count - 1
            out += String(format: " %*.*fth=[%*llu]%@", Int32(percentilePrecision + 3), Int32(percentilePrecision), p,
                          Int32(width), v, last ? "\n" : ",")
            if last { break }
            if j % perLine == perLine - 1 { out += "\n" }
        }
        return out
    }
}
