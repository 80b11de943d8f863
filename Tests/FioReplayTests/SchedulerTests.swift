import Foundation
import FioReplay
import FioTrace
import Glibc
import Testing

@Suite("Scheduler", .serialized)
struct SchedulerTests {
    @Test("a 1 s trace replays in 1 s (+- 10 ms) and a stall does not push later I/Os back")
    func absoluteSchedule() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 64 << 20, byte: 1)
        var recs = evenReads(count: 1000, durationNs: 1_000_000_000, span: 1 << 20)
        // A 24 MiB read at 200 ms stalls the single slot for several ms; with an absolute
        // schedule only the I/Os due during the stall are late.
        recs[200] = TraceRecord(time: recs[200].time, op: .read, file: 0, offset: 0, length: 24 << 20)
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        let r = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: target); $0.iodepth = 1 }
        #expect(r.error == nil, "\(r.error?.message ?? "")")
        #expect(r.stats.read.ios == 1000)
        let dur = Double(r.stats.runtimeNs) / 1e6
        #expect(abs(dur - 1000) <= 10, "replay took \(dur) ms")
        #expect(r.stats.traceDurationNs == 1_000_000_000)
        let l = r.stats.lateness
        #expect(l.count == 1000)
        // The stall made something late...
        #expect(l.max >= 1_000_000, "max lateness \(l.max) ns: the stall should have delayed its successors")
        // ...but only the I/Os due during the stall (1 per ms of it): lateness did not
        // accumulate. With a relative schedule every later I/O would be late by the stall.
        // (Counted above half the stall, so that CPU contention from other processes on this
        // shared machine, which delays a few I/Os by a ms or so, does not count.)
        let half = l.max / 2
        let lateOverHalf = Int((1 - (l.fraction(atOrBelow: half) ?? 0)) * 1000 + 0.5)
        let stallMs = Int(l.max / 1_000_000)
        #expect(lateOverHalf <= stallMs + 5, "\(lateOverHalf) I/Os over \(half) ns late after a \(stallMs) ms stall")
        #expect(lateOverHalf < 100)
        #expect((l.percentile(50) ?? .max) < 200_000, "p50 lateness \(l.percentile(50) ?? 0) ns")
    }

    @Test("--speed 4 replays a 1 s trace in 250 ms")
    func speed() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: evenReads(count: 200, durationNs: 1_000_000_000, span: 1 << 20))
        let r = try replay(t, engine: .null) { $0.targets = TargetMapping(all: d.file("target")); $0.speed = 4 }
        #expect(r.error == nil)
        let dur = Double(r.stats.runtimeNs) / 1e6
        #expect(abs(dur - 250) <= 10, "replay took \(dur) ms")
    }

    @Test("the iodepth cap holds: max in flight <= cap, and the cap is reached", arguments: [EngineKind.libaio, .iouring])
    func depthCap(kind: EngineKind) throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 8 << 20)
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: evenReads(count: 3000, durationNs: 0, span: 8 << 20))
        for cap in [1, 4, 16] {
            let r = try replay(t, engine: kind) { $0.targets = TargetMapping(all: target); $0.iodepth = cap; $0.timing = .none; $0.direct = true }
            #expect(r.error == nil, "\(r.error?.message ?? "")")
            #expect(r.stats.read.ios == 3000)
            #expect(r.stats.maxInFlight <= cap, "cap \(cap): saw \(r.stats.maxInFlight) in flight")
            #expect(r.stats.maxInFlight == cap, "cap \(cap) never reached (max \(r.stats.maxInFlight))")
            #expect(r.iodepth == cap)
        }
    }

    @Test("default iodepth comes from the trace's iodepth metadata; closed loop follows recorded depth")
    func depthDefaults() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 8 << 20)
        let t = try writeTrace(d, files: [TraceFile(path: "x")], metadata: ["iodepth": "6"],
                               records: evenReads(count: 2000, durationNs: 0, span: 8 << 20))
        let r = try replay(t, engine: .libaio) { $0.targets = TargetMapping(all: target); $0.timing = .none; $0.direct = true }
        #expect(r.iodepth == 6)
        #expect(r.stats.maxInFlight <= 6)
        // Closed loop: each record says 2 were in flight at issue (itself included).
        let recs = evenReads(count: 2000, durationNs: 0, span: 8 << 20).map { var x = $0; x.depth = 2; return x }
        let t2 = try writeTrace(d, name: "closed.fiot", files: [TraceFile(path: "x")], records: recs)
        let c = try replay(t2, engine: .libaio) { $0.targets = TargetMapping(all: target); $0.timing = .closed; $0.iodepth = 32; $0.direct = true }
        #expect(c.error == nil)
        #expect(c.stats.maxInFlight == 2, "closed loop in flight \(c.stats.maxInFlight)")
    }

    @Test("mapping: a missing target is created at the size the trace needs; past the end is refused unless --wrap")
    func mapping() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let recs = [TraceRecord(time: 0, op: .write, file: 0, offset: 1 << 20, length: 4096),
                    TraceRecord(time: 1, op: .read, file: 1, offset: 0, length: 4096)]
        let t = try writeTrace(d, files: [TraceFile(path: "a"), TraceFile(path: "b")], records: recs)
        var required: [UInt32: UInt64] = [:]
        var src: any TraceSource = try FiotReader(path: t)
        let scan = try TracePrescan.scan(&src)
        required = scan.extents
        #expect(required[0] == (1 << 20) + 4096)
        let a = d.file("new-a"), b = d.file("b-target")
        try makeFile(b, size: 4096)
        let r = try replay(t, engine: .psync) {
            $0.targets = TargetMapping(map: ["a": a, "1": b])
            $0.requiredSizes = required
        }
        #expect(r.error == nil, "\(r.error?.message ?? "")")
        let st = try FileManager.default.attributesOfItem(atPath: a)
        #expect((st[.size] as? Int) == (1 << 20) + 4096)
        #expect(r.stats.write.ios == 1 && r.stats.read.ios == 1)

        // A target too small: refused with the record number; with wrap, it goes through.
        let small = d.file("small")
        try makeFile(small, size: 64 << 10)
        let r2 = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: small) }
        let e = try #require(r2.error)
        #expect(e.kind == .targetTooSmall)
        #expect(e.record == 0)
        // The library names the remedy; each command words it with its own options
        // (`replay` says --wrap: ProcessTests checks that line).
        #expect(e.remedy == .fitTarget)
        let r3 = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: small); $0.offsets.wrap = true }
        #expect(r3.error == nil, "\(r3.error?.message ?? "")")
        #expect(r3.stats.write.ios == 1)

        // --readonly drops the write; a missing target is not created.
        let r4 = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: small); $0.readOnly = true }
        #expect(r4.stats.write.ios == 0 && r4.stats.write.droppedIOs == 1 && r4.stats.read.ios == 1)
        let r5 = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: d.file("nope")); $0.readOnly = true }
        #expect(r5.error?.kind == .targetUnavailable)
    }

    @Test("loops and runtime: 3 loops replay 3x the records; runtime stops early")
    func loopsAndRuntime() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: evenReads(count: 100, durationNs: 100_000_000, span: 1 << 20))
        let r = try replay(t, engine: .null) { $0.targets = TargetMapping(all: d.file("tg")); $0.loops = 3 }
        #expect(r.stats.read.ios == 300)
        #expect(abs(Double(r.stats.runtimeNs) / 1e6 - 300) < 15, "3 loops of 100 ms took \(Double(r.stats.runtimeNs) / 1e6) ms")
        let r2 = try replay(t, engine: .null) { $0.targets = TargetMapping(all: d.file("tg")); $0.loops = 10; $0.runtimeNs = 150_000_000 }
        #expect(r2.stats.read.ios > 100 && r2.stats.read.ios < 200, "runtime cap: \(r2.stats.read.ios) ios")
    }

    @Test("offset mapping: --scale then --align place I/O where asked (checked on the written bytes)")
    func scaleAlign() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 1 << 20, byte: 0)
        // One 4 KiB write at offset 300_000: scale 0.5 -> 150_000, align 65536 -> 131072.
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: [
            TraceRecord(time: 0, op: .write, file: 0, offset: 300_000, length: 4096)])
        let r = try replay(t, engine: .psync) {
            $0.targets = TargetMapping(all: target)
            $0.offsets = OffsetMapping(scale: 0.5, align: 65536)
            $0.payload.content = .pattern([0xA5]); $0.payload.scramble = false
        }
        #expect(r.error == nil)
        let data = try Data(contentsOf: URL(fileURLWithPath: target))
        #expect(data[131072] == 0xA5 && data[131072 + 4095] == 0xA5)
        #expect(data[131071] == 0 && data[131072 + 4096] == 0)
        #expect(data[150_000 + 4000] == 0)
    }

    @Test("file events: close waits for in-flight I/O, then the target is reopened on the next open")
    func fileEvents() throws {
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 1 << 20)
        var recs: [TraceRecord] = [TraceRecord(time: 0, op: .add, file: 0), TraceRecord(time: 0, op: .open, file: 0)]
        recs += evenReads(count: 50, durationNs: 0, span: 1 << 20)
        recs += [TraceRecord(time: 0, op: .close, file: 0), TraceRecord(time: 0, op: .open, file: 0)]
        recs += evenReads(count: 50, durationNs: 0, span: 1 << 20)
        recs.append(TraceRecord(time: 0, op: .close, file: 0))
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        let r = try replay(t, engine: .iouring) { $0.targets = TargetMapping(all: target); $0.timing = .none; $0.iodepth = 16 }
        #expect(r.error == nil, "\(r.error?.message ?? "")")
        #expect(r.stats.read.ios == 100)
        #expect(r.stats.recordsRead == 100, "file events are not counted as records replayed")
    }

    @Test("pre-scan: extents, recorded depth, and the depth the recorded latencies imply")
    func prescan() throws {
        let d = try TempDir(); defer { d.cleanup() }
        // Every 10 us an I/O that takes 35 us: 4 overlap at any time (3.5 rounded up).
        let recs = (0..<1000).map { TraceRecord(time: UInt64($0) * 10_000, op: .read, file: 0, offset: UInt64($0) * 4096, length: 4096, latency: 35_000) }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        var src: any TraceSource = try FiotReader(path: t)
        let p = try TracePrescan.scan(&src)
        #expect(p.records == 1000)
        #expect(p.extents[0] == 1000 * 4096)
        #expect(p.maxDepth == 0)
        #expect(p.impliedDepth == 4)
        #expect(p.suggestedDepth == 4)
        #expect(p.hasLatencies && !p.hasWrites)
        #expect(p.lastTime == 999 * 10_000)
    }
}
