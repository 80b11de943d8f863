import Foundation
import Testing
@testable import FioTrace

/// The typed JobSpec fields for engine, reporting, write buffers and verify: fio's ranges,
/// spellings, defaults and implied settings, and errors that name the file and line.
@Suite("Job option fields")
struct JobOptionFieldTests {
    func job(_ body: String) throws -> JobSpec {
        try parseJobText("[j]\nsize=1m\n" + body + "\n", fileName: "t.fio")[0]
    }

    func err(_ body: String) -> String {
        do {
            _ = try parseJobText("[j]\nsize=1m\n" + body + "\n", fileName: "t.fio")
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test("one duration and size syntax: fio's units, a bare number in the caller's unit, no negatives")
    func valueSyntax() {
        #expect(FioValue.time("300µs", defaultUnit: FioValue.seconds) == 300_000)
        #expect(FioValue.time("1.5", defaultUnit: FioValue.seconds) == 1_500_000_000)
        #expect(FioValue.time("1.5", defaultUnit: FioValue.microseconds) == 1_500)
        #expect(FioValue.time("2MS", defaultUnit: FioValue.seconds) == 2_000_000)
        #expect(FioValue.time("-1s", defaultUnit: FioValue.seconds) == nil)
        #expect(FioValue.size("-4k") == nil)
        #expect(FioValue.size("16384p") == nil) // 2^64: overflow is an error, not a wrapped number
        // fio's units in job files: runtime and startdelay in seconds, thinktime in microseconds.
        let j = try? parseJobText("[j]\nsize=1m\nruntime=2\nthinktime=250\nstartdelay=1\n")[0]
        #expect(j?.runtime == 2_000_000_000 && j?.thinktime == 250_000 && j?.startDelay == 1_000_000_000...1_000_000_000)
    }

    @Test("defaults are fio's: scramble, do_verify and verify_state_save on; the rest off or unset")
    func defaults() throws {
        let j = try job("rw=write")
        #expect(j.ioengine == nil && j.iodepthBatchSubmit == nil && j.iodepthBatchCompleteMax == nil)
        #expect(!j.newGroup && !j.groupReporting)
        #expect(j.bufferCompressPercentage == nil && j.bufferCompressChunk == nil && j.dedupePercentage == nil)
        #expect(!j.refillBuffers && j.scrambleBuffers && !j.zeroBuffers && j.bufferPattern == nil)
        #expect(j.verify == nil && j.verifyInterval == nil && j.verifyPattern == nil)
        #expect(j.doVerify && !j.verifyOnly && !j.verifyFatal && j.verifyBacklog == nil)
        #expect(j.verifyStateSave && !j.verifyStateLoad)
    }

    @Test("engine and reporting options, with fio's alias iodepth_batch and bare flags")
    func engineAndReporting() throws {
        let j = try job("ioengine=libaio\niodepth_batch=8\niodepth_batch_complete_max=4\nnew_group\ngroup_reporting")
        #expect(j.ioengine == "libaio" && j.iodepthBatchSubmit == 8 && j.iodepthBatchCompleteMax == 4)
        #expect(j.newGroup && j.groupReporting)
        // Later options override earlier ones, across aliases.
        #expect(try job("iodepth_batch_submit=2\niodepth-batch=16").iodepthBatchSubmit == 16)
        #expect(try job("group_reporting=0").groupReporting == false)
        // Canonical names in order, and the report's view of the options (names as written).
        let k = try job("readwrite=randread\nblocksize=8k\ngroup-reporting")
        #expect(k.optionNames == ["size", "rw", "bs", "group_reporting"])
        #expect(k.reportOptions == ["size": "1m", "readwrite": "randread", "blocksize": "8k", "group_reporting": "1"])
        let e = err("iodepth_batch=lots")
        #expect(e.contains("t.fio:3") && e.contains("iodepth_batch"), "\(e)")
    }

    @Test("buffer options: ranges, sizes, and fio's implied settings in option order")
    func buffers() throws {
        let j = try job("rw=write\nbuffer_compress_percentage=50\nbuffer_compress_chunk=4k\ndedupe_percentage=25")
        #expect(j.bufferCompressPercentage == 50 && j.bufferCompressChunk == 4096 && j.dedupePercentage == 25)
        // fio's str_dedupe_cb turns refill_buffers on.
        #expect(j.refillBuffers)
        #expect(try job("zero_buffers\nscramble_buffers=0\nrefill_buffers").zeroBuffers)
        #expect(try job("scramble_buffers=0").scrambleBuffers == false)
        // fio's str_buffer_pattern_cb: no scrambling or zeroing; refill only for a job that
        // reads or compresses (else the pattern stays in the buffer).
        let w = try job("rw=write\nzero_buffers\nbuffer_pattern=0xaa")
        #expect(w.bufferPattern == [0xaa] && !w.zeroBuffers && !w.scrambleBuffers && !w.refillBuffers)
        #expect(try job("rw=randrw\nbuffer_pattern=0xaa").refillBuffers)
        #expect(try job("rw=write\nbuffer_compress_percentage=30\nbuffer_pattern=0xaa").refillBuffers)
        // ...and a later option still overrides it, as in fio.
        #expect(try job("rw=write\nbuffer_pattern=0xaa\nrefill_buffers").refillBuffers)

        for (body, line, what) in [("buffer_compress_percentage=101", 3, "0...100"),
                                   ("dedupe_percentage=-5", 3, "0...100"),
                                   ("buffer_compress_chunk=lots", 3, "not a size"),
                                   ("rw=write\nbuffer_pattern=%o", 4, "only allowed in verify_pattern"),
                                   ("buffer_pattern=\"abc", 3, "closing double quote"),
                                   ("buffer_pattern=\"\"", 3, "empty string"),
                                   ("buffer_pattern=2147483648", 3, "outside"),
                                   ("buffer_pattern=12ab", 3, "at \"ab\""),
                                   ("buffer_pattern='/nonexistent/pattern'", 3, "cannot open"),
                                   ("zero_buffers=maybe", 3, "expected 0 or 1")] {
            let e = err(body)
            #expect(e.contains("t.fio:\(line)") && e.contains(what), "\(body): \(e)")
        }
        let long = "0x" + String(repeating: "ab", count: 513)
        #expect(err("buffer_pattern=\(long)").contains("512 bytes"))
    }

    @Test("fio's pattern syntax: strings, hex, little-endian decimals, %o, files, concatenated")
    func patternSyntax() throws {
        // The examples in fio's lib/pattern.c, worked by hand.
        func bytes(_ p: String) throws -> [UInt8]? { try DataPattern.parse(p, allowOffset: true).plainBytes }
        #expect(try bytes("\"abcd\"") == [0x61, 0x62, 0x63, 0x64])
        #expect(try bytes("-1024") == [0x00, 0xfc, 0xff, 0xff])
        #expect(try bytes("66") == [0x42])
        #expect(try bytes("0") == [0x00])
        #expect(try bytes("0xFF0X1") == [0xff, 0x01])
        #expect(try bytes("0x123") == [0x01, 0x23])
        #expect(try bytes("\"123\"0xFFeeCC") == [0x31, 0x32, 0x33, 0xff, 0xee, 0xcc])
        #expect(try bytes("12 34") == [0x0c, 0x22])
        let p = try DataPattern.parse("-100xab\"1\"%o\"2\"", allowOffset: true)
        #expect(p.pieces == [.bytes([0xf6, 0xff, 0xff, 0xff, 0xab, 0x31]), .blockOffset, .bytes([0x32])])
        #expect(p.byteCount == 15 && p.plainBytes == nil)
        let q = try DataPattern.parse("%o0xdeadbeef%o", allowOffset: true)
        #expect(q.pieces == [.blockOffset, .bytes([0xde, 0xad, 0xbe, 0xef]), .blockOffset] && q.byteCount == 20)
        #expect(throws: TraceError.self) { try DataPattern.parse("%o", allowOffset: false) }
        #expect(throws: TraceError.self) { try DataPattern.parse("%x", allowOffset: true) }
        #expect(throws: TraceError.self) { try DataPattern.parse("\"a\" 0x12", allowOffset: true) }
    }

    @Test("verify options: fio's algorithm names, 0/null for none, verify_pattern implies pattern")
    func verify() throws {
        let j = try job("rw=read\nverify=crc32c\nverify_interval=512\nverify_fatal=1\nverify_backlog=1k\nverify_state_save=0\nverify_state_load=1")
        #expect(j.verify == "crc32c" && j.verifyInterval == 512 && j.verifyFatal && j.verifyBacklog == 1024)
        #expect(!j.verifyStateSave && j.verifyStateLoad)
        #expect(try job("rw=read\nverify=0").verify == nil)
        #expect(try job("rw=write\nverify=null").verify == nil)
        #expect(try job("rw=read\nverify=sha3-256").verify == "sha3-256")
        let p = try job("rw=read\nverify_pattern=%o\"x\"")
        #expect(p.verify == "pattern" && p.verifyPattern?.pieces == [.blockOffset, .bytes([0x78])])
        // An explicit verify= keeps its algorithm, before or after the pattern.
        #expect(try job("rw=read\nverify=md5\nverify_pattern=0x01").verify == "md5")
        #expect(try job("rw=read\nverify_pattern=0x01\nverify=md5").verify == "md5")
        #expect(try job("rw=read\nverify_pattern=0x01\nverify=0").verify == nil)

        let bad = err("verify=crc99")
        #expect(bad.contains("t.fio:3") && bad.contains("crc32c") && bad.contains("xxhash"), "\(bad)")
        #expect(err("verify_interval=64").contains("at least 80"))
        #expect(err("do_verify=perhaps").contains("t.fio:3"))
        // What fio-gen cannot generate for a job that writes: the verify pass, a backlog of
        // verify reads, or verify_only's read-back instead of the writes. The jobs parse (a
        // live run does these); fio-gen refuses them with the reason and the option's place.
        #expect(try job("rw=write\nverify_pattern=0xaa").notGeneratable?.contains("t.fio:4") == true)
        #expect(try job("rw=write\nverify=md5\ndo_verify=0\nverify_backlog=16").notGeneratable?.contains("verify_backlog") == true)
        #expect(try job("rw=write\nverify_only=1").notGeneratable?.contains("verify_only") == true)
        #expect(try job("rw=write\nverify=md5\ndo_verify=0").notGeneratable == nil)
        #expect(try job("rw=read\nverify_only=1").notGeneratable == nil)
    }
}

/// fio 3.33 itself is the ground truth for the pattern syntax: it writes files with each
/// `buffer_pattern` (and a `verify=pattern` file with `%o`), and the bytes must be our
/// parse, repeated from the start of every block.
@Suite("fio patterns")
struct FioPatternTests {
    static let haveFio = FileManager.default.isExecutableFile(atPath: "/usr/bin/fio")

    @Test("buffer_pattern and verify_pattern bytes match what fio writes", .enabled(if: haveFio))
    func fioWritesOurPatterns() throws {
        let dir = makeTempDir("pattern")
        defer { cleanup(dir) }
        try Data([0x58, 0x59, 0x5a, 0x00, 0xff]).write(to: URL(fileURLWithPath: dir + "/pat.bin"))
        let buffer = ["\"abcd\"", "-1024", "66", "0", "0xFF0X1", "0x123", "\"123\"0xFFeeCC-1024", "-100xab\"1\"",
                      "12 34", "2147483647", "-2147483648", "'\(dir)/pat.bin'", "0x" + String(repeating: "fe", count: 21)]
        let verify = ["%o0xdeadbeef\"ab\"", "\"x\"%o", "%o"]
        var text = ""
        for (i, p) in buffer.enumerated() {
            text += "[b\(i)]\nfilename=b\(i)\nrw=write\nbs=4k\nsize=8k\nioengine=sync\nbuffer_pattern=\(p)\n"
        }
        for (i, p) in verify.enumerated() {
            text += "[v\(i)]\nfilename=v\(i)\nrw=write\nbs=4k\nsize=8k\nioengine=sync\nverify=pattern\nverify_pattern=\(p)\ndo_verify=0\n"
        }
        try text.write(toFile: dir + "/p.fio", atomically: true, encoding: .utf8)
        let fio = Process()
        fio.executableURL = URL(fileURLWithPath: "/usr/bin/fio")
        fio.arguments = ["p.fio", "--output=/dev/null"]
        fio.currentDirectoryURL = URL(fileURLWithPath: dir)
        try fio.run()
        fio.waitUntilExit()
        #expect(fio.terminationStatus == 0)

        // The same job text through our parser.
        let jobs = try parseJobText(text, fileName: "p.fio")
        #expect(jobs.count == buffer.count + verify.count)
        for j in jobs {
            let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + j.name)))
            #expect(written.count == 8192, "\(j.name)")
            for block in 0..<2 {
                let copy: [UInt8]
                if let b = j.bufferPattern {
                    copy = b
                } else {
                    // %o is the block's offset, 8 bytes little-endian.
                    copy = j.verifyPattern!.pieces.flatMap { piece -> [UInt8] in
                        switch piece {
                        case .bytes(let b): b
                        case .blockOffset: (0..<8).map { UInt8(truncatingIfNeeded: UInt64(block * 4096) >> (8 * $0)) }
                        }
                    }
                }
                let expected = (0..<4096).map { copy[$0 % copy.count] }
                #expect(Array(written[(block * 4096)..<((block + 1) * 4096)]) == expected, "\(j.name) block \(block)")
            }
        }
    }
}
