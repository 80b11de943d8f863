import Foundation
import Testing
@testable import FioTrace

/// Issue 15: a replay takes the recording's engine and O_DIRECT as its defaults (and says
/// so), and creates large missing files at the trace's paths only when told to.
@Suite(.serialized) struct ReplayDefaultsTests {
    /// A `run --direct=1 --ioengine=libaio` recording: its metadata and records say O_DIRECT;
    /// its replay uses libaio and O_DIRECT without being told, names them as taken from the
    /// trace (a note and the JSON's job options), and its own recording carries the flag on.
    /// --engine and --buffered override both, and then nothing is taken.
    @Test func recordedEngineAndDirectAreTheDefaults() throws {
        let dir = makeTempDir("defaults"); defer { cleanup(dir) }
        let live = try run("fio-replay", ["run", "--name=d", "--filename=\(dir)/data", "--size=8m", "--rw=randread", "--bs=4k",
                                          "--ioengine=libaio", "--direct=1", "--iodepth=4", "--number_ios=400",
                                          "--write-iolog", dir + "/live.fiot", "--no-progress", "--output-format=json"])
        #expect(live.status == 0, "\(live.stderr)")
        let rec = try readAll(dir + "/live.fiot")
        #expect(rec.metadata["direct"] == "1" && rec.metadata["ioengine"] == "libaio")
        #expect(rec.records.count == 400 && rec.records.allSatisfy { $0.flags.contains(.direct) })

        let r = try run("fio-replay", ["replay", dir + "/live.fiot", "--timing", "none", "--no-progress", "--output-format=json",
                                       "--write-iolog", dir + "/again.fiot"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("from the trace: ioengine=libaio, direct=1") && r.stderr.contains("--buffered"), "\(r.stderr)")
        let opts = (try json(r)["jobs"] as! [[String: Any]])[0]["job options"] as! [String: String]
        #expect(opts["ioengine"] == "libaio" && opts["direct"] == "1" && opts["from_trace"]?.contains("ioengine=libaio") == true, "\(opts)")
        let again = try readAll(dir + "/again.fiot")
        #expect(again.metadata["direct"] == "1" && again.records.allSatisfy { $0.flags.contains(.direct) })

        let o = try run("fio-replay", ["replay", dir + "/live.fiot", "--timing", "none", "--no-progress", "--output-format=json",
                                       "--engine", "psync", "--buffered"])
        #expect(o.status == 0 && !o.stderr.contains("from the trace"), "\(o.stderr)")
        let oo = (try json(o)["jobs"] as! [[String: Any]])[0]["job options"] as! [String: String]
        #expect(oo["ioengine"] == "psync" && oo["direct"] == nil && oo["from_trace"] == nil, "\(oo)")
        let both = try run("fio-replay", ["replay", dir + "/live.fiot", "--direct", "--buffered", "--no-progress"])
        #expect(both.status != 0 && both.stderr.contains("--buffered"))
    }

    /// fio-gen writes the direct flag on every record of a direct=1 job (no O_DIRECT key in
    /// its metadata): the replay takes O_DIRECT from the records; a buffered job's trace
    /// replays buffered.
    @Test func perRecordDirectFlagIsTheDefault() throws {
        let dir = makeTempDir("defaults"); defer { cleanup(dir) }
        for d in [1, 0] {
            let t = "\(dir)/g\(d).fiot"
            let g = try run("fio-gen", ["--name=g", "--filename=\(dir)/data\(d)", "--rw=randread", "--bs=4k", "--size=4m",
                                        "--direct=\(d)", "--number_ios=100", "-o", t])
            #expect(g.status == 0, "\(g.stderr)")
            let recs = try readAll(t)
            #expect(recs.metadata["direct"] == nil && recs.records.allSatisfy { $0.flags.contains(.direct) == (d == 1) })
            let r = try run("fio-replay", ["replay", t, "--timing", "none", "--engine", "psync", "--no-progress", "--output-format=json"])
            #expect(r.status == 0, "\(r.stderr)")
            let opts = (try json(r)["jobs"] as! [[String: Any]])[0]["job options"] as! [String: String]
            #expect(opts["direct"] == (d == 1 ? "1" : nil), "\(opts)")
            #expect(r.stderr.contains("direct=1 (its records carry the direct flag)") == (d == 1), "\(r.stderr)")
        }
    }

    /// A missing file of 3 GiB at the trace's path is refused by size (the 1 GiB bound);
    /// --create-targets creates it sparse, and still leaves an existing file there alone.
    @Test func createTargetsCreatesLargeMissingFilesOnly() throws {
        let dir = makeTempDir("defaults"); defer { cleanup(dir) }
        let big = dir + "/big"
        try "fio version 2 iolog\n\(big) add\n\(big) open\n\(big) write 3221221376 4096\n\(big) close\n"
            .write(toFile: dir + "/b.log", atomically: true, encoding: .utf8)
        let b = try run("fio-replay", ["replay", dir + "/b.log", "--engine", "null", "--no-progress"])
        #expect(b.status == 1 && b.stderr.contains("3 GiB") && b.stderr.contains("--create-targets"), "\(b.stderr)")
        #expect(access(big, F_OK) != 0)
        let c = try run("fio-replay", ["replay", dir + "/b.log", "--engine", "null", "--no-progress", "--create-targets"])
        #expect(c.status == 0, "\(c.stderr)")
        var st = stat()
        #expect(stat(big, &st) == 0 && st.st_size == 3 << 30 && st.st_blocks < 64, "sparse, at the size the trace reaches")
        // Someone else's file at a trace path: --create-targets does not make it writable.
        #expect(try run("python3", ["-c", "import os, sys; os.removexattr(sys.argv[1], 'user.fio-replay.created')", big]).status == 0)
        let d = try run("fio-replay", ["replay", dir + "/b.log", "--engine", "null", "--no-progress", "--create-targets"])
        #expect(d.status == 1 && d.stderr.contains("refusing to write to \(big)"), "\(d.stderr)")
    }
}
