/// Runs a `WorkloadGenerator` on its own thread, one stage ahead of the caller, so that
/// generating and writing (encoding, compressing) overlap on two cores.
///
/// The two threads pass a fixed set of record buffers back and forth (the generator fills
/// one while the caller writes another), so nothing is allocated or copied per batch and
/// no placeholder records are written: a buffer is initialized once and then only
/// overwritten. Memory: `buffers` x `batchRecords` records (3 x 65,536 x 80 bytes, about
/// 16 MB, by default), whatever the trace's length.
///
/// The generator is moved in (`consuming`), so the thread holds the only copy and its job
/// state (the random map, up to 512 MiB) is never cloned.
public final class GenerateAhead {
    private final class Shared: @unchecked Sendable {
        let monitor = Monitor()
        var generator: WorkloadGenerator
        /// Buffers the generator may fill, and filled ones with their counts, in order.
        var free: [UnsafeMutablePointer<TraceRecord>] = []
        var filled: [(buffer: UnsafeMutablePointer<TraceRecord>, count: Int)] = []
        /// The generator has produced its last record.
        var ended = false
        /// The caller has gone: the generator thread stops at its next batch.
        var closed = false
        init(_ g: consuming WorkloadGenerator) { generator = g }
    }

    private let shared: Shared
    private var thread: WorkerThread?
    private let batchRecords: Int
    private var buffers: [UnsafeMutablePointer<TraceRecord>] = []
    /// The buffer the caller holds (from the last `next()`), returned at the next call.
    private var held: UnsafeMutablePointer<TraceRecord>?
    /// The generator's metadata, final once `next()` has returned nil.
    public private(set) var metadata: [String: String]
    /// Records handed out so far.
    public private(set) var recordCount: UInt64 = 0

    /// Starts generating. `batchRecords`: records per buffer (a whole `.fiot` block lets
    /// the writer encode in place); `buffers`: at least 2. Throws when the thread cannot
    /// be started.
    public init(_ generator: consuming WorkloadGenerator, batchRecords: Int = 65536, buffers: Int = 3) throws {
        self.batchRecords = max(1, batchRecords)
        metadata = generator.metadata
        shared = Shared(generator)
        let placeholder = TraceRecord(time: 0, op: .read, file: 0)
        for _ in 0..<max(2, buffers) {
            let b = UnsafeMutablePointer<TraceRecord>.allocate(capacity: self.batchRecords)
            b.initialize(repeating: placeholder, count: self.batchRecords)
            self.buffers.append(b)
        }
        shared.free = self.buffers
        let sh = shared, n = self.batchRecords
        do {
            thread = try WorkerThread(name: "fio-gen-ahead") { Self.produce(sh, batchRecords: n) }
        } catch {
            throw TraceError(.io, "cannot start the generator thread: \(error)")
        }
    }

    /// The generator thread: fills free buffers until the end or until the caller leaves.
    private static func produce(_ sh: Shared, batchRecords: Int) {
        let m = sh.monitor
        while true {
            m.lock()
            while sh.free.isEmpty && !sh.closed { m.wait() }
            if sh.closed { m.unlock(); return }
            let b = sh.free.removeFirst()
            m.unlock()
            let n = sh.generator.nextRecords(into: UnsafeMutableBufferPointer(start: b, count: batchRecords))
            m.lock()
            if n > 0 { sh.filled.append((b, n)) } else { sh.free.append(b); sh.ended = true }
            m.broadcast()
            m.unlock()
            if n == 0 { return }
        }
    }

    /// The next batch of records, valid until the next call (or until this object goes);
    /// nil at the end, after which `metadata` is the generator's final metadata.
    public func next() -> UnsafeBufferPointer<TraceRecord>? {
        let m = shared.monitor
        m.lock()
        defer { m.unlock() }
        if let h = held {
            shared.free.append(h)
            held = nil
            m.broadcast()
        }
        while shared.filled.isEmpty && !shared.ended { m.wait() }
        if shared.filled.isEmpty {
            metadata = shared.generator.metadata
            return nil
        }
        let (b, n) = shared.filled.removeFirst()
        held = b
        recordCount += UInt64(n)
        return UnsafeBufferPointer(start: b, count: n)
    }

    deinit {
        shared.monitor.withLock {
            shared.closed = true
            shared.monitor.broadcast()
        }
        // The thread only ever waits on the monitor or generates one batch: it ends promptly.
        if let t = thread.take() { t.join() }
        for b in buffers {
            b.deinitialize(count: batchRecords)
            b.deallocate()
        }
    }
}
