import Foundation
import Testing
@testable import FioTrace

/// All records of a trace.
func readAll(_ path: String) throws -> (records: [TraceRecord], files: [TraceFile], metadata: [String: String]) {
    var src = try openTraceSource(path: path)
    var all: [TraceRecord] = []
    var batch: [TraceRecord] = []
    while try src.nextBatch(&batch, maxCount: 4096) { all += batch.filter { !$0.op.isFileEvent } }
    return (all, src.files, src.metadata)
}

/// `jobs[i][op]` of a fio JSON report.
func opStats(_ j: [String: Any], job: Int = 0, _ op: String) -> [String: Any] {
    ((j["jobs"] as! [[String: Any]])[job])[op] as! [String: Any]
}

func int(_ v: Any?) -> Int { (v as? NSNumber)?.intValue ?? -1 }

/// Issue 6: `fio-replay run` runs fio jobs live through the replay's scheduler and stats.
@Suite(.serialized) struct RunTests {
    /// The loop the toolkit exists for: a job run live and recorded, the recording replayed
    /// on the same file. Counts, bytes, block sizes and offsets are identical, in order, and
    /// the replay holds the recorded schedule (lateness within the replay issue's bounds).
    ///
    /// The file lives on a disk of the test's own (`PrivateDiskDir`, where root can make
    /// one): on the shared disk an io_submit now and then waited hundreds of ms for request
    /// slots behind the other suites' writes, and that stall is the disk's, not the replay's.
    @Test func liveRunRecordedThenReplayedIsIdentical() throws {
        let disk = PrivateDiskDir("run"); defer { disk.release() }
        let dir = disk.path
        let job = """
        [global]
        filename=\(dir)/data.bin
        size=8m
        ioengine=libaio
        direct=1
        [mixed]
        rw=randrw
        bssplit=4k/50:8k/30:16k/20
        iodepth=4
        thinktime=2500us
        runtime=1500ms
        time_based
        """
        try job.write(toFile: dir + "/j.fio", atomically: true, encoding: .utf8)
        let live = try run("fio-replay", ["run", dir + "/j.fio", "--write-iolog", dir + "/live.fiot",
                                          "--output-format", "json", "--no-progress", "--rt-priority", "50"])
        #expect(live.status == 0, "\(live.stderr)")
        let lj = try json(live)
        let rec = try readAll(dir + "/live.fiot")
        let reads = rec.records.filter { $0.op == .read }, writes = rec.records.filter { $0.op == .write }
        // The JSON and the recording agree with each other, per op.
        #expect(int(opStats(lj, "read")["total_ios"]) == reads.count)
        #expect(int(opStats(lj, "write")["total_ios"]) == writes.count)
        #expect(int(opStats(lj, "read")["io_bytes"]) == Int(reads.reduce(0) { $0 + $1.length }))
        #expect(int(opStats(lj, "write")["io_bytes"]) == Int(writes.reduce(0) { $0 + $1.length }))
        // One I/O every 2.5 ms (the think time; completions take far less) for 1.5 s.
        #expect((590...601).contains(rec.records.count), "\(rec.records.count) I/Os")
        #expect(rec.records.allSatisfy { $0.latency != nil && $0.result == Int64($0.length) && ($0.depth ?? 0) >= 1 && ($0.depth ?? 9) <= 4 })
        #expect(Set(rec.records.map(\.length)).isSuperset(of: [4096, 8192, 16384]))
        #expect(rec.metadata["ioengine"] == "libaio")
        #expect(rec.metadata["iodepth"] == "4")
        #expect(rec.metadata["recorder"] == "fio-replay run --write-iolog")
        #expect(rec.metadata["fio-gen.job"]?.contains("thinktime=2500us") == true)
        #expect(rec.metadata["host"] != nil && rec.metadata["tool.version"] != nil)

        // The replay may keep more I/Os in flight than the job's 4: while the other suites
        // keep both cores busy, the loop device's worker (and the disk) can leave requests
        // unserved for tens of ms; with 16 slots a 65 ms gap filled them all and the next
        // due I/O waited (p99 lateness 16 ms under a load average of 19). 64 slots cover
        // 160 ms of the job's 2.5 ms spacing, and this test checks the scheduler, not the disk.
        let rp = try run("fio-replay", ["replay", dir + "/live.fiot", "--engine", "libaio", "--direct", "--iodepth", "64",
                                        "--write-iolog", dir + "/replayed.fiot", "--output-format", "json",
                                        "--no-progress", "--rt-priority", "50"])
        #expect(rp.status == 0, "\(rp.stderr)")
        let rj = try json(rp)
        for op in ["read", "write"] {
            #expect(int(opStats(rj, op)["total_ios"]) == int(opStats(lj, op)["total_ios"]))
            #expect(int(opStats(rj, op)["io_bytes"]) == int(opStats(lj, op)["io_bytes"]))
        }
        let again = try readAll(dir + "/replayed.fiot")
        func key(_ r: TraceRecord) -> String { "\(r.op.fioName) \(r.offset) \(r.length)" }
        #expect(again.records.map(key) == rec.records.map(key))
        var bsLive: [UInt64: Int] = [:], bsReplay: [UInt64: Int] = [:]
        for r in rec.records { bsLive[r.length, default: 0] += 1 }
        for r in again.records { bsReplay[r.length, default: 0] += 1 }
        #expect(bsLive == bsReplay)
        // Fidelity: the schedule is held. The replay issue's bound is on p99 lateness (50 µs),
        // which scripts/bench-replay.sh and bench-live.sh measure on a quiet machine; here,
        // with the other test suites running on both cores at the same time, the test
        // holds p50 and p90 to the bound and 95 % of I/Os to within 100 µs.
        let replay = (rj["jobs"] as! [[String: Any]])[0]["replay"] as! [String: Any]
        let late = replay["lateness_ns"] as! [String: Any]
        #expect(int(late["N"]) == rec.records.count)
        #expect(int(late["p50"]) <= 10_000, "lateness \(late)")
        #expect(int(late["p90"]) <= 50_000, "lateness \(late)")
        #expect((late["within_100us_pct"] as! NSNumber).doubleValue >= 95, "lateness \(late)")
        let err = (replay["duration_error_pct"] as! NSNumber).doubleValue
        #expect(abs(err) < 1, "duration error \(err) %")
        // The recorded latencies are set against the replay's own, per op, I/O for I/O.
        let fid = replay["lat_fidelity"] as! [String: Any]
        for op in ["read", "write"] {
            let f = fid[op] as! [String: Any]
            #expect(int(f["N"]) == int(opStats(lj, op)["total_ios"]))
            let o = int((f["original"] as! [String: Any])["50.000000"]), r = int((f["replayed"] as! [String: Any])["50.000000"])
            #expect(o > 0 && r > 0, "\(op) p50 original \(o) replayed \(r)")
            // Same file, same device, same schedule: the same order of magnitude.
            #expect(r > o / 3 && r < o * 3, "\(op) p50 original \(o) replayed \(r)")
        }
    }

    /// numjobs: concurrent streams, one JSON job each; each stream issues exactly the offsets
    /// fio-gen generates for that clone; the shared recording keeps every stream's I/Os in
    /// its own order, tagged with the stream. group_reporting merges them into one job.
    @Test func numjobsRunAsConcurrentStreams() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let opts = ["--name=j", "--directory=\(dir)", "--size=8m", "--rw=randread", "--bs=4k", "--numjobs=3", "--direct=1",
                    "--iodepth=4", "--number_ios=1500", "--ioengine=libaio"]
        let live = try run("fio-replay", ["run"] + opts + ["--write-iolog", dir + "/live.fiot", "--output-format", "json", "--no-progress"])
        #expect(live.status == 0, "\(live.stderr)")
        let lj = try json(live)
        let jobs = lj["jobs"] as! [[String: Any]]
        #expect(jobs.count == 3)
        #expect(jobs.allSatisfy { $0["jobname"] as? String == "j" && int($0["groupid"]) == 0 })
        #expect((0..<3).allSatisfy { int(opStats(lj, job: $0, "read")["total_ios"]) == 1500 })
        let rec = try readAll(dir + "/live.fiot")
        #expect(rec.records.count == 4500)
        #expect(zip(rec.records, rec.records.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(rec.metadata["iodepth"] == "12")
        // `info` counts the records of each stream.
        let info = try run("fio-replay", ["info", "--json", dir + "/live.fiot"])
        let streams = try json(info)["streams"] as? [String: Any]
        #expect(streams?.mapValues { int($0) } == ["0": 1500, "1": 1500, "2": 1500], "\(info.stdout)")
        // Ground truth: fio-gen's trace of the same jobs, stream by stream.
        let gen = try run("fio-gen", opts + ["-o", dir + "/gen.fiot", "-q"])
        #expect(gen.status == 0, "\(gen.stderr)")
        let want = try readAll(dir + "/gen.fiot")
        for s in 0..<3 {
            let got = rec.records.filter { $0.stream == UInt32(s) }
            let exp = want.records.filter { $0.stream == UInt32(s) }
            #expect(got.count == 1500)
            #expect(got.map { rec.files[Int($0.file)].path } == exp.map { want.files[Int($0.file)].path })
            #expect(got.map(\.offset) == exp.map(\.offset), "stream \(s)")
        }
        // The streams overlapped in time (they ran at once, not one after another).
        let end0 = rec.records.filter { $0.stream == 0 }.map(\.time).max()!
        let start1 = rec.records.filter { $0.stream == 1 }.map(\.time).min()!
        #expect(start1 < end0)

        let grouped = try run("fio-replay", ["run"] + opts + ["--group_reporting", "--no-progress"])
        #expect(grouped.status == 0, "\(grouped.stderr)")
        #expect(grouped.stdout.contains("j: (groupid=0, jobs=3)"), "\(grouped.stdout)")
        #expect(grouped.stdout.contains("issued rwts: total=4500,0,0,0"), "\(grouped.stdout)")
        #expect(grouped.stdout.contains("Run status group 0 (all jobs):"))
    }

    /// stonewall: the second job starts after the first one's last I/O completed, and is
    /// reported in group 1.
    @Test func stonewallRunsJobsOneAfterAnother() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let job = """
        [global]
        filename=\(dir)/f
        size=1m
        bs=4k
        ioengine=psync
        number_ios=200
        [w]
        rw=write
        [r]
        stonewall
        rw=randread
        """
        try job.write(toFile: dir + "/j.fio", atomically: true, encoding: .utf8)
        let r = try run("fio-replay", ["run", dir + "/j.fio", "--write-iolog", dir + "/rec.fiot", "--output-format", "json", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r)
        let jobs = j["jobs"] as! [[String: Any]]
        #expect(jobs.map { int($0["groupid"]) } == [0, 1])
        #expect(int(opStats(j, job: 0, "write")["total_ios"]) == 200)
        #expect(int(opStats(j, job: 1, "read")["total_ios"]) == 200)
        let rec = try readAll(dir + "/rec.fiot")
        let firstDone = rec.records.filter { $0.stream == 0 }.map { $0.time + ($0.latency ?? 0) }.max()!
        let secondStart = rec.records.filter { $0.stream == 1 }.map(\.time).min()!
        #expect(secondStart >= firstDone)
        // Sequential writes: offsets 0, 4096, ... in order.
        #expect(rec.records.filter { $0.stream == 0 }.map(\.offset) == (0..<200).map { UInt64($0) * 4096 })
    }

    /// A rate-limited job is an open loop at its rate; runtime is wall time; time_based
    /// keeps going past one pass over the file.
    @Test func rateLimitedTimeBasedJobHoldsItsRate() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=r", "--filename=\(dir)/f", "--size=256k", "--rw=randread",
                                       "--rate_iops=500", "--runtime=2", "--time_based", "--ioengine=psync",
                                       "--output-format", "json", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r)
        let rd = opStats(j, "read")
        let n = int(rd["total_ios"])
        // 500 IOPS x 2 s, linear: 1000 (one pass over 256 KiB is only 64 I/Os).
        #expect((980...1002).contains(n), "\(n) I/Os")
        #expect((1990...2100).contains(int(rd["runtime"])), "runtime \(rd["runtime"] ?? "")")
        let replay = (j["jobs"] as! [[String: Any]])[0]["replay"] as! [String: Any]
        #expect(replay["timing"] as? String == "original")
        #expect(int((replay["lateness_ns"] as! [String: Any])["N"]) == n)
        // An unthrottled time_based job is a closed loop: far more than 1000 I/Os in 1 s.
        let c = try run("fio-replay", ["run", "--name=c", "--filename=\(dir)/f", "--size=256k", "--rw=randread",
                                       "--runtime=1", "--time_based", "--ioengine=psync", "--output-format", "json", "--no-progress"])
        #expect(c.status == 0, "\(c.stderr)")
        let cj = try json(c)
        #expect(int(opStats(cj, "read")["total_ios"]) > 5000)
        #expect((((cj["jobs"] as! [[String: Any]])[0]["replay"] as! [String: Any])["timing"] as? String) == "none")
    }

    /// A run's JSON has the same keys, nested the same way, as a replay's.
    @Test func runAndReplayJSONHaveTheSameShape() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=s", "--filename=\(dir)/f", "--size=1m", "--rw=randrw", "--number_ios=500",
                                       "--ioengine=libaio", "--iodepth=2", "--write-iolog", dir + "/rec.fiot",
                                       "--output-format", "json", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try run("fio-replay", ["replay", dir + "/rec.fiot", "--timing", "none", "--engine", "libaio",
                                       "--output-format", "json", "--no-progress"])
        #expect(p.status == 0, "\(p.stderr)")
        func paths(_ v: Any, _ prefix: String) -> Set<String> {
            guard let d = v as? [String: Any] else { return [prefix] }
            var out: Set<String> = []
            for (k, x) in d where k != "job options" && k != "lat_fidelity" { out.formUnion(paths(x, prefix + "/" + k)) }
            return out
        }
        let a = try json(r), b = try json(p)
        let ja = (a["jobs"] as! [[String: Any]])[0], jb = (b["jobs"] as! [[String: Any]])[0]
        #expect(paths(ja, "") == paths(jb, ""))
        #expect(Set(a.keys) == Set(b.keys))
        // The text reports have the same sections too.
        let rt = try run("fio-replay", ["run", "--name=s", "--filename=\(dir)/f", "--size=1m", "--rw=randrw", "--number_ios=200", "--no-progress"])
        for line in ["(groupid=0, jobs=1)", "read: IOPS=", "write: IOPS=", "clat percentiles", "IO depths", "issued rwts: total=",
                     "Run status group 0 (all jobs):", "   READ: bw=", "  WRITE: bw=", "duration     :", "scheduler cpu:"] {
            #expect(rt.stdout.contains(line), "missing \(line) in\n\(rt.stdout)")
        }
    }

    /// Jobs a live run cannot honour are refused with the job and the reason.
    @Test func unsupportedJobsAreRefused() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let a = try run("fio-replay", ["run", "--name=x", "--filename=\(dir)/f", "--size=1m", "--ioengine=posixaio"])
        #expect(a.status == 1)
        #expect(a.stderr.contains("ioengine=posixaio is not supported"), "\(a.stderr)")
        let b = try run("fio-replay", ["run", "--name=x", "--filename=\(dir)/f", "--size=1m", "--time_based"])
        #expect(b.status == 1)
        #expect(b.stderr.contains("time_based needs runtime="), "\(b.stderr)")
        let c = try run("fio-replay", ["run", "--name=x", "--filename=\(dir)/f", "--size=1m", "--iodepth_batch_complete_min=4"])
        #expect(c.status == 1)
        #expect(c.stderr.contains("iodepth_batch_complete_min is not supported by a live run"), "\(c.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/f"))
    }

    /// Ctrl-C: the run stops issuing, drains, prints the stats so far and exits 130; the
    /// recording is complete (every I/O the stats count) and readable.
    @Test func interruptedRunKeepsStatsAndRecording() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/fio-replay")
        p.arguments = ["run", "--name=i", "--filename=\(dir)/f", "--size=1m", "--rw=randrw", "--rate_iops=2000",
                       "--runtime=30", "--time_based", "--ioengine=psync", "--output-format", "json", "--no-progress",
                       "--write-iolog", dir + "/rec.fiot"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 1.5)
        kill(p.processIdentifier, SIGINT)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        let j = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let n = int(opStats(j, "read")["total_ios"]) + int(opStats(j, "write")["total_ios"])
        #expect(n > 1000 && n < 10_000, "\(n)")
        let rec = try readAll(dir + "/rec.fiot")
        #expect(rec.records.count == n)
    }

    /// --write-iolog-format picks fio's iolog v3 (or our CSV) whatever the name; the v3 log
    /// holds the same I/Os as a .fiot recording of the same seeded job.
    @Test func recordingFormatFlag() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let job = ["--name=f", "--filename=\(dir)/f", "--size=1m", "--rw=randrw", "--number_ios=200", "--ioengine=psync", "--no-progress"]
        let a = try run("fio-replay", ["run"] + job + ["--write-iolog", dir + "/rec.out", "--write-iolog-format", "iolog3"])
        #expect(a.status == 0, "\(a.stderr)")
        let text = try String(contentsOfFile: dir + "/rec.out", encoding: .utf8)
        #expect(text.hasPrefix("fio version 3 iolog\n"))
        let b = try run("fio-replay", ["run"] + job + ["--write-iolog", dir + "/rec.fiot"])
        #expect(b.status == 0, "\(b.stderr)")
        let v3 = try readAll(dir + "/rec.out"), fiot = try readAll(dir + "/rec.fiot")
        #expect(v3.records.count == 200)
        #expect(v3.records.map { "\($0.op.fioName) \($0.offset) \($0.length)" } == fiot.records.map { "\($0.op.fioName) \($0.offset) \($0.length)" })
        let c = try run("fio-replay", ["run"] + job + ["--write-iolog", dir + "/rec.fiot", "--write-iolog-format", "blktrace"])
        #expect(c.status != 0)
        #expect(c.stderr.contains("--write-iolog-format blktrace"), "\(c.stderr)")
    }

    /// SIGKILL mid-run: the recording keeps every complete block, readable, in issue order.
    @Test func killedRunLeavesReadableRecording() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/fio-replay")
        p.arguments = ["run", "--name=k", "--filename=\(dir)/f", "--size=1m", "--rw=randread", "--runtime=60", "--time_based",
                       "--ioengine=null", "--no-progress", "--write-iolog", dir + "/rec.fiot"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until at least two blocks are on disk, then kill.
        var size: UInt64 = 0
        for _ in 0..<200 {
            Thread.sleep(forTimeInterval: 0.05)
            size = (try? FileManager.default.attributesOfItem(atPath: dir + "/rec.fiot")[.size] as? UInt64) ?? 0
            if size > 200_000 { break }
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        #expect(size > 200_000, "the recording did not grow: \(size) bytes")
        let info = try run("fio-replay", ["info", dir + "/rec.fiot"])
        #expect(info.stderr.contains("truncated") || info.stdout.contains("truncated"), "\(info.stdout)\n\(info.stderr)")
        // Everything in the complete blocks, read past the missing footer.
        // Every complete block comes back, then reading ends with "truncated".
        let src = try FiotReader(path: dir + "/rec.fiot")
        var records: [TraceRecord] = []
        var batch: [TraceRecord] = []
        var ending: TraceError?
        do {
            while try src.nextBatch(&batch, maxCount: 65536) { records += batch }
        } catch let e as TraceError {
            records += batch
            ending = e
        }
        #expect(ending?.kind == .truncated, "\(String(describing: ending))")
        let rec = (records: records, files: src.files)
        #expect(rec.records.count >= 65536)
        // Blocks end at 65,536 records or when records have waited 0.6 s (a recording loses
        // at most about a second to a kill), so the count is not a multiple of 65,536.
        #expect(zip(rec.records, rec.records.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(rec.records.allSatisfy { $0.op == .read && $0.length == 4096 && $0.offset % 4096 == 0 && $0.offset < 1 << 20 && $0.result == 4096 })
    }

    /// ramp_time's I/Os are left out of the stats and runtime counts after it; exitall
    /// stops the other jobs when one ends.
    @Test func rampTimeAndExitall() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=ramp", "--filename=\(dir)/f", "--size=1m", "--rw=randread", "--rate_iops=200",
                                       "--ramp_time=1", "--runtime=1", "--time_based", "--ioengine=psync",
                                       "--output-format", "json", "--no-progress", "--write-iolog", dir + "/ramp.fiot"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r)
        // 200 IOPS: 200 I/Os counted in the second after the ramp, 400 issued in all.
        #expect((195...201).contains(int(opStats(j, "read")["total_ios"])), "\(opStats(j, "read")["total_ios"] ?? "")")
        #expect((990...1010).contains(int(opStats(j, "read")["runtime"])))
        #expect((395...402).contains(try readAll(dir + "/ramp.fiot").records.count))

        let job = """
        [global]
        filename=\(dir)/g
        size=1m
        ioengine=psync
        [short]
        rw=randread
        number_ios=100
        exitall
        [long]
        rw=randread
        rate_iops=100
        runtime=20
        time_based
        """
        try job.write(toFile: dir + "/x.fio", atomically: true, encoding: .utf8)
        let t0 = Date()
        let x = try run("fio-replay", ["run", dir + "/x.fio", "--output-format", "json", "--no-progress"])
        #expect(x.status == 0, "\(x.stderr)")
        #expect(Date().timeIntervalSince(t0) < 5, "exitall did not stop the 20 s job")
        let xj = try json(x)
        #expect(int(opStats(xj, job: 0, "read")["total_ios"]) == 100)
        #expect(int(opStats(xj, job: 1, "read")["total_ios"]) < 100)
    }

    /// A multi-stream recording replays one thread per stream, each with its own recorded
    /// depth, on one clock; --streams off replays it on one thread.
    @Test func multiStreamRecordingReplaysPerStream() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=m", "--filename=\(dir)/f", "--size=4m", "--rw=randrw", "--numjobs=2",
                                       "--iodepth=4", "--rate_iops=400", "--runtime=1", "--time_based", "--ioengine=libaio",
                                       "--direct=1", "--write-iolog", dir + "/rec.fiot", "--output-format", "json", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let live = try json(r)
        for timing in ["original", "closed"] {
            let p = try run("fio-replay", ["replay", dir + "/rec.fiot", "--engine", "libaio", "--direct", "--timing", timing,
                                           "--write-iolog", dir + "/rep-\(timing).fiot", "--output-format", "json", "--no-progress"])
            #expect(p.status == 0, "\(p.stderr)")
            let j = try json(p)
            let jobs = j["jobs"] as! [[String: Any]]
            #expect(jobs.map { $0["jobname"] as? String } == ["replay.s0", "replay.s1"])
            for k in 0..<2 {
                for op in ["read", "write"] {
                    #expect(int(opStats(j, job: k, op)["total_ios"]) == int(opStats(live, job: k, op)["total_ios"]), "stream \(k) \(op)")
                }
                let rp = jobs[k]["replay"] as! [String: Any]
                #expect(int(rp["iodepth"]) == 4)
                #expect(int(rp["max_inflight"]) <= 4)
            }
            // The replay's own recording keeps each stream's I/Os, in the stream's order.
            let a = try readAll(dir + "/rec.fiot"), b = try readAll(dir + "/rep-\(timing).fiot")
            for st in [UInt32(0), 1] {
                #expect(b.records.filter { $0.stream == st }.map(\.offset) == a.records.filter { $0.stream == st }.map(\.offset))
            }
        }
        let one = try run("fio-replay", ["replay", dir + "/rec.fiot", "--engine", "libaio", "--direct", "--streams", "off",
                                         "--output-format", "json", "--no-progress"])
        #expect(one.status == 0, "\(one.stderr)")
        let oj = try json(one)
        #expect((oj["jobs"] as! [[String: Any]]).count == 1)
        #expect(int(opStats(oj, "read")["total_ios"]) == int(opStats(live, job: 0, "read")["total_ios"]) + int(opStats(live, job: 1, "read")["total_ios"]))
    }

    /// Streams start on one clock without losing I/O, their recorded times start near 0,
    /// and a shared recording never has a stream issue at depth 1 before its previous I/O
    /// completed (times are taken with the issue number, under the recorder's lock).
    @Test func sharedClockAndMonotonicRecording() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=c", "--filename=\(dir)/g", "--size=64k", "--rw=randread", "--numjobs=3",
                                       "--runtime=300ms", "--time_based", "--ioengine=psync", "--no-progress",
                                       "--write-iolog", dir + "/c.fiot", "--output-format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r)
        #expect((0..<3).allSatisfy { int(opStats(j, job: $0, "read")["total_ios"]) > 100 })
        let rec = try readAll(dir + "/c.fiot")
        #expect(rec.records.first.map { $0.time < 50_000_000 } == true, "first time \(rec.records.first?.time ?? 0)")
        #expect(rec.records.allSatisfy { $0.time < 2_000_000_000 })
        for st in [UInt32(0), 1, 2] {
            let v = rec.records.filter { $0.stream == st }
            #expect(zip(v, v.dropFirst()).allSatisfy { $1.time >= $0.time + ($0.latency ?? 0) }, "stream \(st)")
        }
    }

    /// fio's null engine is diskless: neither fio nor `run` creates the job's file (`run`
    /// used to lay out a 1 GiB file first). A replay on the null engine still opens and
    /// checks its targets (a dry run of the real one: WriterSafetyTests).
    @Test func nullEngineCreatesNoFiles() throws {
        let dir = makeTempDir("null"); defer { cleanup(dir) }
        let job = ["--name=n", "--ioengine=null", "--rw=randrw", "--bs=4k", "--size=1g", "--number_ios=500"]
        let r = try run("fio-replay", ["run"] + job + ["--write-iolog", "rec.fiot", "--output-format=json", "--no-progress"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(int(opStats(try json(r), "read")["total_ios"]) + int(opStats(try json(r), "write")["total_ios"]) == 500)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["rec.fiot"])
        if haveTool("fio") {
            let f = try run("fio", job + ["--output-format=json"], cwd: dir)
            #expect(f.status == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["rec.fiot"], "fio created files too?")
        }
        // The same job on a real engine lays its file out: the check above could fail.
        let q = try run("fio-replay", ["run"] + job.map { $0 == "--ioengine=null" ? "--ioengine=psync" : $0 }
                                      + ["--size=1m", "--no-progress"], cwd: dir)
        #expect(q.status == 0 && FileManager.default.fileExists(atPath: dir + "/n.0.0"), "\(q.stderr)")
    }

    /// fio's bwavgtime and iopsavgtime set the report's own bandwidth and IOPS sampling
    /// (bw_samples, iops_samples), each on its own clock; without them both are 500 ms.
    /// Ground truth: a 1 s run has runtime / interval samples (a trailing half interval or
    /// more counts). The samples' values are checked against the rate elsewhere
    /// (`rateLimitedTimeBasedJobHoldsItsRate`); here, under a loaded test run, uneven
    /// intervals would make their mean a timing test.
    @Test func bwavgtimeAndIopsavgtimeSetTheReportSampling() throws {
        func runJob(_ extra: [String]) throws -> [String: Any] {
            let r = try run("fio-replay", ["run", "--name=t", "--ioengine=null", "--rw=read", "--bs=4k", "--size=1g",
                                           "--time_based", "--runtime=1", "--rate_iops=2000"] + extra
                                          + ["--output-format", "json", "--no-progress"])
            #expect(r.status == 0, "\(r.stderr)")
            return opStats(try json(r), "read")
        }
        let set = try runJob(["--bwavgtime=100", "--iopsavgtime=250"])
        #expect((9...11).contains(int(set["bw_samples"])), "bw_samples \(set["bw_samples"] ?? "")")
        #expect((3...5).contains(int(set["iops_samples"])), "iops_samples \(set["iops_samples"] ?? "")")
        let plain = try runJob([])
        #expect((1...3).contains(int(plain["bw_samples"])), "default bw_samples \(plain["bw_samples"] ?? "")")
        #expect((1...3).contains(int(plain["iops_samples"])), "default iops_samples \(plain["iops_samples"] ?? "")")
    }

    /// Long waits still see the runtime end and other jobs' exitall; startdelay counts in
    /// neither the runtime nor the ramp.
    @Test func longWaitsHonourRuntimeExitallAndStartdelay() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let t = try run("fio-replay", ["run", "--name=t", "--filename=\(dir)/g", "--size=64k", "--rw=randread", "--thinktime=3s",
                                       "--runtime=1", "--time_based", "--ioengine=psync", "--output-format", "json", "--no-progress"])
        #expect(t.status == 0, "\(t.stderr)")
        #expect((990...1100).contains(int(opStats(try json(t), "read")["runtime"])))
        let d = try run("fio-replay", ["run", "--name=d", "--filename=\(dir)/g", "--size=64k", "--rw=randread", "--startdelay=1",
                                       "--rate_iops=100", "--runtime=1", "--time_based", "--ioengine=psync",
                                       "--output-format", "json", "--no-progress"])
        #expect(d.status == 0, "\(d.stderr)")
        let dj = try json(d)
        #expect((95...101).contains(int(opStats(dj, "read")["total_ios"])), "\(opStats(dj, "read")["total_ios"] ?? "")")
        #expect((990...1100).contains(int(opStats(dj, "read")["runtime"])))
        let job = """
        [global]
        filename=\(dir)/g
        size=64k
        ioengine=psync
        [a]
        rw=randread
        runtime=500ms
        time_based
        exitall
        [b]
        rw=randread
        startdelay=20
        runtime=20
        time_based
        """
        try job.write(toFile: dir + "/e.fio", atomically: true, encoding: .utf8)
        let t0 = Date()
        let e = try run("fio-replay", ["run", dir + "/e.fio", "--no-progress"])
        #expect(e.status == 0, "\(e.stderr)")
        #expect(Date().timeIntervalSince(t0) < 5, "exitall did not cut job b's 20 s start delay")
    }

    /// A multi-stream trace whose ids are not 0..n-1 replays per stream and its recording
    /// replays the same again.
    @Test func streamIdsSurviveAReplayRecording() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        var csv = "time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags\n"
        for i in 0..<200 {
            csv += "\(i * 100_000),\(dir)/t,\(i % 3 == 0 ? "write" : "read"),\((i * 37 % 64) * 4096),4096,-,-,-,\(i % 2 == 0 ? 5 : 7),-\n"
        }
        try csv.write(toFile: dir + "/s.csv", atomically: true, encoding: .utf8)
        let a = try run("fio-replay", ["replay", dir + "/s.csv", "--streams", "on", "--engine", "psync", "--write-iolog", dir + "/s2.fiot",
                                       "--output-format", "json", "--no-progress"])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(((try json(a))["jobs"] as! [[String: Any]]).map { $0["jobname"] as? String } == ["replay.s5", "replay.s7"])
        let b = try run("fio-replay", ["replay", dir + "/s2.fiot", "--engine", "psync", "--output-format", "json", "--no-progress"])
        #expect(b.status == 0, "\(b.stderr)")
        let bj = try json(b)
        #expect((bj["jobs"] as! [[String: Any]]).map { $0["jobname"] as? String } == ["replay.s5", "replay.s7"])
        #expect(int(opStats(bj, job: 0, "read")["total_ios"]) + int(opStats(bj, job: 0, "write")["total_ios"]) == 100)
        #expect(int(opStats(bj, job: 1, "read")["total_ios"]) + int(opStats(bj, job: 1, "write")["total_ios"]) == 100)
    }

    /// A recording that cannot be written (a full disk) does not cost the statistics.
    @Test func failedRecordingKeepsTheReport() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=f", "--filename=\(dir)/g", "--size=1m", "--rw=randread", "--number_ios=200",
                                       "--ioengine=null", "--no-progress", "--write-iolog", "/dev/full", "--write-iolog-format", "csv"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("issued rwts: total=200,0,0,0"), "\(r.stdout)")
        #expect(r.stdout.contains("Run status group 0 (all jobs):"))
        #expect(r.stderr.contains("/dev/full"), "\(r.stderr)")
    }

    /// Lateness the depth cap causes is told apart from the scheduler's own: 1 MiB O_DIRECT
    /// writes due every 50 µs at iodepth 1 wait for the previous one, and that wait is
    /// counted as depth-blocked, not as the scheduler's lateness.
    @Test func depthBlockedLatenessIsToldApart() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        var csv = "time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags\n"
        for i in 0..<100 { csv += "\(i * 50_000),\(dir)/t,write,\(i << 20),1048576,-,-,-,-,-\n" }
        try csv.write(toFile: dir + "/w.csv", atomically: true, encoding: .utf8)
        let r = try run("fio-replay", ["replay", dir + "/w.csv", "--engine", "libaio", "--direct", "--iodepth", "1",
                                       "--output-format", "json", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let rp = (try json(r)["jobs"] as! [[String: Any]])[0]["replay"] as! [String: Any]
        let all = rp["lateness_ns"] as! [String: Any], sched = rp["scheduler_lateness_ns"] as! [String: Any]
        #expect(int(sched["depth_blocked"]) >= 90, "\(sched)")
        #expect(int(all["p50"]) > 1_000_000, "\(all)")
        #expect(int(sched["p50"]) < int(all["p50"]) / 10, "\(sched) vs \(all)")
        #expect(!r.stderr.contains("waited past their due time"), "asked for depth 1: no hint")
        // Left to the default (the trace records no depth), the replay says what held it back.
        let h = try run("fio-replay", ["replay", dir + "/w.csv", "--engine", "libaio", "--direct", "--no-progress"])
        #expect(h.status == 0, "\(h.stderr)")
        #expect(h.stderr.contains("waited past their due time for a free slot") && h.stderr.contains("give --iodepth"), "\(h.stderr)")
        // With room for all of them in flight, nothing is blocked.
        let d = try run("fio-replay", ["replay", dir + "/w.csv", "--engine", "libaio", "--direct", "--iodepth", "128",
                                       "--output-format", "json", "--no-progress"])
        let drp = (try json(d)["jobs"] as! [[String: Any]])[0]["replay"] as! [String: Any]
        #expect(int((drp["scheduler_lateness_ns"] as! [String: Any])["depth_blocked"]) == 0)
    }

    /// On a block device that holds a filesystem, a job that only reads runs (its files
    /// open read-only, as in fio); a job that writes is refused unless --allow-destructive.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/loop-control")
                   && haveTool("losetup") && haveTool("mkfs.ext4"), "needs root, loop devices, losetup and mkfs.ext4"))
    func blockDeviceSafetyInRun() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let img = dir + "/img"
        #expect(try run("truncate", ["-s", "64M", img]).status == 0)
        #expect(try run("mkfs.ext4", ["-q", "-F", img]).status == 0)
        let l = try run("losetup", ["-f", "--show", img])
        #expect(l.status == 0, "\(l.stderr)")
        let dev = l.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? run("losetup", ["-d", dev]) }
        let job = ["--name=b", "--filename=\(dev)", "--size=16m", "--number_ios=100", "--ioengine=libaio", "--direct=1", "--no-progress"]
        let r = try run("fio-replay", ["run"] + job + ["--rw=randread"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("issued rwts: total=100,0,0,0"))
        let w = try run("fio-replay", ["run"] + job + ["--rw=randwrite"])
        #expect(w.status == 1)
        #expect(w.stderr.contains("refusing to write to \(dev)"), "\(w.stderr)")
        #expect(w.stdout.contains("issued rwts: total=0,0,0,0"))
        let a = try run("fio-replay", ["run"] + job + ["--rw=randwrite", "--allow-destructive"])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout.contains("issued rwts: total=0,100,0,0"))
    }

    /// fio's iodepth_batch_complete_max is honoured: at 1, every reap takes one completion
    /// (fio's default; ours takes all that are ready unless told).
    @Test func reapBatchOption() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=c", "--filename=\(dir)/g", "--size=4m", "--rw=randread", "--iodepth=8",
                                       "--number_ios=2000", "--ioengine=libaio", "--iodepth_batch_complete_max=1",
                                       "--output-format", "json", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let job = (try json(r)["jobs"] as! [[String: Any]])[0]
        let complete = (job["iodepth_complete"] as! [String: Any]).mapValues { ($0 as! NSNumber).doubleValue }
        #expect(abs((complete["4"] ?? 0) - 100) < 0.001, "\(complete)")
        #expect(int(opStats(try json(r), "read")["total_ios"]) == 1024)
    }

    /// On a terminal, `run` prints a progress line a second with the I/Os done and, for
    /// jobs with a runtime, the time left; never when stderr is not a terminal.
    @Test func runProgressLine() throws {
        let dir = makeTempDir("run"); defer { cleanup(dir) }
        let args = ["run", "--name=p", "--filename=\(dir)/g", "--size=1m", "--rw=randread", "--rate_iops=400",
                    "--runtime=2500ms", "--time_based", "--ioengine=psync"]
        let r = try runWithTerminalStderr(args)
        #expect(r.status == 0, "\(r.terminal)")
        let lines = r.terminal.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).map(String.init).filter { $0.hasPrefix("run: ") }
        #expect((2...3).contains(lines.count), "\(lines)")
        func number(_ line: String, _ pattern: String) -> Double? {
            guard let m = line.range(of: pattern, options: .regularExpression) else { return nil }
            return Double(line[m].filter { $0.isNumber || $0 == "." })
        }
        for l in lines {
            let elapsed = try #require(number(l, "run: [0-9]+s"), "\(l)")
            let done = try #require(number(l, "[0-9]+ done"), "\(l)")
            let eta = try #require(number(l, "ETA [0-9.]+s"), "\(l)")
            // 400 IOPS: about 400 done a second; elapsed and ETA add up to the 2.5 s runtime.
            #expect(abs(done - 400 * elapsed) <= 60, "\(l)")
            #expect(abs(elapsed + eta - 2.5) <= 0.6, "\(l)")
        }
        #expect(!r.stdout.contains("run: "))
        let quiet = try run("fio-replay", args)
        #expect(!quiet.stderr.contains("run: "), "not a terminal: no progress line")
    }
}
