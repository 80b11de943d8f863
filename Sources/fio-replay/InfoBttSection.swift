import FioTrace
import Foundation

/// The btt section of `info` on a blktrace capture: text in btt's own units (seconds
/// with 9 decimals, sectors) and JSON in ns, sectors and bytes.
struct BttSection {
    let analysis: BtAnalysis

    static func seconds(_ ns: UInt64) -> String { String(format: "%.9f", Double(ns) / 1e9) }
    static func seconds(_ ns: Double) -> String { String(format: "%.9f", ns / 1e9) }

    static func phasesJSON(_ p: BtPhases) -> [String: Any] {
        var out: [String: Any] = [:]
        for (name, s) in p.named {
            out[name] = ["n": s.n, "min_ns": s.min, "max_ns": s.max, "mean_ns": s.mean, "total_ns": s.total]
        }
        return out
    }

    static func seeksJSON(_ s: BtSeeks) -> [String: Any] {
        var d: [String: Any] = ["count": s.count, "mean_sectors": s.mean, "median_sectors": s.median, "exact": s.exact]
        if let m = s.mode { d["mode_sectors"] = m.distance; d["mode_count"] = m.count }
        return d
    }

    var json: [String: Any] {
        let a = analysis
        return [
            "events": a.events,
            "untracked_queues": a.untrackedQueues,
            "untracked_pid_events": a.untrackedPidEvents,
            "all": Self.phasesJSON(a.all),
            "devices": a.devices.map { d -> [String: Any] in
                [
                    "device": d.device.description,
                    "phases": Self.phasesJSON(d.phases),
                    "queued": d.queued,
                    "dispatched": d.dispatched,
                    "merge_ratio": d.mergeRatio,
                    "completed_blocks": ["n": d.completedBlocks.n, "min": d.completedBlocks.min, "max": d.completedBlocks.max,
                                         "total": d.completedBlocks.total],
                    "back_merges": d.backMerges, "back_merge_bytes": d.backMergeBytes,
                    "front_merges": d.frontMerges, "front_merge_bytes": d.frontMergeBytes,
                    "q2q_seeks": Self.seeksJSON(d.q2qSeeks),
                    "d2d_seeks": Self.seeksJSON(d.d2dSeeks),
                    "avg_active_at_q": d.averageActiveAtQ,
                ]
            },
            "processes": a.processes.map { ["name": $0.name, "phases": Self.phasesJSON($0.phases)] as [String: Any] },
            "pids": a.pids.map { p -> [String: Any] in
                [
                    "pid": p.pid, "name": p.name,
                    "reads_queued": p.readsQueued, "read_bytes_queued": p.readBytesQueued,
                    "writes_queued": p.writesQueued, "write_bytes_queued": p.writeBytesQueued,
                    "read_dispatches": p.readDispatches, "read_bytes_dispatched": p.readBytesDispatched,
                    "write_dispatches": p.writeDispatches, "write_bytes_dispatched": p.writeBytesDispatched,
                    "reads_completed": p.readsCompleted, "read_bytes_completed": p.readBytesCompleted,
                    "writes_completed": p.writesCompleted, "write_bytes_completed": p.writeBytesCompleted,
                    "read_merges": p.readMerges, "read_bytes_merged": p.readBytesMerged,
                    "write_merges": p.writeMerges, "write_bytes_merged": p.writeBytesMerged,
                    "requeues": p.requeues, "unplugs": p.unplugs, "timer_unplugs": p.timerUnplugs,
                ]
            },
        ]
    }

    static func phaseTable(_ rows: [(String, BtStat)], label: String, indent: String) -> String {
        var t = indent + label.padding(toLength: 16, withPad: " ", startingAt: 0)
            + "MIN".leftPad(14) + "AVG".leftPad(14) + "MAX".leftPad(14) + "N".leftPad(10) + "\n"
        for (name, s) in rows {
            t += indent + name.padding(toLength: 16, withPad: " ", startingAt: 0)
                + seconds(s.min).leftPad(14) + seconds(s.mean).leftPad(14) + seconds(s.max).leftPad(14)
                + String(s.n).leftPad(10) + "\n"
        }
        return t
    }

    var text: String {
        let a = analysis
        var t = "btt (blktrace's analysis; times in s):\n"
        t += Self.phaseTable(a.all.named, label: "all devices", indent: "  ")
        for d in a.devices where d.queued > 0 || d.dispatched > 0 || d.completedBlocks.n > 0 {
            t += "  device \(d.device): Q \(d.queued), D \(d.dispatched), Q/D \(String(format: "%.1f", d.mergeRatio)); "
            if d.completedBlocks.n > 0 {
                let avg = d.dispatched > 0 ? d.completedBlocks.total / d.dispatched : 0
                t += "completions min \(d.completedBlocks.min), avg \(avg), max \(d.completedBlocks.max), total \(d.completedBlocks.total) sectors\n"
            } else {
                t += "no completions\n"
            }
            let q2c = Double(d.phases.q2c.total)
            if q2c > 0 {
                let parts = [("Q2G", d.phases.q2g), ("G2I", d.phases.g2i), ("Q2M", d.phases.q2m), ("I2D", d.phases.i2d), ("D2C", d.phases.d2c)]
                t += "    overhead (share of Q2C): " + parts.map { "\($0.0) \(String(format: "%.4f", 100 * Double($0.1.total) / q2c))%" }.joined(separator: ", ") + "\n"
            }
            t += "    merges: back \(d.backMerges) (\(human(d.backMergeBytes))), front \(d.frontMerges) (\(human(d.frontMergeBytes)))\n"
            for (label, s) in [("Q2Q", d.q2qSeeks), ("D2D", d.d2dSeeks)] where s.count > 0 {
                t += "    seeks \(label): \(s.count), mean \(String(format: "%.1f", s.mean)) sectors, \(s.exact ? "" : "approximate ")median \(s.median)"
                if let m = s.mode { t += ", mode \(m.distance) (\(m.count))" }
                t += "\n"
            }
            t += String(format: "    requests active at Q: %.1f on average\n", d.averageActiveAtQ)
        }
        let procs = a.processes.filter { !$0.phases.named.isEmpty }
        if !procs.isEmpty {
            t += "  per process (btt's grouping by name):\n"
            for p in procs.prefix(32) {
                t += Self.phaseTable(p.phases.named, label: p.name, indent: "    ")
            }
            if procs.count > 32 { t += "    ... \(procs.count - 32) more processes (all in --json)\n" }
        }
        if !a.pids.isEmpty {
            t += "  per pid (as blkparse -s; KiB rounded down):\n"
            for p in a.pids.prefix(64) {
                t += "    \(p.name) (\(p.pid)): queued R \(p.readsQueued) (\(p.readBytesQueued >> 10) KiB) W \(p.writesQueued) (\(p.writeBytesQueued >> 10) KiB)"
                t += ", dispatched R \(p.readDispatches) W \(p.writeDispatches), completed R \(p.readsCompleted) W \(p.writesCompleted)"
                t += ", merged R \(p.readMerges) W \(p.writeMerges)"
                if p.requeues > 0 { t += ", requeued \(p.requeues)" }
                t += "\n"
            }
            if a.pids.count > 64 { t += "    ... \(a.pids.count - 64) more pids (all in --json)\n" }
        }
        if a.untrackedQueues > 0 { t += "  note: \(a.untrackedQueues) Qs were not tracked (more than \(BtAnalysis.maxTracked) in flight)\n" }
        if a.untrackedPidEvents > 0 { t += "  note: \(a.untrackedPidEvents) events of pids past the first \(BtAnalysis.maxProcesses) are not in the per-pid counts\n" }
        return t
    }
}
