import Foundation
import FioReplay
import FioTrace
import Glibc
import Testing

/// Kind of a parsed JSON number: "i" integer literal, "f" literal with a decimal point.
func kind(_ v: Any) -> String {
    if v is String { return "s" }
    if v is [String: Any] { return "o" }
    if v is [Any] { return "a" }
    if let n = v as? NSNumber {
        let t = String(cString: n.objCType)
        return (t == "d" || t == "f") ? "f" : "i"
    }
    return "?"
}

/// fio 3.33's per-direction keys and types (from `fio --output-format=json` on this machine).
let fioDirKeys: [(String, String)] = [
    ("io_bytes", "i"), ("io_kbytes", "i"), ("bw_bytes", "i"), ("bw", "i"), ("iops", "f"), ("runtime", "i"),
    ("total_ios", "i"), ("short_ios", "i"), ("drop_ios", "i"), ("slat_ns", "o"), ("clat_ns", "o"), ("lat_ns", "o"),
    ("bw_min", "i"), ("bw_max", "i"), ("bw_agg", "f"), ("bw_mean", "f"), ("bw_dev", "f"), ("bw_samples", "i"),
    ("iops_min", "i"), ("iops_max", "i"), ("iops_mean", "f"), ("iops_stddev", "f"), ("iops_samples", "i"),
]
let fioLatKeys: [(String, String)] = [("min", "i"), ("max", "i"), ("mean", "f"), ("stddev", "f"), ("N", "i")]
let fioJobKeys: [(String, String)] = [
    ("jobname", "s"), ("groupid", "i"), ("error", "i"), ("eta", "i"), ("elapsed", "i"), ("job options", "o"),
    ("read", "o"), ("write", "o"), ("trim", "o"), ("sync", "o"), ("job_runtime", "i"), ("usr_cpu", "f"), ("sys_cpu", "f"),
    ("ctx", "i"), ("majf", "i"), ("minf", "i"), ("iodepth_level", "o"), ("iodepth_submit", "o"), ("iodepth_complete", "o"),
    ("latency_ns", "o"), ("latency_us", "o"), ("latency_ms", "o"), ("latency_depth", "i"), ("latency_target", "i"),
    ("latency_percentile", "f"), ("latency_window", "i"),
]
let fioPercentileKeys = ["1.000000", "5.000000", "10.000000", "20.000000", "30.000000", "40.000000", "50.000000",
                         "60.000000", "70.000000", "80.000000", "90.000000", "95.000000", "99.000000", "99.500000",
                         "99.900000", "99.950000", "99.990000"]

func checkKeys(_ obj: [String: Any], _ keys: [(String, String)], _ where_: String) {
    for (k, t) in keys {
        guard let v = obj[k] else { Issue.record("\(where_): missing key \(k)"); continue }
        #expect(kind(v) == t, "\(where_).\(k) is \(kind(v)), fio has \(t)")
    }
}

/// Checks a parsed report against fio's JSON shape; returns the job object.
@discardableResult
func checkFioShape(_ text: String) throws -> [String: Any] {
    let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(root["fio version"] is String)
    #expect(kind(root["timestamp"] as Any) == "i")
    #expect(kind(root["timestamp_ms"] as Any) == "i")
    #expect(root["time"] is String)
    let jobs = try #require(root["jobs"] as? [[String: Any]])
    #expect(jobs.count == 1)
    let job = jobs[0]
    checkKeys(job, fioJobKeys, "job")
    for dir in ["read", "write", "trim"] {
        let o = try #require(job[dir] as? [String: Any])
        checkKeys(o, fioDirKeys, dir)
        for lat in ["slat_ns", "clat_ns", "lat_ns"] {
            let l = try #require(o[lat] as? [String: Any])
            checkKeys(l, fioLatKeys, "\(dir).\(lat)")
        }
        let clat = o["clat_ns"] as! [String: Any]
        if (o["total_ios"] as? Int ?? 0) > 0 {
            let p = try #require(clat["percentile"] as? [String: Any], "\(dir).clat_ns.percentile")
            #expect(Set(p.keys) == Set(fioPercentileKeys))
            for (k, v) in p { #expect(kind(v) == "i", "\(dir) percentile \(k)") }
            let p50 = p["50.000000"] as! Int, p99 = p["99.000000"] as! Int
            #expect(p50 <= p99)
            #expect(p50 >= clat["min"] as! Int && p99 <= Int(Double(clat["max"] as! Int) * 1.01) + 1)
        }
    }
    let sync = try #require(job["sync"] as? [String: Any])
    #expect(kind(sync["total_ios"] as Any) == "i")
    checkKeys(try #require(sync["lat_ns"] as? [String: Any]), fioLatKeys, "sync.lat_ns")
    let tens = ["2", "4", "10", "20", "50", "100", "250", "500", "750", "1000"]
    for (m, keys) in [("latency_ns", tens), ("latency_us", tens), ("latency_ms", tens + ["2000", ">=2000"]),
                      ("iodepth_level", ["1", "2", "4", "8", "16", "32", ">=64"]),
                      ("iodepth_submit", ["0", "4", "8", "16", "32", "64", ">=64"]),
                      ("iodepth_complete", ["0", "4", "8", "16", "32", "64", ">=64"])] {
        let o = try #require(job[m] as? [String: Any])
        #expect(Set(o.keys) == Set(keys), "\(m) keys \(o.keys.sorted())")
        for (k, v) in o { #expect(kind(v) == "f", "\(m).\(k)") }
    }
    return job
}

@Suite("Reports")
struct ReportTests {
    @Test("JSON has fio's keys and types, consistent numbers, and our replay object")
    func json() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 4 << 20)
        var recs: [TraceRecord] = []
        for i in 0..<400 {
            let op: TraceOp = i % 3 == 0 ? .write : .read
            recs.append(TraceRecord(time: UInt64(i) * 1_000_000, op: op, file: 0, offset: UInt64(i % 1000) * 4096, length: 4096, latency: 50_000 + UInt64(i)))
            if i % 50 == 49 { recs.append(TraceRecord(time: UInt64(i) * 1_000_000 + 500, op: .sync, file: 0)) }
        }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        let r = try replay(t, engine: .libaio) { $0.targets = TargetMapping(all: target); $0.iodepth = 4 }
        #expect(r.error == nil)
        let text = FioJSONReport().render(r)
        let job = try checkFioShape(text)
        let read = job["read"] as! [String: Any], write = job["write"] as! [String: Any]
        #expect(read["total_ios"] as? Int == 266)
        #expect(write["total_ios"] as? Int == 134)
        #expect(read["io_bytes"] as? Int == 266 * 4096)
        #expect(read["io_kbytes"] as? Int == 266 * 4)
        #expect((job["sync"] as! [String: Any])["total_ios"] as? Int == 8)
        #expect((read["bw_samples"] as? Int ?? 0) >= 3, "0.4 s at 100 ms samples")
        let depthPct = (job["iodepth_level"] as! [String: Any]).values.map { ($0 as! NSNumber).doubleValue }.reduce(0, +)
        #expect(abs(depthPct - 100) < 0.01)
        let latPct = ["latency_ns", "latency_us", "latency_ms"].flatMap { (job[$0] as! [String: Any]).values }.map { ($0 as! NSNumber).doubleValue }.reduce(0, +)
        #expect(abs(latPct - 100) < 0.01, "latency buckets sum to \(latPct)")
        let rep = try #require(job["replay"] as? [String: Any])
        let late = try #require(rep["lateness_ns"] as? [String: Any])
        for k in ["p50", "p90", "p99", "p99.9", "max", "within_10us_pct", "within_100us_pct"] { #expect(late[k] != nil, "lateness \(k)") }
        #expect(rep["trace_duration_ns"] as? Int == 399 * 1_000_000 + 500)
        #expect(rep["replay_duration_ns"] is Int)
        #expect(rep["scheduler_cpu"] is [String: Any])
        let fid = try #require(rep["lat_fidelity"] as? [String: Any])
        let fr = try #require(fid["read"] as? [String: Any])
        let orig = try #require(fr["original"] as? [String: Any])
        let o50 = orig["50.000000"] as! Int
        #expect(o50 >= 50_000 && o50 <= 50_500, "original p50 \(o50)")

        // json+ carries clat_ns.bins, which fio_jsonplus_clat2csv reads.
        let plus = FioJSONReport(plus: true).render(r)
        let pj = try checkFioShape(plus)
        let bins = try #require(((pj["read"] as! [String: Any])["clat_ns"] as! [String: Any])["bins"] as? [String: Any])
        #expect(bins.values.map { ($0 as! NSNumber).intValue }.reduce(0, +) == 266)

        // The normal report names the same counts.
        let normal = TextReport().render(r)
        #expect(normal.contains("issued rwts: total=266,134,0,8"))
        #expect(normal.contains("clat percentiles"))
        #expect(normal.contains("lateness (ns): p50="))
    }

    @Test("fio's own json+ reader (fio_jsonplus_clat2csv) accepts our output")
    func fioToolReadsIt() throws {
        let tool = "/usr/bin/fio_jsonplus_clat2csv"
        guard FileManager.default.isExecutableFile(atPath: tool) else { return }
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 4 << 20)
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: evenReads(count: 500, durationNs: 0, span: 4 << 20))
        let r = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: target); $0.timing = .none }
        let json = d.file("out.json")
        try FioJSONReport(plus: true).render(r).write(toFile: json, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [tool, json, d.file("out.csv")]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: d.path).filter { $0.hasPrefix("out") && $0.hasSuffix(".csv") }
        #expect(!files.isEmpty, "the tool wrote no CSV")
    }
}
