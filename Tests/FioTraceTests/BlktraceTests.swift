import Foundation
import Testing
@testable import FioTrace

/// Tests of the blktrace reader.
///
/// Ground truth for the capture in the repository (`traces/liuzel01-sda.*`) comes from
/// blkparse itself: when `blkparse` is installed the tests run it and compare; the fixed
/// figures below (113 queued writes, 3156 KiB, 109 dispatched, 109 completed, no reads)
/// are from `blkparse -i liuzel01-sda` run by hand (summary "Total (liuzel01-sda)") and
/// stay checked when blkparse is absent. blkparse prints KiB rounded down: the capture has
/// four 512-byte and one 1536-byte metadata writes, and the exact total is 3,232,256 bytes
/// (3156.5 KiB), the sum of blkparse's per-event "%N" bytes.
@Suite struct BlktraceTests {
    static let traces: String = sampleTraces
    static var cpu0: String { traces + "/liuzel01-sda.blktrace.0" }
    static var cpu1: String { traces + "/liuzel01-sda.blktrace.1" }
    static var dump: String { traces + "/liuzel01-sda.blkparse-dump.bin" }

    // MARK: Helpers

    static func readAll(_ paths: [String], _ events: BlktraceEventKind = .queue, batch: Int = 4096,
                        window: UInt64 = 10_000_000_000, maxPending: Int = 65_536) throws -> (BlktraceReader, [TraceRecord]) {
        let r = try BlktraceReader(paths: paths, events: events, completionWindow: window, maxPending: maxPending)
        var out: [TraceRecord] = []
        var b: [TraceRecord] = []
        while try r.nextBatch(&b, maxCount: batch) {
            #expect(b.count <= batch)
            for rec in b { #expect(Int(rec.file) < r.files.count) }
            out += b
        }
        return (r, out)
    }

    /// Reading must fail with `kind`; returns the error.
    static func failure(_ paths: [String], _ events: BlktraceEventKind = .queue) -> TraceError? {
        do {
            _ = try readAll(paths, events)
            return nil
        } catch let e as TraceError {
            return e
        } catch {
            return nil
        }
    }

    static func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "blktrace-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Record start offsets of a little-endian blktrace file.
    static func recordOffsets(_ b: [UInt8]) -> [Int] {
        var offs: [Int] = []
        var o = 0
        while o + 48 <= b.count {
            offs.append(o)
            let pdu = Int(b[o + 46]) | Int(b[o + 47]) << 8
            o += 48 + pdu
        }
        return offs
    }

    /// The same file with every header field in the other byte order (payload untouched).
    static func byteSwapped(_ b: [UInt8]) -> [UInt8] {
        var out = b
        let fields: [(Int, Int)] = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 4), (28, 4), (32, 4), (36, 4), (40, 4), (44, 2), (46, 2)]
        for o in recordOffsets(b) {
            for (f, n) in fields { out[(o + f)..<(o + f + n)] = ArraySlice(b[(o + f)..<(o + f + n)].reversed()) }
        }
        return out
    }

    /// One synthetic event.
    struct Ev {
        var time: UInt64
        var code: UInt32
        var cat: UInt32
        var sector: UInt64 = 0
        var bytes: UInt32 = 0
        var device: UInt32 = 8 << 20
        var cpu: UInt32 = 0
        var error: UInt16 = 0
        var pdu: [UInt8] = []
        var seq: UInt32 = 0
    }

    static func encode(_ evs: [Ev], bigEndian: Bool = false, magic: UInt32 = 0x6561_7407) -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) {
            var x = bigEndian ? v.bigEndian : v.littleEndian
            withUnsafeBytes(of: &x) { out.append(contentsOf: $0) }
        }
        for (n, e) in evs.enumerated() {
            put(magic)
            put(e.seq == 0 ? UInt32(n + 1) : e.seq)
            put(e.time)
            put(e.sector)
            put(e.bytes)
            put(e.code | e.cat << 16)
            put(UInt32(1234))
            put(e.device)
            put(e.cpu)
            put(e.error)
            put(UInt16(e.pdu.count))
            out += e.pdu
        }
        return out
    }

    // Category shorthands.
    static let W = Blk.tcWrite, R = Blk.tcRead, Q = Blk.tcQueue, IS = Blk.tcIssue, CO = Blk.tcComplete
    static let FS = Blk.tcFS

    static func synthetic(_ evs: [Ev], _ events: BlktraceEventKind = .queue, window: UInt64 = 10_000_000_000,
                          maxPending: Int = 65_536, name: String = "syn.blktrace.0") throws -> (BlktraceReader, [TraceRecord]) {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        try write(encode(evs), to: d + "/" + name)
        return try readAll([d + "/" + name], events, window: window, maxPending: maxPending)
    }

    /// Runs blkparse and returns its stdout; nil when it is not installed. A blkparse that
    /// is installed but fails is a test failure.
    static func blkparse(_ args: [String]) -> String? {
        let exe = ["/usr/bin/blkparse", "/usr/local/bin/blkparse", "/usr/sbin/blkparse"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let exe else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch {
            Issue.record("cannot run \(exe): \(error)")
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            Issue.record("blkparse \(args.joined(separator: " ")) exited with status \(p.terminationStatus)")
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    struct ParsedEvent { var action: String; var cpu: UInt32; var sector: UInt64; var bytes: UInt64; var ns: UInt64; var rwbs: String; var error: Int }

    /// blkparse's per-event text for the per-CPU pair, in its own (time) order.
    static func blkparseEvents() -> [ParsedEvent]? {
        guard let text = blkparse(["-i", "liuzel01-sda", "-D", traces, "-q", "-f", "%a %c %S %N %T %t %d %e\\n"]) else { return nil }
        var out: [ParsedEvent] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 8, let cpu = UInt32(f[1]), let s = UInt64(f[2]), let n = UInt64(f[3]),
                  let sec = UInt64(f[4]), let nsec = UInt64(f[5]), let e = Int(f[7]) else { continue }
            out.append(ParsedEvent(action: f[0], cpu: cpu, sector: s, bytes: n, ns: sec * 1_000_000_000 + nsec, rwbs: f[6], error: e))
        }
        return out
    }

    // MARK: The capture in traces/

    @Test func perCPUQueueEventsMatchBlkparseTotals() throws {
        let (r, recs) = try Self.readAll([Self.cpu0, Self.cpu1])
        #expect(recs.count == 113)
        #expect(recs.filter { $0.op == .write }.count == 113)
        #expect(recs.filter { $0.op == .read }.isEmpty)
        #expect(recs.reduce(0) { $0 + $1.length } == 3_232_256)
        #expect(recs.reduce(0) { $0 + $1.length } / 1024 == 3156)
        #expect(r.files == [TraceFile(path: "liuzel01-sda", device: DeviceNumber(major: 8, minor: 0))])
        #expect(r.metadata["blktrace.start_ns"] == "166281752807336")
        #expect(r.metadata["blktrace.events"] == "Q")
        #expect(r.metadata["blktrace.byte_order"] == "little")
        // 810 records in the two files, 11 of them notify records (6+4 process names and
        // one timestamp note whose event code, 1, is Q's).
        #expect(r.metadata["blktrace.events_read"] == "810")
        #expect(r.metadata["blktrace.notify_skipped"] == "11")
        #expect(Set(recs.compactMap(\.stream)) == [0, 1])
        #expect(recs.first?.time == 0)
    }

    @Test func blkparseSummaryAgrees() throws {
        // blkparse's own summary is the ground truth when it is installed.
        guard let text = Self.blkparse(["-i", "liuzel01-sda", "-D", Self.traces]) else { return }
        guard let total = text.range(of: "Total (") else { Issue.record("no summary from blkparse"); return }
        let summary = String(text[total.lowerBound...])
        func figure(_ label: String) -> (Int, Int)? {
            guard let r = summary.range(of: label) else { return nil }
            let rest = summary[r.upperBound...].prefix { $0 != "\t" && $0 != "\n" }
            let parts = rest.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let n = Int(parts[0]), let kib = Int(parts[1].replacingOccurrences(of: "KiB", with: "")) else { return nil }
            return (n, kib)
        }
        let wq = try #require(figure("Writes Queued:")), rq = try #require(figure("Reads Queued:"))
        let wd = try #require(figure("Write Dispatches:")), wc = try #require(figure("Writes Completed:"))
        let (_, q) = try Self.readAll([Self.cpu0, Self.cpu1], .queue)
        let (_, d) = try Self.readAll([Self.cpu0, Self.cpu1], .dispatch)
        #expect(q.filter { $0.op == .write }.count == wq.0)
        #expect(q.filter { $0.op == .write }.reduce(0) { $0 + $1.length } / 1024 == UInt64(wq.1))
        #expect(q.filter { $0.op == .read }.count == rq.0)
        #expect(d.filter { $0.op == .write }.count == wd.0)
        #expect(d.filter { $0.op == .write }.reduce(0) { $0 + $1.length } / 1024 == UInt64(wd.1))
        #expect(d.filter { $0.latency != nil }.count == wc.0)
        // blkparse's "Write depth" is the device's most D-to-C requests in flight (15 here).
        let depths = text.components(separatedBy: "Write depth:").dropFirst().compactMap { Int($0.split(separator: "\n")[0].trimmingCharacters(in: .whitespaces)) }
        try #require(!depths.isEmpty)
        #expect(d.compactMap(\.depth).max() == UInt32(depths.max()!))
    }

    @Test func dispatchEvents() throws {
        let (r, recs) = try Self.readAll([Self.cpu0, Self.cpu1], .dispatch)
        #expect(recs.count == 109)
        #expect(recs.reduce(0) { $0 + $1.length } == 3_232_256)
        #expect(recs.allSatisfy { $0.op == .write })
        #expect(r.metadata["blktrace.events"] == "D")
        // Every D has its C (blkparse: 109 dispatched, 109 completed).
        #expect(recs.allSatisfy { $0.latency != nil && $0.result == Int64($0.length) })
        #expect(r.metadata["blktrace.unmatched_completions"] == "0")
    }

    @Test func dumpReadsLikeThePerCPUPair() throws {
        for kind in [BlktraceEventKind.queue, .dispatch] {
            let (rp, pair) = try Self.readAll([Self.cpu0, Self.cpu1], kind)
            let (rd, dump) = try Self.readAll([Self.dump], kind)
            #expect(pair.count == (kind == .queue ? 113 : 109))
            #expect(dump == pair)
            #expect(rd.files.map(\.device) == rp.files.map(\.device))
            #expect(rd.files.first?.path == "8:0")
            // blkparse -d writes times already rebased to its first event (the pair's first
            // record, an A at 166281752554633 ns), so the dump's start is relative.
            let pairStart = try #require(UInt64(rp.metadata["blktrace.start_ns"] ?? ""))
            #expect(rd.metadata["blktrace.start_ns"] == String(pairStart - 166_281_752_554_633))
        }
    }

    @Test func smallBatchesGiveTheSameRecords() throws {
        let (_, big) = try Self.readAll([Self.cpu0, Self.cpu1])
        let (_, small) = try Self.readAll([Self.cpu1, Self.cpu0], batch: 3)
        #expect(small == big)
    }

    @Test func recordsAreTimeOrderedWithLatencies() throws {
        let (r, recs) = try Self.readAll([Self.cpu0, Self.cpu1])
        #expect(zip(recs, recs.dropFirst()).allSatisfy { $0.time <= $1.time })
        let completed = recs.filter { $0.latency != nil }
        // Every Q here is covered by a C (4 of them through a merged request).
        #expect(completed.count == 113)
        #expect(r.metadata["blktrace.uncompleted"] == "0")
        for rec in completed {
            #expect(rec.latency! > 0)
            #expect(rec.latency! < 1_000_000_000)
            #expect(rec.result == Int64(rec.length))
            #expect(rec.depth != nil && rec.depth! >= 1)
        }
        // The capture's first Q completes 3.804329 ms later (blkparse: Q at 0.000252703,
        // C of 24803160 + 160 at 0.004057032).
        #expect(recs.first?.latency == 4_057_032 - 252_703)
        #expect(recs.first?.offset == 24_803_160 * 512)
        #expect(recs.first?.depth == 1)
    }

    @Test func sequenceMatchesBlkparseText() throws {
        guard let events = Self.blkparseEvents() else { return } // blkparse not installed
        for (kind, code) in [(BlktraceEventKind.queue, "Q"), (.dispatch, "D")] {
            let theirs = events.filter { $0.action == code }
            let (_, ours) = try Self.readAll([Self.cpu0, Self.cpu1], kind)
            try #require(theirs.count == ours.count)
            let t0 = theirs[0].ns
            for (a, b) in zip(theirs, ours) {
                #expect(b.offset == a.sector * 512)
                #expect(b.length == a.bytes)
                #expect(b.time == a.ns - t0)
                #expect(b.stream == a.cpu)
                #expect((b.op == .write) == a.rwbs.contains("W"))
                #expect(b.flags.contains(.sync) == a.rwbs.contains("S"))
                #expect(b.flags.contains(.meta) == a.rwbs.contains("M"))
            }
        }
        // D-to-C latency against blkparse's C lines (exact range match, oldest first).
        let (_, ours) = try Self.readAll([Self.cpu0, Self.cpu1], .dispatch)
        var pendingD = events.filter { $0.action == "D" }
        var expected: [UInt64: UInt64] = [:] // D time -> latency
        for c in events where c.action == "C" {
            if let i = pendingD.firstIndex(where: { $0.sector == c.sector && $0.bytes == c.bytes }) {
                expected[pendingD[i].ns] = c.ns - pendingD[i].ns
                pendingD.remove(at: i)
            }
        }
        #expect(expected.count == 109)
        let t0 = events.first { $0.action == "D" }!.ns
        for rec in ours { #expect(rec.latency == expected[rec.time + t0]) }
    }

    @Test func siblingFilesAndSniff() throws {
        #expect(BlktraceReader.siblingFiles(of: Self.cpu1) == [Self.cpu0, Self.cpu1])
        #expect(BlktraceReader.siblingFiles(of: Self.dump) == [Self.dump])
        let r = try BlktraceReader.open(path: Self.cpu0)
        #expect(r.paths == [Self.cpu0, Self.cpu1])
        let byName = try BlktraceReader.open(path: Self.traces + "/liuzel01-sda", events: .dispatch)
        #expect(byName.paths == [Self.cpu0, Self.cpu1])
        #expect(byName.events == .dispatch)

        let d = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        for n in [10, 2, 0, 1] { try Self.write([], to: d + "/dev.blktrace.\(n)") }
        try Self.write([], to: d + "/dev.blktrace.x")
        try Self.write([], to: d + "/other.blktrace.3")
        #expect(BlktraceReader.siblingFiles(of: d + "/dev.blktrace.2") == [0, 1, 2, 10].map { d + "/dev.blktrace.\($0)" })

        let le = try Self.bytes(Self.cpu0)
        let be = Self.byteSwapped(le)
        #expect(le.withUnsafeBytes { BlktraceReader.sniff($0) })
        #expect(be.withUnsafeBytes { BlktraceReader.sniff($0) })
        #expect(![UInt8]("fio version 3 iolog\n".utf8).withUnsafeBytes { BlktraceReader.sniff($0) })
        #expect(![UInt8](repeating: 0, count: 48).withUnsafeBytes { BlktraceReader.sniff($0) })
        #expect(![UInt8]([0x07, 0x74]).withUnsafeBytes { BlktraceReader.sniff($0) })
    }

    @Test func byteSwappedCopyReadsIdentically() throws {
        let d = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let a = d + "/sw.blktrace.0", b = d + "/sw.blktrace.1"
        try Self.write(Self.byteSwapped(try Self.bytes(Self.cpu0)), to: a)
        try Self.write(Self.byteSwapped(try Self.bytes(Self.cpu1)), to: b)
        for kind in [BlktraceEventKind.queue, .dispatch] {
            let (rs, swapped) = try Self.readAll([a, b], kind)
            let (_, native) = try Self.readAll([Self.cpu0, Self.cpu1], kind)
            #expect(swapped.count == (kind == .queue ? 113 : 109))
            #expect(swapped == native)
            #expect(rs.metadata["blktrace.byte_order"] == "big")
        }
        // One file of each order still merges.
        let (rm, mixed) = try Self.readAll([Self.cpu0, b])
        #expect(mixed.count == 113)
        #expect(rm.metadata["blktrace.byte_order"] == "mixed")
    }

    @Test func truncatedCopyNamesFileAndOffset() throws {
        let d = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let full = try Self.bytes(Self.cpu1)
        let offs = Self.recordOffsets(full)
        #expect(offs.count == 576)
        // Cut inside a header, inside a payload (a remap record has 16 payload bytes).
        let remap = try #require(offs.first { o in full[o + 46] == 16 && o > 4000 })
        for (cut, start) in [(offs[300] + 20, offs[300]), (remap + 50, remap)] {
            let path = d + "/cut.blktrace.1"
            try Self.write(Array(full[..<cut]), to: path)
            let e = try #require(Self.failure([Self.cpu0, path]))
            #expect(e.kind == .truncated)
            #expect(e.message.contains(path))
            #expect(e.message.contains("byte \(start)"))
            #expect(e.byteOffset == UInt64(start))
            #expect(!e.message.contains("\n"))
        }
        // The error sticks: the next call throws again rather than pretending to end.
        let path = d + "/cut.blktrace.1"
        try Self.write(Array(full[..<(offs[10] + 7)]), to: path)
        let r = try BlktraceReader(paths: [path])
        var b: [TraceRecord] = []
        #expect(throws: TraceError.self) { while try r.nextBatch(&b, maxCount: 64) {} }
        #expect(throws: TraceError.self) { _ = try r.nextBatch(&b, maxCount: 64) }
    }

    @Test func compressedPerCPUFile() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip") || FileManager.default.isExecutableFile(atPath: "/bin/gzip") else { return }
        let d = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let gz = d + "/liuzel01-sda.blktrace.1"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(Self.cpu1)' > '\(gz)'"]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        let (_, zipped) = try Self.readAll([Self.cpu0, gz])
        let (_, plain) = try Self.readAll([Self.cpu0, Self.cpu1])
        #expect(zipped.count == 113)
        #expect(zipped == plain)
    }

    @Test func badMagicAndMissingFiles() throws {
        let d = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let junk = d + "/junk.blktrace.0"
        try Self.write([UInt8]("this is not a blktrace file at all, no no no no no no".utf8), to: junk)
        let e = try #require(Self.failure([Self.cpu0, junk]))
        #expect(e.kind == .badMagic)
        #expect(e.message.contains(junk) && e.message.contains("byte 0"))

        // A good start and a corrupt record later: bad magic at that record's offset.
        var bytes = try Self.bytes(Self.cpu0)
        let at = Self.recordOffsets(bytes)[100]
        bytes[at] = 0x55
        let corrupt = d + "/corrupt.blktrace.0"
        try Self.write(bytes, to: corrupt)
        let e2 = try #require(Self.failure([corrupt]))
        #expect(e2.kind == .badMagic)
        #expect(e2.message.contains("byte \(at)") && e2.message.contains(corrupt))

        // Version 8 (blk_io_trace2) is refused by name.
        let v8 = d + "/v8.blktrace.0"
        try Self.write(Self.encode([Ev(time: 1, code: Blk.queue, cat: Self.W | Self.Q, bytes: 4096)], magic: 0x6561_7408), to: v8)
        #expect(Self.failure([v8])?.kind == .unsupportedVersion)

        let missing = d + "/missing.blktrace.0"
        let e3 = try #require(Self.failure([missing]))
        #expect(e3.kind == .cannotOpen && e3.message.contains(missing))
        #expect(Self.failure([])?.kind == .cannotOpen)

        // An empty per-CPU file (an idle CPU) is not an error.
        let empty = d + "/liuzel01-sda.blktrace.7"
        try Self.write([], to: empty)
        let (_, recs) = try Self.readAll([Self.cpu0, empty, Self.cpu1])
        #expect(recs.count == 113)
    }

    // MARK: Synthetic captures (semantics the real capture does not exercise)

    @Test func opsAndFlagsFromCategoryBits() throws {
        let evs: [Ev] = [
            Ev(time: 1000, code: 0, cat: Blk.tcNotify, pdu: Array("kworker\0\0\0\0\0\0\0\0\0".utf8)),
            Ev(time: 1500, code: 1, cat: Blk.tcNotify, pdu: [0, 0, 0, 0, 0, 0, 0, 0]), // timestamp note: code 1 like Q
            Ev(time: 2000, code: Blk.queue, cat: Self.W | Self.Q | Blk.tcFlush | Blk.tcSync, sector: 8, bytes: 4096),
            Ev(time: 3000, code: Blk.queue, cat: Self.W | Self.Q | Blk.tcFlush | Blk.tcSync, sector: 0, bytes: 0),
            Ev(time: 4000, code: Blk.queue, cat: Self.W | Self.Q | Blk.tcFUA, sector: 16, bytes: 8192),
            Ev(time: 5000, code: Blk.queue, cat: Self.W | Self.Q | Blk.tcDiscard, sector: 1 << 20, bytes: 1 << 20),
            Ev(time: 6000, code: Blk.queue, cat: Self.R | Self.Q | Blk.tcMeta | Blk.tcAhead, sector: 100, bytes: 512, cpu: 3),
            Ev(time: 6500, code: Blk.queue, cat: Self.R | Self.Q | Blk.tcPC, sector: 0, bytes: 36), // passthrough
            Ev(time: 7000, code: Blk.queue | Blk.cgroupFlag, cat: Self.W | Self.Q, sector: 200, bytes: 4096, pdu: [1, 0, 0, 0, 2, 0, 0, 0]),
            Ev(time: 7500, code: Blk.backmerge, cat: Self.W | Self.Q, sector: 208, bytes: 4096),
        ]
        let (r, recs) = try Self.synthetic(evs)
        #expect(recs.map(\.op) == [.write, .sync, .write, .trim, .read, .write])
        #expect(recs.map(\.flags) == [[.preflush, .sync], [.preflush, .sync], [.fua], [], [.meta], []])
        #expect(recs.map(\.time) == [0, 1000, 2000, 3000, 4000, 5000])
        #expect(recs.map(\.offset) == [4096, 0, 8192, 1 << 29, 51200, 102_400])
        #expect(recs.map(\.length) == [4096, 0, 8192, 1 << 20, 512, 4096])
        #expect(recs[4].stream == 3)
        #expect(r.metadata["blktrace.start_ns"] == "2000")
        #expect(r.metadata["blktrace.notify_skipped"] == "2")
        #expect(r.metadata["blktrace.pc_skipped"] == "1")
        // No C event at all: no latencies and no depth.
        #expect(recs.allSatisfy { $0.latency == nil && $0.result == nil && $0.depth == nil })
        #expect(r.files.map(\.path) == ["syn"])
    }

    @Test func mergedRequestCompletesAllItsQueues() throws {
        let q = Self.W | Self.Q
        let evs: [Ev] = [
            Ev(time: 100, code: Blk.queue, cat: q, sector: 100, bytes: 4096),
            Ev(time: 200, code: Blk.queue, cat: q, sector: 108, bytes: 4096), // back merge
            Ev(time: 250, code: Blk.backmerge, cat: q, sector: 108, bytes: 4096),
            Ev(time: 300, code: Blk.queue, cat: q, sector: 92, bytes: 4096), // front merge
            Ev(time: 350, code: Blk.frontmerge, cat: q, sector: 92, bytes: 4096),
            Ev(time: 400, code: Blk.queue, cat: Self.R | Self.Q, sector: 100, bytes: 4096), // a read of the same sectors
            Ev(time: 1000, code: Blk.issue, cat: Self.W | Self.IS | Self.FS, sector: 92, bytes: 12288),
            Ev(time: 5000, code: Blk.complete, cat: Self.W | Self.CO | Self.FS, sector: 92, bytes: 12288),
            Ev(time: 6000, code: Blk.complete, cat: Self.R | Self.CO | Self.FS, sector: 100, bytes: 4096, error: UInt16(bitPattern: -5)),
        ]
        let (r, recs) = try Self.synthetic(evs)
        #expect(recs.count == 4)
        #expect(recs.map(\.latency) == [4900, 4800, 4700, 5600])
        #expect(recs.map(\.result) == [4096, 4096, 4096, -5])
        #expect(recs.map(\.depth) == [1, 2, 3, 4])
        #expect(r.metadata["blktrace.unmatched_completions"] == "0")

        let (rd, d) = try Self.synthetic(evs, .dispatch)
        #expect(d.count == 1)
        #expect(d[0].latency == 4000 && d[0].length == 12288 && d[0].offset == 92 * 512 && d[0].depth == 1)
        #expect(rd.metadata["blktrace.start_ns"] == "1000")
        #expect(rd.metadata["blktrace.unmatched_completions"] == "1") // the read's C has no D
    }

    @Test func completionSkipsOverALostQueue() throws {
        let q = Self.W | Self.Q
        let evs: [Ev] = [
            Ev(time: 0, code: Blk.queue, cat: q, sector: 0, bytes: 4096),
            // The Q of sectors 8..<16 was lost.
            Ev(time: 20, code: Blk.queue, cat: q, sector: 16, bytes: 4096),
            Ev(time: 30, code: Blk.queue, cat: q, sector: 40, bytes: 4096), // outside the C
            Ev(time: 100, code: Blk.complete, cat: Self.W | Self.CO, sector: 0, bytes: 12288),
        ]
        let (_, recs) = try Self.synthetic(evs)
        #expect(recs.map(\.latency) == [100, 80, nil])
    }

    @Test func splitBioCompletesAtItsLastPart() throws {
        let evs: [Ev] = [
            Ev(time: 0, code: Blk.queue, cat: Self.W | Self.Q, sector: 0, bytes: 1 << 20),
            Ev(time: 10, code: Blk.split, cat: Self.W | Self.Q, sector: 0, bytes: 1 << 20, pdu: [0, 0, 0, 0, 0, 4, 0, 0]),
            Ev(time: 100, code: Blk.complete, cat: Self.W | Self.CO, sector: 0, bytes: 1 << 19),
            Ev(time: 300, code: Blk.complete, cat: Self.W | Self.CO, sector: 1024, bytes: 1 << 19, error: 5),
        ]
        let (_, recs) = try Self.synthetic(evs)
        #expect(recs.count == 1)
        #expect(recs[0].latency == 300)
        #expect(recs[0].result == -5)
    }

    @Test func sameSectorsInFlightCompleteOldestFirst() throws {
        let q = Self.W | Self.Q, c = Self.W | Self.CO
        let evs: [Ev] = [
            Ev(time: 0, code: Blk.queue, cat: q, sector: 64, bytes: 4096),
            Ev(time: 10, code: Blk.queue, cat: q, sector: 64, bytes: 4096),
            Ev(time: 20, code: Blk.complete, cat: c, sector: 64, bytes: 4096),
            Ev(time: 50, code: Blk.complete, cat: c, sector: 64, bytes: 4096),
        ]
        let (_, recs) = try Self.synthetic(evs)
        #expect(recs.map(\.latency) == [20, 40])
        #expect(recs.map(\.depth) == [1, 2])
    }

    @Test func requeueEndsTheDispatchRecord() throws {
        let d = Self.W | Self.IS | Self.FS
        let evs: [Ev] = [
            Ev(time: 0, code: Blk.queue, cat: Self.W | Self.Q, sector: 8, bytes: 4096),
            Ev(time: 100, code: Blk.issue, cat: d, sector: 8, bytes: 4096),
            Ev(time: 150, code: Blk.requeue, cat: Self.W | Blk.tcRequeue | Self.FS, sector: 8, bytes: 4096),
            Ev(time: 400, code: Blk.issue, cat: d, sector: 8, bytes: 4096),
            Ev(time: 900, code: Blk.complete, cat: Self.W | Self.CO | Self.FS, sector: 8, bytes: 4096),
        ]
        let (r, recs) = try Self.synthetic(evs, .dispatch)
        #expect(recs.count == 2)
        #expect(recs.map(\.time) == [0, 300])
        #expect(recs.map(\.latency) == [nil, 500])
        #expect(recs.map(\.depth) == [1, 1])
        #expect(r.metadata["blktrace.requeued"] == "1")
        // In queue mode the requeue changes nothing: the Q completes at the C.
        let (_, q) = try Self.synthetic(evs, .queue)
        #expect(q.map(\.latency) == [900])
    }

    @Test func windowAndPendingBoundsEmitUncompletedRecords() throws {
        let q = Self.W | Self.Q, c = Self.W | Self.CO
        var evs: [Ev] = [Ev(time: 0, code: Blk.queue, cat: q, sector: 0, bytes: 4096)] // never completes
        for k in 1...20 {
            let t = UInt64(k) * 1_000_000_000
            evs.append(Ev(time: t, code: Blk.queue, cat: q, sector: UInt64(k) * 8, bytes: 4096))
            evs.append(Ev(time: t + 1000, code: Blk.complete, cat: c, sector: UInt64(k) * 8, bytes: 4096))
        }
        evs.append(Ev(time: 30_000_000_000, code: Blk.complete, cat: c, sector: 0, bytes: 4096)) // too late
        let (r, recs) = try Self.synthetic(evs, window: 5_000_000_000)
        #expect(recs.count == 21)
        #expect(recs[0].latency == nil && recs[0].result == nil)
        #expect(recs.dropFirst().allSatisfy { $0.latency == 1000 })
        // The lost I/O counts as in flight until the window drops it (6 s after it).
        #expect(recs[1].depth == 2 && recs[5].depth == 2 && recs[6].depth == 1)
        #expect(r.metadata["blktrace.unmatched_completions"] == "1")
        #expect(r.metadata["blktrace.uncompleted"] == "1")

        // With the default window the late C still finds it.
        let (_, late) = try Self.synthetic(evs, window: 60_000_000_000)
        #expect(late[0].latency == 30_000_000_000)

        // A pending cap: 10 Qs, completions only at the end; at most 4 wait.
        var evs2: [Ev] = []
        for k in 0..<10 { evs2.append(Ev(time: UInt64(k) * 10, code: Blk.queue, cat: q, sector: UInt64(k) * 8, bytes: 4096)) }
        for k in 0..<10 { evs2.append(Ev(time: 1000 + UInt64(k), code: Blk.complete, cat: c, sector: UInt64(k) * 8, bytes: 4096)) }
        let (r2, capped) = try Self.synthetic(evs2, maxPending: 4)
        #expect(capped.count == 10)
        #expect(zip(capped, capped.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(capped.filter { $0.latency != nil }.count == 4)
        #expect(r2.metadata["blktrace.unmatched_completions"] == "6")
    }

    @Test func severalDevicesAndReorderedClocks() throws {
        let q = Self.W | Self.Q
        let d = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        // CPU 0 and CPU 1 of a dump-like input; one event of cpu1 is 5 ns behind.
        try Self.write(Self.encode([
            Ev(time: 1000, code: Blk.queue, cat: q, sector: 8, bytes: 4096, device: 8 << 20, cpu: 0),
            Ev(time: 2000, code: Blk.queue, cat: q, sector: 8, bytes: 4096, device: 8 << 20 | 16, cpu: 0),
            Ev(time: 1995, code: Blk.queue, cat: q, sector: 16, bytes: 4096, device: 8 << 20, cpu: 1),
            Ev(time: 3000, code: Blk.complete, cat: Self.W | Self.CO, sector: 8, bytes: 4096, device: 8 << 20 | 16, cpu: 1),
        ]), to: d + "/multi.bin")
        let (r, recs) = try Self.readAll([d + "/multi.bin"])
        #expect(r.files.map(\.path) == ["8:0", "8:16"])
        #expect(r.files.map(\.device) == [DeviceNumber(major: 8, minor: 0), DeviceNumber(major: 8, minor: 16)])
        #expect(recs.map(\.file) == [0, 1, 0])
        #expect(recs.map(\.time) == [0, 1000, 1000])
        #expect(r.metadata["blktrace.reordered"] == "1")
        // The C on 8:16 completes the 8:16 record only.
        #expect(recs.map(\.latency) == [nil, 1000, nil])
    }

    // MARK: Throughput

    /// Builds a large per-CPU pair (A, Q, G, I, D, C per I/O, 50 µs completions) and times
    /// reading it. Size from BLKTRACE_BENCH_EVENTS (default 600k events, enough to be a
    /// check; set 20000000 with `-c release` for a measurement).
    @Test func throughputOnASyntheticPerCPUPair() throws {
        let target = Int(ProcessInfo.processInfo.environment["BLKTRACE_BENCH_EVENTS"] ?? "") ?? 600_000
        let d = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let perIO = 6
        let ios = target / perIO / 2
        var paths: [String] = []
        for cpu in 0..<2 {
            let path = d + "/bench.blktrace.\(cpu)"
            paths.append(path)
            guard let f = fopen(path, "w") else { throw TraceError(.io, "cannot write \(path)") }
            var buf = [UInt8]()
            buf.reserveCapacity(1 << 22)
            var seq: UInt32 = 0
            func ev(_ time: UInt64, _ code: UInt32, _ cat: UInt32, _ sector: UInt64, _ pdu: Int = 0) {
                seq &+= 1
                var h = (UInt32(0x6561_7407), seq, time, sector, UInt32(4096), code | cat << 16)
                withUnsafeBytes(of: &h.0) { buf.append(contentsOf: $0) }
                withUnsafeBytes(of: &h.1) { buf.append(contentsOf: $0) }
                withUnsafeBytes(of: &h.2) { buf.append(contentsOf: $0) }
                withUnsafeBytes(of: &h.3) { buf.append(contentsOf: $0) }
                withUnsafeBytes(of: &h.4) { buf.append(contentsOf: $0) }
                withUnsafeBytes(of: &h.5) { buf.append(contentsOf: $0) }
                var tailFields = (UInt32(77), UInt32(8 << 20), UInt32(cpu), UInt16(0), UInt16(pdu))
                withUnsafeBytes(of: &tailFields.0) { buf.append(contentsOf: $0) }
                withUnsafeBytes(of: &tailFields.1) { buf.append(contentsOf: $0) }
                withUnsafeBytes(of: &tailFields.2) { buf.append(contentsOf: $0) }
                withUnsafeBytes(of: &tailFields.3) { buf.append(contentsOf: $0) }
                withUnsafeBytes(of: &tailFields.4) { buf.append(contentsOf: $0) }
                if pdu > 0 { buf.append(contentsOf: repeatElement(0, count: pdu)) }
                if buf.count >= 1 << 22 { fwrite(buf, 1, buf.count, f); buf.removeAll(keepingCapacity: true) }
            }
            var completions: [(UInt64, UInt64)] = [] // (time, sector), FIFO
            var cHead = 0
            let wq = Self.W | Self.Q
            for j in 0..<ios {
                let t = UInt64(j) * 2000 + UInt64(cpu) * 1000
                while cHead < completions.count && completions[cHead].0 <= t {
                    ev(completions[cHead].0, Blk.complete, Self.W | Self.CO | Self.FS, completions[cHead].1)
                    cHead += 1
                }
                if cHead > 4096 { completions.removeFirst(cHead); cHead = 0 }
                let sector = UInt64(j * 2 + cpu) * 8
                ev(t, Blk.remap, wq, sector, 16)
                ev(t + 10, Blk.queue, wq, sector)
                ev(t + 20, Blk.getrq, wq, sector)
                ev(t + 30, Blk.insert, wq | Self.FS, sector)
                ev(t + 40, Blk.issue, Self.W | Self.IS | Self.FS, sector)
                completions.append((t + 50_000, sector))
            }
            while cHead < completions.count {
                ev(completions[cHead].0, Blk.complete, Self.W | Self.CO | Self.FS, completions[cHead].1)
                cHead += 1
            }
            fwrite(buf, 1, buf.count, f)
            fclose(f)
        }
        for kind in [BlktraceEventKind.queue, .dispatch] {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let t0 = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
            let r = try BlktraceReader(paths: paths, events: kind)
            var b: [TraceRecord] = []
            b.reserveCapacity(65536)
            var n = 0
            var lastTime: UInt64 = 0
            var ordered = true
            var withLatency = 0
            while try r.nextBatch(&b, maxCount: 65536) {
                n += b.count
                for rec in b {
                    if rec.time < lastTime { ordered = false }
                    lastTime = rec.time
                    if rec.latency != nil { withLatency += 1 }
                }
            }
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let dt = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 - t0
            let events = Int(r.metadata["blktrace.events_read"] ?? "0") ?? 0
            print("blktrace \(kind): \(events) events, \(n) records in \(String(format: "%.3f", dt)) s: \(String(format: "%.1f", Double(events) / dt / 1e6)) M events/s, \(String(format: "%.1f", Double(n) / dt / 1e6)) M records/s")
            #expect(n == ios * 2)
            #expect(withLatency == n)
            #expect(ordered)
            #expect(events == ios * 2 * perIO)
        }
    }
}
