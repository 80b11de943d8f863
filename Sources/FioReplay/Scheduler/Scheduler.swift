import CFioLinux
import FioTrace
import Glibc

/// A replay waiting for its engine's concrete type (see `IOEngine.replay`).
public struct EngineRun {
    let scheduler: Scheduler
    let depth: Int
    var first: any TraceSource
    let open: () throws -> any TraceSource

    /// The replay, specialised for `E` at the engine's call site.
    @inline(__always)
    public mutating func run<E: IOEngine>(_ engine: E) throws -> ReplayResult {
        try scheduler.run(engine: engine, depth: depth, first: &first, open: open)
    }
}

/// Replays any `TraceSource` through an `IOEngine`, holding an absolute schedule, capping
/// in-flight I/O and measuring every I/O. One scheduler thread, fed by a reader thread
/// that decodes the trace one stage ahead (`ReadAheadSource`), so no decode ever runs
/// between two due times. Memory is bounded by the read-ahead queue, the depth and the
/// largest block size, never by the trace length.
///
/// The pipeline: source (read ahead) -> schedule (`SchedulerCore.replayPass`) -> slot
/// (`fillSlot`) -> taps at submit (payload, verify, recorder, sampler) -> engine ->
/// completion -> stats and taps at completion.
public struct Scheduler {
    public var options: ReplayOptions
    public init(options: ReplayOptions) { self.options = options }

    /// The in-flight cap for a trace with `metadata`.
    public func effectiveDepth(metadata: [String: String]) -> Int {
        if let d = options.iodepth { return max(1, d) }
        if let s = metadata[MetadataKey.iodepth], let d = Int(s.trimmingWhitespace), d > 0 { return d }
        if let d = options.depthHint, d > 0 { return d }
        return 1
    }

    /// Replays `loops` passes; `open` is called once per pass and must return a fresh source.
    /// Never throws for I/O problems: they end the run and come back in `ReplayResult.error`
    /// with the stats so far. Throws only when nothing could start (engine, first source).
    public func run(engine kind: EngineKind, note: (String) -> Void = { _ in },
                    open: () throws -> any TraceSource) throws -> ReplayResult {
        let first = try open()
        let depth = effectiveDepth(metadata: first.metadata)
        let engine = try makeEngine(kind, depth: depth, note: note)
        defer { engine.cleanup() }
        return try withoutActuallyEscaping(open) { open in
            var r = EngineRun(scheduler: self, depth: depth, first: first, open: open)
            return try engine.replay(&r)
        }
    }

    /// The taps these options ask for.
    func makeTaps() -> TapSet {
        var taps = TapSet()
        if let r = options.recorder {
            taps.recorder = RecorderTap(recorder: r, stream: options.recorderStream, fileMap: options.recorderFileMap,
                                         direct: options.direct)
        }
        if let v = options.verifier {
            taps.verifier = VerifyTap(verifier: v, pass: options.verifyPass, afterCrash: options.verifyAfterCrash)
        }
        if let w = options.timeSeries {
            taps.sampler = IntervalSampler(intervalNs: options.timeSeriesIntervalNs, job: options.jobName, writer: w)
        }
        taps.fioLogs = options.fioLogs
        return taps
    }

    /// Replays with an engine the caller built (any `IOEngine`, including the caller's own).
    public func run<E: IOEngine>(engine: E, depth: Int, first: inout any TraceSource,
                                 open: () throws -> any TraceSource) throws -> ReplayResult {
        let taps = makeTaps()
        if taps.isEmpty {
            return try run(engine: engine, tap: NoTap(), depth: depth, first: &first, open: open)
        }
        return try run(engine: engine, tap: taps, depth: depth, first: &first, open: open)
    }

    func run<E: IOEngine, T: ReplayTap>(engine: E, tap: T, depth: Int, first: inout any TraceSource,
                                        open: () throws -> any TraceSource) throws -> ReplayResult {
        var core = try SchedulerCore(engine: engine, tap: tap, depth: depth, options: options)
        // Timed sleeps and waits wake within ~1 us instead of the default 50 us slack.
        _ = cfio_set_timerslack(1)
        var rtNote: String? = nil
        var policy = "other"
        var realtime = false
        if let p = options.realtimePriority {
            let r = cfio_set_realtime(p)
            if r != 0 { rtNote = "cannot run SCHED_FIFO priority \(p): \(ReplayError.errnoString(-r)); using normal scheduling" }
            else { policy = "fifo \(p)"; realtime = true }
        } else if options.autoRealtime && options.timing == .original {
            let p = ReplayOptions.autoRealtimePriority
            if cfio_set_realtime(p) == 0 { policy = "fifo \(p)"; realtime = true }
        }
        core.realtime = realtime
        var pinnedCPU: Int32 = -1
        if realtime && options.pinCPU && sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1 {
            let c = cfio_current_cpu()
            if c >= 0 && cfio_pin_self(c) == 0 {
                pinnedCPU = c
                engine.keepHelpers(offCPU: c)
                _ = cfio_move_other_threads_off(c)
                policy += ", cpu \(c)"
            }
        }
        defer {
            if pinnedCPU >= 0 { _ = cfio_unpin_self() }
            if realtime {
                var sp = sched_param()
                sp.sched_priority = 0
                sched_setscheduler(0, SCHED_OTHER, &sp)
            }
        }
        var readAheadNote: String? = nil
        core.cpu.start()
        var base: UInt64 = 0
        for pass in 0..<max(1, options.loops) {
            if pass > 0 {
                do { first = try open() } catch {
                    core.fail(ReplayError(.trace, "cannot reopen the trace for loop \(pass + 1): \(error)"))
                    break
                }
            }
            var source = first
            if options.readAhead && (source as? any PrefetchingSource) == nil {
                do {
                    source = try ReadAheadSource(source, batchRecords: options.batchSize, depth: 2)
                    // The reader inherited the pinned CPU: move it to the others.
                    if pinnedCPU >= 0 { _ = cfio_move_other_threads_off(pinnedCPU) }
                } catch {
                    readAheadNote = "decoding on the scheduler's thread: \(error)"
                }
            }
            let lastTime = core.replayPass(source: &source, baseNs: &base, startClock: pass == 0)
            core.stats.traceDurationNs += lastTime
            base += UInt64(Double(lastTime) / options.speed)
            if core.stop { break }
        }
        core.drain()
        if core.stats.startNs == 0 { core.startClockNow() } // an empty trace
        core.stats.endNs = monotonicNs()
        if options.startBeforeData && !core.stop && core.lastActivityNs > core.stats.startNs {
            // A stream of a split trace whose records ended before the trace did: it ends with
            // its own last I/O, not when the reader reached the end of everyone's records.
            core.stats.endNs = core.lastActivityNs
        }
        core.closeSampleInterval(now: core.stats.endNs, final: true)
        core.tap.tick(now: core.stats.endNs, final: true)
        core.cpu.end(into: &core.stats)
        core.status?(core.stats, true)
        core.cancelUnfinished()
        core.targets.closeAll()
        return ReplayResult(stats: core.stats, error: core.error, interrupted: core.interrupted,
                            engineName: engine.name, iodepth: depth, timing: options.timing,
                            speed: options.speed,
                            notes: core.targets.notes + (rtNote.map { [$0] } ?? []) + (readAheadNote.map { [$0] } ?? []),
                            schedulerPolicy: policy)
    }
}
