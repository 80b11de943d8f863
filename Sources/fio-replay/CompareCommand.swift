import ArgumentParser
import FioTrace
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "How alike two traces are: per op and per file or stream, a distance and a verdict for every figure.",
        discussion: """
        Compares counts and bytes per op, read/write mix, block sizes, sequential share, footprint, \
        reuse distances (4 KiB blocks), inter-arrival gaps, latency and depth (when both traces \
        carry them) and IOPS over time, for the whole traces and for each pair of files (or \
        streams). Distributions get the Kolmogorov-Smirnov D (0 = identical, 1 = disjoint) and the \
        Wasserstein-1 distance in their unit; amounts the relative difference; shares the \
        difference in points. Groups pair up by name when they can, else in order of first appearance.

        Exit status: 0, or 2 when --max-distance is given and some distance exceeds it, 1 on error.
        """)

    @Argument(help: "Trace A.")
    var a: String

    @Argument(help: "Trace B.")
    var b: String

    @Option(help: "Group by file, stream, stream-file or none.")
    var by: String = "file"

    @Option(name: .customLong("max-distance"), help: "Exit with status 2 when any distance exceeds this (0...1).")
    var maxDistance: Double?

    @Option(help: "Only these metrics count for --max-distance (comma-separated names or prefixes, e.g. block_size,read_share).")
    var metrics: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Flag(name: .long, help: "Text: print every metric, not only the whole-trace ones and the groups' differences.")
    var all = false

    @OptionGroup var input: TraceInputOptions

    func validate() throws {
        guard ProfileGrouping(rawValue: by) != nil else {
            throw ValidationError("--by \(by): expected file, stream, stream-file or none")
        }
        if let m = maxDistance, !(m >= 0) { throw ValidationError("--max-distance must be >= 0") }
    }

    func run() throws {
        let grouping = ProfileGrouping(rawValue: by)!
        let (pa, fa) = try reportingErrors { try profile(a, grouping) }
        let (pb, fb) = try reportingErrors { try profile(b, grouping) }
        let cmp = TraceComparison(pa, pb, aFiles: fa, bFiles: fb)
        let selected = metrics.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: " ") } }
        func counts(_ m: MetricComparison) -> Bool {
            guard let sel = selected else { return true }
            return sel.contains { m.name.hasPrefix($0) }
        }
        var over: [(scope: String, metric: MetricComparison)] = []
        if let t = maxDistance { over = cmp.over(t).filter { counts($0.metric) } }
        if json {
            let doc = CompareReport(cmp: cmp, a: (a, pa, fa), b: (b, pb, fb), maxDistance: maxDistance, over: over).json
            let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
            FileHandle.standardOutput.write(data)
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            print(CompareReport(cmp: cmp, a: (a, pa, fa), b: (b, pb, fb), maxDistance: maxDistance, over: over).text(all: all), terminator: "")
        }
        if let t = maxDistance, !over.isEmpty {
            warn("fio-replay: compare: \(over.count) distance\(over.count == 1 ? "" : "s") above \(t) (worst: \(over.max { $0.metric.distance < $1.metric.distance }.map { "\($0.scope) \($0.metric.name) \(fixed($0.metric.distance, 3))" } ?? ""))")
            throw ExitCode(2)
        }
    }

    func profile(_ path: String, _ grouping: ProfileGrouping) throws -> (ProfileSet, [TraceFile]) {
        var source = try openTraceSource(path: path, options: input.openOptions())
        var p = ProfileSet(grouping: grouping)
        try drainPipelined(&source, salvage: input.skipBadBlocks) { batch in p.add(batch) }
        p.finish()
        return (p, source.files)
    }
}

/// `compare`'s text and JSON.
struct CompareReport {
    let cmp: TraceComparison
    let a: (path: String, profile: ProfileSet, files: [TraceFile])
    let b: (path: String, profile: ProfileSet, files: [TraceFile])
    let maxDistance: Double?
    let over: [(scope: String, metric: MetricComparison)]

    func value(_ m: MetricComparison, _ v: Double, _ s: [String: Double]) -> String {
        switch m.kind {
        case .amount, .share: return humanValue(v, m.unit)
        case .distribution:
            if (s["n"] ?? 0) == 0 { return "(none)" }
            return "p50 \(humanValue(s["p50"] ?? 0, m.unit))"
        }
    }

    func line(_ m: MetricComparison) -> String {
        var dist: String
        switch m.kind {
        case .distribution:
            dist = "D=\(fixed(m.distance, 3))"
            if let d = m.detail, d.wasserstein.isFinite { dist += " W1=\(humanValue(d.wasserstein, m.unit))" }
        case .amount: dist = "rel=\(fixed(m.distance, 3))"
        case .share: dist = "abs=\(fixed(m.distance, 3))"
        }
        return "  " + m.name.padding(toLength: 22, withPad: " ", startingAt: 0)
            + value(m, m.a, m.aSummary).leftPad(16) + "  " + value(m, m.b, m.bSummary).leftPad(16)
            + "  " + dist.padding(toLength: 26, withPad: " ", startingAt: 0)
            + " " + m.verdict.rawValue + ": " + m.reason + "\n"
    }

    func text(all: Bool) -> String {
        var t = "A: \(a.path) (\(a.profile.whole.dataIOs) data I/Os, \(humanValue(Double(a.profile.whole.dataDuration), "ns")))\n"
        t += "B: \(b.path) (\(b.profile.whole.dataIOs) data I/Os, \(humanValue(Double(b.profile.whole.dataDuration), "ns")))\n"
        if a.profile.grouping != .none {
            if a.profile.groups.count == 1 && b.profile.groups.count == 1 {
                t += "groups: by \(a.profile.grouping.rawValue), one on each side (\(TraceComparison.label(a.profile.keys[0], a.profile.grouping, a.files)) ~ \(TraceComparison.label(b.profile.keys[0], b.profile.grouping, b.files))): the whole traces are the pair"
            } else {
                t += "groups: by \(a.profile.grouping.rawValue), \(cmp.scopes.count - 1) pair\(cmp.scopes.count == 2 ? "" : "s") matched by \(cmp.matchedBy)"
            }
            if !cmp.unmatched.isEmpty { t += "; unmatched: " + cmp.unmatched.prefix(8).joined(separator: ", ") + (cmp.unmatched.count > 8 ? ", ..." : "") }
            for (name, p) in [("A", a.profile), ("B", b.profile)] where p.overflowGroups > 0 {
                t += "; \(name): \(p.overflowGroups) groups past the first \(ProfileSet.maxGroups) only in \"all\""
            }
            t += "\n"
        }
        t += "distances: distributions KS D (W1 beside it), amounts relative, shares absolute; verdicts same <= \(fixed(TraceComparison.sameDistance, 2)) (or D under the 5% critical value), close <= \(fixed(TraceComparison.closeDistance, 2)), differs <= \(fixed(TraceComparison.differsDistance, 2)), else different\n"
        for (k, s) in cmp.scopes.enumerated() {
            t += "\n== \(s.scope) ==\n"
            t += "  " + "metric".padding(toLength: 22, withPad: " ", startingAt: 0) + "A".leftPad(16) + "  " + "B".leftPad(16) + "  distance\n"
            var hidden = 0
            for m in s.metrics {
                if k > 0 && !all && m.verdict == .same { hidden += 1; continue }
                t += line(m)
            }
            if hidden > 0 { t += "  (\(hidden) more metrics: same; --all shows them)\n" }
        }
        if let w = cmp.worst {
            t += "\nlargest distance: \(fixed(w.metric.distance, 3)) (\(w.scope) \(w.metric.name), \(w.metric.verdict.rawValue))\n"
        }
        if let m = maxDistance {
            t += over.isEmpty ? "every distance <= \(m)\n" : "\(over.count) distance\(over.count == 1 ? "" : "s") above \(m)\n"
        }
        return t
    }

    var json: [String: Any] {
        func side(_ s: (path: String, profile: ProfileSet, files: [TraceFile])) -> [String: Any] {
            ["trace": s.path, "records": s.profile.whole.records, "data_ios": s.profile.whole.dataIOs,
             "groups": s.profile.groups.count, "overflow_groups": s.profile.overflowGroups]
        }
        func metric(_ m: MetricComparison) -> [String: Any] {
            var d: [String: Any] = ["metric": m.name, "kind": m.kind.rawValue, "unit": m.unit, "a": m.a, "b": m.b,
                                    "distance": m.distance, "verdict": m.verdict.rawValue, "reason": m.reason]
            if let x = m.detail {
                d["ks"] = x.ks
                d["critical"] = x.critical
                if x.wasserstein.isFinite {
                    d["wasserstein"] = x.wasserstein
                    d["wasserstein_relative"] = x.relativeWasserstein
                }
                d["a_summary"] = m.aSummary
                d["b_summary"] = m.bSummary
            }
            return d
        }
        var out: [String: Any] = [
            "a": side(a), "b": side(b), "grouping": a.profile.grouping.rawValue, "matched_by": cmp.matchedBy,
            "unmatched": cmp.unmatched,
            "scopes": cmp.scopes.map { s -> [String: Any] in
                ["scope": s.scope, "a": s.aLabel, "b": s.bLabel, "metrics": s.metrics.map(metric)]
            },
        ]
        if let w = cmp.worst { out["worst"] = ["scope": w.scope, "metric": w.metric.name, "distance": w.metric.distance] }
        if let m = maxDistance {
            out["max_distance"] = m
            out["over"] = over.map { ["scope": $0.scope, "metric": $0.metric.name, "distance": $0.metric.distance] }
        }
        return out
    }
}
