import CFioLinux
import FioTrace
import Glibc

/// One preallocated I/O slot: the request, its buffer and its timestamps. Slots live in a
/// `SlotPool` for the whole run; nothing is allocated per I/O.
public struct IOSlot {
    /// 4096-aligned buffer of `capacity` bytes (posix_memalign).
    public var buffer: UnsafeMutableRawPointer
    /// Buffer size in bytes.
    public var capacity: Int
    /// File descriptor the I/O goes to.
    public var fd: Int32
    public var op: TraceOp
    /// True when the target is a block device (trim becomes BLKDISCARD, not punch hole).
    public var isBlockDevice: Bool
    /// Byte offset and length on the target.
    public var offset: UInt64
    public var length: UInt64
    /// Trace record number (zero-based over the whole run), for error messages.
    public var record: UInt64
    /// Trace file index the record named.
    public var file: UInt32
    /// Index of the target the file is replayed on (several trace files may share one).
    public var target: UInt32
    /// Due time (ns, monotonic) of the I/O in the schedule; 0 when untimed.
    public var dueNs: UInt64
    /// Monotonic ns when the scheduler started issuing it (before `queue`).
    public var startNs: UInt64
    /// Monotonic ns when it was handed to the kernel (after `commit`); equals startNs for
    /// synchronous engines.
    public var submitNs: UInt64
    /// Result: bytes done, or -errno. Set by synchronous completion or by `getEvents`.
    public var result: Int64
    /// Latency the trace recorded for this I/O (ns), 0 if none.
    public var tracedLatency: UInt64
    /// I/Os in flight when it was issued, counting itself.
    public var depth: UInt32 = 0
    /// Scratch for taps (`ReplayTap`): the recorder keeps its issue number and issue time
    /// here, verify its write generation; set in `willSubmit`, read at completion.
    public var tapSeq: UInt64 = 0
    public var tapNs: UInt64 = 0
    public var tapTag: UInt64 = 0
    public var tapIndex: UInt32 = 0

    public init(buffer: UnsafeMutableRawPointer, capacity: Int) {
        self.buffer = buffer
        self.capacity = capacity
        fd = -1
        op = .read
        isBlockDevice = false
        offset = 0
        length = 0
        record = 0
        file = 0
        target = 0
        dueNs = 0
        startNs = 0
        submitNs = 0
        result = 0
        tracedLatency = 0
    }
}

/// One reaped completion: which slot, and its result (bytes or -errno).
public struct IOCompletion {
    public var slot: Int32
    public var result: Int64
    public init(slot: Int32, result: Int64) { self.slot = slot; self.result = result }
}

/// What `queue` did with a slot, as fio's FIO_Q_QUEUED / FIO_Q_COMPLETED / FIO_Q_BUSY.
public enum QueueStatus {
    /// Prepared; it reaches the kernel at the next `commit`.
    case queued
    /// Done synchronously; `slot.result` holds the result.
    case completed
    /// The engine cannot take more now: commit and reap, then retry.
    case busy
}

/// The ioengine interface, shaped like fio's ops: `init` (the engine's initializer, given
/// the queue depth), `queue` (fio's prep + queue), `commit`, `getEvents` and `cleanup`.
/// Engines are created once per run; the hot path makes no allocations. Each engine is a
/// final class in its own file under Engines/ and is listed once in `EngineRegistry`.
public protocol IOEngine: AnyObject {
    /// fio's engine name: "null", "psync", "libaio", "io_uring".
    var name: String { get }
    /// False when the engine never reads or writes buffers (null): writes then need no
    /// payload.
    var movesData: Bool { get }
    /// Prepares (and, for synchronous engines, performs) the I/O in `slots[index]`.
    func queue(_ slots: UnsafeMutablePointer<IOSlot>, _ index: Int32) -> QueueStatus
    /// Hands queued I/Os to the kernel. Returns how many were submitted, or -errno. I/Os
    /// that the kernel refused come back from `getEvents` with their error.
    func commit() -> Int
    /// Reaps up to `max` completions into `out`. `waitNs`: 0 = do not wait, < 0 = wait for
    /// at least one, > 0 = wait for one up to that many ns. Returns the count reaped (0 on
    /// timeout) or -errno (-EINTR when a signal arrived).
    func getEvents(_ out: UnsafeMutablePointer<IOCompletion>, max: Int, waitNs: Int64) -> Int
    /// Releases kernel resources (rings, AIO contexts). Idempotent.
    func cleanup()
    /// `commit` then a blocking `getEvents` (wait for at least one, up to `waitNs`); an engine
    /// may do both in one system call (io_uring does). Returns (submitted or -errno, reaped or
    /// -errno).
    func commitAndGetEvents(_ out: UnsafeMutablePointer<IOCompletion>, max: Int, waitNs: Int64) -> (Int, Int)
    /// Runs `run` with the engine's concrete type, so that the scheduler's hot loop is
    /// specialised per engine instead of dispatching through the protocol per I/O. Every
    /// engine implements it as `try run.run(self)`: the call is made where the type is
    /// concrete, which is what lets the compiler specialise it (a generic visitor would not:
    /// called through the protocol, it stays generic).
    func replay(_ run: inout EngineRun) throws -> ReplayResult
    /// Keeps the engine's kernel helper threads (io_uring's io-wq) off `cpu`, which the
    /// scheduler has to itself. Engines without helper threads do nothing.
    func keepHelpers(offCPU cpu: Int32)
}

extension IOEngine {
    public var movesData: Bool { true }
    public func keepHelpers(offCPU cpu: Int32) {}

    public func commitAndGetEvents(_ out: UnsafeMutablePointer<IOCompletion>, max: Int, waitNs: Int64) -> (Int, Int) {
        let c = commit()
        return (c, getEvents(out, max: max, waitNs: waitNs))
    }
}

/// The value of O_DIRECT here (a C macro Swift cannot import).
public var oDirectFlag: Int32 { cfio_o_direct() }

/// Performs `slot`'s I/O with plain system calls and returns bytes done or -errno. Used by
/// psync for everything and by the async engines for ops the kernel interface lacks (trim,
/// syncfs, fallocate, truncate).
@inline(__always)
func performSynchronously(_ s: UnsafeMutablePointer<IOSlot>) -> Int64 {
    let fd = s.pointee.fd
    switch s.pointee.op {
    case .read:
        do { return Int64(try SystemCall.pread(fd, s.pointee.buffer, Int(s.pointee.length), s.pointee.offset)) }
        catch { return -Int64(error.rawValue) }
    case .write:
        do { return Int64(try SystemCall.pwrite(fd, s.pointee.buffer, Int(s.pointee.length), s.pointee.offset)) }
        catch { return -Int64(error.rawValue) }
    case .trim:
        let r = s.pointee.isBlockDevice
            ? cfio_blkdev_discard(fd, s.pointee.offset, s.pointee.length)
            : cfio_punch_hole(fd, s.pointee.offset, s.pointee.length)
        return r < 0 ? Int64(r) : Int64(s.pointee.length)
    case .sync:
        do { _ = try SystemCall.retryingEINTR { fsync(fd) }; return 0 } catch { return -Int64(error.rawValue) }
    case .datasync:
        do { _ = try SystemCall.retryingEINTR { fdatasync(fd) }; return 0 } catch { return -Int64(error.rawValue) }
    case .syncFileRange:
        return Int64(cfio_sync_file_range(fd, s.pointee.offset, s.pointee.length))
    case .syncfs:
        return Int64(cfio_syncfs(fd))
    case .fallocate:
        return Int64(cfio_fallocate(fd, s.pointee.offset, s.pointee.length))
    case .truncate:
        return ftruncate(fd, off_t(truncatingIfNeeded: s.pointee.offset)) == 0 ? 0 : -Int64(errno)
    case .add, .open, .close, .create, .rename, .unlink:
        return 0
    }
}

/// A fixed ring of completions an engine produced itself (synchronous fallbacks, refused
/// submissions), handed out first by `getEvents`.
struct LocalCompletions: ~Copyable {
    private let items: FixedBuffer<IOCompletion>
    private var head = 0
    private(set) var count = 0
    init(capacity: Int) {
        items = FixedBuffer(capacity: capacity, repeating: IOCompletion(slot: 0, result: 0))
    }
    mutating func push(_ c: IOCompletion) {
        precondition(count < items.capacity, "more local completions than slots")
        items[(head + count) % items.capacity] = c
        count += 1
    }
    mutating func drain(into out: UnsafeMutablePointer<IOCompletion>, max: Int) -> Int {
        var n = 0
        while count > 0 && n < max {
            out[n] = items[head]
            head = (head + 1) % items.capacity
            count -= 1
            n += 1
        }
        return n
    }
}
