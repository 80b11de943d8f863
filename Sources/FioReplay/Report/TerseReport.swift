import Foundation

/// fio's terse output, version 3 (`--minimal`, `--output-format=terse`): one line per job,
/// fields separated by ';' in fio 3.33's order: version, fio version, job name, group,
/// error; then read and write (version 3 has no trim), each with KiB, bandwidth (KiB/s), IOPS, runtime (ms),
/// slat, clat (min, max, mean, stddev in usec), 20 clat percentiles (`P%=usec`, listed even
/// without samples, padded with `0%=0`), lat, and bandwidth samples (min, max, share of the group, mean, stddev);
/// then cpu (usr%, sys%, context switches, major and minor faults), the seven I/O depth
/// shares, ten usec and twelve msec latency shares (nsec counted into the first usec
/// bucket, as fio does to keep the format) and each disk's utilization.
public struct TerseReport {
    public init() {}

    public func render(_ jobs: [JobReport], disks: [DiskUtilStat] = []) -> String {
        var out = ""
        // fio's group bandwidth (all the group's bytes over its longest runtime), for each
        // job's share of it.
        var groupAgg: [Int: [StatOp: UInt64]] = [:]
        for g in Set(jobs.map(\.group)) {
            let members = jobs.filter { $0.group == g }
            for op in [StatOp.read, .write, .trim] {
                let with = members.filter { $0.result.stats[op].ios > 0 }
                guard let maxRun = with.map({ max(1, $0.result.stats.runtimeNs / 1_000_000) }).max() else { continue }
                let bytes = with.reduce(UInt64(0)) { $0 &+ $1.result.stats[op].bytes }
                groupAgg[g, default: [:]][op] = TextReport.perSecond(bytes, ms: maxRun)
            }
        }
        for j in jobs {
            let r = j.result
            let s = r.stats
            let err = r.error?.errno ?? (r.error == nil ? 0 : 5)
            out += "3;fio-replay-\(fioTraceVersion);\(j.name);\(j.group);\(err)"
            let rt = s.runtimeNs / 1_000_000
            // Version 3 has no trim fields (fio writes them in versions 2, 4 and 5 only).
            for op in [StatOp.read, .write] {
                out += ddir(s[op], runtimeMs: s[op].ios > 0 ? max(1, rt) : 0, groupAgg: groupAgg[j.group]?[op] ?? 0)
            }
            let cpu = Double(max(1, s.cpuBaseNs))
            out += String(format: ";%f%%;%f%%;%llu;%llu;%llu", Double(s.cpuUserNs) * 100 / cpu, Double(s.cpuSystemNs) * 100 / cpu,
                          s.contextSwitches, s.majorFaults, s.minorFaults)
            let depthTotal = s.depthLevels.reduce(0, +)
            for c in s.depthLevels { out += String(format: ";%3.1f%%", TextReport.share(c, depthTotal, floor: 0.1)) }
            let total = s.read.ios + s.write.ios + s.trim.ios
            var us = s.latencyUs.map { TextReport.share($0, total, floor: 0.01) }
            if total > 0 { us[0] += Double(s.latencyNs.reduce(0, +)) * 100 / Double(total) }
            for v in us { out += String(format: ";%3.2f%%", v) }
            for c in s.latencyMs { out += String(format: ";%3.2f%%", TextReport.share(c, total, floor: 0.01)) }
            for d in disks { out += d.terse }
            out += "\n"
        }
        return out
    }

    func ddir(_ o: OpStats, runtimeMs: UInt64, groupAgg: UInt64) -> String {
        var out = ""
        let bw = runtimeMs > 0 ? TextReport.perSecond(o.bytes, ms: runtimeMs) / 1024 : 0
        let iops = runtimeMs > 0 ? TextReport.perSecond(o.ios, ms: runtimeMs) : 0
        out += ";\(o.bytes >> 10);\(bw);\(iops);\(runtimeMs)"
        func lat(_ l: LatencyStat) -> String {
            guard l.count > 0 else { return ";0;0;0.000000;0.000000" }
            return String(format: ";%llu;%llu;%f;%f", l.minValue / 1000, l.max / 1000, l.mean / 1000, l.stddev / 1000)
        }
        out += lat(o.slat)
        out += lat(o.clat)
        let shown = fioPercentiles
        for i in 0..<20 {
            if i < shown.count {
                out += String(format: ";%f%%=%llu", shown[i], (o.clat.percentile(shown[i]) ?? 0) / 1000)
            } else {
                out += ";0%=0"
            }
        }
        out += lat(o.lat)
        if o.bwSamples.count > 0 {
            var share = 100.0
            if groupAgg / 1024 > 0 { share = min(100, o.bwSamples.mean * 100 / Double(groupAgg / 1024)) }
            out += String(format: ";%llu;%llu;%f%%;%f;%f", UInt64(o.bwSamples.minValue), UInt64(o.bwSamples.max), share,
                          o.bwSamples.mean, o.bwSamples.stddev)
        } else {
            out += ";0;0;0.000000%;0.000000;0.000000"
        }
        return out
    }
}
