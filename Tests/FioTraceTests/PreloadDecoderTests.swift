import Foundation
import Testing
@testable import FioTrace

/// The preload library's events, made by hand in its wire layout: positions, ordering
/// across threads, depth, and garbage (counted, never a crash).
@Suite struct PreloadDecoderTests {
    /// One event in the library's layout (56 bytes plus the path padded to 8).
    func event(_ kind: UInt16, t0: UInt64, t1: UInt64, off: UInt64 = 0, len: UInt64 = 0, res: Int64 = 0,
               pid: UInt32 = 100, tid: UInt32 = 100, fd: Int32 = 3, path: String = "") -> [UInt8] {
        var b: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        put(t0); put(t1); put(off); put(len); put(res); put(pid); put(tid); put(fd); put(kind)
        let p = Array(path.utf8)
        put(UInt16(p.count))
        b += p
        while b.count % 8 != 0 { b.append(0) }
        return b
    }

    func decode(_ datagrams: [[UInt8]], window: UInt64 = 10_000) -> ([TraceRecord], PreloadEventDecoder) {
        let d = PreloadEventDecoder(windowNs: window)
        var out: [TraceRecord] = []
        for g in datagrams {
            g.withUnsafeBytes { d.consume($0) }
            d.drain(into: &out)
        }
        d.closeAll()
        d.drain(into: &out, final: true)
        return (out, d)
    }

    @Test func threadsOutOfOrderLeaveInIssueOrderWithDepth() {
        // Thread 101's buffer arrives before thread 100's, though 100's calls came first;
        // both write one file through descriptors of one process.
        let open = event(3, t0: 1_000, t1: 1_100, res: 0, path: "/d/f")
        let dup = event(5, t0: 1_150, t1: 1_160, res: 4)
        let late = event(8, t0: 2_000, t1: 9_000, len: 4096, res: 4096, tid: 100)          // at 0, in flight until 9000
        let early = event(10, t0: 3_000, t1: 4_000, off: 65536, len: 512, res: 512, tid: 101, fd: 4)
        let (out, d) = decode([open + dup, early, late])
        #expect(d.malformed == 0)
        let data = out.filter { !$0.op.isFileEvent }
        #expect(data.map(\.offset) == [0, 65536])
        #expect(data.map(\.stream) == [1, 2], "threads in flight together: lanes of their own")
        #expect(data.map(\.depth) == [1, 2], "the pwrite was issued while the write was in flight")
        #expect(out.first?.time == 0 && zip(out, out.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(out.last?.op == .close, "closed at the end")
        #expect(d.filesWithSizes.first?.size == 66048)
    }

    @Test func garbageIsCountedNotTrusted() {
        var cut = event(3, t0: 1, t1: 2, path: "/some/long/path/name")
        cut.removeLast(9) // the path runs past the datagram's end
        let unknown = event(99, t0: 5, t1: 6)
        let (out, d) = decode([cut, unknown, [1, 2, 3]])
        #expect(out.isEmpty)
        #expect(d.malformed == 3)
        // I/O on a descriptor never opened or adopted is not guessed at.
        let (none, _) = decode([event(8, t0: 10, t1: 20, len: 10, res: 10, fd: 9)])
        #expect(none.isEmpty)
    }

    /// Processes that ran one after another share a lane (a replay keeps their order); a
    /// process that overlapped them gets another, whatever order their buffers arrived in.
    @Test func sequentialProcessesShareALane() {
        func proc(_ pid: UInt32, _ t: UInt64, _ path: String, end: UInt64) -> [UInt8] {
            event(1, t0: t, t1: t, pid: pid, tid: pid)
                + event(3, t0: t + 10, t1: t + 20, res: 0, pid: pid, tid: pid, path: path)
                + event(8, t0: t + 30, t1: t + 40, len: 1, res: 1, pid: pid, tid: pid)
                + event(8, t0: end - 20, t1: end - 10, len: 1, res: 1, pid: pid, tid: pid)
                + event(17, t0: end, t1: end, pid: pid, tid: pid, fd: 0)
        }
        // 300 runs from 0 to 1000 and its buffer arrives last; 201 and 202 ran one after
        // another inside it.
        let (out, _) = decode([proc(201, 100, "/a", end: 200), proc(202, 300, "/b", end: 400), proc(300, 0, "/c", end: 1000)], window: 100_000)
        let writes = out.filter { $0.op == .write }
        #expect(writes.map(\.time) == [20, 120, 170, 320, 370, 970], "ns from the first record (the open at 10)")
        #expect(writes.map(\.stream) == [1, 2, 2, 2, 2, 1])
    }
}
