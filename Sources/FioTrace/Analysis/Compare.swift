/// One figure of two traces set side by side, with how far apart they are and a verdict.
public struct MetricComparison: Sendable {
    public enum Kind: String, Sendable {
        /// A count or amount (I/Os, bytes, footprint, duration): distance = |a - b| / max(a, b).
        case amount
        /// A share in 0...1 (read share, sequential share): distance = |a - b|.
        case share
        /// A distribution: distance = Kolmogorov-Smirnov D (Wasserstein-1 given beside it).
        case distribution
    }

    public enum Verdict: String, Sendable, Comparable {
        case same, close, differs, different

        public static func < (a: Verdict, b: Verdict) -> Bool { a.rank < b.rank }
        var rank: Int {
            switch self {
            case .same: 0
            case .close: 1
            case .differs: 2
            case .different: 3
            }
        }
    }

    public var name: String
    public var kind: Kind
    /// Unit of the values (`ios`, `bytes`, `ns`, `blocks` (4 KiB), `share`, `iops`, `depth`).
    public var unit: String
    /// A's and B's value (amounts and shares) or mean (distributions).
    public var a: Double
    public var b: Double
    /// Distributions: A's and B's median, p99 and sample size.
    public var aSummary: [String: Double] = [:]
    public var bSummary: [String: Double] = [:]
    /// The distance the threshold applies to (0 = identical).
    public var distance: Double
    /// Distributions only.
    public var detail: DistributionDistance?
    public var verdict: Verdict
    /// One line saying why.
    public var reason: String
}

/// The comparison of one scope (the whole trace, or one matched pair of files or streams).
public struct ScopeComparison: Sendable {
    public var scope: String
    public var aLabel: String
    public var bLabel: String
    public var metrics: [MetricComparison]

    public var worst: MetricComparison? { metrics.max { $0.distance < $1.distance } }
}

/// Compares two traces' profiles metric by metric.
public struct TraceComparison: Sendable {
    public var scopes: [ScopeComparison]
    /// How groups were paired: `path`/`id` (by name) or `order` (by first appearance).
    public var matchedBy: String
    /// Groups of one trace without a partner in the other.
    public var unmatched: [String]

    /// Thresholds of the verdicts. Distributions: "same" below the 5 % KS critical value
    /// (what sampling noise alone gives) or below `sameDistance`.
    public static let sameDistance = 0.01
    public static let closeDistance = 0.10
    public static let differsDistance = 0.30

    /// Pairs A's groups with B's: by label when every group of the smaller side has a
    /// namesake, else in order of first appearance.
    public init(_ a: ProfileSet, _ b: ProfileSet, aFiles: [TraceFile], bFiles: [TraceFile]) {
        var scopes = [TraceComparison.compare(a.whole, b.whole, scope: "all", aLabel: "all", bLabel: "all")]
        let la = a.keys.map { TraceComparison.label($0, a.grouping, aFiles) }
        let lb = b.keys.map { TraceComparison.label($0, b.grouping, bFiles) }
        var pairs: [(Int, Int)] = []
        var unmatched: [String] = []
        let byName = !la.isEmpty && !lb.isEmpty && (la.count <= lb.count ? la.allSatisfy(lb.contains) : lb.allSatisfy(la.contains))
        if byName {
            for (i, l) in la.enumerated() {
                if let j = lb.firstIndex(of: l) { pairs.append((i, j)) } else { unmatched.append("A: " + l) }
            }
            for l in lb where !la.contains(l) { unmatched.append("B: " + l) }
            matchedBy = a.grouping == .file ? "path" : "id"
        } else {
            for i in 0..<min(la.count, lb.count) { pairs.append((i, i)) }
            for i in min(la.count, lb.count)..<la.count { unmatched.append("A: " + la[i]) }
            for j in min(la.count, lb.count)..<lb.count { unmatched.append("B: " + lb[j]) }
            matchedBy = "order"
        }
        // One group on each side is the whole trace again: no second scope for it.
        if a.grouping != .none && !(la.count == 1 && lb.count == 1) {
            for (i, j) in pairs {
                let name = la[i] == lb[j] ? la[i] : "\(la[i]) ~ \(lb[j])"
                scopes.append(TraceComparison.compare(a.groups[i], b.groups[j], scope: name, aLabel: la[i], bLabel: lb[j]))
            }
        }
        self.scopes = scopes
        self.unmatched = unmatched
    }

    /// The largest distance of all, with its scope.
    public var worst: (scope: String, metric: MetricComparison)? {
        var best: (String, MetricComparison)?
        for s in scopes {
            if let w = s.worst, best == nil || w.distance > best!.1.distance { best = (s.scope, w) }
        }
        return best
    }

    /// Every metric whose distance is above `threshold`.
    public func over(_ threshold: Double) -> [(scope: String, metric: MetricComparison)] {
        var out: [(String, MetricComparison)] = []
        for s in scopes { for m in s.metrics where m.distance > threshold { out.append((s.scope, m)) } }
        return out
    }

    /// A group's name: the file's path, `stream N`, or both.
    public static func label(_ key: UInt64, _ g: ProfileGrouping, _ files: [TraceFile]) -> String {
        func file(_ i: UInt64) -> String { Int(i) < files.count ? files[Int(i)].path : "file \(i)" }
        func stream(_ s: UInt64) -> String { s == UInt64(UInt32.max) ? "no stream" : "stream \(s)" }
        switch g {
        case .none: return "all"
        case .file: return file(key)
        case .stream: return stream(key)
        case .streamFile: return stream(key >> 32) + " " + file(key & 0xFFFF_FFFF)
        }
    }

    // MARK: metrics

    static func compare(_ a: ScopeProfile, _ b: ScopeProfile, scope: String, aLabel: String, bLabel: String) -> ScopeComparison {
        var m: [MetricComparison] = []
        m.append(amount("data_ios", "ios", Double(a.dataIOs), Double(b.dataIOs)))
        m.append(amount("data_bytes", "bytes", Double(a.dataBytes), Double(b.dataBytes)))
        for op in TraceOp.allCases where !op.isFileEvent {
            let i = Int(op.rawValue)
            let ca = a.ops[i].count, cb = b.ops[i].count
            if ca == 0 && cb == 0 { continue }
            m.append(amount("ios.\(op.fioName)", "ios", Double(ca), Double(cb)))
            if op.isData { m.append(amount("bytes.\(op.fioName)", "bytes", Double(a.ops[i].bytes), Double(b.ops[i].bytes))) }
        }
        if a.dataIOs > 0 || b.dataIOs > 0 {
            m.append(share("read_share", a.readShare, b.readShare))
            m.append(share("read_bytes_share", a.readBytesShare, b.readBytesShare))
            for (i, op) in [TraceOp.read, .write, .trim].enumerated() where !(a.blockSizes[i].isEmpty && b.blockSizes[i].isEmpty) {
                m.append(distribution("block_size.\(op.fioName)", "bytes", Distance.between(a.blockSizes[i], b.blockSizes[i]),
                                      summary(a.blockSizes[i]), summary(b.blockSizes[i])))
            }
            m.append(share("sequential_share", a.sequentialShare, b.sequentialShare))
            var fp = amount("footprint", "bytes", Double(a.footprint.bytes), Double(b.footprint.bytes))
            if a.hugeIOs + b.hugeIOs > 0 { fp.reason += " (leaves out \(a.hugeIOs) + \(b.hugeIOs) I/Os over 1 GiB)" }
            m.append(fp)
            m.append(distribution("reuse_distance", "blocks", Distance.between(a.reuse.distances, b.reuse.distances),
                                  summary(a.reuse.distances), summary(b.reuse.distances)))
            m.append(share("cold_share", a.coldShare, b.coldShare))
            if !(a.interArrival.isEmpty && b.interArrival.isEmpty) {
                m.append(distribution("interarrival", "ns", Distance.between(a.interArrival, b.interArrival),
                                      summary(a.interArrival), summary(b.interArrival)))
            }
            m.append(amount("duration", "ns", Double(a.dataDuration), Double(b.dataDuration)))
            m.append(contentsOf: timelineMetrics(a, b))
        }
        for (i, label) in ["read", "write", "trim", "sync"].enumerated() where !a.latency[i].isEmpty && !b.latency[i].isEmpty {
            m.append(distribution("latency.\(label)", "ns", Distance.between(a.latency[i], b.latency[i]),
                                  summary(a.latency[i]), summary(b.latency[i])))
        }
        if !a.depth.isEmpty && !b.depth.isEmpty {
            m.append(distribution("depth", "depth", Distance.between(a.depth, b.depth), summary(a.depth), summary(b.depth)))
        }
        return ScopeComparison(scope: scope, aLabel: aLabel, bLabel: bLabel, metrics: m)
    }

    /// IOPS over time, at a common bucket width of at least 1/128 of the longer duration:
    /// `timeline` compares when the I/Os happen (KS over the issue-time distribution),
    /// `iops` the distribution of per-interval IOPS.
    static func timelineMetrics(_ a: ScopeProfile, _ b: ScopeProfile) -> [MetricComparison] {
        guard a.dataIOs > 0, b.dataIOs > 0 else { return [] }
        var width = max(a.timeline.width, b.timeline.width)
        let span = max(a.lastDataTime, b.lastDataTime)
        while width < span / 128 { width *= 2 }
        let ca = a.timeline.rebinned(to: width), cb = b.timeline.rebinned(to: width)
        func timePoints(_ c: [Double]) -> [(value: Double, weight: Double)] {
            c.enumerated().filter { $0.element > 0 }.map { (Double($0.offset) * Double(width), $0.element) }
        }
        let t = Distance.between(timePoints(ca), timePoints(cb))
        let ta = timePoints(ca), tb = timePoints(cb)
        var out = [distribution("timeline", "ns", t, pointSummary(ta), pointSummary(tb))]
        // Per-interval IOPS over each trace's own active span (idle intervals included).
        func iopsPoints(_ c: [Double], _ p: ScopeProfile) -> [(value: Double, weight: Double)] {
            let lo = Int(p.firstDataTime / width), hi = Int(p.lastDataTime / width)
            var v: [Double] = []
            if lo <= hi && hi < c.count { for i in lo...hi { v.append(c[i] * 1e9 / Double(width)) } }
            v.sort()
            return v.map { ($0, 1) }
        }
        let ia = iopsPoints(ca, a), ib = iopsPoints(cb, b)
        if ia.count > 1 || ib.count > 1 {
            var m = distribution("iops", "iops", Distance.between(ia, ib), pointSummary(ia), pointSummary(ib))
            m.reason += " (intervals of \(humanDuration(width)))"
            out.append(m)
        }
        return out
    }

    static func summary(_ h: LogHistogram) -> [String: Double] {
        ["mean": h.mean, "p50": h.percentile(50), "p99": h.percentile(99), "n": h.effectiveCount.rounded()]
    }

    static func summary(_ sizes: [UInt64: UInt64]) -> [String: Double] {
        let pts = sizes.keys.sorted().map { (value: Double($0), weight: Double(sizes[$0]!)) }
        return pointSummary(pts)
    }

    static func pointSummary(_ pts: [(value: Double, weight: Double)]) -> [String: Double] {
        let total = pts.reduce(0) { $0 + $1.weight }
        guard total > 0 else { return ["n": 0] }
        func pct(_ p: Double) -> Double {
            var acc = 0.0
            for x in pts {
                acc += x.weight
                if acc >= total * p / 100 { return x.value }
            }
            return pts.last!.value
        }
        return ["mean": pts.reduce(0) { $0 + $1.value * $1.weight } / total, "p50": pct(50), "p99": pct(99), "n": total]
    }

    static func amount(_ name: String, _ unit: String, _ a: Double, _ b: Double) -> MetricComparison {
        let d = a == b ? 0 : abs(a - b) / max(abs(a), abs(b))
        let v = verdict(d)
        let reason: String
        switch v {
        case .same: reason = a == b ? "equal" : "within \(fixed(100 * d, 2))%"
        default: reason = "\(b > a ? "B larger" : "B smaller") by \(fixed(100 * d, 1))%"
        }
        return MetricComparison(name: name, kind: .amount, unit: unit, a: a, b: b, distance: d, verdict: v, reason: reason)
    }

    static func share(_ name: String, _ a: Double, _ b: Double) -> MetricComparison {
        let d = abs(a - b)
        let v = verdict(d)
        let reason = d == 0 ? "equal" : "\(fixed(100 * d, 2)) points apart"
        return MetricComparison(name: name, kind: .share, unit: "share", a: a, b: b, distance: d, verdict: v, reason: reason)
    }

    static func distribution(_ name: String, _ unit: String, _ d: DistributionDistance,
                             _ sa: [String: Double], _ sb: [String: Double]) -> MetricComparison {
        var v = verdict(d.ks)
        var reason: String
        if (sa["n"] ?? 0) == 0 || (sb["n"] ?? 0) == 0 {
            reason = (sa["n"] ?? 0) == 0 && (sb["n"] ?? 0) == 0 ? "no values on either side"
                : "only \((sa["n"] ?? 0) == 0 ? "B" : "A") has values"
        } else if d.ks == 0 {
            reason = "identical distributions"
        } else if d.ks <= d.critical {
            v = .same
            reason = "D below the 5% critical value \(fixed(d.critical, 3)): no detectable difference"
        } else {
            let shift = (sb["mean"] ?? 0) - (sa["mean"] ?? 0)
            reason = "D above the 5% critical value \(fixed(d.critical, 3)); B's mean is \(shift >= 0 ? "higher" : "lower") by \(humanValue(abs(shift), unit))"
        }
        return MetricComparison(name: name, kind: .distribution, unit: unit, a: sa["mean"] ?? 0, b: sb["mean"] ?? 0,
                                aSummary: sa, bSummary: sb, distance: d.ks, detail: d, verdict: v, reason: reason)
    }

    static func verdict(_ d: Double) -> MetricComparison.Verdict {
        if d <= sameDistance { return .same }
        if d <= closeDistance { return .close }
        if d <= differsDistance { return .differs }
        return .different
    }
}

/// ns as a short human string (`1.50 ms`).
public func humanDuration(_ ns: UInt64) -> String { humanValue(Double(ns), "ns") }

/// A value with its unit, shortened for reading.
public func humanValue(_ v: Double, _ unit: String) -> String {
    switch unit {
    case "ns":
        if v < 1e3 { return "\(fixed(v, 0)) ns" }
        if v < 1e6 { return "\(fixed(v / 1e3, 2)) us" }
        if v < 1e9 { return "\(fixed(v / 1e6, 2)) ms" }
        return "\(fixed(v / 1e9, 3)) s"
    case "bytes":
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var x = v
        var i = 0
        while x >= 1024 && i < units.count - 1 { x /= 1024; i += 1 }
        return i == 0 ? "\(fixed(x, 0)) B" : "\(fixed(x, 2)) \(units[i])"
    case "share":
        return "\(fixed(100 * v, 2))%"
    case "ios", "depth":
        return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : fixed(v, 2)
    case "blocks":
        return "\(fixed(v, 0)) blocks"
    case "iops":
        return "\(fixed(v, 0)) IOPS"
    default:
        return "\(printfFormat("%g", v)) \(unit)"
    }
}
