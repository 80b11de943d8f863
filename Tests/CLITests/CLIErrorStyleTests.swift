import Foundation
import Testing

/// One error style in both tools: a single line `TOOL: error: ...` that says what to do,
/// every refused job option at once with a "did you mean", fio's `include`.
@Suite struct CLIErrorStyleTests {
    func lines(_ s: String) -> [Substring] { s.split(separator: "\n") }

    @Test func argumentErrorsAreOneLine() throws {
        let sample = sampleTraces + "/sample-randrw.fiot"
        for args in [["replay", sample, "--iodepth", "-1", "--no-progress"], ["replay", sample, "--timing", "sideways"],
                     ["replay", sample, "--iodpeth", "4"], ["run", "--name=x", "--size=1m", "--output-format=xml"], ["bogus-command"]] {
            let r = try run("fio-replay", args)
            #expect(r.status != 0)
            #expect(lines(r.stderr).count == 1, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("fio-replay: error: "), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("Usage:") && !r.stderr.contains("Missing value"), "\(args): \(r.stderr)")
        }
        let misspelt = try run("fio-replay", ["replay", sample, "--iodpeth", "4"])
        #expect(misspelt.stderr.contains("--iodepth"), "\(misspelt.stderr)")
        let g = try run("fio-gen", ["--rw=read", "--size=1m", "--service-time", "soon", "-o", "/dev/null"])
        #expect(g.status != 0 && lines(g.stderr).count == 1 && g.stderr.hasPrefix("fio-gen: error: "), "\(g.stderr)")
    }

    /// Every unsupported or unknown job option in one message, with the closest fio option
    /// for a misspelt one, from the command line and from a job file; `run` never names fio-gen.
    @Test func allRefusedOptionsAtOnceWithSuggestions() throws {
        let dir = makeTempDir("errs"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=x", "--filename=\(dir)/f", "--size=1m", "--iodpeth=4", "--zonemode=zbd", "--blocksise=4k"])
        #expect(r.status != 0)
        #expect(lines(r.stderr).count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("3 options refused"), "\(r.stderr)")
        #expect(r.stderr.contains("iodpeth") && r.stderr.contains("did you mean iodepth?"), "\(r.stderr)")
        #expect(r.stderr.contains("did you mean blocksize?") && r.stderr.contains("zonemode"), "\(r.stderr)")
        #expect(!r.stderr.contains("fio-gen"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/f"))
        try "[j]\nrw=read\nsize=1m\nrandom_distribtion=zipf:1.2\nioengnie=psync\n".write(toFile: dir + "/bad.fio", atomically: true, encoding: .utf8)
        let g = try run("fio-gen", [dir + "/bad.fio", "-o", dir + "/x.fiot"])
        #expect(g.status != 0 && g.stderr.contains("bad.fio:4") && g.stderr.contains("bad.fio:5"), "\(g.stderr)")
        #expect(g.stderr.contains("did you mean random_distribution?") && g.stderr.contains("did you mean ioengine?"), "\(g.stderr)")
    }

    /// Size flags take fio's suffixes: a replay aligned to 4k with 4k compressible chunks
    /// writes only at 4 KiB multiples (its recording shows the offsets it issued).
    @Test func sizeFlagsTakeSuffixes() throws {
        let dir = makeTempDir("errs"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["replay", sampleTraces + "/sample-randrw.fiot", "--target", dir + "/t", "--timing", "none",
                                       "--align", "4k", "--buffer-compress-chunk", "4k", "--buffer-compress-percentage", "50",
                                       "--write-iolog", dir + "/r.iolog", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        let offsets = try String(contentsOfFile: dir + "/r.iolog", encoding: .utf8).split(separator: "\n").compactMap { line -> UInt64? in
            let f = line.split(separator: " ")
            return f.count == 5 && (f[2] == "read" || f[2] == "write") ? UInt64(f[3]) : nil
        }
        #expect(offsets.count > 100 && offsets.allSatisfy { $0 % 4096 == 0 })
        let bad = try run("fio-replay", ["replay", sampleTraces + "/sample-randrw.fiot", "--target", dir + "/t", "--buffer-compress-chunk", "4q"])
        #expect(bad.status != 0 && bad.stderr.hasPrefix("fio-replay: error: ") && bad.stderr.contains("\"4q\" is not a size"), "\(bad.stderr)")
    }

    /// `convert` refuses an output name whose extension names no format instead of writing
    /// .fiot under it.
    @Test func convertRefusesUnknownExtension() throws {
        let dir = makeTempDir("errs"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["convert", sampleTraces + "/sample-randrw.fiot", dir + "/out.xyz"])
        #expect(r.status != 0 && r.stderr.contains(".xyz names no trace format") && r.stderr.contains("--to"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.xyz"))
        let ok = try run("fio-replay", ["convert", sampleTraces + "/sample-randrw.fiot", dir + "/out.xyz", "--to", "iolog3"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try String(contentsOfFile: dir + "/out.xyz", encoding: .utf8).hasPrefix("fio version 3 iolog"))
    }

    /// fio's `include`: the named file's options stand where the include is; a relative
    /// name not found from the current directory is taken from the job file's directory.
    /// fio runs the same files: each job's I/O count matches fio's own.
    @Test func includeFollowsFio() throws {
        guard haveTool("fio") else { Issue.record("fio is not installed"); return }
        let dir = makeTempDir("errs"); defer { cleanup(dir) }
        try FileManager.default.createDirectory(atPath: dir + "/jobs/common", withIntermediateDirectories: true)
        try "ioengine=null\nbs=8k\n".write(toFile: dir + "/jobs/common/engine.inc", atomically: true, encoding: .utf8)
        try "rw=randwrite\nsize=512k\n".write(toFile: dir + "/jobs/common/second.inc", atomically: true, encoding: .utf8)
        try "[global]\ninclude common/engine.inc\n[first]\nrw=read\nsize=1m\n[second]\ninclude common/second.inc\n"
            .write(toFile: dir + "/jobs/main.fio", atomically: true, encoding: .utf8)
        // Run from another directory: the includes resolve from the job file's.
        let fio = try run("fio", [dir + "/jobs/main.fio", "--output-format=json"], cwd: dir)
        #expect(fio.status == 0, "\(fio.stderr)")
        let ours = try run("fio-replay", ["run", dir + "/jobs/main.fio", "--output-format=json", "--no-progress"], cwd: dir)
        #expect(ours.status == 0, "\(ours.stderr)")
        func counts(_ r: RunResult) throws -> [String: Int] {
            var out: [String: Int] = [:]
            for j in try json(r)["jobs"] as! [[String: Any]] {
                let ios = ["read", "write"].map { ((j[$0] as! [String: Any])["total_ios"] as! Int) }
                out[j["jobname"] as! String] = ios[0] * 1_000_000 + ios[1]
            }
            return out
        }
        let f = try counts(fio), o = try counts(ours)
        #expect(f == o && f == ["first": 128_000_000, "second": 64], "fio \(f) ours \(o)")
        // A section inside an included file is refused, as fio refuses it.
        try "[third]\nrw=read\n".write(toFile: dir + "/jobs/common/section.inc", atomically: true, encoding: .utf8)
        try "[a]\nsize=1m\ninclude common/section.inc\n".write(toFile: dir + "/jobs/sect.fio", atomically: true, encoding: .utf8)
        let fs = try run("fio", ["--parse-only", dir + "/jobs/sect.fio"], cwd: dir)
        let os = try run("fio-replay", ["run", "--parse-only", dir + "/jobs/sect.fio"], cwd: dir)
        // (fio 3.33 prints its refusal but exits 0 under --parse-only.)
        #expect(fs.stderr.contains("No new sections in included files"), "\(fs.stderr)")
        #expect(os.status != 0 && os.stderr.contains("sect.fio:3") && os.stderr.contains("No new sections"), "\(os.stderr)")
        try "[a]\ninclude missing.inc\n".write(toFile: dir + "/jobs/bad.fio", atomically: true, encoding: .utf8)
        let bad = try run("fio-replay", ["run", dir + "/jobs/bad.fio"])
        #expect(bad.status != 0 && bad.stderr.contains("bad.fio:2") && bad.stderr.contains("missing.inc"), "\(bad.stderr)")
        try "[a]\ninclude loop.fio\n".write(toFile: dir + "/jobs/loop.fio", atomically: true, encoding: .utf8)
        let loop = try run("fio-gen", [dir + "/jobs/loop.fio", "-o", dir + "/l.fiot"])
        #expect(loop.status != 0 && loop.stderr.contains("nested includes"), "\(loop.stderr)")
    }

    /// A random map past 2^32 blocks (512 MiB of bitmap) is refused in one line that names
    /// its size and the ways out, before anything is allocated (fuzz finding: 7 GiB in
    /// 1-byte blocks took 1.36 GB); a smaller map (2^29 blocks) is generated, and norandommap
    /// lifts the limit.
    @Test func randomMapTooLargeIsRefused() throws {
        let dir = makeTempDir("map"); defer { cleanup(dir) }
        let big = try run("fio-gen", ["--name=z", "--rw=randread", "--size=7g", "--bsrange=1-102k", "--number_ios=10", "-o", dir + "/z.fiot"])
        #expect(big.status != 0 && lines(big.stderr).count == 1, "\(big.stderr)")
        #expect(big.stderr.contains("the random map of 7516192768 blocks needs 896 MiB") && big.stderr.contains("norandommap=1"), "\(big.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/z.fiot"))
        let none = try run("fio-gen", ["--name=z", "--rw=randread", "--size=7g", "--bsrange=1-102k", "--number_ios=10", "--norandommap=1", "-o", dir + "/n.fiot"])
        #expect(none.status == 0, "\(none.stderr)")
        let edge = try run("fio-gen", ["--name=z", "--rw=randread", "--size=512m", "--bsrange=1-4k", "--number_ios=10", "-o", dir + "/e.fiot"])
        #expect(edge.status == 0, "\(edge.stderr)")
    }
}
