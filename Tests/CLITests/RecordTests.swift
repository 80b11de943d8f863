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
        let script = """
        dd if=/dev/zero of=\(f) bs=4096 count=2 conv=fsync status=none
        dd if=/dev/zero of=\(f) bs=4096 count=1 seek=1 conv=notrunc,fsync status=none
        dd if=\(f) of=/dev/null bs=4096 count=1 skip=1 status=none
        echo to-stdout
        exit 3
        """
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", dir, "--", "sh", "-c", script])
        #expect(r.status == 3, "exit status passes through: \(r.status) \(r.stderr)")
        #expect(r.stdout == "to-stdout\n", "the command's stdout is untouched")
        var src = try openTraceSource(path: dir + "/t.fiot")
        var all: [TraceRecord] = []
        var batch: [TraceRecord] = []
        while try src.nextBatch(&batch, maxCount: 100) { all += batch }
        #expect(src.files.map(\.path) == [f])
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

    func readAllCLI(_ path: String) throws -> ([TraceRecord], [TraceFile]) {
        var src = try openTraceSource(path: path)
        var all: [TraceRecord] = []
        var batch: [TraceRecord] = []
        while try src.nextBatch(&batch, maxCount: 100) { all += batch }
        return (all, src.files)
    }
}
