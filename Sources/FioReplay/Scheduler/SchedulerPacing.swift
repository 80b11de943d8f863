import CFioLinux
import FioTrace
import Glibc

extension SchedulerCore {
    // MARK: the clock, the spin window and the periodic tick

    /// Starts the schedule: at the shared start instant of a multi-stream run, else now,
    /// then after fio's startdelay.
    mutating func startClockNow() {
        if let f = startAt {
            let at = f()
            _ = sleepUntil(ns: at)
            stats.startNs = at
        } else {
            stats.startNs = monotonicNs()
        }
        if startDelayNs > 0 {
            // fio's startdelay: the job begins later; runtime and ramp count from there. The
            // wait gives way to Ctrl-C and to another job's exitall.
            let until = stats.startNs + startDelayNs
            while true {
                let t = monotonicNs()
                if t >= until { break }
                if cfio_interrupted() != 0 { interrupted = true; stop = true; break }
                if let sig = stopSignal, sig.isRaised { stop = true; break }
                _ = sleepUntil(ns: min(until, t + 50_000_000))
            }
            stats.startNs = max(until, stats.startNs)
        }
        nextSampleNs = stats.startNs + sampleIntervalNs
        lastSampleNs = stats.startNs
        nextIopsSampleNs = stats.startNs + iopsSampleIntervalNs
        lastIopsSampleNs = stats.startNs
        nextProgressNs = stats.startNs + 1_000_000_000
        nextStatusNs = status != nil ? stats.startNs + statusIntervalNs : .max
        nextSpinCheckNs = stats.startNs + 100_000_000
        lastSpinCheckNs = stats.startNs
        cpuAtLastTick = threadCPUTotal()
        tap.start(at: stats.startNs)
        rampEndNs = rampNs > 0 ? stats.startNs + rampNs : 0
        runtimeEndNs = runtimeNs > 0 && rampEndNs == 0 ? stats.startNs + runtimeNs : 0
        cpu.start()
        updateNextTick()
    }

    mutating func updateNextTick() {
        nextTickNs = min(nextSpinCheckNs, nextSampleNs, nextIopsSampleNs, nextProgressNs, nextStatusNs, rampEndNs == 0 ? .max : rampEndNs,
                         runtimeEndNs == 0 ? .max : runtimeEndNs)
    }

    /// A wake-up came `overshootNs` late: widen the spin window so the next due time is met
    /// by spinning, or let it shrink back toward the minimum when wake-ups are prompt.
    @inline(__always)
    mutating func adaptSpin(overshootNs over: UInt64) {
        if over > spin / 2 { spin = min(spinCap, max(spin, over * 2)) }
        else if spin > spinNs { spin -= (spin - spinNs) / 64 + 1 }
    }

    /// Closes fio's bandwidth averaging interval (`sampleIntervalNs`) and its IOPS one
    /// (`iopsSampleIntervalNs`) when they are due, or at the end (`final`).
    mutating func closeSampleInterval(now: UInt64, final: Bool = false) {
        if let e = Self.elapsedIfDue(now: now, final: final, last: &lastSampleNs, next: &nextSampleNs, every: sampleIntervalNs) {
            stats.closeBandwidthInterval(elapsedNs: e)
        }
        if let e = Self.elapsedIfDue(now: now, final: final, last: &lastIopsSampleNs, next: &nextIopsSampleNs, every: iopsSampleIntervalNs) {
            stats.closeIOPSInterval(elapsedNs: e)
        }
    }

    /// The length of a sampling interval (ns) that is over at `now` (or at the end), moving
    /// it on; nil when it is not due. fio drops a trailing partial interval: at the end, one
    /// shorter than half an interval is dropped.
    static func elapsedIfDue(now: UInt64, final: Bool, last: inout UInt64, next: inout UInt64, every: UInt64) -> UInt64? {
        guard final || now >= next else { return nil }
        let elapsed = now &- last
        if final && elapsed < every / 2 { return nil }
        last = now
        next = now + every
        return elapsed
    }

    /// Everything that happens about every 100 ms (never per I/O): the spin budget, the
    /// ramp's and runtime's ends, stop requests, bandwidth samples, progress and the taps'
    /// tick.
    mutating func periodic(now: UInt64) {
        if now >= nextSpinCheckNs {
            // Spin budget per 100 ms: spinning may take ~70 % of it. Under SCHED_FIFO all of
            // the thread's CPU counts (a SCHED_FIFO thread busy for 95 % of a second is
            // throttled by the kernel for the rest of it); otherwise only the spinning does.
            let used: UInt64
            if realtime {
                let c = threadCPUTotal()
                used = c &- cpuAtLastTick
                cpuAtLastTick = c
            } else {
                used = stats.spinNs &- spinAtLastTick
            }
            spinAtLastTick = stats.spinNs
            let window = now &- lastSpinCheckNs
            lastSpinCheckNs = now
            if used > window / 100 * (realtime ? 88 : 70) {
                spinCap = spinCap / 2
            } else if used < window / 100 * (realtime ? 70 : 40) {
                spinCap = min(maxSpinNs, max(spinNs, spinCap * 2))
            }
            if spin > spinCap { spin = spinCap }
            nextSpinCheckNs = now + 100_000_000
            tap.tick(now: now, final: false)
        }
        if rampEndNs != 0 && now >= rampEndNs { endRamp(now: now) }
        if tap.wantsStop {
            fail(ReplayError(.verifyFailed, "verify found bad data (verify_fatal): the run stopped at the first bad read"))
        }
        if let s = stopSignal, s.isRaised { stop = true }
        if runtimeEndNs != 0 && now >= runtimeEndNs { stop = true }
        if now >= min(nextSampleNs, nextIopsSampleNs) { closeSampleInterval(now: now) }
        if now >= nextStatusNs, let status {
            // fio's --status-interval: the statistics so far, as if the run ended now.
            var snapshot = stats
            snapshot.endNs = now
            cpu.end(into: &snapshot)
            status(snapshot, false)
            nextStatusNs = max(nextStatusNs &+ statusIntervalNs, now &+ 1)
        }
        if now >= nextProgressNs {
            if let p = progress {
                p(ReplayProgress(elapsedNs: now - stats.startNs, issued: stats.issued, completed: completed,
                                 iopsLastSecond: Double(completed - lastProgressCompleted),
                                 worstLatenessNs: worstLateness, traceTimeNs: traceTime))
            }
            lastProgressCompleted = completed
            worstLateness = 0
            nextProgressNs = now + 1_000_000_000
        }
        updateNextTick()
    }

    /// The ramp is over: the statistics start over from `now` (fio's ramp_time), CPU use
    /// included. I/Os in flight complete into the new stats.
    mutating func endRamp(now: UInt64) {
        rampEndNs = 0
        stats = ReplayStats(percentiles: percentiles)
        stats.startNs = now
        lastSampleNs = now
        nextSampleNs = now + sampleIntervalNs
        lastIopsSampleNs = now
        nextIopsSampleNs = now + iopsSampleIntervalNs
        spinAtLastTick = 0
        runtimeEndNs = runtimeNs > 0 ? now + runtimeNs : 0
        cpu.start()
        tap.restart(at: now)
    }
}
