import FioReplay
import FioTrace
import Foundation

/// `info --timeseries`: the per-interval figures the report draws, as CSV or JSON, written
/// interval by interval as the trace streams past (`IntervalSeries` in streaming mode).
///
/// CSV: one row per op with records in the interval (`read`, `write`, `trim`, `sync`,
/// `datasync`, ...) and an `all` row for every interval, empty ones included:
/// `interval,start_ns,end_ns,op,ios,bytes,errors,iops,bw_kib_s,lat_min_ns,lat_p50_ns,
/// lat_p90_ns,lat_p99_ns,lat_max_ns,depth_mean,depth_max,bs_512,...,bs_8m,bs_over_8m`.
/// Records count in the interval of their issue time; `bytes` are lengths (data ops);
/// latency fields are empty when the records carry none (and on `all` rows), depth fields
/// are on `all` rows when the records carry a depth; `bs_X` counts data I/Os of length in
/// (X/2, X] (`bs_512`: up to 512 bytes). Summed over the intervals, `ios` and `bytes` per
/// op are `info`'s totals.
final class TimeSeriesExport {
    enum Format: String { case csv, json }

    let out: TraceOutput
    let format: Format
    let intervalNs: UInt64
    private var first = true
    private(set) var rows: UInt64 = 0
    private var failure: Error?

    static let sizeNames: [String] = (0..<IntervalSeries.sizeClassCount).map { k in
        guard let limit = IntervalSeries.sizeClassLimit(k) else { return "over_8m" }
        if limit >= 1 << 20 { return "\(limit >> 20)m" }
        if limit >= 1 << 10 { return "\(limit >> 10)k" }
        return "\(limit)"
    }

    static let csvHeader = "interval,start_ns,end_ns,op,ios,bytes,errors,iops,bw_kib_s,lat_min_ns,lat_p50_ns,lat_p90_ns,lat_p99_ns,lat_max_ns,depth_mean,depth_max,"
        + sizeNames.map { "bs_" + $0 }.joined(separator: ",")

    init(path: String, format: Format, intervalNs: UInt64, trace: String) throws {
        out = try TraceOutput(path: path)
        self.format = format
        self.intervalNs = intervalNs
        switch format {
        case .csv: out.append(Self.csvHeader + "\n")
        case .json:
            out.append("{\"trace\":\(jsonString(trace)),\"interval_ns\":\(intervalNs),\"size_classes\":[")
            out.append(Self.sizeNames.map { "\"\($0)\"" }.joined(separator: ","))
            out.append("],\"intervals\":[\n")
        }
    }

    /// Writes one interval (errors are kept for `finish`).
    func write(_ f: IntervalFigures) {
        guard failure == nil else { return }
        switch format {
        case .csv: writeCSV(f)
        case .json: writeJSON(f)
        }
        rows += 1
        do { try out.maybeFlush() } catch { failure = error }
    }

    /// Closes the document; throws the first write error.
    func finish(records: UInt64, misplaced: UInt64) throws {
        if let failure { throw failure }
        if format == .json { out.append("\n],\"records\":\(records),\"misplaced\":\(misplaced)}\n") }
        try out.flush()
    }

    private func rate(_ v: UInt64, _ f: IntervalFigures, scale: Double = 1) -> String {
        let secs = Double(f.endNs &- f.startNs) / 1e9
        return String(format: "%.1f", secs > 0 ? Double(v) / scale / secs : 0)
    }

    private func writeCSV(_ f: IntervalFigures) {
        let head = "\(f.index),\(f.startNs),\(f.endNs),"
        for o in f.ops {
            var line = head + "\(o.op.fioName),\(o.ios),\(o.bytes),\(o.errors),\(rate(o.ios, f)),\(rate(o.bytes, f, scale: 1024)),"
            if let l = o.latency { line += "\(l.min),\(l.p50),\(l.p90),\(l.p99),\(l.max)," } else { line += ",,,,," }
            line += ",,"
            line += (o.sizes ?? []).map(String.init).joined(separator: ",")
            if o.sizes == nil { line += String(repeating: ",", count: IntervalSeries.sizeClassCount - 1) }
            out.append(line + "\n")
        }
        var all = head + "all,\(f.ios),\(f.bytes),\(f.errors),\(rate(f.ios, f)),\(rate(f.bytes, f, scale: 1024)),,,,,,"
        all += f.depthCount > 0 ? String(format: "%.2f,%u,", f.depthMean, f.depthMax) : ",,"
        all += f.sizes.map(String.init).joined(separator: ",")
        out.append(all + "\n")
    }

    private func writeJSON(_ f: IntervalFigures) {
        var s = first ? "" : ",\n"
        first = false
        s += "{\"interval\":\(f.index),\"start_ns\":\(f.startNs),\"end_ns\":\(f.endNs),\"ios\":\(f.ios),\"bytes\":\(f.bytes),\"errors\":\(f.errors)"
        s += ",\"iops\":\(rate(f.ios, f)),\"bw_kib_s\":\(rate(f.bytes, f, scale: 1024))"
        if f.depthCount > 0 { s += String(format: ",\"depth_mean\":%.2f,\"depth_max\":%u", f.depthMean, f.depthMax) }
        s += ",\"sizes\":[" + f.sizes.map(String.init).joined(separator: ",") + "],\"ops\":{"
        s += f.ops.map { o in
            var t = "\"\(o.op.fioName)\":{\"ios\":\(o.ios),\"bytes\":\(o.bytes),\"errors\":\(o.errors),\"iops\":\(rate(o.ios, f)),\"bw_kib_s\":\(rate(o.bytes, f, scale: 1024))"
            if let l = o.latency { t += ",\"lat_ns\":{\"min\":\(l.min),\"p50\":\(l.p50),\"p90\":\(l.p90),\"p99\":\(l.p99),\"max\":\(l.max)}" }
            if let z = o.sizes { t += ",\"sizes\":[" + z.map(String.init).joined(separator: ",") + "]" }
            return t + "}"
        }.joined(separator: ",")
        s += "}}"
        out.append(s)
    }
}

/// `s` as a JSON string literal; `<`, `>` and `&` are escaped too, so the text is safe
/// inside an HTML `<script>` element.
func jsonString(_ s: String) -> String {
    var out = ""
    JSONValue.quote(s, htmlSafe: true, into: &out)
    return out
}
