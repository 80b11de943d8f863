import Foundation
import Glibc
import Testing
@testable import FioTrace

/// Outputs that would destroy inputs or data are refused before anything is written, with
/// one line and no report; failed conversions leave no partial file; messages that quote
/// input cannot be split by control bytes in it.
@Suite struct WriterSafetyTests {
    /// A small .fiot trace (200 reads, 4 blocks of 64 records) in `dir`.
    func makeTrace(_ dir: String) throws -> String {
        let t = dir + "/t.fiot"
        var csv = "time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags\n"
        for i in 0..<200 { csv += "\(i * 10_000),\(dir)/data,read,\((i % 16) * 4096),4096,-,-,-,-,-\n" }
        try csv.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
        let c = try run("fio-replay", ["convert", dir + "/t.csv", t, "--block-records", "64"])
        try #require(c.status == 0, "\(c.stderr)")
        return t
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// stderr is one line (nothing that a terminal would take as a line break inside it).
    func isOneLine(_ s: String) -> Bool {
        s.hasSuffix("\n") && s.dropLast().allSatisfy { !"\n\r\u{0B}\u{0C}\u{85}\u{2028}\u{2029}".contains($0) }
    }

    enum Overlap: String, CaseIterable, CustomTestStringConvertible {
        case replayIologIsTrace, replayIologIsHardLink, replayTimeseriesIsTrace, replayVerifyStateIsTrace,
             replayTargetIsTrace, replayReportIsTrace, convertOntoInput, convertOntoHardLink, runIologIsJobFile,
             runIologIsJobTarget, recordOutputIsKeptStrace
        var testDescription: String { rawValue }
    }

    /// An output that is also an input (by device and inode, whatever the name) is refused
    /// with one line before anything is written: the input is byte for byte as it was.
    @Test(arguments: Overlap.allCases)
    func outputThatIsAnInputIsRefused(_ c: Overlap) throws {
        let dir = makeTempDir("overlap"); defer { cleanup(dir) }
        let t = try makeTrace(dir)
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: dir + "/data"))
        _ = link(t, dir + "/hard.fiot")
        let job = dir + "/j.fio"
        try "[j]\nfilename=\(dir)/jf\nsize=1m\nrw=randwrite\nnumber_ios=100\nioengine=null\n".write(toFile: job, atomically: true, encoding: .utf8)
        let common = ["--engine", "null", "--no-progress"]
        var watched = t
        let args: [String]
        switch c {
        case .replayIologIsTrace: args = ["replay", t, "--write-iolog", t] + common
        case .replayIologIsHardLink: args = ["replay", t, "--write-iolog", dir + "/hard.fiot"] + common
        case .replayTimeseriesIsTrace: args = ["replay", t, "--write-timeseries", dir + "/./t.fiot"] + common
        case .replayVerifyStateIsTrace: args = ["replay", t, "--target", dir + "/data", "--verify", "crc32c", "--verify-state", t] + common
        case .replayTargetIsTrace: args = ["replay", t, "--target", t] + common
        case .replayReportIsTrace: args = ["replay", t, "--target", dir + "/data", "--output", t] + common
        case .convertOntoInput: args = ["convert", t, t]
        case .convertOntoHardLink: args = ["convert", t, dir + "/hard.fiot", "--to", "csv"]
        case .runIologIsJobFile:
            watched = job
            args = ["run", job, "--write-iolog", job, "--no-progress"]
        case .runIologIsJobTarget:
            try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: dir + "/jf"))
            watched = dir + "/jf"
            args = ["run", job, "--write-iolog", dir + "/jf", "--no-progress"]
        case .recordOutputIsKeptStrace:
            watched = dir + "/data"
            args = ["record", "-o", dir + "/data", "--keep-strace", dir + "/data", "--", "true"]
        }
        let before = try #require(bytes(watched))
        let r = try run("fio-replay", args)
        #expect(r.status == 1, "\(c): \(r.stderr)")
        #expect(r.stderr.contains("(the same file)") && isOneLine(r.stderr), "\(c): \(r.stderr.debugDescription)")
        #expect(r.stdout.isEmpty, "no report: \(r.stdout.prefix(200))")
        #expect(bytes(watched) == before, "\(c): \(watched) was changed")
    }

    /// The trace names /dir/victim, which holds data: a replay with no --target or --map
    /// refuses to overwrite it (one line, no report); --readonly and --in-place run.
    @Test func replayDoesNotOverwriteFilesAtTheTracesPaths() throws {
        let dir = makeTempDir("inplace"); defer { cleanup(dir) }
        let victim = dir + "/victim"
        let log = dir + "/v.log"
        try "fio version 2 iolog\n\(victim) add\n\(victim) open\n\(victim) write 0 4096\n\(victim) read 4096 4096\n\(victim) close\n"
            .write(toFile: log, atomically: true, encoding: .utf8)
        let precious = Data(repeating: 0x5A, count: 8192)
        try precious.write(to: URL(fileURLWithPath: victim))

        let r = try run("fio-replay", ["replay", log, "--engine", "psync", "--no-progress"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("fio-replay: error: refusing to write to \(victim):") && r.stderr.contains("--in-place"), "\(r.stderr)")
        #expect(isOneLine(r.stderr) && r.stdout.isEmpty, "one line, no report: \(r.stderr) \(r.stdout.prefix(200))")
        #expect(bytes(victim) == precious)

        let ro = try run("fio-replay", ["replay", log, "--engine", "psync", "--no-progress", "--readonly", "--output-format", "json"])
        #expect(ro.status == 0, "\(ro.stderr)")
        #expect(bytes(victim) == precious, "--readonly writes nothing")

        let ip = try run("fio-replay", ["replay", log, "--engine", "psync", "--no-progress", "--in-place"])
        #expect(ip.status == 0, "\(ip.stderr)")
        #expect(bytes(victim)?.prefix(4096) != precious.prefix(4096), "--in-place replays the write onto it")
        #expect(bytes(victim)?.suffix(4096) == precious.suffix(4096), "and nothing else")
    }

    /// Missing files at the trace's paths are created when small, and refused (naming the
    /// size) when large, unless --in-place.
    @Test func missingTracePathsAreCreatedOnlyWhenModest() throws {
        let dir = makeTempDir("create"); defer { cleanup(dir) }
        let small = dir + "/small", big = dir + "/big"
        try "fio version 2 iolog\n\(small) add\n\(small) open\n\(small) write 0 4096\n\(small) close\n"
            .write(toFile: dir + "/s.log", atomically: true, encoding: .utf8)
        let s = try run("fio-replay", ["replay", dir + "/s.log", "--engine", "psync", "--no-progress"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stderr.contains("created \(small) (4096 bytes)"))
        // A second replay finds the file the first created, marked as ours: it replays onto it.
        let mark = try run("python3", ["-c", "import os, sys; print(os.getxattr(sys.argv[1], 'user.fio-replay.created').decode())", small])
        #expect(mark.stdout == "1\n", "the created file is marked: \(mark.stderr)")
        let again = try run("fio-replay", ["replay", dir + "/s.log", "--engine", "psync", "--no-progress"])
        #expect(again.status == 0, "\(again.stderr)")
        // Without the mark (a file someone else made) it is refused.
        #expect(try run("python3", ["-c", "import os, sys; os.removexattr(sys.argv[1], 'user.fio-replay.created')", small]).status == 0)
        let other = try run("fio-replay", ["replay", dir + "/s.log", "--engine", "psync", "--no-progress"])
        #expect(other.status == 1 && other.stderr.contains("refusing to write to \(small)"), "\(other.stderr)")

        // 3 GiB reached on a file that does not exist.
        try "fio version 2 iolog\n\(big) add\n\(big) open\n\(big) write 3221221376 4096\n\(big) close\n"
            .write(toFile: dir + "/b.log", atomically: true, encoding: .utf8)
        let b = try run("fio-replay", ["replay", dir + "/b.log", "--engine", "null", "--no-progress"])
        #expect(b.status == 1)
        #expect(b.stderr.contains("3 GiB") && b.stderr.contains(big) && b.stderr.contains("--in-place"), "\(b.stderr)")
        #expect(isOneLine(b.stderr) && b.stdout.isEmpty)
        #expect(access(big, F_OK) != 0, "not created")
        let bi = try run("fio-replay", ["replay", dir + "/b.log", "--engine", "null", "--no-progress", "--in-place"])
        #expect(bi.status == 0, "\(bi.stderr)")
        var st = stat()
        #expect(stat(big, &st) == 0 && st.st_size == 3 << 30, "created sparse at the size the trace reaches")
    }

    /// A --map entry that names no file of the trace (by path or index) is an error that
    /// lists the trace's files; nothing is replayed.
    @Test(arguments: ["7", "/no/such/file"])
    func mapEntryThatNamesNoFileIsAnError(_ key: String) throws {
        let dir = makeTempDir("map"); defer { cleanup(dir) }
        let t = try makeTrace(dir)
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: dir + "/data"))
        let r = try run("fio-replay", ["replay", t, "--engine", "null", "--no-progress", "--map", "\(key)=\(dir)/other", "--in-place"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("--map \(key)=\(dir)/other") && r.stderr.contains("0 \"\(dir)/data\""), "\(r.stderr)")
        #expect(isOneLine(r.stderr) && r.stdout.isEmpty, "\(r.stdout.prefix(200))")
        #expect(access(dir + "/other", F_OK) != 0)
        // The index and the path of the trace's file both work.
        for k in ["0", dir + "/data"] {
            let ok = try run("fio-replay", ["replay", t, "--engine", "null", "--no-progress", "--map", "\(k)=\(dir)/other"])
            #expect(ok.status == 0, "\(k): \(ok.stderr)")
        }
    }

    enum Refusal: String, CaseIterable, CustomTestStringConvertible {
        case destructive, readonlyMissing, notAFile
        var testDescription: String { rawValue }
    }

    /// A target the replay cannot use is refused before the replay starts: one line that
    /// says why (not "record 0: ..."), and no statistics.
    @Test(arguments: Refusal.allCases)
    func refusedTargetIsOneLineBeforeAnyReport(_ c: Refusal) throws {
        let dir = makeTempDir("refuse"); defer { cleanup(dir) }
        let t = try makeTrace(dir)
        var args = ["replay", t, "--engine", "null", "--no-progress"]
        switch c {
        case .destructive:
            // An existing file at the path the trace names (made here, not by fio-replay).
            try Data(count: 1 << 20).write(to: URL(fileURLWithPath: dir + "/data"))
        case .readonlyMissing:
            args += ["--target", dir + "/missing", "--readonly"]
        case .notAFile:
            try FileManager.default.createDirectory(atPath: dir + "/adir", withIntermediateDirectories: false)
            args += ["--target", dir + "/adir", "--iodepth", "4"]
        }
        let r = try run("fio-replay", args)
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty, "no report: \(r.stdout.prefix(300))")
        #expect(isOneLine(r.stderr) && r.stderr.hasPrefix("fio-replay: error: ") && !r.stderr.contains("record 0"), "\(r.stderr)")
        // What to do, in replay's own options.
        let advice = [Refusal.destructive: "pass --in-place to replay onto it, --readonly to only read it, or choose targets with --target or --map",
                      .readonlyMissing: "create it, or drop --readonly", .notAFile: "cannot open target \(dir)/adir"][c]!
        #expect(r.stderr.contains(advice), "\(r.stderr)")
    }

    /// A conversion that fails (the input is cut short in its third block) leaves no
    /// output, and an existing output stays as it was; no temporary file is left behind.
    @Test func failedConvertLeavesNoPartialFile() throws {
        let dir = makeTempDir("convert"); defer { cleanup(dir) }
        let t = try makeTrace(dir)
        let whole = try #require(bytes(t))
        // Cut inside the third block: two complete blocks (128 records) come before it.
        var offsets: [Int] = []
        whole.withUnsafeBytes { b in
            for i in 0..<(b.count - 4) where b.loadUnaligned(fromByteOffset: i, as: UInt32.self) == FiotLayout.blockMagic { offsets.append(i) }
        }
        try #require(offsets.count >= 3)
        let cut = dir + "/cut.fiot"
        try whole.prefix(offsets[2] + 20).write(to: URL(fileURLWithPath: cut))
        for format in ["fiot", "csv"] {
            let out = dir + "/out.\(format)"
            let r = try run("fio-replay", ["convert", cut, out])
            #expect(r.status == 1 && r.stderr.contains("truncated"), "\(r.stderr)")
            #expect(access(out, F_OK) != 0, "\(format): no partial output")
            try "old contents\n".write(toFile: out, atomically: true, encoding: .utf8)
            let again = try run("fio-replay", ["convert", cut, out])
            #expect(again.status == 1)
            #expect(String(decoding: bytes(out) ?? Data(), as: UTF8.self) == "old contents\n", "\(format): the old output stays")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "temporary files left: \(left)")
        // With --skip-bad-blocks the truncation is a warning and the complete blocks convert.
        let s = try run("fio-replay", ["convert", cut, dir + "/salvaged.fiot", "--skip-bad-blocks"])
        #expect(s.status == 0, "\(s.stderr)")
        var src = try openTraceSource(path: dir + "/salvaged.fiot")
        var n = 0
        var batch: [TraceRecord] = []
        while try src.nextBatch(&batch, maxCount: 1000) { n += batch.count }
        #expect(n == 128)
    }

    /// CR, VT, FF (and a newline inside a file name) in quoted input come out escaped: the
    /// error is one line.
    @Test func controlBytesInQuotedInputAreEscaped() throws {
        let dir = makeTempDir("ctl"); defer { cleanup(dir) }
        let log = dir + "/c.log"
        try "fio version 2 iolog\nf add\nf open\nf write 0 4096 x\u{0B}y\u{0C}z\rw\n".write(toFile: log, atomically: true, encoding: .utf8)
        let r = try run("fio-replay", ["info", log])
        #expect(r.status == 1)
        #expect(isOneLine(r.stderr), "\(r.stderr.debugDescription)")
        #expect(r.stderr.contains(#"x\vy\fz\rw"#) && r.stderr.contains("c.log:4"), "\(r.stderr.debugDescription)")
        // A .csv whose file name carries a newline and an escape sequence.
        try "time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags\n0,a\u{1B}[2Jb,nope,0,4096,-,-,-,-,-\n"
            .write(toFile: dir + "/c.csv", atomically: true, encoding: .utf8)
        let c = try run("fio-replay", ["info", dir + "/c.csv"])
        #expect(c.status == 1)
        #expect(isOneLine(c.stderr) && !c.stderr.contains("\u{1B}"), "\(c.stderr.debugDescription)")
    }
}
