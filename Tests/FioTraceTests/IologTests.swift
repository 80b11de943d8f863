import Foundation
import Testing
@testable import FioTrace

@Suite struct IologTests {
    func write(_ dir: String, _ name: String, _ text: String) -> String {
        let p = dir + "/" + name
        try! text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func expectError(_ path: String, kind: TraceError.Kind, contains: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try readAll(path: path)
            Issue.record("no error for \(path)", sourceLocation: sourceLocation)
        } catch let e as TraceError {
            #expect(e.kind == kind, sourceLocation: sourceLocation)
            for c in contains { #expect(e.message.contains(c), "\(e.message) lacks \(c)", sourceLocation: sourceLocation) }
            #expect(!e.message.contains("\n"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func fioWrittenV3RoundTripsThroughFiot() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let src = sampleTraces + "/fio-t0038.iolog.v3"
        var reader = try openTraceSource(path: src)
        let fiot = dir + "/t.fiot"
        let w: any TraceSink = try FiotWriter(path: fiot)
        try copyTrace(from: &reader, to: w)
        try w.finish(metadata: [:])
        var back = try openTraceSource(path: fiot)
        let v3: any TraceSink = try IologWriter(path: dir + "/back.log", version: 3)
        try copyTrace(from: &back, to: v3)
        try v3.finish(metadata: [:])
        let original = try String(contentsOfFile: src, encoding: .utf8)
        let again = try String(contentsOfFile: dir + "/back.log", encoding: .utf8)
        #expect(again == original)
        // Ground truth by hand: the file holds add, open, 10 trim + 10 write, close.
        let (recs, files) = try readAll(path: src)
        #expect(files.map(\.path) == ["/dev/null"])
        #expect(recs.count == 23)
        #expect(recs.filter { $0.op == .trim }.count == 10)
        #expect(recs[2] == TraceRecord(time: 10_736_000, op: .trim, file: 0, offset: 0, length: 2_147_483_648))
    }

    @Test func v2WaitIsAbsoluteMilliseconds() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let p = write(dir, "w.log", """
        fio version 2 iolog
        /tmp/f add
        /tmp/f open
        /tmp/f write 0 4096
        /tmp/f wait 100 0
        /tmp/f read 4096 4096
        /tmp/f wait 250 0
        /tmp/f sync 0 0
        /tmp/f close

        """)
        let (recs, _) = try readAll(path: p)
        let io = recs.filter { !$0.op.isFileEvent }
        #expect(io.map(\.time) == [0, 100_000_000, 250_000_000])
        #expect(io.map(\.op) == [.write, .read, .sync])
        // Writing v2 gives the waits back, and reading that gives the same records.
        var src = try openTraceSource(path: p)
        let out: any TraceSink = try IologWriter(path: dir + "/again.log", version: 2)
        try copyTrace(from: &src, to: out)
        try out.finish(metadata: [:])
        let (again, _) = try readAll(path: dir + "/again.log")
        #expect(again == recs)
    }

    @Test func namesWithSpacesAndExtraActions() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let p = write(dir, "s.log", """
        fio version 3 iolog
        5 /mnt/my data/file one add
        6 /mnt/my data/file one open
        10 /mnt/my data/file one write 8192 4096
        12 /mnt/my data/file one sync_file_range 8192 4096
        13 /mnt/my data/file one syncfs 0 0
        14 /mnt/my data/file one datasync 8192 0
        20 /mnt/my data/file one close

        """)
        let (recs, files) = try readAll(path: p)
        #expect(files.map(\.path) == ["/mnt/my data/file one"])
        #expect(recs.map(\.op) == [.add, .open, .write, .syncFileRange, .syncfs, .datasync, .close])
        #expect(recs[3].offset == 8192 && recs[3].length == 4096 && recs[3].time == 12_000)
        // .fiot keeps the name; the v3 text written back is the same text.
        var src = try openTraceSource(path: p)
        let fw: any TraceSink = try FiotWriter(path: dir + "/s.fiot")
        try copyTrace(from: &src, to: fw)
        try fw.finish(metadata: [:])
        var src2 = try openTraceSource(path: dir + "/s.fiot")
        let tw: any TraceSink = try IologWriter(path: dir + "/s2.log", version: 3)
        try copyTrace(from: &src2, to: tw)
        try tw.finish(metadata: [:])
        #expect(try String(contentsOfFile: dir + "/s2.log", encoding: .utf8) == String(contentsOfFile: p, encoding: .utf8))
    }

    @Test func compressedLogsReadTransparently() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let src = sampleTraces + "/fio-t0038.iolog.v3"
        let plain = try readAll(path: src).records
        for (tool, ext) in [("gzip", "gz"), ("zstd", "zst")] {
            let out = dir + "/t.\(ext)"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "\(tool) -c < '\(src)' > '\(out)'"]
            try p.run(); p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(tool) is needed for this test")
            // Name it without the extension too: detection is by content.
            try FileManager.default.copyItem(atPath: out, toPath: dir + "/noext-\(ext)")
            #expect(try readAll(path: out).records == plain)
            #expect(try readAll(path: dir + "/noext-\(ext)").records == plain)
        }
        // A truncated gzip stream is an error, not a short trace.
        let gz = try Data(contentsOf: URL(fileURLWithPath: dir + "/t.gz"))
        try gz.prefix(gz.count - 12).write(to: URL(fileURLWithPath: dir + "/cut.gz"))
        expectError(dir + "/cut.gz", kind: .truncated, contains: ["cut.gz", "truncated"])
    }

    @Test func appendedLogsContinueTheClock() throws {
        // fio's write_iolog appends to an existing file: a second header restarts the clock.
        let dir = makeTempDir(); defer { cleanup(dir) }
        let p = write(dir, "a.log", """
        fio version 3 iolog
        1 f add
        2 f open
        100 f read 0 4096
        110 f close
        fio version 3 iolog
        1 f add
        2 f open
        50 f write 0 4096
        60 f close

        """)
        let (recs, files) = try readAll(path: p)
        #expect(files.count == 1)
        let io = recs.filter { $0.op.isData }
        #expect(io.map(\.time) == [100_000, 160_000])
    }

    @Test func malformedInputNamesFileLineAndProblem() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let head = "fio version 3 iolog\n1 f add\n2 f open\n"
        expectError(write(dir, "a.log", head + "3 f write 0 4k\n"), kind: .malformedLine, contains: ["a.log:4", "length is not a number", "3 f write 0 4k"])
        expectError(write(dir, "b.log", head + "x f write 0 4096\n"), kind: .malformedLine, contains: ["b.log:4", "timestamp"])
        expectError(write(dir, "c.log", head + "3 f scribble 0 4096\n"), kind: .malformedLine, contains: ["c.log:4", "unknown action \"scribble\""])
        expectError(write(dir, "d.log", head + "3 g write 0 4096\n"), kind: .malformedLine, contains: ["d.log:4", "never added"])
        expectError(write(dir, "e.log", "fio version 3 iolog\n1 f add\n3 f write 0 4096\n"), kind: .malformedLine, contains: ["e.log:3", "not open"])
        expectError(write(dir, "f.log", "fio version 3 iolog\n1 f open\n"), kind: .malformedLine, contains: ["f.log:2", "never added"])
        expectError(write(dir, "g.log", head + "3 f wait 10 0\n"), kind: .malformedLine, contains: ["g.log:4", "wait"])
        expectError(write(dir, "h.log", head + "3 f write 0 99999999999999999999999\n"), kind: .malformedLine, contains: ["h.log:4", "length"])
        expectError(write(dir, "i.log", "fio version 4 iolog\n"), kind: .unsupportedVersion, contains: ["i.log:1"])
        expectError(write(dir, "j.log", "fio version 3 iolog\n1 f add\n2 f open\n3 f close\n4 f read 0 4096\n"), kind: .malformedLine, contains: ["j.log:5", "not open"])
        expectError(write(dir, "k.txt", "hello world\n"), kind: .unknownFormat, contains: ["k.txt", "unknown trace format"])
        expectError(dir + "/missing.log", kind: .cannotOpen, contains: ["missing.log"])
        expectError(write(dir, "empty.fiot", ""), kind: .unknownFormat, contains: ["empty.fiot"])
    }

    @Test func sourcesWithoutFileEventsGetAddAndOpen() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let w = try IologWriter(path: dir + "/o.log", version: 3)
        try w.define(file: TraceFile(path: "/dev/sdb"))
        try w.write([TraceRecord(time: 5_000, op: .write, file: 0, offset: 512, length: 4096),
                     TraceRecord(time: 9_999, op: .read, file: 0, offset: 0, length: 512)])
        try w.finish()
        let text = try String(contentsOfFile: dir + "/o.log", encoding: .utf8)
        #expect(text == "fio version 3 iolog\n5 /dev/sdb add\n5 /dev/sdb open\n5 /dev/sdb write 512 4096\n9 /dev/sdb read 0 512\n9 /dev/sdb close\n")
    }
}
