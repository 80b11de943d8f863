import FioTrace
import Foundation

/// The figures the page's script draws, as one JSON document embedded in the page. Every
/// array is per interval (index i covers [i × w, (i + 1) × w) ns) or per histogram bucket;
/// `null` marks an interval without the value (no I/O of that op there).
///
/// Size: a few numbers per interval and op, one or two characters per heat-map cell; the
/// intervals are at most `--max-intervals`, so the document does not grow with the trace.
struct ReportData {
    let traces: [ReportTrace]
    let lateness: ReportLateness?
    let reports: [ReportJSONInput]

    /// Most heat maps drawn per trace (the busiest files).
    static let maxHeatMaps = 6
    /// The heat map's 64 levels, one character each.
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    func render() -> String {
        var parts: [String] = []
        parts.append("\"inputs\":[" + traces.map(input).joined(separator: ",") + "]")
        if let l = lateness {
            let m = l.matcher, h = m.histogram
            parts.append("\"latehist\":" + histogram(h))
            var p = "\"pairing\":{\"speed\":\(l.speed),\"matched\":\(m.matched),\"not_replayed\":\(m.skippedOriginal),\"unpaired\":\(m.unmatchedReplayed)"
            if m.matched > 0 {
                p += ",\"p50\":\(UInt64(h.percentile(50))),\"p90\":\(UInt64(h.percentile(90))),\"p99\":\(UInt64(h.percentile(99))),\"max\":\(h.maxValue)"
            }
            parts.append(p + "}")
        }
        let pct = reports.flatMap(percentileSeries)
        if !pct.isEmpty { parts.append("\"percentiles\":[" + pct.joined(separator: ",") + "]") }
        return "{" + parts.joined(separator: ",") + "}"
    }

    // MARK: one trace

    func input(_ t: ReportTrace) -> String {
        let s = t.profile.series
        let n = Int(s.end)
        let figs = (0..<n).map { s.figures(UInt64($0)) }
        var o: [String] = [
            "\"name\":" + jsonString(t.path), "\"role\":\"\(t.role.rawValue)\"", "\"label\":" + jsonString(t.label),
            "\"short\":\"\(t.shortLabel)\"", "\"n\":\(n)", "\"w\":\(s.widthNs)",
        ]
        var ops: [String] = []
        for (slot, op) in IntervalSeries.slotOps.enumerated() {
            guard figs.contains(where: { $0.op(op) != nil }) else { continue }
            let per = figs.map { $0.op(op) }
            var fields = ["\"op\":\"\(op.fioName)\"", "\"ios\":" + ints(per.map { $0?.ios ?? 0 })]
            if op.isData { fields.append("\"bytes\":" + ints(per.map { $0?.bytes ?? 0 })) }
            if s.hasHistogram(column: slot) {
                fields.append("\"lat\":{\"p50\":" + optInts(per.map { $0?.latency?.p50 })
                              + ",\"p99\":" + optInts(per.map { $0?.latency?.p99 })
                              + ",\"max\":" + optInts(per.map { $0?.latency?.max }) + "}")
            }
            ops.append("{" + fields.joined(separator: ",") + "}")
        }
        o.append("\"ops\":[" + ops.joined(separator: ",") + "]")
        if figs.contains(where: { $0.depthCount > 0 }) {
            o.append("\"depth\":{\"mean\":" + optDoubles(figs.map { $0.depthCount > 0 ? $0.depthMean : nil })
                     + ",\"max\":" + optInts(figs.map { $0.depthCount > 0 ? UInt64($0.depthMax) : nil }) + "}")
        }
        let sizes = figs.map(\.sizes)
        var classes: [String] = []
        for k in 0..<IntervalSeries.sizeClassCount where sizes.contains(where: { $0[k] > 0 }) {
            classes.append("{\"k\":\(k),\"label\":" + jsonString(Self.sizeLabel(k)) + ",\"counts\":" + ints(sizes.map { $0[k] }) + "}")
        }
        o.append("\"sizes\":[" + classes.joined(separator: ",") + "]")
        var hists: [String] = []
        for (i, h) in t.profile.latency.enumerated() where !h.isEmpty {
            hists.append("{\"op\":\"\(TraceTimeProfile.latencyLabels[i])\",\"h\":" + histogram(h) + "}")
        }
        o.append("\"lathist\":[" + hists.joined(separator: ",") + "]")
        if s.hasHistogram(column: IntervalSeries.slotCount) {
            let l = figs.map(\.lateness)
            o.append("\"lateness\":{\"p50\":" + optInts(l.map { $0?.p50 }) + ",\"p99\":" + optInts(l.map { $0?.p99 })
                     + ",\"max\":" + optInts(l.map { $0?.max }) + "}")
        }
        let heat = t.profile.heat
        let maps = heat.maps.sorted { $0.ios > $1.ios }
        o.append("\"heat\":[" + maps.prefix(Self.maxHeatMaps).map { heatMap($0, files: t.profile.files) }.joined(separator: ",") + "]")
        var more: [String] = []
        if maps.count > Self.maxHeatMaps {
            more.append("\(maps.count - Self.maxHeatMaps) more files with \(maps.dropFirst(Self.maxHeatMaps).reduce(0) { $0 + $1.ios }) I/Os not drawn")
        }
        if heat.untrackedFiles > 0 {
            more.append("\(heat.untrackedFiles) files past the first \(OffsetHeatMaps.maxFiles) (\(heat.untrackedIOs) I/Os) not mapped")
        }
        if !more.isEmpty { o.append("\"heatMore\":" + jsonString(more.joined(separator: "; "))) }
        return "{" + o.joined(separator: ",") + "}"
    }

    /// A size class's name: the largest length it holds ("4 KiB": lengths in (2 KiB, 4 KiB]).
    static func sizeLabel(_ k: Int) -> String {
        guard let limit = IntervalSeries.sizeClassLimit(k) else { return "> 8 MiB" }
        if k == 0 { return "≤ 512 B" }
        return limit >= 1 << 20 ? "\(limit >> 20) MiB" : "\(limit >> 10) KiB"
    }

    /// A heat map, its used part column by column: a cell holding I/Os is 2 characters, its
    /// level (1...63 on a log scale of the cell's I/Os + 1 against the busiest cell's) and
    /// its reads' share (0...63); a run of n >= 2 empty cells is `~` and n in two digits
    /// (n < 4096; longer runs split); a single empty cell is `AA`.
    func heatMap(_ m: OffsetHeatMap, files: [TraceFile]) -> String {
        let cols = max(1, m.usedColumns), rows = max(1, m.usedRows)
        var top: UInt64 = 0
        for c in 0..<cols { for r in 0..<rows { top = max(top, m.count(column: c, row: r)) } }
        var cells = [UInt8]()
        var filled = 0
        let logTop = log(Double(top) + 1)
        var empty = 0
        func flushEmpty() {
            while empty > 0 {
                let n = min(empty, 4095)
                if n == 1 {
                    cells.append(Self.alphabet[0]); cells.append(Self.alphabet[0])
                } else {
                    cells.append(UInt8(ascii: "~")); cells.append(Self.alphabet[n / 64]); cells.append(Self.alphabet[n % 64])
                }
                empty -= n
            }
        }
        for c in 0..<cols {
            for r in 0..<rows {
                let n = m.count(column: c, row: r)
                if n == 0 {
                    empty += 1
                    continue
                }
                flushEmpty()
                filled += 1
                let level = max(1, min(63, 1 + Int((62 * log(Double(n) + 1) / logTop).rounded(.down))))
                let reads = UInt64(m.reads[c * OffsetHeatMap.rows + r])
                let share = Int((63 * Double(reads) / Double(n)).rounded())
                cells.append(Self.alphabet[level])
                cells.append(Self.alphabet[min(63, share)])
            }
        }
        flushEmpty()
        let f = Int(m.file)
        let name = f < files.count ? files[f].path : "file \(f)"
        return "{\"file\":" + jsonString(name) + ",\"ios\":\(m.ios),\"colNs\":\(m.columnNs),\"rowBytes\":\(m.rowBytes),"
            + "\"cols\":\(cols),\"rows\":\(rows),\"filled\":\(filled),\"top\":\(top),\"cells\":\"" + String(decoding: cells, as: UTF8.self) + "\"}"
    }

    /// A latency or lateness histogram in buckets of 1/8 octave: value (bucket midpoint,
    /// ns) and I/Os, for the non-empty buckets.
    func histogram(_ h: LogHistogram) -> String {
        var w = [Double](repeating: 0, count: BinHistogram.buckets)
        for p in h.points { w[BinHistogram.bucket(UInt64(p.value))] += p.weight }
        var vs: [UInt64] = [], ws: [UInt64] = []
        for (b, x) in w.enumerated() where x > 0 {
            vs.append(BinHistogram.midpoint(b))
            ws.append(UInt64(x.rounded()))
        }
        return "{\"v\":" + ints(vs) + ",\"n\":" + ints(ws) + "}"
    }

    // MARK: JSON reports

    /// Latency percentile curves from a JSON report: per job and data op, the replayed
    /// completion latency (clat) and, for a replay of a trace that carried latency, the
    /// original's (`replay.lat_fidelity`).
    func percentileSeries(_ r: ReportJSONInput) -> [String] {
        var out: [String] = []
        for job in r.jobs {
            let name = job["jobname"] as? String ?? "job"
            for op in ["read", "write", "trim"] {
                guard let o = job[op] as? [String: Any], let clat = o["clat_ns"] as? [String: Any],
                      let pct = clat["percentile"] as? [String: Any], !pct.isEmpty else { continue }
                let keys = pct.keys.compactMap { k in Double(k).map { (k, $0) } }.sorted { $0.1 < $1.1 }
                var fields = ["\"name\":" + jsonString("\(name) \(op)"), "\"op\":\"\(op)\"",
                              "\"p\":[" + keys.map { String($0.1) }.joined(separator: ",") + "]",
                              "\"clat\":" + ints(keys.map { uint(pct[$0.0]) })]
                if let rep = job["replay"] as? [String: Any], let fid = rep["lat_fidelity"] as? [String: Any],
                   let f = fid[op] as? [String: Any], let orig = f["original"] as? [String: Any], let repl = f["replayed"] as? [String: Any] {
                    fields.append("\"orig\":" + ints(keys.map { uint(orig[$0.0]) }))
                    fields.append("\"lat\":" + ints(keys.map { uint(repl[$0.0]) }))
                }
                out.append("{" + fields.joined(separator: ",") + "}")
            }
        }
        return out
    }

    // MARK: numbers

    func uint(_ v: Any?) -> UInt64 {
        if let n = v as? NSNumber { return n.doubleValue < 0 ? 0 : n.uint64Value }
        return 0
    }

    func ints(_ a: [UInt64]) -> String { "[" + a.map(String.init).joined(separator: ",") + "]" }

    func optInts(_ a: [UInt64?]) -> String { "[" + a.map { $0.map(String.init) ?? "null" }.joined(separator: ",") + "]" }

    func optDoubles(_ a: [Double?]) -> String {
        "[" + a.map { v in v.map { String(format: "%.2f", $0) } ?? "null" }.joined(separator: ",") + "]"
    }
}
