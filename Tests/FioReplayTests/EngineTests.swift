import Foundation
import FioReplay
import FioTrace
import Glibc
import Testing

/// Writes a pattern through the engine then reads it back through the same engine.
func roundTrip(_ engine: any IOEngine, path: String, direct: Bool) throws {
    let fd = open(path, O_RDWR | O_CREAT | (direct ? oDirectFlag : 0), 0o644)
    #expect(fd >= 0, "open \(path): \(ReplayError.errnoString(errno))")
    defer { close(fd) }
    let depth = 8
    var pool = try SlotPool(depth: depth, blockSize: 8192) // frees its buffers when it goes away
    let events = UnsafeMutablePointer<IOCompletion>.allocate(capacity: depth)
    defer { events.deallocate() }

    func runBatch(_ op: TraceOp) throws -> [Int64] {
        var results = [Int64](repeating: Int64.min, count: depth)
        var inflight = 0
        for i in 0..<depth {
            let si = pool.acquire()!
            let s = pool.slots + Int(si)
            s.pointee.fd = fd
            s.pointee.op = op
            s.pointee.offset = UInt64(i) * 8192
            s.pointee.length = 8192
            if op == .write {
                let p = s.pointee.buffer.assumingMemoryBound(to: UInt8.self)
                for b in 0..<8192 { p[b] = UInt8(truncatingIfNeeded: b &* 31 &+ i &* 7 &+ 1) }
            } else {
                memset(s.pointee.buffer, 0, 8192)
            }
            switch engine.queue(pool.slots, si) {
            case .completed: results[Int(si)] = s.pointee.result
            case .queued: inflight += 1
            case .busy: Issue.record("engine busy with \(inflight) in flight")
            }
        }
        #expect(engine.commit() >= 0)
        while inflight > 0 {
            let n = engine.getEvents(events, max: depth, waitNs: 1_000_000_000)
            #expect(n > 0, "getEvents returned \(n)")
            if n <= 0 { break }
            for k in 0..<n { results[Int(events[k].slot)] = events[k].result }
            inflight -= n
        }
        return results
    }

    let w = try runBatch(.write)
    #expect(w.allSatisfy { $0 == 8192 }, "write results \(w)")
    for i in 0..<depth { pool.release(Int32(i)) }
    let r = try runBatch(.read)
    #expect(r.allSatisfy { $0 == 8192 }, "read results \(r)")
    for si in 0..<depth {
        let i = Int(pool.slots[si].offset / 8192)
        let p = pool.slots[si].buffer.assumingMemoryBound(to: UInt8.self)
        var bad = 0
        for b in 0..<8192 where p[b] != UInt8(truncatingIfNeeded: b &* 31 &+ i &* 7 &+ 1) { bad += 1 }
        #expect(bad == 0, "\(engine.name): block \(i) has \(bad) wrong bytes")
    }
    // Also through a plain read of the file: the data really reached it.
    let check = open(path, O_RDONLY)
    defer { close(check) }
    var buf = [UInt8](repeating: 0, count: 8192)
    let n = pread(check, &buf, 8192, 3 * 8192)
    #expect(n == 8192)
    #expect(buf[5] == UInt8(truncatingIfNeeded: 5 &* 31 &+ 3 &* 7 &+ 1))
}

@Suite("Engines")
struct EngineTests {
    @Test("psync round-trips data, buffered and O_DIRECT")
    func psync() throws {
        let d = try TempDir(); defer { d.cleanup() }
        try roundTrip(PSyncEngine(depth: 8), path: d.file("a"), direct: false)
        try roundTrip(PSyncEngine(depth: 8), path: d.file("b"), direct: true)
    }

    @Test("libaio round-trips data, buffered and O_DIRECT")
    func libaio() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let e = try LibAIOEngine(depth: 8)
        defer { e.cleanup() }
        try roundTrip(e, path: d.file("a"), direct: false)
        try roundTrip(e, path: d.file("b"), direct: true)
    }

    @Test("io_uring round-trips data, buffered and O_DIRECT")
    func iouring() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let e = try IOUringEngine(depth: 8)
        defer { e.cleanup() }
        try roundTrip(e, path: d.file("a"), direct: false)
        try roundTrip(e, path: d.file("b"), direct: true)
    }

    @Test("null engine completes every I/O at once with its length")
    func null() throws {
        var pool = try SlotPool(depth: 2)
        let e = NullEngine(depth: 2)
        let si = pool.acquire()!
        pool.slots[Int(si)].op = .write
        pool.slots[Int(si)].length = 12345
        #expect(e.queue(pool.slots, si) == .completed)
        #expect(pool.slots[Int(si)].result == 12345)
    }

    @Test("auto picks io_uring here, and a replay through each engine writes real data", arguments: [EngineKind.psync, .libaio, .iouring])
    func replayWrites(kind: EngineKind) throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 1 << 20, byte: 0)
        let recs = (0..<64).map { TraceRecord(time: UInt64($0) * 1000, op: .write, file: 0, offset: UInt64($0) * 8192, length: 4096) }
            + [TraceRecord(time: 70_000, op: .sync, file: 0)]
            + [TraceRecord(time: 71_000, op: .trim, file: 0, offset: 0, length: 8192)]
        let t = try writeTrace(d, files: [TraceFile(path: "orig")], records: recs)
        let r = try replay(t, engine: kind) {
            $0.targets = TargetMapping(all: target); $0.iodepth = 4; $0.timing = .none
            $0.payload.content = .pattern([0xA5]); $0.payload.scramble = false
        }
        #expect(r.error == nil, "\(r.error?.message ?? "")")
        #expect(r.stats.write.ios == 64)
        #expect(r.stats.write.bytes == 64 * 4096)
        #expect(r.stats.sync.ios == 1)
        #expect(r.stats.trim.ios == 1)
        let data = try Data(contentsOf: URL(fileURLWithPath: target))
        // Written blocks carry the payload pattern asked for; the gap between them stays zero; the
        // trimmed first 8 KiB reads back as zeros (punched hole).
        #expect(data[8192 + 10] == 0xA5)
        #expect(data[8192 + 4096 + 10] == 0)
        #expect(data[100] == 0)
        #expect(data.count == 1 << 20)
        if kind == .iouring && ioUringAvailable {
            let e = try makeEngine(.auto, depth: 4)
            #expect(e.name == "io_uring")
            e.cleanup()
        }
    }
}

@Suite("O_DIRECT")
struct DirectTests {
    @Test("aligned O_DIRECT replay works; misaligned fails with a clear error and the record number", arguments: [EngineKind.psync, .libaio, .iouring])
    func direct(kind: EngineKind) throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 1 << 20, byte: 7)
        let good = try writeTrace(d, name: "good.fiot", files: [TraceFile(path: "x")],
                                  records: evenReads(count: 32, durationNs: 0, span: 1 << 20))
        let ok = try replay(good, engine: kind) { $0.targets = TargetMapping(all: target); $0.direct = true; $0.timing = .none; $0.iodepth = 4 }
        #expect(ok.error == nil, "\(ok.error?.message ?? "")")
        #expect(ok.stats.read.ios == 32)
        #expect(ok.stats.read.bytes == 32 * 4096)

        let bad = try writeTrace(d, name: "bad.fiot", files: [TraceFile(path: "x")], records: [
            TraceRecord(time: 0, op: .read, file: 0, offset: 0, length: 4096),
            TraceRecord(time: 1, op: .read, file: 0, offset: 100, length: 1000),
            TraceRecord(time: 2, op: .read, file: 0, offset: 8192, length: 4096),
        ])
        let r = try replay(bad, engine: kind) { $0.targets = TargetMapping(all: target); $0.direct = true; $0.timing = .none }
        let e = try #require(r.error)
        #expect(e.kind == .ioFailed)
        #expect(e.errno == EINVAL)
        #expect(e.record == 1)
        #expect(e.message.contains("O_DIRECT"))
        #expect(e.message.contains("record 1"))
        #expect(r.stats.read.ios == 1, "stats up to the failure are kept")
    }
}
