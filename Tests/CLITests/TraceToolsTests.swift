import Foundation
import Testing
@testable import FioTrace

@Suite(.serialized) struct TraceToolsTests {
    /// A fio 3.33-written v3 iolog (null engine) converted to .fiot and back gives the same lines.
    @Test func fioWrittenIologRoundTrip() throws {
        #expect(haveTool("fio"), "fio must be installed (scripts/test.sh installs it)")
        let dir = makeTempDir(); defer { cleanup(dir) }
        let log = dir + "/fio.iolog"
        let f = try run("fio", ["--name=rt", "--ioengine=null", "--rw=randrw", "--bs=4k", "--size=128m",
                                "--number_ios=20000", "--fsync=7", "--write_iolog=\(log)", "--output=\(dir)/fio.out"])
        #expect(f.status == 0, "\(f.stderr)")
        let c1 = try run("fio-replay", ["convert", log, dir + "/t.fiot"])
        #expect(c1.status == 0, "\(c1.stderr)")
        let c2 = try run("fio-replay", ["convert", dir + "/t.fiot", dir + "/back.iolog"])
        #expect(c2.status == 0, "\(c2.stderr)")
        let original = try String(contentsOfFile: log, encoding: .utf8)
        let back = try String(contentsOfFile: dir + "/back.iolog", encoding: .utf8)
        #expect(back == original)
        // Independent count of the text: awk-style over the lines.
        var counts: [String: Int] = [:]
        for line in original.split(separator: "\n").dropFirst() {
            let parts = line.split(separator: " ")
            counts[String(parts[2]), default: 0] += 1
        }
        let info = try json(run("fio-replay", ["info", "--json", dir + "/t.fiot"]))
        let ops = info["ops"] as! [String: [String: Any]]
        for (op, n) in counts { #expect(ops[op]?["count"] as? Int == n, "op \(op)") }
        #expect(info["data_ios"] as? Int == (counts["read"] ?? 0) + (counts["write"] ?? 0))
        #expect(counts["read", default: 0] + counts["write", default: 0] == 20000)
        let fiotSize = try FileManager.default.attributesOfItem(atPath: dir + "/t.fiot")[.size] as! Int
        #expect(Double(fiotSize) / 20000 < 4.0)
    }

    /// SIGKILL mid-run leaves a file whose complete blocks all read back.
    @Test func killedWriterLeavesCompleteBlocks() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        var text = "fio version 3 iolog\n1 f add\n2 f open\n"
        for i in 0..<5498 { text += "\(10 + i) f \(i % 3 == 0 ? "read" : "write") \(i * 4096) 4096\n" }
        let out = dir + "/k.fiot"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/fio-replay")
        p.arguments = ["convert", "-", out, "--block-records", "1000"]
        let input = Pipe()
        p.standardInput = input
        try p.run()
        input.fileHandleForWriting.write(text.data(using: .utf8)!) // keep the pipe open: the writer waits for more
        // 5500 records: 5 blocks of 1000 go out; the last 500 wait in memory.
        let deadline = Date().addingTimeInterval(30)
        var blocks = 0
        while Date() < deadline {
            if let d = try? Data(contentsOf: URL(fileURLWithPath: out)) {
                blocks = d.withUnsafeBytes { b in
                    var n = 0
                    var i = 0
                    while i + 4 <= b.count {
                        if b.loadUnaligned(fromByteOffset: i, as: UInt32.self) == FiotLayout.blockMagic { n += 1 }
                        i += 1
                    }
                    return n
                }
                if blocks >= 5 { break }
            }
            usleep(20_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        #expect(blocks == 5)
        // What was written reads back: exactly the first 5000 records, then `truncated`.
        var expected = try IologReader(input: TraceInput(path: { let p = dir + "/src.log"; try! text.write(toFile: p, atomically: true, encoding: .utf8); return p }()))
        var want: [TraceRecord] = []
        var batch: [TraceRecord] = []
        while try expected.nextBatch(&batch, maxCount: 1000) { want += batch }
        var reader = try FiotReader(path: out)
        var got: [TraceRecord] = []
        var err: TraceError?
        do { while try reader.nextBatch(&batch, maxCount: 1000) { got += batch } } catch let e as TraceError { err = e }
        #expect(got == Array(want.prefix(5000)))
        #expect(err?.kind == .truncated)
        // The CLI says so, and with --skip-bad-blocks salvages it.
        let info = try run("fio-replay", ["info", out])
        #expect(info.status == 1 && info.stderr.contains("truncated"))
        let salvage = try json(run("fio-replay", ["info", "--json", "--skip-bad-blocks", out]))
        #expect(salvage["records"] as? Int == 5000)
    }

    /// The blktrace capture in traces/ agrees with blkparse (113 queued writes, 3156 KiB).
    @Test func blktraceAgreesWithBlkparse() throws {
        #expect(haveTool("blkparse"), "blkparse must be installed (scripts/test.sh installs blktrace)")
        let bp = try run("blkparse", ["-i", sampleTraces + "/liuzel01-sda", "-o", "/dev/null", "-s"])
        // blkparse's own summary: " Writes Queued:         113,     3156KiB".
        let summary = try run("sh", ["-c", "cd '\(sampleTraces)' && blkparse -i liuzel01-sda | grep -A12 'Total (' | grep -o 'Writes Queued: *[0-9]*, *[0-9]*KiB'"])
        #expect(bp.status == 0)
        let fields = summary.stdout.replacingOccurrences(of: ",", with: " ").split(whereSeparator: { $0 == " " || $0 == "\n" })
        let nums = fields.compactMap { Int($0.replacingOccurrences(of: "KiB", with: "")) }
        #expect(nums.count == 2, "could not read blkparse's summary: \(summary.stdout)")
        let (queued, kib) = (nums.first ?? -1, nums.last ?? -1)
        #expect(queued == 113 && kib == 3156)
        for path in [sampleTraces + "/liuzel01-sda.blktrace.0", sampleTraces + "/liuzel01-sda", sampleTraces + "/liuzel01-sda.blkparse-dump.bin"] {
            let info = try json(run("fio-replay", ["info", "--json", path]))
            let ops = info["ops"] as! [String: [String: Any]]
            #expect(ops["write"]?["count"] as? Int == queued, "\(path)")
            // blkparse prints KiB rounded down: the exact total is 3,232,256 bytes (3156.5 KiB).
            #expect((ops["write"]?["bytes"] as? Int).map { $0 / 1024 } == kib, "\(path)")
            #expect(ops["write"]?["bytes"] as? Int == 3_232_256, "\(path)")
            #expect(ops["read"] == nil)
        }
    }

    @Test func pipeAndFilters() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        var text = "fio version 3 iolog\n1 a add\n1 b add\n2 a open\n2 b open\n"
        for i in 0..<300 { text += "\(10 + i * 10) \(i % 2 == 0 ? "a" : "b") \(i % 3 == 0 ? "read" : "write") \(i * 512) 512\n" }
        text += "4000 a close\n4000 b close\n"
        try text.write(toFile: dir + "/f.log", atomically: true, encoding: .utf8)
        #expect(try run("fio-replay", ["convert", dir + "/f.log", dir + "/f.fiot"]).status == 0)
        // From a pipe, with the format detected from the content.
        let piped = try run("fio-replay", ["cat", "-"], stdin: try Data(contentsOf: URL(fileURLWithPath: dir + "/f.fiot")))
        #expect(piped.status == 0)
        #expect(piped.stdout == text)
        // --op, --from/--to (µs in the log), --file.
        let writes = try run("fio-replay", ["cat", dir + "/f.fiot", "--op", "write", "--from", "100us", "--to", "1ms", "--file", "a"])
        let lines = writes.stdout.split(separator: "\n").filter { $0.contains(" write ") }
        let want = (0..<300).filter { i in i % 2 == 0 && i % 3 != 0 && (10 + i * 10) >= 100 && (10 + i * 10) < 1000 }
        #expect(lines.count == want.count)
        #expect(!writes.stdout.contains(" b "))
        // convert takes the same filters; v2 output and back keeps the I/O.
        #expect(try run("fio-replay", ["convert", dir + "/f.fiot", dir + "/r.log", "--to", "iolog2", "--op", "read"]).status == 0)
        let v2 = try String(contentsOfFile: dir + "/r.log", encoding: .utf8)
        #expect(v2.hasPrefix("fio version 2 iolog\n"))
        #expect(v2.components(separatedBy: " read ").count - 1 == 100)
    }

    @Test func badInputGivesOneLineAndNonZeroExit() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        try "fio version 3 iolog\n1 f add\n2 f open\n3 f write zero 4096\n".write(toFile: dir + "/bad.log", atomically: true, encoding: .utf8)
        try "just some text\n".write(toFile: dir + "/what.txt", atomically: true, encoding: .utf8)
        #expect(try run("fio-replay", ["convert", sampleTraces + "/fio-t0038.iolog.v3", dir + "/ok.fiot"]).status == 0)
        var corrupt = try Data(contentsOf: URL(fileURLWithPath: dir + "/ok.fiot"))
        corrupt[corrupt.count / 2] ^= 0x55
        try corrupt.write(to: URL(fileURLWithPath: dir + "/corrupt.fiot"))
        var future = try Data(contentsOf: URL(fileURLWithPath: dir + "/ok.fiot"))
        future[8] = 9
        future[10] = 0 // a 9.0 file
        future[11] = 0
        try future.write(to: URL(fileURLWithPath: dir + "/future.fiot"))
        let cases: [(String, [String], String)] = [
            ("missing", ["info", dir + "/nope.fiot"], "cannot open"),
            ("unknown", ["info", dir + "/what.txt"], "unknown trace format"),
            ("malformed", ["cat", dir + "/bad.log"], "bad.log:4: offset is not a number"),
            ("corrupt", ["info", dir + "/corrupt.fiot"], "corrupt"),
            ("future", ["info", dir + "/future.fiot"], "version 9.0 is not supported"),
            ("write blktrace", ["convert", dir + "/ok.fiot", dir + "/x.bin", "--to", "blktrace"], "cannot write"),
        ]
        for (name, args, message) in cases {
            let r = try run("fio-replay", args)
            #expect(r.status != 0 && !r.signaled, "\(name): status \(r.status)")
            #expect(r.stderr.contains(message), "\(name): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count <= 2, "\(name): \(r.stderr)")
        }
    }
}
