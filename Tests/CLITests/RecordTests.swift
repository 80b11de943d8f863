import Foundation
import Testing
@testable import FioTrace

@Suite struct RecordTests {
    /// A program that writes, overwrites, fsyncs and reads a file (three dd runs): the trace
    /// holds exactly those calls, in order, with their offsets and lengths, and the
    /// command's exit status comes back.
    @Test func recordsDdCallsInOrder() throws {
        #expect(haveTool("strace"), "strace must be installed (scripts/test.sh installs it)")
        let dir = makeTempDir(); defer { cleanup(dir) }
        let f = dir + "/f.dat"
        let script = ddCaptureScript(f) + "\necho to-stdout\nexit 3\n"
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", dir, "--", "sh", "-c", script])
        #expect(r.status == 3, "exit status passes through: \(r.status) \(r.stderr)")
        #expect(r.stdout == "to-stdout\n", "the command's stdout is untouched")
        let (all, files) = try readAllCLI(dir + "/t.fiot")
        #expect(files.map(\.path) == [f])
        let ops = all.map { "\($0.op.fioName) \($0.offset) \($0.length)" }
        #expect(ops == [
            "add 0 0", "open 0 0", "write 0 4096", "write 4096 4096", "sync 0 0", "close 0 0",
            "open 0 0", "write 4096 4096", "sync 0 0", "close 0 0",
            "open 0 0", "read 4096 4096", "close 0 0",
        ])
        // Times increase and each call carries its duration and result.
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.time <= $1.time })
        for rec in all where rec.op.isData {
            #expect(rec.latency != nil && rec.result == Int64(rec.length))
        }
    }

    @Test func appendsLandAtTheEnd() throws {
        #expect(haveTool("strace"))
        let dir = makeTempDir(); defer { cleanup(dir) }
        let log = dir + "/log.txt"
        try "12345678".write(toFile: log, atomically: true, encoding: .utf8) // 8 bytes before the run
        let r = try run("fio-replay", ["record", "-o", dir + "/a.fiot", "--paths", dir, "--", "sh", "-c",
                                       "echo abc >> \(log); echo defgh >> \(log); true"])
        #expect(r.status == 0, "\(r.stderr)")
        let (recs, _) = try readAllCLI(dir + "/a.fiot")
        let writes = recs.filter { $0.op == .write }.map { "\($0.offset) \($0.length)" }
        #expect(writes == ["8 4", "12 6"])
    }
}

/// Every record of the trace at `path`, and its file table.
func readAllCLI(_ path: String) throws -> ([TraceRecord], [TraceFile]) {
    var src = try openTraceSource(path: path)
    var all: [TraceRecord] = []
    var batch: [TraceRecord] = []
    while try src.nextBatch(&batch, maxCount: 1000) { all += batch }
    return (all, src.files)
}

/// The capture issue's three dd runs on file `f`: write 8 KiB with fsync, overwrite its
/// second 4 KiB with fsync, read that block back.
func ddCaptureScript(_ f: String) -> String {
    """
    dd if=/dev/zero of=\(f) bs=4096 count=2 conv=fsync status=none
    dd if=/dev/zero of=\(f) bs=4096 count=1 seek=1 conv=notrunc,fsync status=none
    dd if=\(f) of=/dev/null bs=4096 count=1 skip=1 status=none
    """
}

@Suite struct RecordReplayTests {
    /// Issue 5's loop: record a program, replay the recording onto a copy of its file with
    /// --map, record that replay with --write-iolog: the same calls, file, offsets and
    /// lengths in the same order, and the replay wrote what the program wrote.
    @Test func recordReplayRecordGivesTheSameCalls() throws {
        #expect(haveTool("strace"), "strace must be installed (scripts/test.sh installs it)")
        let dir = makeTempDir(); defer { cleanup(dir) }
        let f = dir + "/f.dat", copy = dir + "/copy.dat"
        let script = """
        dd if=/dev/urandom of=\(f) bs=4096 count=4 conv=fsync status=none
        dd if=/dev/zero of=\(f) bs=4096 count=1 seek=2 conv=notrunc,fdatasync status=none
        dd if=\(f) of=/dev/null bs=8192 count=1 skip=1 status=none
        """
        let r = try run("fio-replay", ["record", "-o", dir + "/app.fiot", "--paths", dir, "--", "sh", "-c", script])
        #expect(r.status == 0, "\(r.stderr)")
        try FileManager.default.copyItem(atPath: f, toPath: copy)
        let rp = try run("fio-replay", ["replay", dir + "/app.fiot", "--map", "\(f)=\(copy)", "--engine", "psync",
                                        "--no-progress", "--write-iolog", dir + "/replayed.fiot"])
        #expect(rp.status == 0, "\(rp.stderr)")
        func calls(_ path: String) throws -> [String] {
            var src = try openTraceSource(path: path)
            var all: [String] = []
            var batch: [TraceRecord] = []
            while try src.nextBatch(&batch, maxCount: 100) {
                let files = src.files
                for x in batch where !x.op.isFileEvent {
                    all.append("\(files[Int(x.file)].path) \(x.op.fioName) \(x.offset) \(x.length)")
                }
            }
            return all
        }
        let original = try calls(dir + "/app.fiot")
        let replayed = try calls(dir + "/replayed.fiot")
        // 4 writes + fsync, 1 write + fdatasync, 1 read of 8 KiB.
        #expect(original.count == 8, "\(original)")
        #expect(replayed == original)
        // The recording of the replay carries completions.
        var src = try openTraceSource(path: dir + "/replayed.fiot")
        var batch: [TraceRecord] = []
        _ = try src.nextBatch(&batch, maxCount: 100)
        #expect(batch.allSatisfy { $0.latency != nil && $0.result != nil && $0.depth == 1 })
        #expect(src.metadata["ioengine"] == "psync")
        #expect(src.metadata["tool.version"]?.hasPrefix("fio-replay ") == true)
        #expect(src.metadata["host"] != nil && src.metadata["recorder"] == "fio-replay replay --write-iolog")
    }

    /// At iodepth 16 completions come back out of order; the recording is still in issue
    /// order, holds every I/O, and no depth exceeds the cap.
    @Test func writeIologAtDepthKeepsIssueOrder() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        var text = "fio version 3 iolog\n1 t add\n2 t open\n"
        for i in 0..<3000 { text += "\(10 + i) t \(i % 2 == 0 ? "read" : "write") \((i * 7919 % 4096) * 4096) 4096\n" }
        text += "5000 t close\n"
        try text.write(toFile: dir + "/t.log", atomically: true, encoding: .utf8)
        let rp = try run("fio-replay", ["replay", dir + "/t.log", "--target", dir + "/target.dat", "--timing", "none",
                                        "--iodepth", "16", "--engine", "io_uring", "--no-progress",
                                        "--write-iolog", dir + "/rec.fiot"])
        #expect(rp.status == 0, "\(rp.stderr)")
        var src = try openTraceSource(path: dir + "/rec.fiot")
        var all: [TraceRecord] = []
        var batch: [TraceRecord] = []
        while try src.nextBatch(&batch, maxCount: 1000) { all += batch }
        #expect(all.count == 3000)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(all.allSatisfy { ($0.depth ?? 0) >= 1 && ($0.depth ?? 99) <= 16 })
        #expect(all.contains { ($0.depth ?? 0) > 1 })
        let want = (0..<3000).map { ($0 * 7919 % 4096) * 4096 }
        #expect(all.map { Int($0.offset) } == want)
    }
}
