import ArgumentParser
import FioTrace
import Foundation
import Histogram

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarise a trace: counts, bytes, files, timing, block sizes, mix, footprint, latency.")

    @Argument(help: "Trace file (- for stdin).")
    var trace: String

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Option(name: .customLong("timeseries"), help: "Also write per-interval figures (per op: I/Os, bytes, IOPS, bandwidth, latency min/p50/p90/p99/max, block-size classes; depth) to this file: CSV, or JSON for a .json name or --timeseries-format json ('-': stdout, instead of the summary).")
    var timeseries: String?

    @Option(name: .customLong("timeseries-interval"), help: "Interval of --timeseries (e.g. 1s, 100ms, 500us).")
    var timeseriesInterval: String = "1s"

    @Option(name: .customLong("timeseries-format"), help: "csv or json (default: json for a .json name, else csv).")
    var timeseriesFormat: String?

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    @OptionGroup var input: TraceInputOptions

    func validate() throws {
        if let f = timeseriesFormat, TimeSeriesExport.Format(rawValue: f) == nil {
            throw ValidationError("--timeseries-format takes csv or json, not \"\(f)\"")
        }
        if try parseDuration(timeseriesInterval) == 0 { throw ValidationError("--timeseries-interval must be above 0") }
        if timeseries == nil && (timeseriesFormat != nil) { throw ValidationError("--timeseries-format needs --timeseries FILE") }
    }

    /// Most intervals `--timeseries` writes: one row per interval, empty ones included, so a
    /// trace that spans years at 1 ms would write billions of rows; it stops with a remedy.
    static let maxTimeseriesIntervals: UInt64 = 10_000_000

    func checkSpan(_ batch: UnsafeBufferPointer<TraceRecord>, widthNs: UInt64) throws {
        var last: UInt64 = 0
        for r in batch where r.time > last { last = r.time }
        if last / widthNs >= Self.maxTimeseriesIntervals {
            throw TraceError(.invalidSequence, "\(trace): a record at \(humanTime(last)) would make --timeseries write more than \(Self.maxTimeseriesIntervals) intervals of \(timeseriesInterval); give a longer --timeseries-interval")
        }
    }

    func run() throws {
        try reportingErrors {
            var source = try openTraceSource(path: trace, options: input.openOptions())
            var s = TraceSummary()
            var export: TimeSeriesExport?
            var series: IntervalSeries?
            if let path = timeseries {
                let format = timeseriesFormat.flatMap(TimeSeriesExport.Format.init) ?? (path.hasSuffix(".json") ? .json : .csv)
                let width = try parseDuration(timeseriesInterval)
                let e = try TimeSeriesExport(path: path, format: format, intervalNs: width, trace: trace)
                export = e
                series = IntervalSeries(widthNs: width, mode: .streaming(window: 64)) { e.write($0) }
            }
            source = ProgressSource.wrap(source, label: "info", quiet: noProgress)
            // Decoding and summarising overlap on two threads (see drainPipelined).
            do {
                try drainPipelined(&source, salvage: input.skipBadBlocks) { batch in
                    s.add(batch)
                    if series != nil {
                        try checkSpan(batch, widthNs: series!.widthNs)
                        series!.add(batch)
                    }
                }
            } catch {
                source = ProgressSource.unwrap(source)
                throw error
            }
            source = ProgressSource.unwrap(source)
            s.finish()
            if var series, let export {
                series.finish()
                try export.finish(records: series.records, misplaced: series.misplaced)
                if series.misplaced > 0 {
                    warn("fio-replay: note: \(series.misplaced) records were more than 64 intervals older than records before them (the trace is not in time order); --timeseries counts them in the oldest interval still open")
                }
                if timeseries == "-" { return }
            }
            var report = InfoReport(summary: s, files: source.files, metadata: source.metadata, name: trace)
            // A blktrace capture read from files also gets btt's analysis (a second pass).
            if let b = source as? BlktraceReader, !b.paths.contains("<stdin>") {
                report.btt = BttSection(analysis: try BtAnalysis.analyse(paths: b.paths))
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: report.json, options: [.prettyPrinted, .sortedKeys])
                FileHandle.standardOutput.write(data)
                FileHandle.standardOutput.write("\n".data(using: .utf8)!)
            } else {
                print(report.text, terminator: "")
            }
        }
    }
}

/// The figures `info` prints, in text and JSON. Units: ns for times, bytes for sizes.
struct InfoReport {
    let summary: TraceSummary
    let files: [TraceFile]
    let metadata: [String: String]
    let name: String
    /// btt's analysis, for blktrace captures.
    var btt: BttSection?

    static let percentiles: [Double] = [50, 90, 99, 99.9]
    static let dataOps: [TraceOp] = [.read, .write, .trim]

    var durationSeconds: Double { Double(summary.duration) / 1e9 }
    var iops: Double { durationSeconds > 0 ? Double(summary.dataIOs) / durationSeconds : 0 }
    var bandwidth: Double { durationSeconds > 0 ? Double(summary.dataBytes) / durationSeconds : 0 }
    var sequentialShare: Double { summary.dataIOs > 0 ? Double(summary.sequential) / Double(summary.dataIOs) : 0 }

    func pct(_ h: Histogram<UInt64>) -> [String: UInt64] {
        var m: [String: UInt64] = [:]
        for p in Self.percentiles { m["p\(formatPercent(p))"] = h.valueAtPercentile(p) }
        m["min"] = h.min
        m["max"] = h.max
        return m
    }

    var json: [String: Any] {
        let s = summary
        var ops: [String: Any] = [:]
        for op in TraceOp.allCases where s.ops[Int(op.rawValue)].count > 0 {
            ops[op.fioName] = ["count": s.ops[Int(op.rawValue)].count, "bytes": s.ops[Int(op.rawValue)].bytes]
        }
        var bs: [String: Any] = [:]
        for (i, op) in Self.dataOps.enumerated() where !s.blockSizes[i].isEmpty {
            bs[op.fioName] = Dictionary(uniqueKeysWithValues: s.blockSizes[i].map { (String($0.key), $0.value) })
        }
        var out: [String: Any] = [
            "trace": name,
            "records": s.records,
            "data_ios": s.dataIOs,
            "data_bytes": s.dataBytes,
            "ops": ops,
            "files": files.map { f -> [String: Any] in
                var d: [String: Any] = ["path": f.path]
                if let sz = f.size { d["size"] = sz }
                if let dev = f.device { d["device"] = dev.description }
                return d
            },
            "duration_ns": s.duration,
            "iops_mean": iops,
            "bw_bytes_mean": bandwidth,
            "block_sizes": bs,
            "read_share": s.dataIOs > 0 ? Double(s.ops[0].count) / Double(s.dataIOs) : 0,
            "write_share": s.dataIOs > 0 ? Double(s.ops[1].count) / Double(s.dataIOs) : 0,
            "read_bytes_share": s.dataBytes > 0 ? Double(s.ops[0].bytes) / Double(s.dataBytes) : 0,
            "sequential_share": sequentialShare,
            "footprint_bytes": s.footprint.bytes,
            "footprint_unaligned_ios": s.footprint.unalignedIOs,
            "footprint_exact": s.footprint.isExact,
            "values_clamped": s.clampedValues,
            "bytes_saturated": s.bytesSaturated,
            "time_sorted": s.timeSorted,
            "errors": s.errors,
            "metadata": metadata,
        ]
        if s.interArrival.totalCount > 0 { out["interarrival_ns"] = pct(s.interArrival) }
        var lat: [String: Any] = [:]
        for (i, label) in ["read", "write", "trim", "sync"].enumerated() where s.latency[i].totalCount > 0 {
            var p = pct(s.latency[i]) as [String: Any]
            p["mean"] = s.latency[i].mean
            p["count"] = s.latency[i].totalCount
            lat[label] = p
        }
        if !lat.isEmpty { out["latency_ns"] = lat }
        if s.depth.totalCount > 0 {
            var p = pct(s.depth) as [String: Any]
            p["mean"] = s.depth.mean
            out["depth"] = p
        }
        if !s.streams.isEmpty {
            out["streams"] = Dictionary(uniqueKeysWithValues: s.streams.map { (String($0.key), $0.value) })
        }
        if let btt { out["btt"] = btt.json }
        return out
    }

    var text: String {
        let s = summary
        var t = "trace: \(name)\n"
        t += "records: \(s.records) (\(s.dataIOs) data I/Os, \(human(s.dataBytes)))\n"
        for op in TraceOp.allCases where s.ops[Int(op.rawValue)].count > 0 {
            let o = s.ops[Int(op.rawValue)]
            t += "  \(op.fioName.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(o.count).leftPad(10))"
            if op.isData { t += "  \(human(o.bytes))" }
            t += "\n"
        }
        t += "files: \(files.count)\n"
        for (i, f) in files.prefix(20).enumerated() {
            t += "  [\(i)] \(f.path)"
            if let sz = f.size { t += " size=\(human(sz))" }
            if let d = f.device { t += " dev=\(d)" }
            t += "\n"
        }
        if files.count > 20 { t += "  ... \(files.count - 20) more\n" }
        t += String(format: "duration: %.6f s\n", durationSeconds)
        t += String(format: "mean: %.1f IOPS, %@/s\n", iops, human(UInt64(bandwidth)))
        if s.dataIOs > 0 {
            t += String(format: "mix: read %.2f%%, write %.2f%%, trim %.2f%% of I/Os; read %.2f%% of bytes\n",
                        100 * Double(s.ops[0].count) / Double(s.dataIOs),
                        100 * Double(s.ops[1].count) / Double(s.dataIOs),
                        100 * Double(s.ops[2].count) / Double(s.dataIOs),
                        s.dataBytes > 0 ? 100 * Double(s.ops[0].bytes) / Double(s.dataBytes) : 0)
            t += String(format: "sequential: %.2f%% of data I/Os start where the previous one on their file ended\n", 100 * sequentialShare)
            t += "footprint: \(human(s.footprint.bytes)) distinct (\(s.footprint.bytes) bytes)"
            if s.footprint.unalignedIOs > 0 { t += ", rounded out to 512 B sectors for \(s.footprint.unalignedIOs) unaligned I/Os" }
            if !s.footprint.isExact { t += String(format: ", estimated from a %.4g%% spatial sample (bounded memory)", 100 * s.footprint.samplingRate) }
            if s.footprint.bytes == UInt64.max { t += ", at least (2^64 - 1 is the most counted)" }
            t += "\n"
            if s.bytesSaturated { t += "note: a byte total passed 2^64 - 1 and is shown as that\n" }
            if s.clampedValues > 0 { t += "note: \(s.clampedValues) gaps, latencies or depths over 2^63 - 1 ns (292 years) are counted as that\n" }
            let other = s.otherSizeIOs.reduce(0, &+)
            if other > 0 { t += "note: \(other) data I/Os of sizes past the first \(TraceSummary.maxBlockSizes) distinct ones are not in the block-size table\n" }
            t += "block sizes:\n"
            let all = s.allBlockSizes.sorted { $0.key < $1.key }
            for (size, count) in all.prefix(32) {
                var per: [String] = []
                for (i, op) in Self.dataOps.enumerated() { if let c = s.blockSizes[i][size] { per.append("\(op.fioName) \(c)") } }
                t += String(format: "  %@ %6.2f%%  (%@)\n", human(size).leftPad(10), 100 * Double(count) / Double(s.dataIOs), per.joined(separator: ", "))
            }
            if all.count > 32 { t += "  ... \(all.count - 32) more sizes\n" }
        }
        if s.interArrival.totalCount > 0 { t += "inter-arrival: \(pctLine(s.interArrival))\n" }
        for (i, label) in ["read", "write", "trim", "sync"].enumerated() where s.latency[i].totalCount > 0 {
            t += "latency \(label): \(pctLine(s.latency[i])) (\(s.latency[i].totalCount) I/Os)\n"
        }
        if s.depth.totalCount > 0 {
            t += String(format: "depth: mean %.2f, p50 %llu, p99 %llu, max %llu\n", s.depth.mean,
                        s.depth.valueAtPercentile(50), s.depth.valueAtPercentile(99), s.depth.max)
        }
        if !s.streams.isEmpty {
            let ids = s.streams.keys.sorted()
            t += "streams: \(ids.count)\(s.moreStreams ? "+" : "") (" + ids.prefix(16).map { "\($0): \(s.streams[$0]!)" }.joined(separator: ", ")
            t += (ids.count > 16 ? ", ..." : "") + " records; `replay` runs one thread per stream with --streams on)\n"
        }
        if s.errors > 0 { t += "errors: \(s.errors) records completed with an error\n" }
        if !s.timeSorted { t += "note: record times are not in order\n" }
        if let btt { t += btt.text }
        if !metadata.isEmpty {
            t += "metadata:\n"
            for k in metadata.keys.sorted() {
                let v = metadata[k]!.replacingOccurrences(of: "\n", with: "\\n")
                t += "  \(k): \(v.count > 200 ? String(v.prefix(200)) + "..." : v)\n"
            }
        }
        return t
    }

    func pctLine(_ h: Histogram<UInt64>) -> String {
        Self.percentiles.map { "p\(formatPercent($0)) \(humanTime(h.valueAtPercentile($0)))" }.joined(separator: ", ")
            + ", max \(humanTime(h.max))"
    }
}

func formatPercent(_ p: Double) -> String {
    p == p.rounded() ? String(Int(p)) : String(p)
}

/// Bytes with a binary unit (KiB, MiB, ...).
func human(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var v = Double(bytes)
    var i = 0
    while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
    return i == 0 ? "\(bytes) B" : String(format: "%.2f %@", v, units[i])
}

/// ns with a readable unit.
func humanTime(_ ns: UInt64) -> String {
    if ns < 1_000 { return "\(ns) ns" }
    if ns < 1_000_000 { return String(format: "%.2f us", Double(ns) / 1e3) }
    if ns < 1_000_000_000 { return String(format: "%.2f ms", Double(ns) / 1e6) }
    return String(format: "%.3f s", Double(ns) / 1e9)
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
