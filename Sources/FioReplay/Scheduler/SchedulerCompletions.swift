import CFioLinux
import FioTrace
import Glibc

extension SchedulerCore {
    // MARK: submission and completions

    @inline(__always)
    mutating func commitPending() {
        guard pendingCount > 0 else { return }
        let t0 = timing == .original ? monotonicNs() : 0
        let r = engine.commit()
        let now = monotonicNs()
        if t0 != 0 {
            // What one submission costs (EWMA, 1/8): the window in which a next I/O is
            // better held back and submitted together with this one (see `holdNs`).
            let c = Int64(now &- t0)
            submitCostNs = UInt64(Int64(submitCostNs) + (min(c, 200_000) - Int64(submitCostNs)) / 8)
        }
        for i in 0..<pendingCount { pool.slots[Int(pending[i])].submitNs = now }
        stats.submitLevels[ReplayStats.batchIndex(pendingCount)] += 1
        pendingCount = 0
        if r < 0 {
            fail(ReplayError(.ioFailed, "submitting I/O near record \(record) failed: \(ReplayError.errnoString(Int32(-r)))",
                             record: record, errno: Int32(-r)))
        }
    }

    /// Commits what is pending and waits for at least one completion (one system call on
    /// io_uring).
    mutating func commitAndReap() {
        if pendingCount == 0 {
            reap(waitNs: 100_000_000)
            return
        }
        let t = monotonicNs()
        for i in 0..<pendingCount { pool.slots[Int(pending[i])].submitNs = t }
        stats.submitLevels[ReplayStats.batchIndex(pendingCount)] += 1
        pendingCount = 0
        let (c, n) = engine.commitAndGetEvents(events.base, max: reapMax, waitNs: 100_000_000)
        if c < 0 && c != -Int(EINTR) {
            fail(ReplayError(.ioFailed, "submitting I/O near record \(record) failed: \(ReplayError.errnoString(Int32(-c)))",
                             record: record, errno: Int32(-c)))
        }
        if n > 0 { processEvents(n) } else if n < 0 { handleReapError(n) }
    }

    /// Reaps completions; `waitNs` as in `IOEngine.getEvents`. Returns how many were reaped.
    @inline(__always) @discardableResult
    mutating func reap(waitNs: Int64) -> Int {
        let n = engine.getEvents(events.base, max: reapMax, waitNs: waitNs)
        if n <= 0 {
            if n < 0 { handleReapError(n) }
            return 0
        }
        processEvents(n)
        return n
    }

    mutating func handleReapError(_ n: Int) {
        if n != -Int(EINTR) && n != -Int(ETIME) && n != -Int(EAGAIN) {
            fail(ReplayError(.ioFailed, "waiting for completions failed: \(ReplayError.errnoString(Int32(-n)))", errno: Int32(-n)))
            // Nothing more will come back from a broken engine.
            inflight = 0
        }
    }

    @inline(__always)
    mutating func processEvents(_ n: Int) {
        let now = monotonicNs()
        stats.completeLevels[ReplayStats.batchIndex(n)] += 1
        for i in 0..<n {
            let c = events[i]
            let s = pool.slots + Int(c.slot)
            s.pointee.result = c.result
            complete(s, now: now)
            inflight -= 1
            pool.release(c.slot)
        }
    }

    /// One completion: taps first (they see the buffer and result), then the stats; a
    /// failed I/O stops the run with a message that says what to change.
    @inline(__always)
    mutating func complete(_ s: UnsafeMutablePointer<IOSlot>, now: UInt64) {
        completed &+= 1
        lastActivityNs = now
        tap.didComplete(s, now: now)
        let res = s.pointee.result
        let op = s.pointee.op
        guard let sop = StatOp(op) else { return }
        if res < 0 {
            fail(ioError(s, errno: Int32(-res)))
            return
        }
        stats.accountCompletion(op: sop, result: res, length: s.pointee.length, startNs: s.pointee.startNs,
                                submitNs: s.pointee.submitNs, now: now, traced: s.pointee.tracedLatency)
    }

    /// The error for slot `s` failing with `errno`, with a hint where one helps.
    func ioError(_ s: UnsafeMutablePointer<IOSlot>, errno e: Int32) -> ReplayError {
        let op = s.pointee.op
        var hint = ""
        var remedy: ReplayError.Remedy?
        if e == EINVAL && (targets.direct || directPerRecord) {
            hint = " (O_DIRECT needs offset, length and buffer aligned to the device's logical block size)"
            remedy = .alignForDirect
        } else if e == ENOSPC {
            hint = " (the target's filesystem is full)"
        } else if e == EOPNOTSUPP {
            hint = " (the target does not support \(op.fioName))"
        }
        return ReplayError(.ioFailed,
            "record \(s.pointee.record): \(op.fioName) of \(s.pointee.length) bytes at offset \(s.pointee.offset) failed: \(ReplayError.errnoString(e))\(hint)",
            remedy: remedy, record: s.pointee.record, errno: e)
    }

    /// Waits for everything in flight (also after an error or Ctrl-C).
    mutating func drain() {
        commitPending()
        var idle = 0
        while inflight > 0 {
            let n = reap(waitNs: 100_000_000)
            if n == 0 {
                idle += 1
                // An I/O stuck for 10 minutes: give up rather than hang forever.
                if idle > 6000 {
                    fail(ReplayError(.ioFailed, "\(inflight) I/Os did not complete within 10 minutes; giving up"))
                    break
                }
            } else { idle = 0 }
        }
    }

    /// I/Os that never completed (an engine that broke, a drain that gave up): the taps are
    /// told, so a shared recorder does not wait for them.
    mutating func cancelUnfinished() {
        guard pool.inUse > 0 else { return }
        for i in pool.inUseSlots() { tap.didCancel(pool.slots + Int(i)) }
    }
}
