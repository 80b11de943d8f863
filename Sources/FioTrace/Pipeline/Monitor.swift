#if canImport(Glibc)
import Glibc
#endif

/// A mutex with one condition variable (C: `pthread_mutex_t` + `pthread_cond_t`, the
/// condition on CLOCK_MONOTONIC so timed waits use the clock every other time here uses).
/// A class because a pthread mutex must not move once initialised; both live in memory
/// allocated once and freed in `deinit`.
public final class Monitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    @inline(__always) public func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the mutex held.
    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a `broadcast` (the mutex must be held; it is released while waiting).
    @inline(__always) public func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits for a `broadcast` or until CLOCK_MONOTONIC reaches `deadlineNs`. Returns false
    /// on timeout.
    public func wait(untilNs deadlineNs: UInt64) -> Bool {
        var ts = timespec(tv_sec: Int(deadlineNs / 1_000_000_000), tv_nsec: Int(deadlineNs % 1_000_000_000))
        return pthread_cond_timedwait(cond, mutex, &ts) != ETIMEDOUT
    }

    /// Wakes every waiter.
    @inline(__always) public func broadcast() { pthread_cond_broadcast(cond) }
}

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
public func monotonicClockNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
