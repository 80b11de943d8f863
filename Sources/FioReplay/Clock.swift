import CFioLinux

/// Monotonic clock reading in nanoseconds (CLOCK_MONOTONIC).
@inline(__always) public func monotonicNs() -> UInt64 { cfio_now_ns() }

/// Sleeps until the monotonic clock reaches `deadline` (ns, absolute). Returns false if a
/// signal interrupted the sleep.
@discardableResult
@inline(__always) public func sleepUntil(ns deadline: UInt64) -> Bool { cfio_sleep_until_ns(deadline) == 0 }

/// CPU time used by the calling thread so far, in nanoseconds (precise).
@inline(__always) public func threadCPUTotal() -> UInt64 { cfio_thread_cpu_total_ns() }

/// CPU time used by the calling thread so far, split into user and system, in nanoseconds.
/// The kernel samples this split at ticks; use `threadCPUTotal` for the total.
public func threadCPUTime() -> (user: UInt64, system: UInt64) {
    var u: UInt64 = 0, s: UInt64 = 0
    cfio_thread_cpu_ns(&u, &s)
    return (u, s)
}

/// Installs the SIGINT/SIGTERM handler that makes a running replay stop issuing, drain and
/// report. Call once from the command line tool; library users may install their own.
public func installInterruptHandler() { _ = cfio_install_interrupt_handler() }

/// The signal caught since `installInterruptHandler()` (0 if none).
@inline(__always) public func interruptSignal() -> Int32 { cfio_interrupted() }

/// Limits the process to `count` malloc arenas (C: `mallopt(M_ARENA_MAX, count)`). Reader
/// threads hand record batches to the scheduler; a second arena holding the freed ones
/// costs ~5 MB of resident memory, and nothing on a hot path allocates, so one shared
/// arena costs nothing. Call before starting threads.
public func limitMallocArenas(to count: Int32) { _ = cfio_set_malloc_arenas(count) }
