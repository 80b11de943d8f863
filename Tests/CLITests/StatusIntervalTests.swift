import Foundation
import Testing
@testable import FioTrace

/// fio's --status-interval: the full report of the statistics so far every interval, in
/// the output format asked for, then the final report. Ground truth: a rate-limited run
/// whose counts at each interval are known (rate x elapsed time), the final report, and
/// fio's own JSON shape.
@Suite(.serialized) struct StatusIntervalTests {
    /// The JSON objects of a stream of reports, in order.
    func jsonObjects(_ text: String) throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        var depth = 0, start: String.Index?
        var inString = false, escaped = false
        for i in text.indices {
            let c = text[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                continue
            }
            switch c {
            case "\"": inString = true
            case "{": if depth == 0 { start = i }; depth += 1
            case "}":
                depth -= 1
                if depth == 0, let s = start {
                    let obj = try JSONSerialization.jsonObject(with: Data(text[s...i].utf8)) as! [String: Any]
                    out.append(obj)
                }
            default: break
            }
        }
        return out
    }

    /// Every key path of a JSON value (arrays by their first element), for shape checks.
    func keyPaths(_ v: Any, _ prefix: String = "") -> Set<String> {
        var out: Set<String> = []
        if let d = v as? [String: Any] {
            for (k, x) in d { out.insert(prefix + "/" + k); out.formUnion(keyPaths(x, prefix + "/" + k)) }
        } else if let a = v as? [Any], let f = a.first {
            out.formUnion(keyPaths(f, prefix + "[]"))
        }
        return out
    }

    @Test func runPrintsAReportEveryIntervalThenTheFinalOne() throws {
        let dir = makeTempDir("status"); defer { cleanup(dir) }
        let job = ["run", "--name=t", "--ioengine=null", "--rw=read", "--bs=4k", "--size=1g", "--time_based",
                   "--runtime=2", "--rate_iops=1000", "--no-progress"]
        let r = try run("fio-replay", job + ["--status-interval=500ms", "--output-format=json"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let objs = try jsonObjects(r.stdout)
        // Interim reports at 0.5, 1.0 and 1.5 s (and maybe one at the very end), then the final.
        #expect((4...5).contains(objs.count), "\(objs.count) reports")
        let reads = objs.map { opStats($0, "read") }
        let final = reads.last!
        #expect(int(final["total_ios"]) == 2000 && (1990...2100).contains(int(final["runtime"])), "\(final)")
        for (k, rd) in reads.dropLast().enumerated() {
            let ms = int(rd["runtime"])
            if k < 3 { #expect(abs(ms - 500 * (k + 1)) <= 100, "report \(k + 1): runtime \(ms) ms") }
            // 1000 I/Os per second: what the report counts is what the rate allows by then.
            #expect(abs(int(rd["total_ios"]) - ms) <= 60, "report \(k + 1): \(int(rd["total_ios"])) I/Os in \(ms) ms")
        }
        #expect(zip(reads, reads.dropFirst()).allSatisfy { int($0["total_ios"]) <= int($1["total_ios"]) })
        // Every interim report has the final report's shape (itself checked against fio's).
        for o in objs.dropLast() { #expect(keyPaths(o) == keyPaths(objs.last!)) }

        // fio's own interim reports have the same keys (apart from our `replay` object).
        if haveTool("fio") {
            let f = try run("fio", ["--name=t", "--ioengine=null", "--rw=read", "--bs=4k", "--size=1g", "--time_based",
                                    "--runtime=2", "--rate_iops=1000", "--status-interval=1", "--output-format=json"], cwd: dir)
            let fobjs = try jsonObjects(f.stdout)
            #expect(fobjs.count >= 2, "fio printed \(fobjs.count) reports")
            let ours = keyPaths(objs[0]).filter { !$0.contains("/replay") && !$0.contains("/disk_util") }
            let theirs = keyPaths(fobjs[0]).filter { !$0.contains("/disk_util") }
            #expect(ours == theirs, "only ours: \(ours.subtracting(theirs).sorted().prefix(5)); only fio's: \(theirs.subtracting(ours).sorted().prefix(5))")
        }

        // Shorter runs (1 s, reports at 0.4 and 0.8 s, maybe 1 s, then the final).
        let short = job.map { $0 == "--runtime=2" ? "--runtime=1" : $0 } + ["--status-interval=400ms"]
        // --output: the same reports, in order, in the file; nothing on stdout.
        let o = try run("fio-replay", short + ["--output-format=json", "--output", dir + "/rep.json"], cwd: dir)
        #expect(o.status == 0 && o.stdout.isEmpty, "\(o.stderr)")
        let fileObjs = try jsonObjects(try String(contentsOfFile: dir + "/rep.json", encoding: .utf8))
        #expect((3...4).contains(fileObjs.count) && int(opStats(fileObjs.last!, "read")["total_ios"]) == 1000)

        // The normal text: one report per interval, then the final.
        let t = try run("fio-replay", short, cwd: dir)
        #expect(t.status == 0)
        #expect((3...4).contains(t.stdout.components(separatedBy: "read: IOPS=").count - 1), "\(t.stdout)")
        // A bad interval is refused by name.
        let bad = try run("fio-replay", job + ["--status-interval=0"], cwd: dir)
        #expect(bad.status != 0 && bad.stderr.contains("--status-interval"))
    }

    /// A trace replayed at its own pace: the interim reports count what the trace had issued
    /// by then (a fio-gen trace at 1000 I/Os per second, by its service model).
    @Test func replayPrintsReportsAsItGoes() throws {
        let dir = makeTempDir("status"); defer { cleanup(dir) }
        let g = try run("fio-gen", ["--name=g", "--rw=randread", "--bs=4k", "--size=16m", "--number_ios=1500",
                                    "--service-time=1ms", "-o", dir + "/t.fiot", "-q"])
        #expect(g.status == 0, "\(g.stderr)")
        let r = try run("fio-replay", ["replay", dir + "/t.fiot", "--engine", "null", "--target", dir + "/data",
                                       "--status-interval=500ms", "--output-format=json", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let objs = try jsonObjects(r.stdout)
        #expect((3...4).contains(objs.count), "\(objs.count) reports")
        let reads = objs.map { opStats($0, "read") }
        #expect(int(reads.last!["total_ios"]) == 1500)
        #expect(abs(int(reads[0]["total_ios"]) - 500) <= 60, "first report: \(int(reads[0]["total_ios"])) I/Os")
        #expect(abs(int(reads[1]["total_ios"]) - 1000) <= 60, "second report: \(int(reads[1]["total_ios"])) I/Os")
    }
}
