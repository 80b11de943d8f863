import Foundation
import Testing
@testable import FioTrace

/// The repository's traces/ directory (tests read nothing outside the repository).
let repoTraces: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("traces").path
}()

/// `compare --json`: exit status and scope -> metric -> fields.
func compareMetrics(_ a: String, _ b: String, _ extra: [String] = []) throws -> (status: Int32, scopes: [String: [String: [String: Any]]], raw: [String: Any]) {
    let r = try run("fio-replay", ["compare", "--json", a, b] + extra)
    #expect(!r.signaled, "compare crashed: \(r.stderr)")
    let doc = try JSONSerialization.jsonObject(with: r.stdoutData) as! [String: Any]
    var scopes: [String: [String: [String: Any]]] = [:]
    for s in doc["scopes"] as! [[String: Any]] {
        var m: [String: [String: Any]] = [:]
        for x in s["metrics"] as! [[String: Any]] { m[x["metric"] as! String] = x }
        scopes[s["scope"] as! String] = m
    }
    return (r.status, scopes, doc)
}

func distance(_ m: [String: [String: Any]], _ name: String) -> Double? { m[name]?["distance"] as? Double }

/// A job file's options (last section), as written.
func jobOptions(_ path: String) throws -> [String: String] {
    var out: [String: String] = [:]
    for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
        if line.hasPrefix("#") || line.hasPrefix("[") { continue }
        let p = line.split(separator: "=", maxSplits: 1).map(String.init)
        out[p[0]] = p.count > 1 ? p[1] : ""
    }
    return out
}

/// fio's write_iolog (v3) counted by awk-style parsing: action -> count, and (action, size) -> count.
func fioLogCounts(_ path: String) throws -> (ops: [String: Int], sizes: [String: [Int: Int]]) {
    var ops: [String: Int] = [:]
    var sizes: [String: [Int: Int]] = [:]
    for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst() {
        let f = line.split(separator: " ")
        guard f.count >= 3 else { continue }
        let action = String(f[2])
        ops[action, default: 0] += 1
        if (action == "read" || action == "write"), f.count >= 5, let len = Int(f[4]) { sizes[action, default: [:]][len, default: 0] += 1 }
    }
    return (ops, sizes)
}

@Suite(.serialized) struct CompareTests {
    /// A trace against itself: every distance is 0, and --max-distance 0 passes.
    @Test func selfComparisonIsZero() throws {
        let t = repoTraces + "/sample-randrw.fiot"
        let (status, scopes, _) = try compareMetrics(t, t, ["--max-distance", "0"])
        #expect(status == 0)
        let all = try #require(scopes["all"])
        #expect(all.count >= 15)
        for (name, m) in all { #expect(m["distance"] as? Double == 0, "\(name)") }
        for name in ["data_ios", "read_share", "block_size.read", "sequential_share", "footprint", "reuse_distance", "interarrival", "timeline", "iops"] {
            #expect(all[name] != nil, "metric \(name) missing")
        }
    }

    /// A trace against the recording of its replay: what the replay cannot change is
    /// identical; timing distributions are close (how close depends on the machine's load).
    @Test func replayRecordingIsClose() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let t = repoTraces + "/sample-randrw.fiot"
        let rep = try run("fio-replay", ["replay", t, "--target", dir + "/target", "--iodepth", "16", "--engine", "psync",
                                         "--write-iolog", dir + "/rec.fiot", "--no-progress", "--output", dir + "/report.txt"])
        #expect(rep.status == 0, "\(rep.stderr)")
        let (status, scopes, _) = try compareMetrics(t, dir + "/rec.fiot")
        #expect(status == 0)
        let all = try #require(scopes["all"])
        for name in ["data_ios", "data_bytes", "ios.read", "ios.write", "read_share", "block_size.read", "block_size.write",
                     "sequential_share", "footprint", "reuse_distance", "cold_share"] {
            #expect(distance(all, name) == 0, "\(name): \(distance(all, name) ?? -1)")
        }
        #expect(try #require(distance(all, "duration")) < 0.02)
        #expect(try #require(distance(all, "timeline")) < 0.05)
        #expect(try #require(distance(all, "iops")) < 0.15)
        // The gaps differ only as much as the replay was late: each late I/O changes the two
        // gaps around it, so D stays within twice the share of I/Os issued more than 20 us
        // off their due time (plus sampling noise). The share itself depends on the load.
        var so = try openTraceSource(path: t), sr = try openTraceSource(path: dir + "/rec.fiot")
        var orig: [UInt64] = [], rec: [UInt64] = []
        var batch: [TraceRecord] = []
        while try so.nextBatch(&batch, maxCount: 4096) { orig += batch.filter { $0.op.isData }.map(\.time) }
        while try sr.nextBatch(&batch, maxCount: 4096) { rec += batch.filter { $0.op.isData }.map(\.time) }
        #expect(orig.count == rec.count)
        let late = Double(zip(orig, rec).filter { $0 > $1 + 20_000 || $1 > $0 + 20_000 }.count) / Double(max(1, orig.count))
        let d = try #require(distance(all, "interarrival"))
        print("replay: \(fixed(100 * late, 1)) % of I/Os more than 20 us off schedule; inter-arrival KS D \(fixed(d, 3))")
        #expect(d <= 2 * late + 0.05)
        // Shown: the text report.
        print(try run("fio-replay", ["compare", t, dir + "/rec.fiot"]).stdout)
    }

    /// Unrelated traces: large distances, and --max-distance turns them into exit status 2.
    @Test func unrelatedTracesAreFarApart() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let seq = dir + "/seq.fiot"
        #expect(try run("fio-gen", ["-q", "--name=s", "--rw=write", "--bs=64k", "--size=32m", "--fsync=16", "-o", seq]).status == 0)
        let t = repoTraces + "/sample-randrw.fiot"
        let (status, scopes, doc) = try compareMetrics(t, seq, ["--max-distance", "0.3"])
        #expect(status == 2)
        let all = try #require(scopes["all"])
        #expect(try #require(distance(all, "read_share")) > 0.6)
        #expect(try #require(distance(all, "sequential_share")) > 0.9)
        #expect(try #require(distance(all, "block_size.write")) == 1)
        #expect(try #require(distance(all, "interarrival")) > 0.5)
        #expect((doc["over"] as? [Any])?.isEmpty == false)
        let text = try run("fio-replay", ["compare", t, seq, "--max-distance", "0.3"])
        #expect(text.status == 2 && text.stderr.contains("above 0.3"))
        print(text.stdout)
    }

    /// KS D and W1 of block sizes against python over the iologs' raw lengths.
    @Test func blockSizeDistanceMatchesPython() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        var rng = SplitMix64(seed: 31)
        for (name, sizes) in [("a", [4096, 8192, 16384, 65536]), ("b", [4096, 8192, 12288, 131072])] {
            var text = "fio version 3 iolog\n1 f add\n2 f open\n"
            for i in 0..<3000 {
                let s = sizes[Int(rng.next() % UInt64(i % 3 == 0 ? 2 : 4))]
                text += "\(10 + i) f write \(UInt64(i) * 131072) \(s)\n"
            }
            try text.write(toFile: "\(dir)/\(name).iolog", atomically: true, encoding: .utf8)
        }
        let (_, scopes, _) = try compareMetrics(dir + "/a.iolog", dir + "/b.iolog")
        let m = try #require(scopes["all"]?["block_size.write"])
        let py = """
        import sys
        def sizes(p):
            return sorted(int(l.split()[4]) for l in open(p) if ' write ' in l)
        a, b = sizes(sys.argv[1]), sizes(sys.argv[2])
        xs = sorted(set(a) | set(b))
        import bisect
        fa = [bisect.bisect_right(a, x) / len(a) for x in xs]
        fb = [bisect.bisect_right(b, x) / len(b) for x in xs]
        d = max(abs(p - q) for p, q in zip(fa, fb))
        w = sum(abs(fa[i] - fb[i]) * (xs[i + 1] - xs[i]) for i in range(len(xs) - 1))
        print(repr(d), repr(w))
        """
        let out = try run("python3", ["-c", py, dir + "/a.iolog", dir + "/b.iolog"])
        let v = out.stdout.split(separator: " ").map { Double($0.trimmingCharacters(in: .whitespacesAndNewlines))! }
        #expect(abs((m["ks"] as! Double) - v[0]) < 1e-9)
        #expect(abs((m["wasserstein"] as! Double) - v[1]) < 1e-6)
    }
}

@Suite(.serialized) struct FitTests {
    /// Fits `job` to the trace fio-gen makes from it, regenerates the fitted job with
    /// fio-gen, compares, and runs the fitted job with fio 3.33 (writing its iolog).
    func roundTrip(_ name: String, _ job: String, in dir: String, fio: Bool = true) throws
        -> (fitted: [String: String], jobText: String, compare: [String: [String: Any]], fioLog: String?) {
        try job.write(toFile: "\(dir)/\(name).fio", atomically: true, encoding: .utf8)
        let g = try run("fio-gen", ["-q", "\(dir)/\(name).fio", "-o", "\(dir)/\(name).fiot"])
        #expect(g.status == 0, "\(g.stderr)")
        let f = try run("fio-replay", ["fit", "\(dir)/\(name).fiot", "-o", "\(dir)/\(name)-fit.fio"])
        #expect(f.status == 0, "\(f.stderr)")
        let jobText = try String(contentsOfFile: "\(dir)/\(name)-fit.fio", encoding: .utf8)
        print(jobText)
        let re = try run("fio-gen", ["-q", "\(dir)/\(name)-fit.fio", "-o", "\(dir)/\(name)-re.fiot"])
        #expect(re.status == 0, "fio-gen could not read the fitted job: \(re.stderr)")
        let (status, scopes, _) = try compareMetrics("\(dir)/\(name).fiot", "\(dir)/\(name)-re.fiot", ["--max-distance", "0.1"])
        #expect(status == 0, "compare of the original and the fitted job's trace exceeds 0.1")
        print(try run("fio-replay", ["compare", "\(dir)/\(name).fiot", "\(dir)/\(name)-re.fiot"]).stdout)
        var fioLog: String?
        if fio {
            #expect(haveTool("fio"), "fio must be installed (scripts/test.sh installs it)")
            let work = "\(dir)/fio-\(name)"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            // The job file as it is; the command line only adds logging.
            let r = try run("fio", ["--output=\(work)/fio.out", "--write_iolog=\(work)/fio.iolog", "\(dir)/\(name)-fit.fio"], cwd: work)
            #expect(r.status == 0, "fio failed on the fitted job: \(r.stderr) \((try? String(contentsOfFile: "\(work)/fio.out", encoding: .utf8)) ?? "")")
            fioLog = "\(work)/fio.iolog"
        }
        return (try jobOptions("\(dir)/\(name)-fit.fio"), jobText, try #require(scopes["all"]), fioLog)
    }

    @Test func randrwBssplitZipf() throws {
        let dir = makeTempDir("fit"); defer { cleanup(dir) }
        let job = "[zrw]\nrw=randrw\nrwmixread=70\nbssplit=4k/60:8k/30:64k/10\nrandom_distribution=zipf:1.2\nsize=256m\nnumber_ios=20000\n"
        let (opts, _, all, log) = try roundTrip("zipf", job, in: dir)
        #expect(opts["rw"] == "randrw")
        let theta = try #require(opts["random_distribution"].flatMap { $0.hasPrefix("zipf:") ? Double($0.dropFirst(5)) : nil })
        #expect(abs(theta - 1.2) <= 0.1, "theta \(theta)")
        let mix = try #require(opts["rwmixread"].flatMap { Int($0) })
        #expect(abs(mix - 70) <= 2)
        // Block sizes: exactly the three, each share within 2 points.
        let split = try #require(opts["bssplit"])
        var shares: [String: Int] = [:]
        for e in split.split(separator: ":") { let p = e.split(separator: "/"); shares[String(p[0])] = Int(p[1]) }
        #expect(Set(shares.keys) == ["4k", "8k", "64k"])
        #expect(abs(shares["4k"]! - 60) <= 2 && abs(shares["8k"]! - 30) <= 2 && abs(shares["64k"]! - 10) <= 2)
        #expect(opts["size"] == "256m" && opts["offset"] == nil && opts["number_ios"] == "20000")
        #expect(try #require(distance(all, "reuse_distance")) < 0.1)
        // What fio did with the job: the same count, mix and sizes.
        let (ops, sizes) = try fioLogCounts(try #require(log))
        #expect(ops["read", default: 0] + ops["write", default: 0] == 20000)
        #expect(abs(Double(ops["read", default: 0]) / 20000 - 0.70) <= 0.02)
        #expect(Set(sizes["read", default: [:]].keys) == [4096, 8192, 65536])
        // fio's zipf (hashed ranks) against the original: reuse and footprint stay close.
        let (_, fioScopes, _) = try compareMetrics(dir + "/zipf.fiot", try #require(log))
        let fa = try #require(fioScopes["all"])
        #expect(try #require(distance(fa, "reuse_distance")) < 0.1)
        #expect(try #require(distance(fa, "footprint")) < 0.1)
        #expect(try #require(distance(fa, "block_size.read")) < 0.05)
    }

    @Test func sequentialWriteWithFsync() throws {
        let dir = makeTempDir("fit"); defer { cleanup(dir) }
        let job = "[seqw]\nrw=write\nbs=64k\nsize=64m\nfsync=16\n"
        let (opts, _, all, log) = try roundTrip("seqw", job, in: dir)
        #expect(opts["rw"] == "write" && opts["bs"] == "64k" && opts["fsync"] == "16")
        #expect(opts["size"] == "64m" && opts["number_ios"] == "1024")
        #expect(opts["rate"] == nil && opts["rate_iops"] == nil) // a closed loop
        for (name, m) in all { #expect(m["distance"] as? Double == 0, "\(name)") }
        let (ops, sizes) = try fioLogCounts(try #require(log))
        #expect(ops["write"] == 1024 && sizes["write"] == [65536: 1024])
        #expect((63...64).contains(ops["sync", default: 0])) // fio: no sync after the last write
    }

    @Test func poissonRate() throws {
        let dir = makeTempDir("fit"); defer { cleanup(dir) }
        let job = "[pois]\nrw=randread\nbs=4k\nsize=64m\nrate_iops=2000\nrate_process=poisson\nruntime=2\ntime_based\n"
        let (opts, _, all, log) = try roundTrip("pois", job, in: dir)
        #expect(opts["rate_process"] == "poisson")
        let n = Double(try #require(opts["number_ios"].flatMap { Int($0) }))
        let rate = Double(try #require(opts["rate_iops"].flatMap { Int($0) }))
        // Within three standard deviations of a poisson count over the trace.
        #expect(abs(rate - 2000) / 2000 <= 3 / n.squareRoot(), "rate_iops \(rate)")
        #expect(try #require(distance(all, "interarrival")) < 0.05)
        let (ops, _) = try fioLogCounts(try #require(log))
        #expect(Double(ops["read", default: 0]) == n)
    }

    /// fio's own zipf and pareto generators (fio-genzipf -c: 65,536 draws over the 65,536
    /// 16 KiB blocks of 1 GiB, sorted hit counts) fitted with fio-gen's model: the
    /// parameter comes back.
    @Test func fioGenzipfHitCountsFitBack() throws {
        #expect(haveTool("fio-genzipf"), "fio-genzipf comes with fio")
        for (type, value) in [("zipf", 1.2), ("zipf", 0.8), ("pareto", 0.3)] {
            let r = try run("fio-genzipf", ["-t", type, "-i", String(value), "-b", "16384", "-g", "1", "-c"])
            #expect(r.status == 0)
            let counts = r.stdout.split(separator: "\n").dropFirst().compactMap { l -> UInt64? in
                let p = l.split(separator: ",")
                return p.count == 2 ? UInt64(p[1].trimmingCharacters(in: .whitespaces)) : nil
            }
            #expect(counts.reduce(0, +) == 65_536)
            let fit = DistributionFitter(counts: counts, blocks: 65_536).fit()
            print("fio-genzipf \(type):\(value) -> \(fit.model) (distance \(fit.distance)); " + fit.candidates.map { "\($0.model) \($0.distance)" }.joined(separator: ", "))
            switch (type, fit.model) {
            case ("zipf", .zipf(let t)): #expect(abs(t - value) <= 0.1, "theta \(t)")
            case ("pareto", .pareto(let h)): #expect(abs(h - value) <= 0.1, "h \(h)")
            default: Issue.record("\(type):\(value) fitted as \(fit.model)")
            }
            #expect(fit.distance < 0.05)
        }
    }

    /// The public blktrace capture: the fit runs, fio-gen and fio accept the job, and
    /// compare says what matched and what did not.
    @Test func publicBlktraceCapture() throws {
        let dir = makeTempDir("fit"); defer { cleanup(dir) }
        let t = repoTraces + "/liuzel01-sda.blktrace.0"
        let f = try run("fio-replay", ["fit", t, "-o", dir + "/blk.fio"])
        #expect(f.status == 0, "\(f.stderr)")
        let text = try String(contentsOfFile: dir + "/blk.fio", encoding: .utf8)
        print(text)
        #expect(text.contains("Not expressed by fio's job vocabulary"))
        #expect(try run("fio", ["--parse-only", dir + "/blk.fio"]).status == 0)
        #expect(try run("fio-gen", ["-q", dir + "/blk.fio", "-o", dir + "/re.fiot"]).status == 0)
        let (_, scopes, _) = try compareMetrics(t, dir + "/re.fiot")
        let all = try #require(scopes["all"])
        #expect(distance(all, "data_ios") == 0 && distance(all, "read_share") == 0) // 113 writes, as blkparse counts
        #expect(try #require(distance(all, "block_size.write")) < 0.2)
        print(try run("fio-replay", ["compare", t, dir + "/re.fiot"]).stdout)
    }

    /// Bad input: one clear line, status 1, no crash.
    @Test func badInput() throws {
        let dir = makeTempDir("fit"); defer { cleanup(dir) }
        let cases: [(String, String, String)] = [
            ("empty", "fio version 3 iolog\n", "no records"),
            ("one", "fio version 3 iolog\n1 /x add\n2 /x open\n10 /x read 0 4096\n", "one read or write"),
            ("trims", "fio version 3 iolog\n1 /x add\n2 /x open\n10 /x trim 0 4096\n20 /x trim 4096 4096\n", "only trims"),
            ("syncs", "fio version 3 iolog\n1 /x add\n2 /x open\n10 /x sync 0 0\n", "no reads or writes"),
        ]
        for (name, text, phrase) in cases {
            let p = "\(dir)/\(name).iolog"
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            let r = try run("fio-replay", ["fit", p, "-o", "\(dir)/\(name).fio"])
            #expect(!r.signaled && r.status == 1, "\(name): \(r.stderr)")
            #expect(r.stderr.contains(phrase) && r.stderr.contains(p), "\(name): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(name): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(name).fio"))
        }
    }
}

@Suite(.serialized) struct AnonymizeTests {
    static let secrets = ["/srv/mysql/db-prod-17", "ibdata1", "ib_logfile0", "db-prod-17.corp.example.com", "mysqld --defaults-file",
                          "db-prod-17", "srv/mysql"]

    /// A two-file trace with telling paths and host metadata: a zipf randrw job (reuse) and
    /// a sequential log writer (runs), as fio-gen makes them.
    func makeInput(_ dir: String) throws -> String {
        let job = """
        [data]
        filename=/srv/mysql/db-prod-17/ibdata1
        rw=randrw
        bs=16k
        size=24m
        random_distribution=zipf:1.1
        [log]
        filename=/srv/mysql/db-prod-17/ib_logfile0
        rw=write
        bs=4k
        size=24m
        fsync=8
        """
        try job.write(toFile: dir + "/job.fio", atomically: true, encoding: .utf8)
        #expect(try run("fio-gen", ["-q", dir + "/job.fio", "-o", dir + "/gen.fiot"]).status == 0)
        // Add what a recording carries: host, command line, paths in metadata.
        var s = try openTraceSource(path: dir + "/gen.fiot")
        let recs = try readAllRecords(&s)
        var md = s.metadata
        md["host"] = "db-prod-17.corp.example.com"
        md["recorder.command"] = "mysqld --defaults-file=/srv/mysql/db-prod-17/my.cnf"
        md["source.file"] = "/srv/mysql/db-prod-17/trace.iolog"
        let w = try FiotWriter(path: dir + "/in.fiot", metadata: md)
        for f in s.files { try w.define(file: f) }
        try w.write(recs)
        try w.finish(metadata: md)
        return dir + "/in.fiot"
    }

    func readAllRecords(_ s: inout any TraceSource) throws -> [TraceRecord] {
        var all: [TraceRecord] = []
        var batch: [TraceRecord] = []
        while try s.nextBatch(&batch, maxCount: 4096) { all += batch }
        return all
    }

    /// Every .fiot block's payload, decompressed by the zstd tool, plus the raw file.
    func decompressedBytes(_ path: String, _ dir: String) throws -> Data {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        var frames = Data()
        var i = 0
        while i + 40 <= d.count {
            if d[i] == 0x46 && d[i + 1] == 0x42 && d[i + 2] == 0x4C && d[i + 3] == 0x4B { // FBLK
                let c = Int(d[i + 4]) | Int(d[i + 5]) << 8 | Int(d[i + 6]) << 16 | Int(d[i + 7]) << 24
                if i + 40 + c <= d.count { frames.append(d[(i + 40)..<(i + 40 + c)]); i += 40 + c; continue }
            }
            i += 1
        }
        try frames.write(to: URL(fileURLWithPath: dir + "/frames.zst"))
        let z = try run("zstd", ["-dc", dir + "/frames.zst"])
        #expect(z.status == 0 && !z.stdoutData.isEmpty, "zstd: \(z.stderr)")
        return d + z.stdoutData
    }

    @Test func hidesNamesAndKeepsTheWorkload() throws {
        let dir = makeTempDir("anon"); defer { cleanup(dir) }
        let input = try makeInput(dir)
        // The input does carry every secret (else the checks below prove nothing).
        let inBytes = try decompressedBytes(input, dir)
        for s in Self.secrets { #expect(inBytes.range(of: Data(s.utf8)) != nil, "input lacks \(s)") }
        try Data("k3y-0f-the-t3st-\u{1}\u{2}\u{3}".utf8).write(to: URL(fileURLWithPath: dir + "/key"))
        try Data("another key, 16+ bytes".utf8).write(to: URL(fileURLWithPath: dir + "/key2"))
        for out in ["a.fiot", "a.iolog", "b.fiot", "c.fiot"] {
            let key = out == "c.fiot" ? "key2" : "key"
            let r = try run("fio-replay", ["anonymize", input, "-o", "\(dir)/\(out)", "--key-file", "\(dir)/\(key)"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        // No secret in the text output, nor in the native output's bytes, decompressed or not.
        let text = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.iolog"))
        let native = try decompressedBytes(dir + "/a.fiot", dir)
        for s in Self.secrets {
            #expect(text.range(of: Data(s.utf8)) == nil, "iolog keeps \(s)")
            #expect(native.range(of: Data(s.utf8)) == nil, ".fiot keeps \(s)")
        }
        // The same key gives the same bytes; another key other names and offsets.
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.fiot"))
        #expect(a == (try Data(contentsOf: URL(fileURLWithPath: dir + "/b.fiot"))))
        var sa = try openTraceSource(path: dir + "/a.fiot"), sc = try openTraceSource(path: dir + "/c.fiot")
        let ra = try readAllRecords(&sa), rc = try readAllRecords(&sc)
        #expect(Set(sa.files.map(\.path)).isDisjoint(with: sc.files.map(\.path)))
        #expect(ra.count == rc.count && zip(ra, rc).contains { $0.offset != $1.offset })
        #expect(sa.metadata["anonymize.kept"] != nil && sa.metadata["anonymize.destroyed"] != nil)
        #expect(sa.metadata["host"] == nil && sa.metadata["fio-gen.job"] == nil)
        // The workload: per file the same counts, mix, sizes, footprint, reuse and (up to
        // runs cut at extent boundaries) sequentiality.
        let (status, scopes, doc) = try compareMetrics(input, dir + "/a.fiot")
        #expect(status == 0)
        #expect(doc["matched_by"] as? String == "order")
        for (scope, m) in scopes {
            for name in ["data_ios", "data_bytes", "read_share", "read_bytes_share", "block_size.read", "block_size.write",
                         "footprint", "reuse_distance", "cold_share", "interarrival", "timeline"] where m[name] != nil {
                #expect(distance(m, name) == 0, "\(scope) \(name): \(distance(m, name) ?? -1)")
            }
            #expect(try #require(distance(m, "sequential_share")) <= 0.01, "\(scope)")
        }
        print(try run("fio-replay", ["compare", input, dir + "/a.fiot", "--by", "file"]).stdout)
    }

    @Test func samplingAndJitter() throws {
        let dir = makeTempDir("anon"); defer { cleanup(dir) }
        // 16 jobs, one stream each, random reads over 1 GiB: many extents and streams.
        #expect(try run("fio-gen", ["-q", "--rw=randread", "--bs=4k", "--size=1g", "--number_ios=2000", "--numjobs=16",
                                    "--name=r", "-o", dir + "/in.fiot"]).status == 0)
        var s0 = try openTraceSource(path: dir + "/in.fiot")
        let original = try readAllRecords(&s0)
        // By block: about 10 % of the records (whole extents).
        #expect(try run("fio-replay", ["anonymize", dir + "/in.fiot", "-o", dir + "/s.fiot", "--key", "k", "--sample", "10%"]).status == 0)
        var s1 = try openTraceSource(path: dir + "/s.fiot")
        let sampled = try readAllRecords(&s1)
        let share = Double(sampled.count) / Double(original.count)
        #expect(share > 0.06 && share < 0.14, "kept \(share)")
        // By stream: whole streams kept, renumbered 0..<k.
        #expect(try run("fio-replay", ["anonymize", dir + "/in.fiot", "-o", dir + "/t.fiot", "--key", "k", "--sample", "50%",
                                       "--sample-by", "stream"]).status == 0)
        var s2 = try openTraceSource(path: dir + "/t.fiot")
        let byStream = try readAllRecords(&s2)
        let kept = Set(byStream.compactMap(\.stream))
        #expect(kept.count >= 3 && kept.count <= 13 && kept == Set(0..<UInt32(kept.count)))
        #expect(byStream.count == kept.count * 2000)
        // Jitter: every time within +-50 us of its original, order kept.
        #expect(try run("fio-replay", ["anonymize", dir + "/in.fiot", "-o", dir + "/j.fiot", "--key", "k", "--jitter", "50us"]).status == 0)
        var s3 = try openTraceSource(path: dir + "/j.fiot")
        let jittered = try readAllRecords(&s3)
        #expect(jittered.count == original.count)
        var moved = 0
        for (o, j) in zip(original, jittered) {
            #expect(j.time + 50_000 >= o.time && j.time <= o.time + 50_000)
            if j.time != o.time { moved += 1 }
        }
        #expect(moved > original.count / 2)
        #expect(zip(jittered, jittered.dropFirst()).allSatisfy { $0.time <= $1.time })
        // stdin cannot be read twice; a trace without streams cannot be sampled by stream.
        let bad = try run("fio-replay", ["anonymize", "-", "-o", dir + "/x.fiot", "--key", "k"])
        #expect(bad.status != 0 && !bad.signaled && bad.stderr.contains("twice"))
        #expect(try run("fio-gen", ["-q", "--rw=read", "--size=1m", "-o", dir + "/one.fiot"]).status == 0)
        let ns = try run("fio-replay", ["anonymize", dir + "/one.fiot", "-o", dir + "/y.fiot", "--key", "k", "--sample", "50%", "--sample-by", "stream"])
        #expect(ns.status == 1 && ns.stderr.contains("no stream ids"))
    }
}
