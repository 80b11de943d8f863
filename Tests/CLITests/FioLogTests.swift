import Foundation
import Testing

/// One fio tool shipped (gzipped) in the fio package's documentation directory, unpacked
/// into `dir`: fiologparser.py, fio-histo-log-pctiles.py.
func fioPackageTool(_ name: String, into dir: String) throws -> String {
    let src = "/usr/share/doc/fio/\(name).gz"
    guard FileManager.default.fileExists(atPath: src) else {
        throw ToolMissing(what: "\(src) (fio's package ships it; scripts/setup.sh restores it)")
    }
    let out = dir + "/" + name
    let r = try run("sh", ["-c", "gunzip -c '\(src)' > '\(out)'"])
    guard r.status == 0 else { throw ToolMissing(what: "\(src): \(r.stderr)") }
    return out
}

struct ToolMissing: Error, CustomStringConvertible {
    var what: String
    var description: String { "missing \(what)" }
}

/// The lines of a fio log as integer columns.
func logRows(_ path: String) throws -> [[Int]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
        line.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) ?? -1 }
    }
}

func dbl(_ v: Any?) -> Double { (v as? NSNumber)?.doubleValue ?? .nan }

/// Issue 15: `run` and `replay` write fio's log files (write_bw_log, write_lat_log,
/// write_iops_log, write_hist_log and their settings) in fio's format and names, and fio's
/// own tools read them to the numbers of our JSON.
@Suite(.serialized) struct FioLogTests {
    /// Every I/O logged (log_avg_msec=0): the clat and lat logs hold exactly the JSON's
    /// samples (count, min, max, mean), the bandwidth log is fio's bytes*10^6/clat of each I/O,
    /// the IOPS log is 1 per I/O, slat stays empty for a synchronous engine (as in fio), and
    /// fio-histo-log-pctiles.py reads the histogram log to the JSON's clat percentiles within
    /// the log's resolution (a bucket is 1/64 of its values wide).
    @Test func perIOLogsHoldTheJSONSamplesAndFioReadsTheHistogram() throws {
        let dir = makeTempDir("fiolog"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=j", "--filename=\(dir)/data", "--size=16m", "--rw=randread", "--bs=4k",
                                       "--ioengine=psync", "--runtime=1", "--time_based", "--write_bw_log=x", "--write_lat_log=x",
                                       "--write_iops_log=x", "--write_hist_log=x", "--log_hist_msec=50",
                                       "--output-format=json", "--no-progress"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r)
        let read = opStats(j, "read")
        let n = int(read["total_ios"])
        #expect(n > 1000)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".log") }.sorted()
        #expect(names == ["x_bw.1.log", "x_clat.1.log", "x_clat_hist.1.log", "x_iops.1.log", "x_lat.1.log", "x_slat.1.log"])

        for (file, key) in [("x_clat.1.log", "clat_ns"), ("x_lat.1.log", "lat_ns")] {
            let rows = try logRows("\(dir)/\(file)")
            let want = read[key] as! [String: Any]
            #expect(rows.count == n, "\(file)")
            #expect(rows.allSatisfy { $0.count == 5 && $0[2] == 0 && $0[3] == 4096 && $0[4] == 0 }, "\(file): fio's 5 columns, read, 4 KiB, prio 0")
            let v = rows.map { $0[1] }
            #expect(v.min() == int(want["min"]) && v.max() == int(want["max"]), "\(file)")
            let mean = Double(v.reduce(0, +)) / Double(v.count)
            #expect(abs(mean - dbl(want["mean"])) <= 1e-6 * mean, "\(file): \(mean) vs \(dbl(want["mean"]))")
            let times = rows.map { $0[0] }
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 } && times.last! <= 1100)
        }
        let clat = try logRows("\(dir)/x_clat.1.log"), bw = try logRows("\(dir)/x_bw.1.log"), iops = try logRows("\(dir)/x_iops.1.log")
        #expect(bw.count == n && iops.count == n)
        // fio's per-I/O bandwidth: bytes * 1e6 / clat (ns), integer, for the same I/O.
        #expect(zip(bw, clat).allSatisfy { $0[1] == (4096 * 1_000_000) / max(1, $1[1]) && $0[0] == $1[0] })
        #expect(iops.allSatisfy { $0[1] == 1 })
        #expect(try String(contentsOfFile: "\(dir)/x_slat.1.log", encoding: .utf8).isEmpty)

        let hist = try logRows("\(dir)/x_clat_hist.1.log")
        #expect(hist.count >= 10 && hist.allSatisfy { $0.count == 3 + 1856 && $0[1] == 0 })
        let tool = try fioPackageTool("fio-histo-log-pctiles.py", into: dir)
        let p = try run("python3", [tool, "\(dir)/x_clat_hist.1.log", "--percentiles", "50", "90", "99", "--time-quantum", "10",
                                    "--output-unit", "usec"])
        #expect(p.status == 0, "\(p.stdout)\(p.stderr)")
        // "msec-since-start, samples, median, 90.0, 99.0" then one row per time quantum.
        let row = p.stdout.split(separator: "\n").last!.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let samples = Int(row[1]) ?? -1
        // fio leaves the last (partial) histogram window out of the log; it is under 50 ms.
        #expect(samples <= n && samples >= n * 9 / 10, "\(samples) of \(n)")
        let pct = read["clat_ns"].flatMap { ($0 as? [String: Any])?["percentile"] as? [String: Any] } ?? [:]
        for (k, col) in [("50.000000", 2), ("90.000000", 3), ("99.000000", 4)] {
            let ours = dbl(pct[k]), theirs = (Double(row[col]) ?? .nan) * 1000
            #expect(abs(ours - theirs) <= ours * 2 / 64 + 2, "p\(k): JSON \(ours) ns, fio-histo-log-pctiles \(theirs) ns")
        }
    }

    /// Averaged logs (log_avg_msec): entries every whole window with block size and offset 0;
    /// with log_max_value the clat log's largest entry is the JSON's clat max exactly; the
    /// bandwidth and IOPS logs, read by fio2gnuplot and fiologparser.py, average to the
    /// JSON's bytes and I/Os over the job's 2 s (the job is rate limited, so every window
    /// holds the same), and their largest window is the JSON's bw_max (the report's samples
    /// are the log's windows, as in fio).
    @Test func averagedLogsAgreeWithTheJSONThroughFiosTools() throws {
        let dir = makeTempDir("fiolog"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=j", "--filename=\(dir)/data", "--size=16m", "--rw=randread", "--bs=4k",
                                       "--ioengine=psync", "--rate_iops=2000", "--runtime=2", "--time_based",
                                       "--write_bw_log=x", "--write_iops_log=x", "--write_lat_log=x", "--log_avg_msec=250",
                                       "--log_max_value=1", "--output-format=json", "--no-progress"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let read = opStats(try json(r), "read")
        let bw = try logRows("\(dir)/x_bw.1.log"), iops = try logRows("\(dir)/x_iops.1.log"), clat = try logRows("\(dir)/x_clat.1.log")
        #expect((7...8).contains(bw.count) && iops.count == bw.count, "\(bw.count) windows")
        #expect(bw.enumerated().allSatisfy { $0.element[0] == 250 * ($0.offset + 1) && $0.element.count == 5 && $0.element[3] == 0 })
        // 2000 IOPS of 4 KiB: 8000 KiB/s in every window, give or take the I/Os a late wake-up
        // moves across its edges (a busy machine).
        #expect(iops.allSatisfy { abs($0[1] - 2000) <= 200 } && bw.allSatisfy { abs($0[1] - 8000) <= 800 }, "\(iops.map { $0[1] })")
        #expect(zip(iops, bw).allSatisfy { $1[1] == $0[1] * 4 }, "4 KiB per I/O")
        #expect(clat.map { $0[1] }.max() == int((read["clat_ns"] as! [String: Any])["max"]))
        let kibPerSec = Double(int(read["io_kbytes"])) / 2, iopsPerSec = Double(int(read["total_ios"])) / 2

        // fio2gnuplot: min, max and average of the bandwidth log.
        try FileManager.default.createDirectory(atPath: dir + "/g", withIntermediateDirectories: true)
        let g = try run("sh", ["-c", "cd '\(dir)' && fio2gnuplot -b -d g"])
        #expect(g.status == 0, "\(g.stdout)\(g.stderr)")
        let global = try String(contentsOfFile: dir + "/g/result.global", encoding: .utf8)
        func field(_ k: String) -> Double {
            global.split(separator: "\n").first { $0.hasPrefix(k + "=") }.flatMap { Double($0.dropFirst(k.count + 1)) } ?? .nan
        }
        #expect(abs(field("avg") - kibPerSec) <= 0.03 * kibPerSec, "\(global) vs \(kibPerSec) KiB/s")
        #expect(field("min") >= 0.9 * field("avg") && abs(field("max") - dbl(read["bw_max"])) <= 0.02 * dbl(read["bw_max"]),
                "\(global) vs bw_max \(dbl(read["bw_max"]))")

        // fiologparser.py (fio 3.33's) splits four columns; fio 3.33's own logs have five, so
        // the priority column is cut off first, for fio's logs as for ours.
        let parser = try fioPackageTool("fiologparser.py", into: dir)
        let fp = try run("sh", ["-c", "cut -d, -f1-4 '\(dir)/x_iops.1.log' > '\(dir)/iops4.log' && python3 '\(parser)' '\(dir)/iops4.log'"])
        #expect(fp.status == 0, "\(fp.stderr)")
        let avg = Double(fp.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan
        #expect(abs(avg - iopsPerSec) <= 0.03 * iopsPerSec, "fiologparser \(avg) vs \(iopsPerSec) IOPS")
    }

    /// The same job file through fio 3.33 and `run` (null engine: every I/O is logged, 256
    /// per job): the same files by name (job numbers, shared per_job_logs=0 files, the types
    /// write_lat_log opens), the same line counts and columns. A shared file is appended
    /// to, also by a second run, as fio does.
    @Test func sameFilesAndShapesAsFio() throws {
        let fioDir = makeTempDir("fiolog"), ours = makeTempDir("fiolog")
        defer { cleanup(fioDir); cleanup(ours) }
        let job = """
        [global]
        ioengine=null
        size=1m
        bs=4k
        rw=read
        write_iops_log
        write_lat_log=L
        [a]
        numjobs=2
        [b]
        per_job_logs=0
        write_bw_log=B
        log_offset=1
        """
        for d in [fioDir, ours] { try job.write(toFile: d + "/j.fio", atomically: true, encoding: .utf8) }
        let f = try run("fio", ["j.fio", "--output=/dev/null"], cwd: fioDir)
        #expect(f.status == 0, "\(f.stderr)")
        let o = try run("fio-replay", ["run", "j.fio", "--no-progress", "--output-format=json"], cwd: ours)
        #expect(o.status == 0, "\(o.stderr)")
        func shape(_ d: String) throws -> [String: [Int]] {
            var m: [String: [Int]] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: d) where name.hasSuffix(".log") {
                let rows = try logRows(d + "/" + name)
                m[name] = [rows.count] + Array(Set(rows.map(\.count))).sorted()
            }
            return m
        }
        let want = try shape(fioDir)
        #expect(want.count == 13 && want["B_bw.log"] == [256, 6] && want["L_slat.2.log"] == [0])
        #expect(try shape(ours) == want)
        // A second run appends to the shared (per_job_logs=0) files and replaces the others.
        _ = try run("fio", ["j.fio", "--output=/dev/null"], cwd: fioDir)
        _ = try run("fio-replay", ["run", "j.fio", "--no-progress", "--output-format=json"], cwd: ours)
        let again = try shape(fioDir)
        #expect(again["B_bw.log"] == [512, 6] && again["a_iops.1.log"] == [256, 5])
        #expect(try shape(ours) == again)
    }

    /// `replay` writes the same logs under its flags: job "replay", number 1; every data I/O
    /// in the clat log with its direction, and nothing else.
    @Test func replayWritesFioLogs() throws {
        let dir = makeTempDir("fiolog"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["replay", sampleTraces + "/sample-randrw.fiot", "--target", dir + "/t", "--timing", "none",
                                       "--iodepth", "4", "--write-lat-log", "r", "--write-iops-log", "", "--log-offset",
                                       "--output-format", "json", "--no-progress"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r)
        let clat = try logRows(dir + "/r_clat.1.log")
        let iops = try logRows(dir + "/replay_iops.1.log")
        for (op, d) in [("read", 0), ("write", 1)] {
            let n = int(opStats(j, op)["total_ios"])
            #expect(n > 0 && clat.filter { $0[2] == d }.count == n && iops.filter { $0[2] == d }.count == n, "\(op)")
        }
        #expect(clat.allSatisfy { $0.count == 6 && $0[3] == 4096 && $0[4] % 4096 == 0 })
        #expect(FileManager.default.fileExists(atPath: dir + "/r_slat.1.log") && FileManager.default.fileExists(atPath: dir + "/r_lat.1.log"))
    }

    /// percentile_list as fio has it: the JSON lists exactly those percentiles (sorted) and
    /// the text report shows them with the decimals they were given, as fio 3.33 does.
    @Test func percentileListAsFio() throws {
        let dir = makeTempDir("fiolog"); defer { cleanup(dir) }
        let args = ["--name=p", "--filename=\(dir)/data", "--size=4m", "--rw=read", "--bs=4k", "--ioengine=psync",
                    "--number_ios=200", "--percentile_list=99.9:50:10"]
        let fj = try run("fio", args + ["--output-format=json"])
        let oj = try run("fio-replay", ["run"] + args + ["--output-format=json", "--no-progress"])
        #expect(fj.status == 0 && oj.status == 0, "\(fj.stderr)\(oj.stderr)")
        func keys(_ r: RunResult) throws -> [String] {
            let clat = opStats(try json(r), "read")["clat_ns"] as! [String: Any]
            return (clat["percentile"] as! [String: Any]).keys.sorted()
        }
        #expect(try keys(oj) == keys(fj))
        #expect(try keys(oj) == ["10.000000", "50.000000", "99.900000"])
        let ft = try run("fio", args), ot = try run("fio-replay", ["run"] + args + ["--no-progress"])
        for t in [ft.stdout, ot.stdout] {
            #expect(t.contains("| 10.0th=[") && t.contains(", 50.0th=[") && t.contains(", 99.9th=["), "\(t)")
        }
        let bad = try run("fio-replay", ["run"] + args.dropLast() + ["--percentile_list=50:101", "--no-progress"])
        #expect(bad.status != 0 && bad.stderr.contains("percentile_list") && bad.stderr.contains("101"))
    }

    /// unlink=1 removes the job's file when the job is done (fio does the same); without it
    /// the file stays.
    @Test func unlinkRemovesTheJobsFiles() throws {
        let dir = makeTempDir("fiolog"); defer { cleanup(dir) }
        for (tool, pre) in [("fio", ["--output=/dev/null"]), ("fio-replay", ["run", "--no-progress"])] {
            for unlinkIt in [true, false] {
                let path = "\(dir)/\(tool)-\(unlinkIt)"
                let args = ["--name=u", "--filename=\(path)", "--size=1m", "--rw=write", "--bs=64k", "--ioengine=psync", "--unlink=\(unlinkIt ? 1 : 0)"]
                let r = try run(tool, tool == "fio" ? args + pre : pre + args)
                #expect(r.status == 0, "\(r.stderr)")
                #expect(FileManager.default.fileExists(atPath: path) == !unlinkIt, "\(tool) unlink=\(unlinkIt)")
            }
        }
    }
}
