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

    /// A trace of a direct=1 writer beside a buffered reader on one file: without --direct
    /// or --buffered, each I/O goes as its record's direct flag says, through a second
    /// descriptor of the same target. Ground truth: strace of the replay, every pread64 and
    /// pwrite64 matched to the openat that made its descriptor (O_DIRECT or not), against
    /// the trace's records. --buffered opens nothing with O_DIRECT.
    @Test func mixedDirectFlagsAreHonouredPerIO() throws {
        guard haveTool("strace") else { Issue.record("strace is missing: scripts/setup.sh installs it"); return }
        let dir = makeTempDir("perio"); defer { cleanup(dir) }
        let job = "[global]\nfilename=\(dir)/data\nsize=4m\nbs=4k\nnumber_ios=60\n[w]\nrw=randwrite\ndirect=1\n[r]\nrw=randread\ndirect=0\n"
        try job.write(toFile: dir + "/mixed.fio", atomically: true, encoding: .utf8)
        let g = try run("fio-gen", [dir + "/mixed.fio", "-o", dir + "/t.fiot", "-q"])
        #expect(g.status == 0, "\(g.stderr)")
        let recs = try readAll(dir + "/t.fiot").records.filter { $0.op == .read || $0.op == .write }
        #expect(recs.count == 120)
        #expect(recs.allSatisfy { $0.flags.contains(.direct) == ($0.op == .write) })
        func key(_ op: String, _ off: UInt64, _ direct: Bool) -> String { "\(op) \(off) \(direct ? "direct" : "buffered")" }
        let want = recs.map { key($0.op == .read ? "read" : "write", $0.offset, $0.flags.contains(.direct)) }.sorted()

        /// The replay under strace: (op offset mode) of every data I/O on the target, and
        /// whether any descriptor of it was opened with O_DIRECT.
        func traced(_ extra: [String]) throws -> (ios: [String], anyDirect: Bool, stderr: String) {
            let log = dir + "/strace.log"
            let r = try run("strace", ["-f", "-qq", "-s", "0", "-e", "trace=openat,close,pread64,pwrite64", "-o", log,
                                       binDir + "/fio-replay", "replay", dir + "/t.fiot", "--timing", "none", "--engine", "psync",
                                       "--target", dir + "/data", "--no-progress"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            // strace -f interleaves threads: a call another thread interrupts is printed as
            // "call(args <unfinished ...>" and later "<... call resumed>rest" (by thread id);
            // the two halves are joined first.
            var mode: [String: Bool] = [:] // open descriptor of the target -> O_DIRECT
            var pending: [String: String] = [:] // thread -> the first half of its call
            var anyDirect = false
            var ios: [String] = []
            for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let tid = String(parts[0])
                var call = parts[1].trimmingCharacters(in: .whitespaces)
                if call.hasSuffix("<unfinished ...>") {
                    pending[tid] = String(call.dropLast("<unfinished ...>".count))
                    continue
                }
                if call.hasPrefix("<... "), let end = call.range(of: " resumed>") {
                    guard let first = pending.removeValue(forKey: tid) else { continue }
                    call = first + call[end.upperBound...]
                }
                let result = call.range(of: " = ", options: .backwards).map { String(call[$0.upperBound...].prefix { $0 != " " }) }
                if call.hasPrefix("openat("), call.contains("\"\(dir)/data\""), let fd = result {
                    mode[fd] = call.contains("O_DIRECT")
                    anyDirect = anyDirect || call.contains("O_DIRECT")
                } else if call.hasPrefix("close(") {
                    mode[String(call.dropFirst(6).prefix { $0.isNumber })] = nil
                } else if call.hasPrefix("pread64(") || call.hasPrefix("pwrite64(") {
                    let args = call[call.index(after: call.firstIndex(of: "(")!)...].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    guard args.count >= 4, let direct = mode[args[0]] else { continue }
                    let off = args[3].prefix { $0.isNumber }
                    ios.append(key(call.hasPrefix("pread64") ? "read" : "write", UInt64(off) ?? .max, direct))
                }
            }
            return (ios.sorted(), anyDirect, r.stderr)
        }
        let mixed = try traced([])
        #expect(mixed.ios == want, "replayed \(mixed.ios.count) I/Os; first differences: \(zip(mixed.ios, want).filter { $0 != $1 }.prefix(3))")
        #expect(mixed.stderr.contains("direct per record (60 of the first 120 data records carry the direct flag)"), "\(mixed.stderr)")
        let buffered = try traced(["--buffered"])
        #expect(!buffered.anyDirect)
        #expect(buffered.ios == want.map { $0.replacingOccurrences(of: "direct", with: "buffered") }.sorted())
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
