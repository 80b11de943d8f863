import CFioLinux
import FioTrace
import Glibc

/// Where an I/O goes after `--scale`, `--align` and `--wrap`: the offset and length on the
/// target, or the reason it does not fit.
enum MappedIO {
    case ok(offset: UInt64, length: UInt64)
    case tooLarge(offset: UInt64)
}

extension SchedulerCore {
    // MARK: the loop

    /// Replays one pass of `source`. Returns the time of its last record (ns since trace start).
    mutating func replayPass(source: inout any TraceSource, baseNs: inout UInt64, startClock: Bool) -> UInt64 {
        var batch: [TraceRecord] = []
        batch.reserveCapacity(batchSize)
        let prefetch = source as? any PrefetchingSource
        var lastTime: UInt64 = 0
        let timed = timing == .original
        let invSpeed = 1 / speed
        // Untimed, with nothing in flight, the previous I/O's completion time (read just
        // before) is this I/O's start: saves a clock read per I/O. Reset whenever anything
        // but bookkeeping happens in between (batch refill, file events).
        var lastDone: UInt64 = 0
        if startClock && startBeforeData && stats.startNs == 0 {
            // Streams fed by one reader start together before their data arrives (see
            // `ReplayOptions.startBeforeData`): open what the file table already names.
            syncFiles(source.files)
            openKnownTargets()
            startClockNow()
            baseNs = stats.startNs
        }
        outer: while !stop {
            commitPending()
            do {
                guard try nextRecords(source: &source, prefetch: prefetch, into: &batch) else { break }
            } catch {
                commitPending()
                fail(ReplayError(.trace, "reading the trace after record \(record) failed: \(error)", record: record))
                break
            }
            syncFiles(source.files)
            lastDone = 0
            if startClock && stats.startNs == 0 {
                // The schedule starts once the first records are decoded and the targets are
                // open, so neither counts as lateness of the first I/Os. A target that fails to
                // open here is reported at its first record instead.
                openKnownTargets()
                startClockNow()
                baseNs = stats.startNs
            }
            var i = 0
            let count = batch.count
            while i < count {
                let r = batch[i]
                i += 1
                let recNo = record
                current = recNo
                record &+= 1
                lastTime = r.time
                if r.op.isFileEvent {
                    lastDone = 0
                    handleFileEvent(r)
                    if stop { break outer }
                    continue
                }
                stats.recordsRead &+= 1
                if skipMask & (1 << UInt32(r.op.rawValue)) != 0 {
                    stats.skipped &+= 1
                    if let sop = StatOp(r.op) { stats[sop].droppedIOs &+= 1 }
                    continue
                }
                // When is it due, and how many may be in flight when it goes?
                let due: UInt64 = timed ? baseNs &+ (speed == 1 ? r.time : UInt64(Double(r.time) * invSpeed)) : 0
                var limit = cap
                if timing == .closed, let d = r.depth, d > 0, Int(d) < limit { limit = Int(d) }
                let f = Int(r.file)
                if f >= fileFd.count || fileFd[f] < 0 {
                    if !openFile(f) { break outer }
                    targets.targets[targets.fileTarget[f]].openCount = max(1, targets.targets[targets.fileTarget[f]].openCount)
                }
                // A data record whose direct flag differs from the targets' goes through the
                // target's other descriptor.
                var fd = fileFd[f]
                if directPerRecord && r.op.isData && r.flags.contains(.direct) == altDirectFlag {
                    if fileAltFd[f] < 0 && !openAlternate(f) { break outer }
                    fd = fileAltFd[f]
                }
                let off: UInt64, len: UInt64
                switch map(r, file: f) {
                case .ok(let o, let l): (off, len) = (o, l)
                case .tooLarge(let o):
                    fail(ReplayError(.targetTooSmall,
                        "record \(recNo): \(r.op.fioName) of \(r.length) bytes at offset \(o) reaches past the end of \(targets.targets[targets.fileTarget[f]].path) (\(fileSize[f]) bytes)",
                        remedy: .fitTarget, record: recNo))
                    break outer
                }
                let now: UInt64
                if lastDone != 0 && inflight == 0 && !timed {
                    if cfio_interrupted() != 0 { interrupted = true; stop = true; break outer }
                    if stop { break outer }
                    now = lastDone
                } else {
                    now = waitForTurn(due: due, limit: limit)
                    if now == 0 { break outer }
                }
                // runtimeEndNs is 0 until the ramp is over (and without a runtime).
                if runtimeEndNs != 0 && now >= runtimeEndNs { stop = true; break outer }
                // Ops an engine may do synchronously (trim, sync_file_range, ...) must not
                // overtake a held read or write queued before them.
                if pendingCount > 0 && r.op != .read && r.op != .write { commitPending() }
                guard let si = pool.acquire() else { break outer } // cannot happen: inflight < cap
                if len > UInt64(pool.slots[Int(si)].capacity) && !pool.ensureCapacity(si, len) {
                    pool.release(si)
                    fail(ReplayError(.invalidOption, "record \(recNo): cannot allocate a \(len)-byte buffer", record: recNo))
                    break outer
                }
                let s = pool.slots + Int(si)
                fillSlot(s, r, file: f, fd: fd, offset: off, length: len, record: recNo, due: due, now: now)
                traceTime = r.time
                if timed {
                    let late = stats.accountLateness(now: now, due: due, slotFreeNs: slotFreeNs)
                    slotFreeNs = 0
                    if late > worstLateness { worstLateness = late }
                }
                inflight += 1
                s.pointee.depth = UInt32(truncatingIfNeeded: inflight)
                stats.accountIssue(inflight: inflight)
                if stats.firstIssueNs == 0 { stats.firstIssueNs = now; stats.firstIssueTraceNs = r.time }
                if r.op == .write && payload != nil {
                    payload!.fill(s.pointee.buffer, length: Int(len), offset: off)
                }
                tap.willSubmit(s)
                // Timed: submit now, or hold it for one submission with the next I/O (see
                // `holdNs`). Hold only for a next I/O the trace puts at the same time, or one
                // due within the hold window. One that is already overdue means the replay is
                // behind (a device slower than the recorded one): then each I/O goes at once,
                // as the recorded closed loop issued them.
                var holdForNext = false
                if timed && i < count {
                    let nextDue = baseNs &+ (speed == 1 ? batch[i].time : UInt64(Double(batch[i].time) * invSpeed))
                    holdForNext = batch[i].time == r.time || (nextDue > now && nextDue <= now &+ holdNs)
                }
                switch submit(si, holdForNext: holdForNext, timed: timed) {
                case .done(let t): if !timed { lastDone = t }
                case .queued: break
                case .failed: break outer
                }
                if now >= nextTickNs { periodic(now: now) }
            }
        }
        commitPending()
        return lastTime
    }

    /// The next records: from a prefetching source without ever blocking while I/O is in
    /// flight (completions are reaped while waiting for the reader), else the source's own
    /// `nextBatch`. False at the end of the trace, or when the run must stop.
    mutating func nextRecords(source: inout any TraceSource, prefetch: (any PrefetchingSource)?,
                              into batch: inout [TraceRecord]) throws -> Bool {
        guard let p = prefetch else { return try source.nextBatch(&batch, maxCount: batchSize) }
        while true {
            switch try p.pollBatch(&batch, maxCount: batchSize, waitNs: inflight > 0 ? 0 : 10_000_000) {
            case .ready: return true
            case .end: return false
            case .pending:
                if cfio_interrupted() != 0 { interrupted = true; stop = true; return false }
                if stop { return false }
                if inflight > 0 {
                    commitPending()
                    reap(waitNs: 100_000)
                }
                let now = monotonicNs()
                if stats.startNs != 0 && now >= nextTickNs { periodic(now: now) }
            }
        }
    }

    /// Applies `--scale`, `--align` and `--wrap` to a record on trace file `f`.
    @inline(__always)
    func map(_ r: TraceRecord, file f: Int) -> MappedIO {
        var off = r.offset
        var len = r.length
        if r.op.isData || r.op == .syncFileRange {
            if offsets.scale != 1 { off = UInt64(Double(off) * offsets.scale) }
            if offsets.align > 1 { off -= off % offsets.align }
            let size = fileSize[f]
            if size > 0 && off &+ len > size {
                guard offsets.wrap && len <= size else { return .tooLarge(offset: off) }
                off %= size
                if off + len > size { off = size - len }
                if offsets.align > 1 { off -= off % offsets.align }
            }
        } else if r.op.isSync {
            len = 0
        }
        return .ok(offset: off, length: len)
    }

    /// Sets up slot `s` for record `r` (mapped to `offset`/`length` on file `f`'s target).
    @inline(__always)
    func fillSlot(_ s: UnsafeMutablePointer<IOSlot>, _ r: TraceRecord, file f: Int, fd: Int32, offset: UInt64, length: UInt64,
                  record recNo: UInt64, due: UInt64, now: UInt64) {
        s.pointee.fd = fd
        s.pointee.op = r.op
        s.pointee.isBlockDevice = fileBlock[f]
        s.pointee.offset = offset
        s.pointee.length = length
        s.pointee.record = recNo
        s.pointee.file = r.file
        s.pointee.target = UInt32(truncatingIfNeeded: targets.fileTarget[f])
        s.pointee.dueNs = due
        s.pointee.tracedLatency = r.latency ?? 0
        s.pointee.startNs = now
        s.pointee.submitNs = now
    }

    /// What `submit` did.
    enum Submitted {
        /// Completed synchronously at this time.
        case done(UInt64)
        /// Queued (and committed, unless held for the next I/O).
        case queued
        /// The engine refused it: the run stops.
        case failed
    }

    /// Hands slot `si` to the engine; commits unless `holdForNext` (timed) or the untimed
    /// submission batch is not full yet.
    @inline(__always)
    mutating func submit(_ si: Int32, holdForNext: Bool, timed: Bool) -> Submitted {
        let s = pool.slots + Int(si)
        switch engine.queue(pool.slots, si) {
        case .completed:
            let done = monotonicNs()
            complete(s, now: done)
            inflight -= 1
            pool.release(si)
            return .done(done)
        case .queued:
            pending[pendingCount] = si
            pendingCount += 1
            if timed {
                if !holdForNext || pendingCount >= cap || inflight >= cap { commitPending() }
            } else if submitBatch > 0 && pendingCount >= submitBatch {
                commitPending()
            }
            return .queued
        case .busy:
            // Should not happen (the ring holds `cap` entries); retry after a commit.
            commitPending()
            reap(waitNs: 1_000_000)
            if engine.queue(pool.slots, si) == .queued {
                pending[pendingCount] = si
                pendingCount += 1
                commitPending()
                return .queued
            }
            inflight -= 1
            tap.didCancel(s)
            pool.release(si)
            fail(ReplayError(.ioFailed, "record \(s.pointee.record): the engine refused the I/O (queue full)", record: s.pointee.record))
            return .failed
        }
    }

    /// Waits until an I/O may be issued: a slot under `limit` is free and, when `due` != 0,
    /// the clock has reached `due`. Reaps completions meanwhile. Returns the clock reading,
    /// or 0 when the replay must stop.
    @inline(__always)
    mutating func waitForTurn(due: UInt64, limit: Int) -> UInt64 {
        while true {
            if cfio_interrupted() != 0 {
                interrupted = true
                stop = true
                return 0
            }
            if stop { return 0 }
            if inflight > 0 {
                reap(waitNs: 0)
                // A completion just reaped may have failed: issue nothing more.
                if stop { return 0 }
            }
            if inflight >= limit {
                commitAndReap()
                // Timed: note when a slot came free, to tell lateness the depth cap caused
                // from the scheduler's own.
                if due != 0 && inflight < limit { slotFreeNs = monotonicNs() }
                continue
            }
            let now = monotonicNs()
            if due <= now { return now }
            let remaining = due - now
            if pendingCount > 0 && (remaining > holdNs || remaining > spin) { commitPending() }
            if remaining > spin {
                // Wake for the periodic tick too (stop requests, ramp and runtime ends), not
                // only for the next due I/O, which may be seconds away.
                let wake = min(due - spin, max(nextTickNs, now + 1))
                var reaped = 0
                if inflight > 0 {
                    reaped = reap(waitNs: Int64(wake - now))
                } else {
                    sleepUntil(ns: wake)
                }
                let woke = monotonicNs()
                // Adapt the spin window to how late this machine wakes us (timer and
                // scheduler latency), so the next due time is met by spinning, not sleeping.
                if reaped == 0 && woke > wake { adaptSpin(overshootNs: woke - wake) }
                periodic(now: woke)
                continue
            }
            // Spin for the last stretch, still reaping so completions are timed promptly.
            // Reaping may enter the kernel (io_uring task work, io_getevents); stop reaping in
            // the last 10 us so that it cannot make the issue late.
            var t = now
            while t < due {
                if inflight > 0 && due - t > 10_000 { reap(waitNs: 0) }
                t = monotonicNs()
            }
            stats.spinNs &+= t - now
            if stop { return 0 }
            return t
        }
    }
}
