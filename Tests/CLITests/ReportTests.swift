import Foundation
import Testing
@testable import FioTrace

/// `fio-replay report` and `info --timeseries`: a fio-recorded trace and its replay,
/// checked against fio's own iolog text, the recording's records and the replay's own JSON
/// figures, and the page opened in Debian's headless Chromium.
@Suite(.serialized) struct ReportTests {
    /// fio's iolog record, parsed from the text fio wrote (not through our reader).
    struct FioLine {
        var timeNs: UInt64
        var op: String
        var offset: UInt64
        var length: UInt64
    }

    /// One record of `cat --as records`.
    struct Rec {
        var timeNs: UInt64
        var op: String
        var offset: UInt64
        var length: UInt64
        var latency: UInt64?
        var depth: UInt64?
    }

    /// The shared run: fio records 1 s of a poisson random read/write job (psync, so the
    /// iolog's times are its issue times), fio-replay replays that iolog with original timing,
    /// recording every I/O (latency, depth) and writing its JSON report.
    final class Workload: @unchecked Sendable {
        let dir = makeTempDir("report")
        var iolog: String { dir + "/orig.iolog" }
        var recording: String { dir + "/replay.fiot" }
        var json: String { dir + "/replay.json" }
        var lines: [FioLine] = []
        var records: [Rec] = []
        var replayJSON: [String: Any] = [:]
        var error: String?

        init() {
            // The one shared workload lives as long as the test process: remove it at exit.
            atexit { cleanup(ReportTests.shared.dir) }
            do { try make() } catch { self.error = "\(error)" }
        }

        func make() throws {
            guard haveTool("fio") else { error = "fio must be installed (scripts/setup.sh installs it)"; return }
            let f = try run("fio", ["--name=rec", "--filename=\(dir)/data", "--size=16m", "--rw=randrw", "--rwmixread=65",
                                    "--bs=4k", "--ioengine=psync", "--rate_iops=600", "--rate_process=poisson", "--runtime=1",
                                    "--time_based", "--write_iolog=\(iolog)", "--output=\(dir)/fio.out"])
            guard f.status == 0 else { error = "fio failed: \(f.stderr)"; return }
            let r = try run("fio-replay", ["replay", iolog, "--target", dir + "/target", "--iodepth", "4", "--write-iolog", recording,
                                           "--output-format", "json", "--output", json, "--no-progress"])
            guard r.status == 0 else { error = "replay failed: \(r.stderr)"; return }
            for line in try String(contentsOfFile: iolog, encoding: .utf8).split(separator: "\n").dropFirst() {
                let p = line.split(separator: " ")
                guard p.count == 5 else { continue }
                lines.append(FioLine(timeNs: UInt64(p[0])! * 1000, op: String(p[2]), offset: UInt64(p[3])!, length: UInt64(p[4])!))
            }
            let c = try run("fio-replay", ["cat", recording, "--as", "records"])
            for line in c.stdout.split(separator: "\n") where !line.hasPrefix("#") {
                let p = line.split(separator: "\t").map(String.init)
                records.append(Rec(timeNs: UInt64(p[0])!, op: p[2], offset: UInt64(p[3])!, length: UInt64(p[4])!,
                                   latency: UInt64(p[5]), depth: UInt64(p[7])))
            }
            replayJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        }
    }

    static let shared = Workload()

    func workload() throws -> Workload {
        let w = Self.shared
        if let e = w.error { Issue.record(Comment(rawValue: e)) }
        try #require(w.error == nil)
        try #require(w.lines.count > 300 && w.records.count == w.lines.count)
        return w
    }

    /// Rows of a CSV with a header, as dictionaries.
    func csvRows(_ text: String) -> [[String: String]] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        let head = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.dropFirst().map { l in
            let f = l.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return Dictionary(uniqueKeysWithValues: zip(head, f))
        }
    }

    func nearestRank(_ v: [UInt64], _ p: Double) -> UInt64 {
        let s = v.sorted()
        return s[max(1, Int((p / 100 * Double(s.count)).rounded(.up))) - 1]
    }

    // MARK: info --timeseries

    @Test func timeseriesAddsUpToFiosIolog() throws {
        let w = try workload()
        let width: UInt64 = 50_000_000
        let r = try run("fio-replay", ["info", w.iolog, "--timeseries", w.dir + "/a.csv", "--timeseries-interval", "50ms"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = csvRows(try String(contentsOfFile: w.dir + "/a.csv", encoding: .utf8))
        // Ground truth: fio's text, binned here by issue time.
        let last = Int(w.lines.map(\.timeNs).max()! / width)
        var want: [String: [UInt64]] = [:], wantBytes: [String: UInt64] = [:]
        for l in w.lines {
            want[l.op, default: Array(repeating: 0, count: last + 1)][Int(l.timeNs / width)] += 1
            wantBytes[l.op, default: 0] += l.length
        }
        let all = rows.filter { $0["op"] == "all" }
        #expect(all.map { UInt64($0["interval"]!)! } == (0...UInt64(last)).map { $0 }, "one all row per interval, empty ones too")
        for (op, perInterval) in want {
            var got = [UInt64](repeating: 0, count: last + 1)
            var bytes: UInt64 = 0
            for row in rows where row["op"] == op {
                got[Int(row["interval"]!)!] += UInt64(row["ios"]!)!
                bytes += UInt64(row["bytes"]!)!
                #expect(UInt64(row["start_ns"]!)! == UInt64(row["interval"]!)! * width)
            }
            #expect(got == perInterval, "\(op) per interval")
            #expect(bytes == wantBytes[op])
        }
        // The totals are info's.
        let info = try json(run("fio-replay", ["info", "--json", w.iolog]))
        let ops = info["ops"] as! [String: [String: Any]]
        for (op, o) in ops where op == "read" || op == "write" {
            #expect(UInt64(rows.filter { $0["op"] == op }.reduce(0) { $0 + Int($1["ios"]!)! }) == (o["count"] as! NSNumber).uint64Value)
            #expect(UInt64(rows.filter { $0["op"] == op }.reduce(0) { $0 + Int($1["bytes"]!)! }) == (o["bytes"] as! NSNumber).uint64Value)
        }
        #expect(all.reduce(0) { $0 + Int($1["ios"]!)! } == w.lines.count)
        // 4 KiB I/Os: every one in the bs_4k column, and the all row sums the ops.
        #expect(all.reduce(0) { $0 + Int($1["bs_4k"]!)! } == w.lines.count)
        for a in all {
            let i = a["interval"]!
            let sum = rows.filter { $0["interval"] == i && $0["op"] != "all" }.reduce(0) { $0 + Int($1["ios"]!)! }
            #expect(Int(a["ios"]!)! == sum)
        }
        // JSON holds the same intervals.
        let j = try run("fio-replay", ["info", w.iolog, "--timeseries", "-", "--timeseries-format", "json", "--timeseries-interval", "50ms"])
        #expect(j.status == 0, "\(j.stderr)")
        let doc = try JSONSerialization.jsonObject(with: j.stdoutData) as! [String: Any]
        let intervals = doc["intervals"] as! [[String: Any]]
        #expect(intervals.map { ($0["ios"] as! NSNumber).intValue } == all.map { Int($0["ios"]!)! })
        #expect((doc["records"] as! NSNumber).intValue == w.lines.count)
    }

    /// A mixed-size trace (fio-gen: 4 KiB to 1 MiB, reads, writes, trims, fsyncs): awk over
    /// `cat --as records` bins it independently; every op's I/Os and bytes and every size
    /// class agree per interval, and the sums are `info`'s totals.
    @Test func timeseriesAgreesWithAwkOverCat() throws {
        let dir = makeTempDir("timeseries"); defer { cleanup(dir) }
        let t = dir + "/mix.fiot"
        let g = try run("fio-gen", ["--rw=randrw", "--rwmixread=60", "--bssplit=4k/40:16k/30:128k/20:1m/10", "--size=1g",
                                    "--number_ios=40000", "--fsync=50", "--rate_iops=20000", "--rate_process=poisson", "-q", "-o", t])
        try #require(g.status == 0, "\(g.stderr)")
        let r = try run("fio-replay", ["info", t, "--timeseries", dir + "/ts.csv", "--timeseries-interval", "25ms"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = csvRows(try String(contentsOfFile: dir + "/ts.csv", encoding: .utf8))
        // awk: per interval and op "ios bytes", per interval and size class a count.
        let awk = """
        fio-replay cat '\(t)' --as records | awk -F'\\t' '!/^#/ && $3 != "add" && $3 != "open" && $3 != "close" {
          i = int($1 / 25000000); ios[i" "$3]++; if ($3 == "read" || $3 == "write" || $3 == "trim") { bytes[i" "$3] += $5;
          c = 0; v = 512; while ($5 > v && c < 15) { v *= 2; c++ }; cls[i" "c]++ } }
          END { for (k in ios) print "op", k, ios[k], bytes[k] + 0; for (k in cls) print "bs", k, cls[k] }'
        """
        let a = try run("sh", ["-c", "PATH=\(binDir):$PATH " + awk])
        try #require(a.status == 0, "\(a.stderr)")
        var wantOps: [String: (UInt64, UInt64)] = [:], wantSizes: [String: UInt64] = [:]
        for line in a.stdout.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            if f[0] == "op" { wantOps[f[1] + " " + f[2]] = (UInt64(f[3])!, UInt64(f[4])!) } else { wantSizes[f[1] + " " + f[2]] = UInt64(f[3])! }
        }
        #expect(Set(wantOps.keys.map { $0.split(separator: " ")[1] }) == ["read", "write", "sync"], "fio-gen wrote reads, writes, fsyncs")
        var gotOps: [String: (UInt64, UInt64)] = [:], gotSizes: [String: UInt64] = [:]
        // The CSV's size columns: bs_512, bs_1k ... bs_8m (lengths up to it), bs_over_8m.
        let names = (0..<15).map { k -> String in
            let limit = 512 << k
            return limit >= 1 << 20 ? "\(limit >> 20)m" : limit >= 1024 ? "\(limit >> 10)k" : "\(limit)"
        } + ["over_8m"]
        for row in rows {
            let i = row["interval"]!
            if row["op"] == "all" {
                for (c, n) in names.enumerated() where UInt64(row["bs_" + n]!)! > 0 { gotSizes["\(i) \(c)"] = UInt64(row["bs_" + n]!)! }
            } else {
                gotOps[i + " " + row["op"]!] = (UInt64(row["ios"]!)!, UInt64(row["bytes"]!)!)
            }
        }
        #expect(gotOps.count == wantOps.count)
        for (k, v) in wantOps { #expect(gotOps[k].map { $0 == v } == true, "\(k): awk \(v), csv \(String(describing: gotOps[k]))") }
        #expect(gotSizes == wantSizes)
        let info = try json(run("fio-replay", ["info", "--json", t]))
        let ops = info["ops"] as! [String: [String: Any]]
        for op in ["read", "write", "sync"] {
            let n = wantOps.filter { $0.key.hasSuffix(" " + op) }.reduce(UInt64(0)) { $0 + $1.value.0 }
            let b = wantOps.filter { $0.key.hasSuffix(" " + op) }.reduce(UInt64(0)) { $0 + $1.value.1 }
            #expect((ops[op]?["count"] as? NSNumber)?.uint64Value == n, "\(op) count")
            if op != "sync" { #expect((ops[op]?["bytes"] as? NSNumber)?.uint64Value == b, "\(op) bytes") }
        }
    }

    @Test func timeseriesLatencyAndDepthOfTheRecording() throws {
        let w = try workload()
        let width: UInt64 = 100_000_000
        let r = try run("fio-replay", ["info", w.recording, "--timeseries", w.dir + "/b.csv", "--timeseries-interval", "100ms"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = csvRows(try String(contentsOfFile: w.dir + "/b.csv", encoding: .utf8))
        var checked = 0
        for row in rows {
            let i = UInt64(row["interval"]!)!
            let mine = w.records.filter { $0.timeNs / width == i }
            if row["op"] == "all" {
                let d = mine.compactMap(\.depth)
                #expect(UInt64(row["depth_max"]!) == d.max(), "interval \(i) depth max")
                let mean = Double(d.reduce(0, +)) / Double(max(1, d.count))
                #expect(abs(Double(row["depth_mean"]!)! - mean) <= 0.006, "interval \(i) depth mean")
                continue
            }
            let lat = mine.filter { $0.op == row["op"] }.compactMap(\.latency)
            #expect(UInt64(row["ios"]!)! == UInt64(lat.count), "interval \(i) \(row["op"]!) I/Os")
            // A row the recording has no I/O of (a record `info` placed elsewhere) fails above,
            // and must not crash the test process here.
            guard !lat.isEmpty else { continue }
            #expect(UInt64(row["lat_max_ns"]!)! == lat.max()!)
            #expect(UInt64(row["lat_min_ns"]!)! == lat.min()!)
            for (k, p) in [("lat_p50_ns", 50.0), ("lat_p99_ns", 99.0)] {
                let want = Double(nearestRank(lat, p)), got = Double(row[k]!)!
                #expect(abs(got - want) <= want * 0.0625 + 1, "interval \(i) \(row["op"]!) \(k): \(got) vs exact \(want)")
            }
            checked += 1
        }
        #expect(checked >= 20)
    }

    // MARK: the report in a browser

    /// Every `<path class="series">` of one chart: name -> points drawn (M/L commands in d).
    func series(_ dom: String, chart: String, kind: String = "series") throws -> [String: Int] {
        guard let start = dom.range(of: "data-chart=\"\(chart)\"") else { return [:] }
        let rest = dom[start.upperBound...]
        let body = rest[..<(rest.range(of: "</figure>")?.lowerBound ?? rest.endIndex)]
        var out: [String: Int] = [:]
        var scan = body[...]
        while let p = scan.range(of: "<path class=\"\(kind)\"") {
            let tag = scan[p.lowerBound..<(scan[p.upperBound...].firstIndex(of: ">") ?? scan.endIndex)]
            let name = attribute(String(tag), "data-series") ?? "?"
            let d = attribute(String(tag), "d") ?? ""
            // A line's points are its M/L commands; an area's outline runs along its top and
            // back along the band below, two vertices per point.
            let vertices = d.filter { $0 == "M" || $0 == "L" }.count
            out[name] = kind == "area" ? vertices / 2 : vertices
            if kind == "area" { #expect(vertices % 2 == 0 && d.hasSuffix("Z")) }
            #expect(attribute(String(tag), "data-points") == String(out[name]!))
            scan = scan[p.upperBound...]
        }
        return out
    }

    func attribute(_ tag: String, _ name: String) -> String? {
        guard let r = tag.range(of: " \(name)=\"") else { return nil }
        let rest = tag[r.upperBound...]
        return String(rest[..<(rest.firstIndex(of: "\"") ?? rest.endIndex)])
    }

    func chromium(_ args: [String], profile: String) throws -> RunResult {
        try run("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)"] + args)
    }

    @Test func reportOpensInChromiumWithEveryChart() throws {
        let w = try workload()
        #expect(haveTool("chromium"), "Debian's chromium must be installed (scripts/setup.sh installs it)")
        try #require(haveTool("chromium"))
        let html = w.dir + "/report.html"
        let rep = try run("fio-replay", ["report", w.iolog, w.recording, w.json, "-o", html, "--interval", "50ms"])
        #expect(rep.status == 0, "\(rep.stderr)")
        #expect(rep.stdout.contains("report: \(html)"))
        let page = try String(contentsOfFile: html, encoding: .utf8)
        // Self-contained: no fetch of any kind is allowed or attempted.
        #expect(page.contains("Content-Security-Policy\" content=\"default-src 'none'"))
        #expect(!page.contains("<link") && !page.contains(" src=") && !page.contains("url("))
        let noNamespace = page.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
        #expect(!noNamespace.contains("http://") && !noNamespace.contains("https://") && !noNamespace.contains("//cdn"))

        let width: UInt64 = 50_000_000
        let nA = Int(w.lines.map(\.timeNs).max()! / width) + 1
        let nB = Int(w.records.map(\.timeNs).max()! / width) + 1

        let profile = w.dir + "/chromium"
        // The browser's console goes to stderr: the page logs nothing, so any CONSOLE line
        // (an uncaught exception, a refused fetch) is a failure.
        let dump = try chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + html], profile: profile)
        #expect(dump.status == 0, "\(dump.stderr.suffix(2000))")
        let console = dump.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        #expect(console.isEmpty, "browser console: \(console.joined(separator: "\n"))")
        let dom = dump.stdout
        // The page's error trap marks <html> with data-script-errors on any uncaught error.
        let htmlTag = dom.range(of: "<html").map { r in String(dom[r.lowerBound...].prefix { $0 != ">" }) } ?? ""
        #expect(htmlTag.hasPrefix("<html") && !htmlTag.contains("data-script-error"), "script error: \(htmlTag)")
        let bodyTag = dom.range(of: "<body").map { r in String(dom[r.lowerBound...].prefix { $0 != ">" }) } ?? ""
        #expect(bodyTag.contains("data-rendered=\"ok\""), "the script did not finish: \(bodyTag)")

        // IOPS and bandwidth: every op of both traces, one point per interval.
        let opsA = Set(w.lines.map(\.op)), opsB = Set(w.records.map(\.op))
        #expect(opsA == ["read", "write"] && opsB == opsA)
        var wantRate: [String: Int] = [:]
        for op in opsA { wantRate["A \(op)"] = nA }
        for op in opsB { wantRate["B \(op)"] = nB }
        #expect(try series(dom, chart: "iops") == wantRate)
        #expect(try series(dom, chart: "bandwidth") == wantRate)
        // The mix: a point per interval holding data I/O (all of them here).
        #expect(try series(dom, chart: "mix") == wantRate)
        // Block sizes: fio's 4 KiB I/Os are one size class, one stacked area per trace.
        #expect(try series(dom, chart: "sizes-A", kind: "area") == ["4 KiB": nA])
        #expect(try series(dom, chart: "sizes-B", kind: "area") == ["4 KiB": nB])
        // Latency over time: the recording's p50/p99/max, a point per interval holding that op.
        for op in ["read", "write"] {
            let n = Set(w.records.filter { $0.op == op }.map { $0.timeNs / width }).count
            #expect(try series(dom, chart: "latency-\(op)") == ["B p50": n, "B p99": n, "B max": n])
        }
        #expect(try series(dom, chart: "latency-histogram").keys.sorted() == ["B read", "B write"])
        let busy = Set(w.records.map { $0.timeNs / width }).count
        #expect(try series(dom, chart: "depth") == ["B mean": busy, "B max": busy])
        // Lateness: the k-th recorded I/O is the k-th I/O of fio's log (nothing skipped).
        var lateMax: [UInt64: UInt64] = [:]
        for (l, r) in zip(w.lines, w.records) {
            #expect(l.op == r.op && l.length == r.length)
            let late = r.timeNs >= l.timeNs ? r.timeNs - l.timeNs : 0
            lateMax[r.timeNs / width] = max(lateMax[r.timeNs / width] ?? 0, late)
        }
        let lateSeries = try series(dom, chart: "lateness")
        #expect(lateSeries.keys.sorted() == ["max", "p50", "p99"])
        #expect(lateSeries["max"] == lateMax.values.filter { $0 > 0 }.count)
        #expect(try series(dom, chart: "lateness-cdf").count == 1)
        #expect(try series(dom, chart: "percentiles").keys.sorted() == ["replay read clat", "replay write clat"])
        // Heat maps: one per trace, as many cells drawn as the records fill.
        let data = try reportData(page)
        let inputs = data["inputs"] as! [[String: Any]]
        let heatA = (inputs[0]["heat"] as! [[String: Any]])[0]
        let colNs = (heatA["colNs"] as! NSNumber).uint64Value, rowBytes = (heatA["rowBytes"] as! NSNumber).uint64Value
        let cellsA = Set(w.lines.map { "\($0.timeNs / colNs),\($0.offset / rowBytes)" }).count
        let canvases = dom.components(separatedBy: "<canvas class=\"heat\"").dropFirst().map { String($0.prefix(300)) }
        #expect(canvases.count == 2)
        #expect(canvases.first.flatMap { attribute($0, "data-cells") } == String(cellsA))
        // The offline lateness is the scheduler's own (same clock readings): the replay's JSON.
        let job = (w.replayJSON["jobs"] as! [[String: Any]])[0]
        let live = (job["replay"] as! [String: Any])["lateness_ns"] as! [String: Any]
        let pairing = data["pairing"] as! [String: Any]
        #expect((pairing["matched"] as! NSNumber).intValue == w.records.count)
        #expect((pairing["max"] as! NSNumber).uint64Value == (live["max"] as! NSNumber).uint64Value)
        for k in ["p50", "p99"] {
            let a = (pairing[k] as! NSNumber).doubleValue, b = (live[k] as! NSNumber).doubleValue
            #expect(abs(a - b) <= b * 0.02 + 2, "lateness \(k): report \(a), replay \(b)")
        }
        let charts = Int(dom.range(of: "data-charts=\"").map { dom[$0.upperBound...].prefix { $0.isNumber } } ?? "") ?? 0
        #expect(charts == dom.components(separatedBy: "<figure class=\"chart\"").count - 1 + canvases.count)

        // A screenshot of the page as a browser draws it.
        let png = w.dir + "/report.png"
        let shot = try chromium(["--hide-scrollbars", "--window-size=1000,1400", "--screenshot=\(png)", "file://" + html], profile: profile)
        #expect(shot.status == 0, "\(shot.stderr.suffix(2000))")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: png)))
        #expect(bytes.count > 20_000, "a blank page compresses to a few KB")
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let be32 = { (o: Int) in bytes[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
        #expect(be32(16) == 1000 && be32(20) == 1400)
    }

    func reportData(_ page: String) throws -> [String: Any] {
        let open = try #require(page.range(of: "<script type=\"application/json\" id=\"report-data\">"))
        let rest = page[open.upperBound...]
        let close = try #require(rest.range(of: "</script>"))
        return try JSONSerialization.jsonObject(with: Data(rest[..<close.lowerBound].utf8)) as! [String: Any]
    }

    @Test func reportOfOneTraceAndOfAJSONAlone() throws {
        let w = try workload()
        let one = w.dir + "/one.html"
        let r = try run("fio-replay", ["report", sampleTraces + "/sample-randrw.fiot", "-o", one])
        #expect(r.status == 0, "\(r.stderr)")
        let data = try reportData(try String(contentsOfFile: one, encoding: .utf8))
        let inp = (data["inputs"] as! [[String: Any]])[0]
        // 2 s at 1 ms doubled to fit 400 intervals: 8 ms, 251 intervals (the last at 2.000172 s).
        #expect((inp["w"] as! NSNumber).intValue == 8_000_000)
        #expect((inp["n"] as! NSNumber).intValue == 251)
        let ops = inp["ops"] as! [[String: Any]]
        #expect(ops.map { $0["op"] as! String } == ["read", "write"])
        #expect(ops.map { ($0["ios"] as! [NSNumber]).reduce(0) { $0 + $1.intValue } } == [1330, 608])
        #expect(data["pairing"] == nil)
        let j = try run("fio-replay", ["report", w.json, "-o", w.dir + "/json.html"])
        #expect(j.status == 0, "\(j.stderr)")
        let page = try String(contentsOfFile: w.dir + "/json.html", encoding: .utf8)
        #expect(page.contains("Report replay.json") && page.contains("lateness"))
    }

    /// A replay at --speed 2: A is drawn on the replay's schedule (fio's times / 2), so
    /// its intervals hold fio's lines binned by half their time, and pairing uses that
    /// schedule (every I/O paired, none skipped).
    @Test func reportAtSpeedDrawsTheOriginalOnTheReplaysSchedule() throws {
        let w = try workload()
        let rec = w.dir + "/speed2.fiot"
        let r = try run("fio-replay", ["replay", w.iolog, "--target", w.dir + "/target2", "--engine", "null", "--iodepth", "4",
                                       "--speed", "2", "--write-iolog", rec, "--no-progress"])
        try #require(r.status == 0, "\(r.stderr)")
        let html = w.dir + "/speed2.html"
        let rep = try run("fio-replay", ["report", w.iolog, rec, "-o", html, "--interval", "25ms"])
        #expect(rep.status == 0, "\(rep.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("A (original at speed 2)") && page.contains("at speed 2: A&#39;s charts are drawn on that schedule"))
        let data = try reportData(page)
        let a = (data["inputs"] as! [[String: Any]])[0]
        let width = (a["w"] as! NSNumber).uint64Value
        #expect(width == 25_000_000)
        var want: [String: [Int]] = [:]
        let n = (a["n"] as! NSNumber).intValue
        #expect(n == Int(w.lines.map { $0.timeNs / 2 }.max()! / width) + 1)
        for l in w.lines { want[l.op, default: Array(repeating: 0, count: n)][Int((l.timeNs / 2) / width)] += 1 }
        for o in a["ops"] as! [[String: Any]] {
            #expect((o["ios"] as! [NSNumber]).map(\.intValue) == want[o["op"] as! String], "\(o["op"]!) per interval")
        }
        let pairing = data["pairing"] as! [String: Any]
        #expect((pairing["matched"] as! NSNumber).intValue == w.lines.count)
        #expect((pairing["not_replayed"] as! NSNumber).intValue == 0 && (pairing["unpaired"] as! NSNumber).intValue == 0)
    }

    @Test func reportRefusesBadInput() throws {
        let w = try workload()
        let out = w.dir + "/bad.html"
        let missing = try run("fio-replay", ["report", w.dir + "/nope.fiot", "-o", out])
        #expect(missing.status == 1 && missing.stderr.contains("nope.fiot"))
        #expect(missing.stderr.split(separator: "\n").count == 1)
        let three = try run("fio-replay", ["report", w.iolog, w.recording, w.iolog, "-o", out])
        #expect(three.status != 0 && three.stderr.contains("at most two traces"))
        try "{\"a\": 1}".write(toFile: w.dir + "/x.json", atomically: true, encoding: .utf8)
        let notReport = try run("fio-replay", ["report", w.dir + "/x.json", "-o", out])
        #expect(notReport.status == 1 && notReport.stderr.contains("x.json") && notReport.stderr.contains("jobs"))
        let badDir = try run("fio-replay", ["report", w.iolog, "-o", w.dir + "/no/such/dir/r.html"])
        #expect(badDir.status == 1 && badDir.stderr.contains("r.html"))
        #expect(!FileManager.default.fileExists(atPath: out))
        // A trace that spans 11.6 days at 1 ms intervals: a billion rows refused up front,
        // with the remedy, and no hang.
        let far = w.dir + "/far.iolog"
        try "fio version 3 iolog\n0 /f add\n0 /f open\n0 /f read 0 4096\n1000000000000 /f read 4096 4096\n"
            .write(toFile: far, atomically: true, encoding: .utf8)
        let span = try run("fio-replay", ["info", far, "--timeseries", w.dir + "/far.csv", "--timeseries-interval", "1ms"])
        #expect(span.status == 1 && span.stderr.contains("far.iolog") && span.stderr.contains("--timeseries-interval"), "\(span.stderr)")
        #expect(span.stderr.split(separator: "\n").count == 1)
        // The report bins the same trace into at most --max-intervals intervals.
        let farReport = try run("fio-replay", ["report", far, "-o", w.dir + "/far.html"])
        #expect(farReport.status == 0, "\(farReport.stderr)")
        let farData = try reportData(try String(contentsOfFile: w.dir + "/far.html", encoding: .utf8))
        let farInput = (farData["inputs"] as! [[String: Any]])[0]
        #expect((farInput["n"] as! NSNumber).intValue <= 400)
        let farOps = farInput["ops"] as! [[String: Any]]
        #expect(farOps.count == 1 && (farOps[0]["ios"] as! [NSNumber]).reduce(0) { $0 + $1.intValue } == 2)
    }

    // MARK: progress lines

    /// The commands that stream a trace draw a progress line on a terminal (here a pseudo
    /// terminal from script(1), with the 1 s delay set to 0) and never into a pipe.
    @Test func progressLineOnATerminalOnly() throws {
        let w = try workload()
        #expect(haveTool("script"), "script(1) (bsdutils) is needed for a pseudo terminal")
        let bin = binDir
        let t = w.recording
        let cases: [(String, String)] = [
            ("info", "\(bin)/fio-replay info \(t) > /dev/null"),
            ("cat", "\(bin)/fio-replay cat \(t) > /dev/null"),
            ("convert", "\(bin)/fio-replay convert \(t) \(w.dir)/p.iolog"),
            ("report", "\(bin)/fio-replay report \(w.iolog) \(t) -o \(w.dir)/p.html > /dev/null"),
            ("fio-gen", "\(bin)/fio-gen --rw=randread --bs=4k --size=64m --number_ios=200000 -o \(w.dir)/p.fiot"),
        ]
        for (label, cmd) in cases {
            let tty = try run("script", ["-qec", "FIOTRACE_PROGRESS_DELAY_MS=0 " + cmd, "/dev/null"])
            #expect(tty.status == 0, "\(label): \(tty.stdout.suffix(500))")
            #expect(tty.stdout.contains("\r\(label): "), "\(label): no progress line on a terminal: \(tty.stdout.prefix(300))")
            #expect(tty.stdout.contains("records/s"))
            #expect(tty.stdout.contains("\r\u{1b}[K"), "\(label): the line is erased at the end")
            let pipe = try run("sh", ["-c", "FIOTRACE_PROGRESS_DELAY_MS=0 " + cmd])
            #expect(pipe.status == 0)
            #expect(!pipe.stderr.contains("\r") && !pipe.stderr.contains("\u{1b}["), "\(label): progress written into a pipe: \(pipe.stderr.prefix(300))")
        }
        // --no-progress silences it on a terminal too.
        let quiet = try run("script", ["-qec", "FIOTRACE_PROGRESS_DELAY_MS=0 \(bin)/fio-replay info --no-progress \(t) > /dev/null", "/dev/null"])
        #expect(quiet.status == 0 && !quiet.stdout.contains("\r\u{1b}[K") && !quiet.stdout.contains("\rinfo: "))
        // The .fiot footer gives the total: the line says how far along it is.
        let info = try run("script", ["-qec", "FIOTRACE_PROGRESS_DELAY_MS=0 \(bin)/fio-replay info \(t) > /dev/null", "/dev/null"])
        #expect(info.stdout.contains("info: \(w.records.count) records (100%)"))
    }
}
