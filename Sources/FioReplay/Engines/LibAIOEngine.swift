import CFioLinux
import CLibAIO
import Glibc

/// Linux native AIO (io_setup / io_submit / io_getevents). Read, write, fsync and fdatasync
/// go through the kernel's AIO; trim and the rarer ops complete synchronously. Asynchronous
/// only with O_DIRECT on most filesystems (buffered AIO blocks in io_submit), as in fio.
public final class LibAIOEngine: IOEngine {
    public static let descriptor = EngineDescriptor(name: "libaio", fioNames: ["libaio"], automatic: true) {
        try LibAIOEngine(depth: $0)
    }
    public let name = "libaio"
    private var ctx: io_context_t? = nil
    private let depth: Int
    private let iocbs: FixedBuffer<iocb>
    private let pending: FixedBuffer<UnsafeMutablePointer<iocb>?>
    private var pendingCount = 0
    private let events: FixedBuffer<io_event>
    private var local: LocalCompletions
    private var closed = false
    /// Completions are read from the ring in user memory while its layout is the known one.
    private var userReap = true
    private let peeked: FixedBuffer<cfio_aio_event>

    public init(depth: Int) throws {
        self.depth = max(1, depth)
        var c: io_context_t? = nil
        let r = io_setup(Int32(self.depth), &c)
        if r < 0 {
            throw ReplayError(.engineUnavailable, "io_setup(\(self.depth)) failed: \(ReplayError.errnoString(-r))",
                              remedy: -r == EAGAIN ? .lowerDepth : nil, errno: -r)
        }
        ctx = c
        iocbs = FixedBuffer(capacity: self.depth, repeating: iocb())
        pending = FixedBuffer(capacity: self.depth, repeating: nil)
        events = FixedBuffer(capacity: self.depth, repeating: io_event())
        peeked = FixedBuffer(capacity: self.depth, repeating: cfio_aio_event())
        local = LocalCompletions(capacity: self.depth)
    }

    deinit { cleanup() }

    @inline(__always)
    public func queue(_ slots: UnsafeMutablePointer<IOSlot>, _ index: Int32) -> QueueStatus {
        let s = slots + Int(index)
        let cb = iocbs.base + Int(index)
        switch s.pointee.op {
        case .read:
            io_prep_pread(cb, s.pointee.fd, s.pointee.buffer, Int(s.pointee.length), Int64(bitPattern: s.pointee.offset))
        case .write:
            io_prep_pwrite(cb, s.pointee.fd, s.pointee.buffer, Int(s.pointee.length), Int64(bitPattern: s.pointee.offset))
        case .sync:
            io_prep_fsync(cb, s.pointee.fd)
        case .datasync:
            io_prep_fdsync(cb, s.pointee.fd)
        default:
            s.pointee.result = performSynchronously(s)
            return .completed
        }
        cb.pointee.data = UnsafeMutableRawPointer(bitPattern: Int(index) + 1)
        pending[pendingCount] = cb
        pendingCount += 1
        return .queued
    }

    public func commit() -> Int {
        var done = 0
        var retries = 0
        while done < pendingCount {
            let r = io_submit(ctx, pendingCount - done, pending.base + done)
            if r > 0 { done += Int(r); retries = 0; continue }
            if (r == -EAGAIN || r == -EINTR) && retries < 1000 { retries += 1; continue }
            // The first remaining iocb was refused (r == 0 cannot happen with n > 0; treat as EIO).
            let err = r < 0 ? Int64(r) : -Int64(EIO)
            let slot = Int32(Int(bitPattern: pending[done]!.pointee.data) - 1)
            local.push(IOCompletion(slot: slot, result: err))
            done += 1
        }
        let n = pendingCount
        pendingCount = 0
        return n
    }

    public func getEvents(_ out: UnsafeMutablePointer<IOCompletion>, max: Int, waitNs: Int64) -> Int {
        var n = local.drain(into: out, max: max)
        if n == max { return n }
        let want = Swift.min(max - n, depth)
        var r: Int32
        if n > 0 || waitNs == 0 {
            // Ready completions come straight from the ring: no system call per poll.
            let k = userReap ? cfio_aio_peek(UnsafeMutableRawPointer(ctx), peeked.base, Int32(want)) : -1
            if k >= 0 {
                for i in 0..<Int(k) {
                    let e = peeked[i]
                    out[n] = IOCompletion(slot: Int32(Int(truncatingIfNeeded: e.data) - 1), result: e.res)
                    n += 1
                }
                return n
            }
            userReap = false
            var ts = timespec(tv_sec: 0, tv_nsec: 0)
            r = io_getevents(ctx, 0, want, events.base, &ts)
        } else if waitNs < 0 {
            r = io_getevents(ctx, 1, want, events.base, nil)
        } else {
            var ts = timespec(tv_sec: Int(waitNs / 1_000_000_000), tv_nsec: Int(waitNs % 1_000_000_000))
            r = io_getevents(ctx, 1, want, events.base, &ts)
        }
        if r < 0 { return n > 0 ? n : Int(r) }
        for i in 0..<Int(r) {
            let e = events[i]
            let slot = Int32(Int(bitPattern: e.data) - 1)
            // res is unsigned in the ABI; -errno arrives as a huge value.
            let res = Int64(Int(bitPattern: UInt(e.res)))
            out[n] = IOCompletion(slot: slot, result: res)
            n += 1
        }
        return n
    }

    public func cleanup() {
        if closed { return }
        closed = true
        if let c = ctx { io_destroy(c) }
        ctx = nil
    }

    public func replay(_ run: inout EngineRun) throws -> ReplayResult { try run.run(self) }
}
