import FioTrace
import Foundation

/// `fio-replay report`'s page: one self-contained HTML file. The tables (what `info`
/// prints, the replay's fidelity, the JSON reports' figures) are plain HTML; the charts are
/// SVG (and canvas for heat maps) drawn by an inline script from an embedded JSON document
/// (`ReportData`). A Content-Security-Policy forbids every network fetch, so the page
/// opens anywhere, offline, as it is.
struct HTMLReport {
    let title: String?
    let traces: [ReportTrace]
    let lateness: ReportLateness?
    let reports: [ReportJSONInput]
    let notes: [String]
    let inputs: [String]

    func render() -> String {
        let name = title ?? "fio-replay report: " + inputs.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="fio-replay \(fioGenVersion)">
        <title>\(esc(name))</title>
        <style>\(ReportAssets.css)</style>
        <script>\(ReportAssets.errorTrap)</script>
        </head><body>
        <header><h1>\(esc(name))</h1>
        """
        h += "<p class=\"sub\">made by fio-replay \(fioGenVersion) on \(esc(Self.now()))"
        if let s = traces.first?.profile.series {
            h += "; time series in intervals of \(esc(humanTime(s.widthNs))) (\(s.count) intervals)"
        }
        h += "</p></header>\n<noscript><p class=\"note\">The charts are drawn by the page's own script; the tables below need none.</p></noscript>\n"
        h += inputTable()
        for n in notes { h += "<p class=\"note\">\(esc(n))</p>\n" }
        // Charts first (the page is for looking), then the tables behind them.
        h += "<main id=\"charts\"></main>\n"
        h += "<section><h2>Summary</h2>\n" + summaryTable() + "</section>\n"
        if let f = fidelityTable() { h += "<section><h2>Replay fidelity</h2>\n" + f + "</section>\n" }
        for r in reports { h += "<section><h2>Report \(esc((r.path as NSString).lastPathComponent))</h2>\n" + jsonReportTable(r) + "</section>\n" }
        h += metadataTables()
        h += "<script type=\"application/json\" id=\"report-data\">"
        h += ReportData(traces: traces, lateness: lateness, reports: reports).render()
        h += "</script>\n<script>\(ReportAssets.script)</script>\n</body></html>\n"
        return h
    }

    static func now() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss ZZZZZ"
        return f.string(from: Date())
    }

    // MARK: tables

    func inputTable() -> String {
        var t = "<table class=\"inputs\"><tr><th></th><th>input</th><th>what</th></tr>\n"
        for tr in traces {
            var what = tr.profile.hasLatency ? "trace with latency" : "trace"
            if tr.profile.hasDepth { what += " and depth" }
            if let rec = tr.metadata[MetadataKey.recorder] { what += "; recorded by \(rec)" }
            if let src = tr.metadata[MetadataKey.sourceTrace] { what += "; replay of \(src)" }
            if let tm = tr.metadata[MetadataKey.timing] { what += "; timing \(tm)" }
            if let sp = tr.metadata[MetadataKey.speed], sp != "1.0", sp != "1" { what += ", speed \(sp)" }
            if let e = tr.metadata[MetadataKey.ioengine] { what += "; engine \(e)" }
            t += "<tr><td class=\"tag \(tr.shortLabel)\">\(esc(tr.label))</td><td>\(esc(tr.path))</td><td>\(esc(what))</td></tr>\n"
        }
        for r in reports {
            t += "<tr><td class=\"tag\">JSON</td><td>\(esc(r.path))</td><td>\(r.jobs.count) job\(r.jobs.count == 1 ? "" : "s"): \(esc(r.document["fio version"] as? String ?? ""))</td></tr>\n"
        }
        return t + "</table>\n"
    }

    /// `info`'s figures, one column per trace.
    func summaryTable() -> String {
        guard !traces.isEmpty else { return "<p>No trace given.</p>\n" }
        var labels: [String] = []
        var cells: [[String: String]] = []
        for tr in traces {
            var m: [String: String] = [:]
            for (k, v) in summaryRows(tr) {
                if !labels.contains(k) { labels.append(k) }
                m[k] = v
            }
            cells.append(m)
        }
        var t = "<table class=\"summary\"><tr><th></th>" + traces.map { "<th class=\"tag \($0.shortLabel)\">\(esc($0.label))</th>" }.joined() + "</tr>\n"
        for k in labels {
            t += "<tr><th>\(esc(k))</th>" + cells.map { "<td>\(esc($0[k] ?? "–"))</td>" }.joined() + "</tr>\n"
        }
        return t + "</table>\n"
    }

    func summaryRows(_ tr: ReportTrace) -> [(String, String)] {
        let s = tr.profile.summary
        let info = InfoReport(summary: s, files: tr.profile.files, metadata: tr.metadata, name: tr.path)
        var rows: [(String, String)] = [
            ("records", "\(s.records)"),
            ("data I/Os", "\(s.dataIOs) (\(human(s.dataBytes)))"),
        ]
        for op in TraceOp.allCases where !op.isFileEvent && s.ops[Int(op.rawValue)].count > 0 {
            let o = s.ops[Int(op.rawValue)]
            rows.append(("  \(op.fioName)", op.isData ? "\(o.count) (\(human(o.bytes)))" : "\(o.count)"))
        }
        let files = tr.profile.files
        rows.append(("files", "\(files.count)" + (files.isEmpty ? "" : ": " + files.prefix(3).map(\.path).joined(separator: ", ") + (files.count > 3 ? ", ..." : ""))))
        rows.append(("duration", String(format: "%.6f s", info.durationSeconds)))
        rows.append(("mean IOPS", String(format: "%.1f", info.iops)))
        rows.append(("mean bandwidth", human(UInt64(info.bandwidth)) + "/s"))
        if s.dataIOs > 0 {
            rows.append(("read share (I/Os, bytes)", String(format: "%.2f%%, %.2f%%", 100 * Double(s.ops[0].count) / Double(s.dataIOs),
                                                             s.dataBytes > 0 ? 100 * Double(s.ops[0].bytes) / Double(s.dataBytes) : 0)))
            rows.append(("sequential", String(format: "%.2f%%", 100 * info.sequentialShare)))
            rows.append(("footprint", human(s.footprint.bytes)))
            let sizes = s.allBlockSizes.sorted { $0.value > $1.value }
            rows.append(("block sizes", sizes.prefix(4).map { String(format: "%@ %.1f%%", human($0.key), 100 * Double($0.value) / Double(s.dataIOs)) }.joined(separator: ", ")
                         + (sizes.count > 4 ? ", +\(sizes.count - 4) more" : "")))
        }
        if s.interArrival.totalCount > 0 { rows.append(("inter-arrival", info.pctLine(s.interArrival))) }
        for (i, label) in ["read", "write", "trim", "sync"].enumerated() where s.latency[i].totalCount > 0 {
            rows.append(("latency \(label)", info.pctLine(s.latency[i])))
        }
        if s.depth.totalCount > 0 {
            rows.append(("depth", String(format: "mean %.2f, p50 %llu, p99 %llu, max %llu", s.depth.mean,
                                         s.depth.valueAtPercentile(50), s.depth.valueAtPercentile(99), s.depth.max)))
        }
        if !s.streams.isEmpty { rows.append(("streams", "\(s.streams.count)\(s.moreStreams ? "+" : "")")) }
        if s.errors > 0 { rows.append(("errors", "\(s.errors)")) }
        if !s.timeSorted { rows.append(("time order", "not sorted")) }
        return rows
    }

    /// A against B: counts, duration, rate, lateness, latency.
    func fidelityTable() -> String? {
        guard traces.count == 2 else { return nil }
        let a = traces[0].profile.summary, b = traces[1].profile.summary
        let speed = lateness?.speed ?? traces[1].metadata[MetadataKey.speed].flatMap(Double.init) ?? 1
        var rows: [(String, String, String, String)] = [] // figure, A, B, B against A
        func rel(_ x: Double, _ y: Double) -> String { x > 0 ? String(format: "%+.2f%%", (y - x) / x * 100) : "–" }
        rows.append(("data I/Os", "\(a.dataIOs)", "\(b.dataIOs)", rel(Double(a.dataIOs), Double(b.dataIOs))))
        rows.append(("data bytes", human(a.dataBytes), human(b.dataBytes), rel(Double(a.dataBytes), Double(b.dataBytes))))
        let da = Double(a.lastTime) / speed, db = Double(b.lastTime)
        rows.append(("span to last I/O" + (speed != 1 ? " (A at speed \(speed))" : ""), humanTime(UInt64(da)), humanTime(UInt64(db)), rel(da, db)))
        let ia = da > 0 ? Double(a.dataIOs) / da * 1e9 : 0, ib = db > 0 ? Double(b.dataIOs) / db * 1e9 : 0
        rows.append(("IOPS over that span", String(format: "%.1f", ia), String(format: "%.1f", ib), rel(ia, ib)))
        for (i, label) in ["read", "write", "trim", "sync"].enumerated() where a.latency[i].totalCount > 0 && b.latency[i].totalCount > 0 {
            for p in [50.0, 99.0] {
                let x = a.latency[i].valueAtPercentile(p), y = b.latency[i].valueAtPercentile(p)
                rows.append(("latency \(label) p\(Int(p))", humanTime(x), humanTime(y), rel(Double(x), Double(y))))
            }
        }
        var t = "<table class=\"fidelity\"><tr><th></th><th class=\"tag A\">A (original)</th><th class=\"tag B\">B (replay)</th><th>B against A</th></tr>\n"
        for r in rows { t += "<tr><th>\(esc(r.0))</th><td>\(esc(r.1))</td><td>\(esc(r.2))</td><td>\(esc(r.3))</td></tr>\n" }
        t += "</table>\n"
        if let l = lateness {
            let m = l.matcher, h = m.histogram
            t += "<table class=\"lateness\"><tr><th colspan=\"2\">issue lateness of B against A's schedule\(speed != 1 ? " at speed \(speed)" : "")</th></tr>\n"
            var lr: [(String, String)] = [
                ("paired I/Os", "\(m.matched)"),
                ("A records not replayed", "\(m.skippedOriginal)"),
                ("B I/Os without a partner", "\(m.unmatchedReplayed)"),
            ]
            if m.matched > 0 {
                for p in [50.0, 90.0, 99.0, 99.9] { lr.append(("p\(formatPercent(p))", humanTime(UInt64(h.percentile(p))))) }
                lr.append(("max", humanTime(h.maxValue)))
                lr.append(("mean", humanTime(UInt64(h.mean))))
                lr.append(("within 10 µs", String(format: "%.2f%%", Double(m.within10us) * 100 / Double(m.matched))))
                lr.append(("within 100 µs", String(format: "%.2f%%", Double(m.within100us) * 100 / Double(m.matched))))
                if m.early > 0 { lr.append(("issued before due (counted as 0)", "\(m.early)")) }
            }
            for r in lr { t += "<tr><th>\(esc(r.0))</th><td>\(esc(r.1))</td></tr>\n" }
            t += "</table>\n"
        }
        return t
    }

    /// A JSON report's jobs: rate, latency and the `replay` object's fidelity figures.
    func jsonReportTable(_ r: ReportJSONInput) -> String {
        var t = ""
        for job in r.jobs {
            var rows: [(String, String)] = []
            let name = job["jobname"] as? String ?? "job"
            for op in ["read", "write", "trim"] {
                guard let o = job[op] as? [String: Any], num(o["total_ios"]) > 0 else { continue }
                var v = String(format: "%.0f I/Os, %.1f IOPS, %@/s", num(o["total_ios"]), num(o["iops"]), human(UInt64(max(0, num(o["bw_bytes"])))))
                if let c = o["clat_ns"] as? [String: Any], let p = c["percentile"] as? [String: Any] {
                    v += String(format: "; clat p50 %@, p99 %@, max %@", humanTime(UInt64(num(p["50.000000"]))),
                                humanTime(UInt64(num(p["99.000000"]))), humanTime(UInt64(num(c["max"]))))
                }
                rows.append((op, v))
            }
            if let rep = job["replay"] as? [String: Any] {
                rows.append(("engine, timing, speed, iodepth", "\(rep["engine"] ?? "?"), \(rep["timing"] ?? "?"), \(rep["speed"] ?? "?"), \(rep["iodepth"] ?? "?")"))
                rows.append(("issued / records / skipped", "\(rep["issued"] ?? "?") / \(rep["records"] ?? "?") / \(rep["skipped"] ?? "?")"))
                rows.append(("duration: trace, replay, error", String(format: "%@, %@, %+.3f%%", humanTime(UInt64(num(rep["trace_duration_ns"]))),
                                                                    humanTime(UInt64(num(rep["replay_duration_ns"]))), num(rep["duration_error_pct"]))))
                if let l = rep["lateness_ns"] as? [String: Any], num(l["N"]) > 0 {
                    rows.append(("lateness", ["p50", "p90", "p99", "p99.9", "max"].map { "\($0) \(humanTime(UInt64(num(l[$0]))))" }.joined(separator: ", ")))
                    rows.append(("within 10 µs / 100 µs", String(format: "%.2f%% / %.2f%%", num(l["within_10us_pct"]), num(l["within_100us_pct"]))))
                }
                if let c = rep["scheduler_cpu"] as? [String: Any] {
                    rows.append(("scheduler CPU", String(format: "%.1f%%", num(c["cpu_pct"]))))
                }
                if let fid = rep["lat_fidelity"] as? [String: Any] {
                    for (op, v) in fid.sorted(by: { $0.key < $1.key }) {
                        guard let f = v as? [String: Any], let o = f["original"] as? [String: Any], let p = f["replayed"] as? [String: Any] else { continue }
                        rows.append(("latency \(op): original → replayed", ["50.000000": "p50", "99.000000": "p99"].sorted { $0.key < $1.key }.map {
                            "\($0.value) \(humanTime(UInt64(num(o[$0.key])))) → \(humanTime(UInt64(num(p[$0.key]))))"
                        }.joined(separator: ", ")))
                    }
                }
                if let e = rep["error"] as? String { rows.append(("error", e)) }
            }
            t += "<table class=\"json\"><tr><th colspan=\"2\">\(esc(name))</th></tr>\n"
            for r in rows { t += "<tr><th>\(esc(r.0))</th><td>\(esc(r.1))</td></tr>\n" }
            t += "</table>\n"
        }
        return t
    }

    func metadataTables() -> String {
        var t = ""
        for tr in traces where !tr.metadata.isEmpty {
            t += "<details><summary>metadata of \(esc(tr.label)): \(esc(tr.path))</summary><table class=\"meta\">\n"
            for k in tr.metadata.keys.sorted() {
                let v = tr.metadata[k]!
                t += "<tr><th>\(esc(k))</th><td><pre>\(esc(v.count > 2000 ? String(v.prefix(2000)) + "..." : v))</pre></td></tr>\n"
            }
            t += "</table></details>\n"
        }
        return t
    }

    func num(_ v: Any?) -> Double { (v as? NSNumber)?.doubleValue ?? 0 }

    /// Text for HTML content and attribute values.
    func esc(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.append(c)
            }
        }
        return o
    }
}
