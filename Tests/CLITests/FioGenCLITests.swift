import Foundation
import Testing
@testable import FioTrace

/// The sample job files (traces/jobs) next to this package.
let fioGenJobsDir: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("traces/jobs").path
}()

/// Reads a whole trace (any format) and its file table.
func fioGenRead(_ path: String) throws -> (records: [TraceRecord], files: [TraceFile], metadata: [String: String]) {
    var src = try openTraceSource(path: path)
    var all: [TraceRecord] = []
    var b: [TraceRecord] = []
    while try src.nextBatch(&b, maxCount: 65536) { all.append(contentsOf: b) }
    return (all, src.files, src.metadata)
}

func fioGenSummary(_ path: String) throws -> TraceSummary {
    var src = try openTraceSource(path: path)
    return try TraceSummary.of(&src)
}

@Suite("fio-gen command line")
struct FioGenCLITests {
    @Test("same input and seed give a byte-identical file (.fiot, iolog v3, iolog v2); another seed does not")
    func byteIdentical() throws {
        let dir = makeTempDir("fiogen")
        defer { cleanup(dir) }
        let args = ["--rw=randrw", "--bs", "4k", "--size", "1g", "--number_ios", "20000", "--fsync=7", "--seed", "5"]
        for ext in ["fiot", "iolog", "v2"] {
            let a = dir + "/a.\(ext)", b = dir + "/b.\(ext)", c = dir + "/c.\(ext)"
            #expect(try run("fio-gen", args + ["-o", a, "-q"]).status == 0)
            #expect(try run("fio-gen", args + ["-o", b, "-q"]).status == 0)
            #expect(try run("fio-gen", args.dropLast(2) + ["--seed", "6", "-o", c, "-q"]).status == 0)
            let da = try Data(contentsOf: URL(fileURLWithPath: a)), db = try Data(contentsOf: URL(fileURLWithPath: b))
            #expect(da == db, "\(ext) differs between runs")
            #expect(da != (try Data(contentsOf: URL(fileURLWithPath: c))), "\(ext): another seed gave the same file")
            #expect(da.count > 1000)
        }
        let head = try String(contentsOfFile: dir + "/a.iolog", encoding: .utf8).prefix(19)
        #expect(head == "fio version 3 iolog")
        let head2 = try String(contentsOfFile: dir + "/a.v2", encoding: .utf8).prefix(19)
        #expect(head2 == "fio version 2 iolog")
        // The metadata says what made the trace.
        let t = try fioGenRead(dir + "/a.fiot")
        #expect(t.records.count == 20000 + t.records.filter { $0.op == .sync }.count)
        #expect(t.metadata["fio-gen.seed"] == "5")
        #expect(t.metadata["fio-gen.version"] != nil && t.metadata["fio-gen.job"]?.contains("rw=randrw") == true)
        #expect(t.metadata["iodepth"] == "1")
    }

    @Test("flags and a job file describe the same jobs; flags override a job file; dashes work")
    func flagsEqualJobFile() throws {
        let dir = makeTempDir("fiogen")
        defer { cleanup(dir) }
        let job = dir + "/j.fio"
        try "[global]\nbs=8k\n[mix]\nrw=randrw\nrwmixread=60\nsize=16m\nfsync=5\n".write(toFile: job, atomically: true, encoding: .utf8)
        #expect(try run("fio-gen", [job, "-o", dir + "/file.fiot", "-q"]).status == 0)
        #expect(try run("fio-gen", ["--bs=8k", "--name", "mix", "--rw", "randrw", "--rwmixread", "60", "--size", "16m",
                                    "--fsync", "5", "-o", dir + "/flags.fiot", "-q"]).status == 0)
        let a = try fioGenRead(dir + "/file.fiot"), b = try fioGenRead(dir + "/flags.fiot")
        #expect(a.records == b.records && a.records.count > 2000)
        #expect(a.files == b.files)
        #expect(try run("fio-gen", [job, "--size=1m", "-o", dir + "/small.fiot", "-q"]).status == 0)
        #expect(try fioGenRead(dir + "/small.fiot").records.filter { $0.op.isData }.count == 128)
        #expect(try run("fio-gen", ["--rw", "read", "--size", "1m", "--number-ios", "10", "--time-based", "--runtime", "1",
                                    "-o", dir + "/d.fiot", "-q"]).status == 0)
        #expect(try fioGenRead(dir + "/d.fiot").records.count == 10)
    }

    @Test("unsupported and unknown options fail with the option and the line, never ignored")
    func errors() throws {
        let dir = makeTempDir("fiogen")
        defer { cleanup(dir) }
        let job = dir + "/bad.fio"
        try "[j]\nrw=randread\nsize=1m\nzonemode=strided\n".write(toFile: job, atomically: true, encoding: .utf8)
        let r = try run("fio-gen", [job, "-o", dir + "/x.fiot"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("bad.fio:4") && r.stderr.contains("zonemode"))
        let u = try run("fio-gen", ["--rw=read", "--size=1m", "--blocksise=4k", "-o", dir + "/y.fiot"])
        #expect(u.status != 0 && u.stderr.contains("blocksise"))
        let m = try run("fio-gen", ["--rw=read", "-o", dir + "/z.fiot"])
        #expect(m.status != 0 && m.stderr.contains("size"))
        let f = try run("fio-gen", ["--rw=read", "--size=1m", "--format", "blktrace", "-o", dir + "/w"])
        #expect(f.status != 0)
    }

    @Test("--no-timing and --service-time reach the trace")
    func timingFlags() throws {
        let dir = makeTempDir("fiogen")
        defer { cleanup(dir) }
        #expect(try run("fio-gen", ["--rw=randread", "--size=1m", "--no-timing", "-o", dir + "/n.fiot", "-q"]).status == 0)
        let n = try fioGenRead(dir + "/n.fiot")
        #expect(n.records.allSatisfy { $0.time == 0 } && n.metadata["fio-gen.timing"]?.hasPrefix("none") == true)
        #expect(try run("fio-gen", ["--rw=randread", "--size=1m", "--service-time", "2ms", "-o", dir + "/s.fiot", "-q"]).status == 0)
        let s = try fioGenRead(dir + "/s.fiot")
        #expect(s.records[1].time == 2_000_000 && s.metadata["fio-gen.service-time-ns"] == "2000000")
    }

    @Test("fio replays the iolog we write (v3 and v2) and issues the same I/Os",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/fio")))
    func fioReadsOurIolog() throws {
        let dir = makeTempDir("fiogen")
        defer { cleanup(dir) }
        for ext in ["iolog", "v2"] {
            let log = dir + "/t.\(ext)"
            #expect(try run("fio-gen", ["--rw=randrw", "--bs=4k", "--size=8m", "--fsync=16", "--service-time=10us",
                                        "-o", log, "-q"]).status == 0)
            let ours = try fioGenSummary(log)
            let r = try run("fio", ["--name=replay", "--ioengine=null", "--read_iolog=" + log, "--replay_no_stall=1",
                                    "--output-format=json"], cwd: dir)
            #expect(r.status == 0, "\(r.stderr)")
            let job = (try json(r)["jobs"] as! [[String: Any]])[0]
            let reads = (job["read"] as! [String: Any])["total_ios"] as! Int
            let writes = (job["write"] as! [String: Any])["total_ios"] as! Int
            #expect(UInt64(reads) == ours.ops[Int(TraceOp.read.rawValue)].count, "\(ext)")
            #expect(UInt64(writes) == ours.ops[Int(TraceOp.write.rawValue)].count, "\(ext)")
        }
    }
}
