import Foundation
import Testing
@testable import FioTrace

/// One vocabulary on both command lines: fio's sizes and durations, numbers that are taken
/// as values even when negative, format advice phrased with each command's own option, and
/// one metadata builder for every recording.
@Suite("CLI vocabulary")
struct VocabularyTests {
    @Test("a negative count or number says what is allowed, not that a value is missing")
    func negativeNumbers() throws {
        let dir = makeTempDir("vocab")
        defer { cleanup(dir) }
        let trace = dir + "/t.iolog"
        try "fio version 3 iolog\n0 f add\n0 f open\n10 f read 0 4096\n20 f close\n".write(toFile: trace, atomically: true, encoding: .utf8)
        for (tool, args, says) in [
            ("fio-replay", ["replay", trace, "--engine", "null", "--iodepth", "-1"], "--iodepth must be 1...65536"),
            ("fio-replay", ["replay", trace, "--engine", "null", "--loops", "-2"], "--loops must be >= 1"),
            ("fio-replay", ["replay", trace, "--engine", "null", "--speed", "-3"], "--speed must be > 0"),
            ("fio-replay", ["replay", trace, "--engine", "null", "--align", "-4k"], "is not a size"),
            ("fio-replay", ["replay", trace, "--engine", "null", "--spin-us", "-5"], "--spin-us must be"),
            ("fio-replay", ["convert", trace, dir + "/o.fiot", "--block-records", "-5"], "--block-records must be 1...4194304"),
            ("fio-replay", ["cat", trace, "--from", "-1s"], "is not a duration"),
            ("fio-replay", ["run", "--seed", "-1", "--name=x", "--size=1m"], "'-1' is invalid for '--seed"),
            ("fio-gen", ["--rw=read", "--size=1m", "--seed", "-1", "--discard"], "'-1' is invalid for '--seed"),
            ("fio-gen", ["--rw=read", "--size=1m", "--service-time", "-5", "--discard"], "is not a duration"),
            ("fio-gen", ["--rw=read", "--size=1m", "--service-bw", "-1g", "--discard"], "is not a size"),
        ] {
            let r = try run(tool, args)
            #expect(r.status != 0 && r.stderr.contains(says) && !r.stderr.contains("Missing value"), "\(args): \(r.stderr)")
        }
    }

    @Test("replay --align takes fio's size suffixes: offsets land on 4 KiB multiples")
    func alignWithSuffix() throws {
        let dir = makeTempDir("vocab")
        defer { cleanup(dir) }
        let trace = dir + "/t.iolog"
        let offsets: [UInt64] = [5000, 12345, 100_000, 4096, 8191]
        var text = "fio version 3 iolog\n0 f add\n0 f open\n"
        for (i, o) in offsets.enumerated() { text += "\(10 + i) f read \(o) 512\n" }
        text += "20 f close\n"
        try text.write(toFile: trace, atomically: true, encoding: .utf8)
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: dir + "/target"))
        let r = try run("fio-replay", ["replay", trace, "--target", dir + "/target", "--engine", "psync", "--timing", "none",
                                       "--align", "4k", "--write-iolog", dir + "/out.fiot", "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        var src = try openTraceSource(path: dir + "/out.fiot")
        var got: [UInt64] = []
        var batch: [TraceRecord] = []
        while try src.nextBatch(&batch, maxCount: 100) { got += batch.filter { $0.op == .read }.map(\.offset) }
        #expect(got == offsets.map { $0 / 4096 * 4096 })
    }

    @Test("an undetected format is named with the command's own option: --format, or --from for convert")
    func formatAdvice() throws {
        let dir = makeTempDir("vocab")
        defer { cleanup(dir) }
        let path = dir + "/what.txt"
        try "hello world\n".write(toFile: path, atomically: true, encoding: .utf8)
        let info = try run("fio-replay", ["info", path])
        #expect(info.status == 1 && info.stderr.contains("unknown trace format") && info.stderr.contains("name it with --format (fiot,"), "\(info.stderr)")
        #expect(!info.stderr.contains("--from"))
        let convert = try run("fio-replay", ["convert", path, dir + "/o.fiot"])
        #expect(convert.status == 1 && convert.stderr.contains("name it with --from (fiot,"), "\(convert.stderr)")
        // The option the advice names works.
        let forced = try run("fio-replay", ["info", path, "--format", "msr"])
        #expect(!forced.stderr.contains("unknown trace format") && !forced.stderr.contains("Unknown option"), "\(forced.stderr)")
        // Help texts list the formats from the one list.
        let help = try run("fio-replay", ["convert", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("--from <from> Input format (" + TraceFormat.allCases.map(\.rawValue).joined(separator: ", ")), "\(help)")
    }

    @Test("record's metadata comes from the recording builder: recorder, tool version, host, time unit",
          .enabled(if: haveTool("strace")))
    func recordMetadata() throws {
        let dir = makeTempDir("vocab")
        defer { cleanup(dir) }
        // The strace back end (preload, the default since issue 13, writes "preload" and "ns").
        let r = try run("fio-replay", ["record", "--via", "strace", "-o", dir + "/rec.fiot", "--paths", dir, "--",
                                       "sh", "-c", "echo hello > \(dir)/f"])
        #expect(r.status == 0, "\(r.stderr)")
        let src = try openTraceSource(path: dir + "/rec.fiot")
        let host = try run("uname", ["-n"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(src.metadata["recorder"] == "strace")
        #expect(src.metadata["tool.version"] == "fio-replay \(fioGenVersion)")
        #expect(src.metadata["host"] == host)
        #expect(src.metadata["time.unit"] == "us")
        #expect(src.metadata["record.command"] == "sh -c echo hello > \(dir)/f")
    }
}
