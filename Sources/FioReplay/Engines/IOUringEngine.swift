import CFioLinux
import Foundation
import Glibc

/// io_uring through liburing (hidden in the CFioLinux shim). Read, write, fsync,
/// fdatasync and sync_file_range go through the ring; trim and the rarer ops complete
/// synchronously.
public final class IOUringEngine: IOEngine {
    public static let descriptor = EngineDescriptor(name: "io_uring", aliases: ["iouring"], fioNames: ["io_uring"],
                                                    automatic: true) { try IOUringEngine(depth: $0) }
    public let name = "io_uring"
    private var ring: OpaquePointer?
    private let depth: Int
    private var queued = 0
    private let userData = FixedBuffer<UInt64>(capacity: 256, repeating: 0)
    private let results = FixedBuffer<Int32>(capacity: 256, repeating: 0)
    private var local: LocalCompletions
    /// How long `commitAndGetEvents` busy-waits for a completion before it sleeps (ns).
    /// Sleeping costs a wake-up per batch: the worker that finishes an I/O must wake this
    /// thread (an IPI, and on a VM an exit from idle), and while it sleeps the pipeline drains.
    /// On tmpfs at QD32 a completion is due within a few microseconds; a short spin keeps the
    /// thread on its CPU for it (+15-25 % IOPS on 2 CPUs). With one CPU spinning only delays
    /// the worker that would complete the I/O, so there it is off.
    private let spinNs: UInt64

    /// Probes and creates the ring. Throws `.engineUnavailable` with the reason
    /// (io_uring_disabled sysctl, ENOSYS, EPERM).
    public init(depth: Int) throws {
        self.depth = max(1, depth)
        if let s = try? String(contentsOfFile: "/proc/sys/kernel/io_uring_disabled", encoding: .utf8),
           let v = Int(s.trimmingCharacters(in: .whitespacesAndNewlines)), v == 2 {
            throw ReplayError(.engineUnavailable, "io_uring is disabled by /proc/sys/kernel/io_uring_disabled=2")
        }
        var err: Int32 = 0
        var entries: UInt32 = 1
        while entries < UInt32(self.depth) { entries <<= 1 }
        guard let r = cfio_uring_create(entries, &err) else {
            let why: String
            switch -err {
            case ENOSYS: why = "the kernel has no io_uring (ENOSYS)"
            case EPERM: why = "io_uring is not permitted here (EPERM; see /proc/sys/kernel/io_uring_disabled or seccomp)"
            default: why = "io_uring_queue_init failed: \(ReplayError.errnoString(-err))"
            }
            throw ReplayError(.engineUnavailable, why, errno: -err)
        }
        ring = r
        local = LocalCompletions(capacity: self.depth)
        spinNs = sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1 ? 10_000 : 0
    }

    deinit { cleanup() }

    @inline(__always)
    public func queue(_ slots: UnsafeMutablePointer<IOSlot>, _ index: Int32) -> QueueStatus {
        let s = slots + Int(index)
        let op: Int32
        switch s.pointee.op {
        case .read: op = Int32(CFIO_OP_READ)
        case .write: op = Int32(CFIO_OP_WRITE)
        case .sync: op = Int32(CFIO_OP_FSYNC)
        case .datasync: op = Int32(CFIO_OP_FDATASYNC)
        case .syncFileRange: op = Int32(CFIO_OP_SYNC_FILE_RANGE)
        default:
            s.pointee.result = performSynchronously(s)
            return .completed
        }
        if s.pointee.length > UInt64(UInt32.max) {
            s.pointee.result = -Int64(EINVAL)
            return .completed
        }
        var r = cfio_uring_prep(ring, op, s.pointee.fd, s.pointee.buffer, UInt32(truncatingIfNeeded: s.pointee.length),
                                s.pointee.offset, UInt64(index))
        if r == -EBUSY {
            _ = commit()
            r = cfio_uring_prep(ring, op, s.pointee.fd, s.pointee.buffer, UInt32(truncatingIfNeeded: s.pointee.length),
                                s.pointee.offset, UInt64(index))
            if r != 0 { return .busy }
        }
        queued += 1
        return .queued
    }

    public func commit() -> Int {
        guard queued > 0 else { return 0 }
        var r = cfio_uring_submit(ring)
        var retries = 0
        while (r == -EINTR || r == -EAGAIN || r == -EBUSY) && retries < 1000 {
            retries += 1
            r = cfio_uring_submit(ring)
        }
        if r < 0 { return Int(r) }
        queued = 0
        return Int(r)
    }

    public func commitAndGetEvents(_ out: UnsafeMutablePointer<IOCompletion>, max: Int, waitNs: Int64) -> (Int, Int) {
        guard queued > 0, local.count == 0 else {
            let c = commit()
            return (c, getEvents(out, max: max, waitNs: waitNs))
        }
        if spinNs > 0 {
            let c = commit()
            if c < 0 { return (c, 0) }
            let ready = cfio_uring_spin_for_completion(ring, spinNs)
            return (c, getEvents(out, max: max, waitNs: ready > 0 ? 0 : waitNs))
        }
        var r = cfio_uring_submit_and_wait(ring)
        var retries = 0
        while (r == -EAGAIN || r == -EBUSY) && retries < 1000 {
            retries += 1
            r = cfio_uring_submit_and_wait(ring)
        }
        if r < 0 && r != -EINTR { return (Int(r), 0) }
        if r >= 0 { queued = 0 }
        // A completion is ready (or a signal came): take what there is without waiting.
        return (Int(r), getEvents(out, max: max, waitNs: 0))
    }

    public func getEvents(_ out: UnsafeMutablePointer<IOCompletion>, max: Int, waitNs: Int64) -> Int {
        var n = local.drain(into: out, max: max)
        if n == max { return n }
        let want = Swift.min(max - n, 256)
        let r = cfio_uring_reap(ring, userData.base, results.base, Int32(want), n > 0 ? 0 : waitNs)
        if r < 0 { return n > 0 ? n : Int(r) }
        for i in 0..<Int(r) {
            out[n] = IOCompletion(slot: Int32(truncatingIfNeeded: userData[i]), result: Int64(results[i]))
            n += 1
        }
        return n
    }

    public func cleanup() {
        guard let r = ring else { return }
        cfio_uring_destroy(r)
        ring = nil
    }

    public func keepHelpers(offCPU cpu: Int32) {
        if let ring { _ = cfio_uring_workers_off_cpu(ring, cpu) }
    }

    public func replay(_ run: inout EngineRun) throws -> ReplayResult { try run.run(self) }
}
