#if canImport(Glibc)
import Glibc
#endif

/// Owns one POSIX thread running a closure (C: `pthread_create`). Non-copyable, so exactly
/// one owner joins it: `join()` waits for it, `detach()` lets it run on alone (for a thread
/// that may be blocked in a read from a pipe that never ends), and dropping the owner
/// without either joins it in `deinit`.
public struct WorkerThread: ~Copyable {
    private let thread: pthread_t

    /// Starts `body` on a new thread with a stack of `stackSize` bytes (`name` is for
    /// debuggers and messages). Throws the errno `pthread_create` failed with.
    public init(name: String, stackSize: Int = 1 << 20, _ body: @escaping @Sendable () -> Void) throws(Errno) {
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, max(stackSize, 1 << 16))
        let box = Unmanaged.passRetained(ThreadBody(name: name, body: body)).toOpaque()
        var tid = pthread_t()
        let r = pthread_create(&tid, &attr, { arg in
            let b = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
            b.body()
            return nil
        }, box)
        if r != 0 {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            throw Errno(rawValue: r)
        }
        thread = tid
    }

    /// Waits for the thread to end.
    public consuming func join() {
        pthread_join(thread, nil)
        discard self
    }

    /// Lets the thread end on its own; its resources are freed when it does.
    public consuming func detach() {
        pthread_detach(thread)
        discard self
    }

    deinit { pthread_join(thread, nil) }
}

private final class ThreadBody {
    let name: String
    let body: @Sendable () -> Void
    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}

/// Ends a reader thread that was told to stop: joins it when `exited()` turns true within
/// `timeoutNs` (read under `monitor`, which the thread broadcasts on when it exits), else
/// detaches it: it may be blocked reading a pipe that never ends, and must not hold up its
/// owner (it owns what it touches, so it ends safely on its own).
func retire(_ thread: inout WorkerThread?, monitor: Monitor, timeoutNs: UInt64 = 1_000_000_000, exited: () -> Bool) {
    monitor.lock()
    let deadline = monotonicClockNs() + timeoutNs
    while !exited() {
        if !monitor.wait(untilNs: deadline) { break }
    }
    let done = exited()
    monitor.unlock()
    if let t = thread.take() {
        if done { t.join() } else { t.detach() }
    }
}
