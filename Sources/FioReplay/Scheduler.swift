import CFioLinux
import FioTrace
import Glibc

/// How the scheduler decides when to issue each I/O.
public enum ReplayTiming: String, Sendable, CaseIterable {
    /// Open loop against an absolute schedule: I/O i is due at start + t_i / speed.
    case original
    /// As fast as possible, in trace order, capped by iodepth.
    case none
    /// Closed loop: issue when the in-flight count is below the trace's recorded depth.
    case closed
}

/// Everything that shapes a replay. Times in ns, sizes in bytes.
public struct ReplayOptions {
    public var timing: ReplayTiming = .original
    /// Speed factor for `.original` timing (2 = twice as fast).
    public var speed: Double = 1
    /// In-flight cap; nil = the trace's metadata "iodepth", else `depthHint`, else 1.
    public var iodepth: Int?
    /// Depth the trace records or its latencies imply (`TracePrescan.suggestedDepth`), used
    /// when its metadata has no "iodepth".
    public var depthHint: Int?
    public var direct = false
    public var targets = TargetMapping()
    public var offsets = OffsetMapping()
    /// Ops not replayed (counted as dropped).
    public var skipOps: Set<TraceOp> = []
    /// Drop writes and trims; open targets read-only.
    public var readOnly = false
    /// Allow writing to a block device that is mounted or holds a signature.
    public var allowDestructive = false
    /// Replay the trace this many times (each pass starts where the previous one ended).
    public var loops = 1
    /// Stop issuing after this many ns of replay.
    public var runtimeNs: UInt64?
    /// Bytes the trace needs per trace file index (a pre-scan's answer), for creating targets.
    public var requiredSizes: [UInt32: UInt64] = [:]
    /// The scheduler sleeps until this long before an I/O is due, then spins (ns).
    public var spinNs: UInt64 = 40_000
    /// Upper bound of the adaptive spin window (ns): when wake-ups come late (a busy
    /// machine), the scheduler spins up to this long before each due time.
    public var maxSpinNs: UInt64 = 200_000
    /// Records pulled from the trace per batch.
    public var batchSize = 4096
    /// Interval of bandwidth/IOPS samples (fio's bw_avg_time; ns).
    public var sampleIntervalNs: UInt64 = 500_000_000
    /// Track percentiles (HdrHistogram).
    public var percentiles = true
    /// Initial buffer size per slot (bytes); buffers grow for longer records.
    public var blockSizeHint = 4096
    /// Run the scheduler thread SCHED_FIFO at this priority (1...99), so that other busy
    /// processes cannot delay issues; needs CAP_SYS_NICE. nil = normal scheduling.
    public var realtimePriority: Int32?
    /// Called about once a second on the scheduler thread (keep it cheap).
    public var progress: ((ReplayProgress) -> Void)?
    /// Records every issued I/O with its completion (`--write-iolog`).
    public var recorder: ReplayRecorder?
    /// Stamped as `stream` on every recorded I/O (a live run's job index); nil: none.
    public var recorderStream: UInt32?
    /// Recorded file index per trace file index, when several schedulers share one recorder
    /// whose file table the caller set (`ReplayRecorder.noteFiles`); nil: the trace's own.
    public var recorderFileMap: [UInt32]?
    /// fio's ramp_time (ns): the statistics start over this long after the start, so the
    /// report covers the steady state only; `runtimeNs` counts from there.
    public var rampNs: UInt64 = 0
    /// Another stream's request to stop (fio's exitall), checked at the periodic tick.
    public var stop: StopSignal?
    /// Called once this scheduler is ready to issue (engine up, targets open, first records
    /// decoded); returns the instant (monotonic ns) its schedule starts from, which it waits
    /// for. Streams run together get one instant. nil: start at once.
    public var startAt: (() -> UInt64)?
    /// Wait this long (ns) after the start before the first I/O, outside runtime and ramp
    /// (fio's startdelay).
    public var startDelayNs: UInt64 = 0
    /// Completions taken per reap, at most (fio's iodepth_batch_complete_max). nil: all that
    /// are ready, up to the cap, so each is timed when it is ready. fio's own default is 1,
    /// which leaves the others waiting (and their clat growing) until later calls.
    public var reapMax: Int?
    /// Untimed: submit as soon as this many I/Os are queued (fio's iodepth_batch_submit,
    /// whose default 1 submits every I/O at once). nil: queue up to the in-flight cap and
    /// submit them together (fewer system calls; what `--timing none` does).
    public var submitBatch: Int?

    public init() {}
}

/// A snapshot for progress lines.
public struct ReplayProgress: Sendable {
    public var elapsedNs: UInt64
    public var issued: UInt64
    public var completed: UInt64
    public var iopsLastSecond: Double
    /// Worst lateness in the last second (ns), 0 when untimed.
    public var worstLatenessNs: UInt64
    /// Trace time reached (ns since trace start, at speed 1).
    public var traceTimeNs: UInt64
}

/// What a replay produced: stats (always, also after errors or Ctrl-C) and how it ended.
public struct ReplayResult {
    public var stats: ReplayStats
    /// The first error that stopped the replay, if any.
    public var error: ReplayError?
    /// True when SIGINT/SIGTERM stopped it.
    public var interrupted: Bool
    /// Engine used and in-flight cap applied.
    public var engineName: String
    public var iodepth: Int
    public var timing: ReplayTiming
    public var speed: Double
    /// Notes for the user (targets created, engine fallbacks).
    public var notes: [String]
}

/// Replays any `TraceSource` through an `IOEngine`, holding an absolute schedule, capping
/// in-flight I/O and measuring every I/O. One scheduler thread; memory is bounded by the
/// batch size, the depth and the largest block size, never by the trace length.
public struct Scheduler {
    public var options: ReplayOptions
    public init(options: ReplayOptions) { self.options = options }

    /// The in-flight cap for a trace with `metadata`.
    public func effectiveDepth(metadata: [String: String]) -> Int {
        if let d = options.iodepth { return max(1, d) }
        if let s = metadata["iodepth"], let d = Int(s.trimmingWhitespace), d > 0 { return d }
        if let d = options.depthHint, d > 0 { return d }
        return 1
    }

    /// Replays `loops` passes; `open` is called once per pass and must return a fresh source.
    /// Never throws for I/O problems: they end the run and come back in `ReplayResult.error`
    /// with the stats so far. Throws only when nothing could start (engine, first source).
    public func run(engine kind: EngineKind, note: (String) -> Void = { _ in },
                    open: () throws -> any TraceSource) throws -> ReplayResult {
        var first = try open()
        let depth = effectiveDepth(metadata: first.metadata)
        let engine = try makeEngine(kind, depth: depth, note: note)
        defer { engine.cleanup() }
        switch engine {
        case let e as NullEngine: return try run(engine: e, depth: depth, first: &first, open: open)
        case let e as PSyncEngine: return try run(engine: e, depth: depth, first: &first, open: open)
        case let e as LibAIOEngine: return try run(engine: e, depth: depth, first: &first, open: open)
        case let e as IOUringEngine: return try run(engine: e, depth: depth, first: &first, open: open)
        default: return try run(engine: engine, depth: depth, first: &first, open: open)
        }
    }

    /// Replays with an engine the caller built (any `IOEngine`, including the caller's own).
    public func run<E: IOEngine>(engine: E, depth: Int, first: inout any TraceSource,
                                 open: () throws -> any TraceSource) throws -> ReplayResult {
        var core = try SchedulerCore(engine: engine, depth: depth, options: options)
        defer { core.release() }
        // Timed sleeps and waits wake within ~1 us instead of the default 50 us slack.
        _ = cfio_set_timerslack(1)
        var rtNote: String? = nil
        if let p = options.realtimePriority {
            let r = cfio_set_realtime(p)
            if r != 0 { rtNote = "cannot run SCHED_FIFO priority \(p): \(ReplayError.errnoString(-r)); using normal scheduling" }
        }
        defer {
            if options.realtimePriority != nil {
                var sp = sched_param()
                sp.sched_priority = 0
                sched_setscheduler(0, SCHED_OTHER, &sp)
            }
        }
        core.markCPU()
        var base: UInt64 = 0
        for pass in 0..<max(1, options.loops) {
            if pass > 0 {
                do { first = try open() } catch {
                    core.fail(ReplayError(.trace, "cannot reopen the trace for loop \(pass + 1): \(error)"))
                    break
                }
            }
            let lastTime = core.replayPass(source: &first, baseNs: &base, startClock: pass == 0)
            core.stats.traceDurationNs += lastTime
            base += UInt64(Double(lastTime) / options.speed)
            if core.stop { break }
        }
        core.drain()
        if core.stats.startNs == 0 { core.startClockNow() } // an empty trace
        core.stats.endNs = monotonicNs()
        core.takeSample(now: core.stats.endNs, final: true)
        core.readCPU()
        core.cancelUnfinished()
        core.targets.closeAll()
        return ReplayResult(stats: core.stats, error: core.error, interrupted: core.interrupted,
                            engineName: engine.name, iodepth: depth, timing: options.timing,
                            speed: options.speed, notes: core.targets.notes + (rtNote.map { [$0] } ?? []))
    }
}

/// The hot loop's state, a struct in a local variable so that no access is checked at run
/// time and nothing is allocated per I/O.
struct SchedulerCore<E: IOEngine> {
    let engine: E
    let recorder: ReplayRecorder?
    let recStream: UInt32?
    let recFileMap: [UInt32]?
    /// Recorded times count from here: the recorder's clock (the first stream's start).
    var recEpoch: UInt64
    let percentiles: Bool
    /// Monotonic ns at which the ramp ends and the stats start over; 0: no ramp (or done).
    var rampEndNs: UInt64 = 0
    let rampNs: UInt64
    let stopSignal: StopSignal?
    let startAt: (() -> UInt64)?
    /// When the I/O being issued got its slot after waiting for one (timed replays), else 0.
    var slotFreeNs: UInt64 = 0
    let startDelayNs: UInt64
    /// Monotonic ns at which the runtime is up (0: no runtime, or the ramp is not over).
    var runtimeEndNs: UInt64 = 0
    /// Thread CPU, faults and context switches at the start of the measured window (reset
    /// when the ramp ends, so the report covers what the stats cover).
    var cpuAtStart: (user: UInt64, system: UInt64) = (0, 0)
    var cpuTotalAtStart: UInt64 = 0
    var rusageAtStart = rusage()
    /// Untimed submission batch (`ReplayOptions.submitBatch`); 0: up to the cap.
    let submitBatch: Int
    /// Completions taken per reap (`ReplayOptions.reapMax`), 1...cap.
    let reapMax: Int
    /// Average time a commit (one submission system call) takes, ns; timed replays only.
    var submitCostNs: UInt64 = 0
    /// Timed: a queued I/O is not submitted alone when the next one is due within this
    /// many ns; both go in one submission when the second is due. Without it the second
    /// would wait for the first's submission (tens of µs for libaio O_DIRECT here) and be
    /// late by the rest of it; held, the first's wait shows in its slat, not as lateness.
    var holdNs: UInt64 { submitCostNs / 2 }
    var pool: SlotPool
    let cap: Int
    let timing: ReplayTiming
    let speed: Double
    /// Minimum spin window (the option); `spin` adapts above it to the wake-up overshoot seen.
    let spinNs: UInt64
    let maxSpinNs: UInt64
    var spin: UInt64
    /// Current ceiling of `spin`: halved when the thread used over 70 % of a CPU in the last
    /// 100 ms, doubled back up to `maxSpinNs` when it used under 40 %.
    var spinCap: UInt64
    var cpuAtLastTick: UInt64 = 0
    var spinAtLastTick: UInt64 = 0
    /// Running SCHED_FIFO: the CPU budget below applies.
    let realtime: Bool
    var lastSpinCheckNs: UInt64 = 0
    var nextSpinCheckNs: UInt64 = 0
    /// The earliest of the sample, progress and spin-budget times.
    var nextTickNs: UInt64 = 0
    let runtimeNs: UInt64
    let batchSize: Int
    let sampleIntervalNs: UInt64
    let offsets: OffsetMapping
    let skipMask: UInt32
    let progress: ((ReplayProgress) -> Void)?
    var stats: ReplayStats
    var targets: TargetTable
    let events: UnsafeMutablePointer<IOCompletion>
    let pending: UnsafeMutablePointer<Int32>
    var pendingCount = 0
    var inflight = 0
    /// Records consumed so far over all passes; `current` is the one being handled.
    var record: UInt64 = 0
    var current: UInt64 = 0
    var error: ReplayError?
    var interrupted = false
    var stop = false
    var nextSampleNs: UInt64 = 0
    var lastSampleNs: UInt64 = 0
    var nextProgressNs: UInt64 = 0
    var lastProgressCompleted: UInt64 = 0
    var worstLateness: UInt64 = 0
    var completed: UInt64 = 0
    var traceTime: UInt64 = 0
    // Per trace file: fd, size, block flag, target index (cached so the hot path reads locals).
    var fileFd: [Int32] = []
    var fileSize: [UInt64] = []
    var fileBlock: [Bool] = []
    var files: [TraceFile] = []

    init(engine: E, depth: Int, options o: ReplayOptions) throws {
        self.engine = engine
        recorder = o.recorder
        recStream = o.recorderStream
        recFileMap = o.recorderFileMap
        recEpoch = 0
        percentiles = o.percentiles
        rampNs = o.rampNs
        stopSignal = o.stop
        startAt = o.startAt
        startDelayNs = o.startDelayNs
        // Closed loop replays a recorded closed loop: each I/O goes as soon as its slot allows,
        // as the recorded run (fio's default) did. As fast as possible: up to the cap at once.
        submitBatch = max(0, o.submitBatch ?? (o.timing == .closed ? 1 : 0))
        reapMax = min(max(1, depth), max(1, o.reapMax ?? depth))
        cap = max(1, depth)
        pool = try SlotPool(depth: cap, blockSize: o.blockSizeHint)
        timing = o.timing
        speed = o.speed > 0 ? o.speed : 1
        spinNs = o.spinNs
        spin = o.spinNs
        maxSpinNs = max(o.spinNs, o.maxSpinNs)
        spinCap = maxSpinNs
        realtime = o.realtimePriority != nil
        runtimeNs = o.runtimeNs ?? 0
        batchSize = max(1, o.batchSize)
        sampleIntervalNs = max(1_000_000, o.sampleIntervalNs)
        offsets = o.offsets
        var mask: UInt32 = 0
        for op in o.skipOps { mask |= 1 << UInt32(op.rawValue) }
        if o.readOnly { mask |= 1 << UInt32(TraceOp.write.rawValue) | 1 << UInt32(TraceOp.trim.rawValue) }
        skipMask = mask
        progress = o.progress
        stats = ReplayStats(percentiles: o.percentiles)
        targets = TargetTable(mapping: o.targets, direct: o.direct, readOnly: o.readOnly,
                              allowDestructive: o.allowDestructive, requiredSizes: o.requiredSizes,
                              wrap: o.offsets.wrap)
        events = .allocate(capacity: cap)
        pending = .allocate(capacity: cap)
    }

    func release() {
        pool.deallocate()
        events.deallocate()
        pending.deallocate()
    }

    mutating func fail(_ e: ReplayError) {
        if error == nil { error = e }
        stop = true
    }

    // MARK: files

    mutating func syncFiles(_ table: [TraceFile]) {
        guard table.count > fileFd.count else { return }
        files = table
        targets.addFiles(table)
        while fileFd.count < table.count {
            fileFd.append(-1)
            fileSize.append(0)
            fileBlock.append(false)
        }
    }

    mutating func refreshFileCache(target t: Int) {
        for (i, ti) in targets.fileTarget.enumerated() where ti == t {
            fileFd[i] = targets.targets[t].fd
            fileSize[i] = targets.targets[t].size
            fileBlock[i] = targets.targets[t].isBlockDevice
        }
    }

    /// Opens the target of trace file `f` (lazily, or for an open event). False on error.
    mutating func openFile(_ f: Int) -> Bool {
        guard f < targets.fileTarget.count else {
            fail(ReplayError(.trace, "record \(current) names file \(f), which the trace never defined", record: current))
            return false
        }
        let t = targets.fileTarget[f]
        do {
            try targets.open(t, files: files)
        } catch let e as ReplayError {
            var e = e
            e.record = current
            if !e.message.contains("record") { e.message = "record \(current): " + e.message }
            fail(e)
            return false
        } catch {
            fail(ReplayError(.targetUnavailable, "record \(current): \(error)", record: current))
            return false
        }
        refreshFileCache(target: t)
        return true
    }

    mutating func handleFileEvent(_ r: TraceRecord) {
        let f = Int(r.file)
        switch r.op {
        case .add:
            break
        case .open:
            if openFile(f) { targets.targets[targets.fileTarget[f]].openCount += 1 }
        case .close:
            guard f < targets.fileTarget.count else { return }
            let t = targets.fileTarget[f]
            guard targets.targets[t].fd >= 0 else { return }
            targets.targets[t].openCount -= 1
            if targets.targets[t].openCount <= 0 {
                // Everything in flight on it must finish before its fd goes away.
                commitPending()
                while inflight > 0 && !stop { reap(waitNs: 100_000_000) }
                if inflight == 0 {
                    targets.close(t)
                    refreshFileCache(target: t)
                }
            }
        default:
            break
        }
    }

    // MARK: completions

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
        let (c, n) = engine.commitAndGetEvents(events, max: reapMax, waitNs: 100_000_000)
        if c < 0 && c != -Int(EINTR) {
            fail(ReplayError(.ioFailed, "submitting I/O near record \(record) failed: \(ReplayError.errnoString(Int32(-c)))",
                             record: record, errno: Int32(-c)))
        }
        if n > 0 { processEvents(n) } else if n < 0 { handleReapError(n) }
    }

    /// Reaps completions; `waitNs` as in `IOEngine.getEvents`. Returns how many were reaped.
    @inline(__always) @discardableResult
    mutating func reap(waitNs: Int64) -> Int {
        let n = engine.getEvents(events, max: reapMax, waitNs: waitNs)
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

    @inline(__always)
    mutating func complete(_ s: UnsafeMutablePointer<IOSlot>, now: UInt64) {
        completed &+= 1
        let res = s.pointee.result
        let op = s.pointee.op
        if let rec = recorder {
            let f = s.pointee.file
            rec.complete(s.pointee.tapSeq, TraceRecord(
                time: s.pointee.tapNs &- recEpoch, op: op,
                file: recFileMap.map { Int(f) < $0.count ? $0[Int(f)] : f } ?? f,
                offset: s.pointee.offset, length: s.pointee.length, latency: now &- s.pointee.tapNs,
                result: res, depth: s.pointee.depth, stream: recStream))
        }
        guard let sop = StatOp(op) else { return }
        if res < 0 {
            let e = Int32(-res)
            var hint = ""
            if e == EINVAL && targets.direct {
                hint = " (O_DIRECT needs offset, length and buffer aligned to the device's logical block size: use --align 4096 or drop --direct)"
            } else if e == ENOSPC {
                hint = " (the target's filesystem is full)"
            } else if e == EOPNOTSUPP {
                hint = " (the target does not support \(op.fioName))"
            }
            fail(ReplayError(.ioFailed,
                "record \(s.pointee.record): \(op.fioName) of \(s.pointee.length) bytes at offset \(s.pointee.offset) failed: \(ReplayError.errnoString(e))\(hint)",
                record: s.pointee.record, errno: e))
            return
        }
        let clat = now &- s.pointee.submitNs
        let lat = now &- s.pointee.startNs
        switch sop {
        case .read: Self.account(&stats.read, s, res: res, clat: clat, lat: lat)
        case .write: Self.account(&stats.write, s, res: res, clat: clat, lat: lat)
        case .trim: Self.account(&stats.trim, s, res: res, clat: clat, lat: lat)
        case .sync:
            stats.sync.ios &+= 1
            stats.sync.lat.record(lat)
            stats.sync.clat.record(clat)
            if s.pointee.tracedLatency > 0 {
                stats.sync.tracedClat.record(s.pointee.tracedLatency)
                stats.sync.replayedLat.record(lat)
            }
            return
        }
        stats.markLatency(clat)
    }

    @inline(__always)
    static func account(_ o: inout OpStats, _ s: UnsafeMutablePointer<IOSlot>, res: Int64, clat: UInt64, lat: UInt64) {
        o.ios &+= 1
        o.bytes &+= UInt64(res)
        o.intervalBytes &+= UInt64(res)
        o.intervalIOs &+= 1
        if UInt64(res) < s.pointee.length { o.shortIOs &+= 1 }
        o.clat.record(clat)
        o.lat.record(lat)
        if s.pointee.submitNs != s.pointee.startNs { o.slat.record(s.pointee.submitNs &- s.pointee.startNs) }
        if s.pointee.tracedLatency > 0 {
            o.tracedClat.record(s.pointee.tracedLatency)
            o.replayedLat.record(lat)
        }
    }

    // MARK: samples and progress

    mutating func takeSample(now: UInt64, final: Bool = false) {
        let elapsed = now &- lastSampleNs
        // fio drops a trailing partial interval; keep it only if it is at least half an interval.
        if final && elapsed < sampleIntervalNs / 2 { return }
        if elapsed > 0 {
            let secs = Double(elapsed) / 1e9
            for op in [StatOp.read, .write, .trim] where stats[op].ios > 0 {
                let b = stats[op].intervalBytes, n = stats[op].intervalIOs
                stats[op].bwSamples.record(Double(b) / 1024 / secs)
                stats[op].iopsSamples.record(Double(n) / secs)
                stats[op].intervalBytes = 0
                stats[op].intervalIOs = 0
            }
        }
        lastSampleNs = now
        nextSampleNs = now + sampleIntervalNs
    }

    mutating func periodic(now: UInt64) {
        if now >= nextSpinCheckNs {
            // Spin budget per 100 ms: spinning may take ~70 % of it. Under SCHED_FIFO all of
            // the thread's CPU counts (a SCHED_FIFO thread busy for 95 % of a second is
            // throttled by the kernel for the rest of it); otherwise only the spinning does.
            let used: UInt64
            if realtime {
                let cpu = threadCPUTotal()
                used = cpu &- cpuAtLastTick
                cpuAtLastTick = cpu
            } else {
                used = stats.spinNs &- spinAtLastTick
            }
            spinAtLastTick = stats.spinNs
            let window = now &- lastSpinCheckNs
            lastSpinCheckNs = now
            if used > window / 10 * 7 {
                spinCap = spinCap / 2
            } else if used < window / 10 * 4 {
                spinCap = min(maxSpinNs, max(spinNs, spinCap * 2))
            }
            if spin > spinCap { spin = spinCap }
        }
        if now >= nextSpinCheckNs { nextSpinCheckNs = now + 100_000_000 }
        if rampEndNs != 0 && now >= rampEndNs { endRamp(now: now) }
        if let s = stopSignal, s.isRaised { stop = true }
        if runtimeEndNs != 0 && now >= runtimeEndNs { stop = true }
        if now >= nextSampleNs { takeSample(now: now) }
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
        nextTickNs = min(nextSpinCheckNs, nextSampleNs, nextProgressNs, rampEndNs == 0 ? .max : rampEndNs,
                         runtimeEndNs == 0 ? .max : runtimeEndNs)
    }

    /// The ramp is over: the statistics start over from `now` (fio's ramp_time), CPU use
    /// included. I/Os in flight complete into the new stats.
    mutating func endRamp(now: UInt64) {
        rampEndNs = 0
        stats = ReplayStats(percentiles: percentiles)
        stats.startNs = now
        lastSampleNs = now
        nextSampleNs = now + sampleIntervalNs
        spinAtLastTick = 0
        runtimeEndNs = runtimeNs > 0 ? now + runtimeNs : 0
        markCPU()
    }

    /// Starts the measured CPU window.
    mutating func markCPU() {
        cpuAtStart = threadCPUTime()
        cpuTotalAtStart = threadCPUTotal()
        getrusage(__rusage_who_t(1), &rusageAtStart) // RUSAGE_THREAD: streams run side by side
    }

    /// Ends the measured CPU window into the stats.
    mutating func readCPU() {
        let cpu1 = threadCPUTime()
        // The precise total, split in the proportions of the tick-sampled user/system times.
        let total = threadCPUTotal() &- cpuTotalAtStart
        let u = Double(cpu1.user &- cpuAtStart.user), sy = Double(cpu1.system &- cpuAtStart.system)
        let userShare = u + sy > 0 ? u / (u + sy) : 1
        stats.cpuUserNs = UInt64(Double(total) * userShare)
        stats.cpuSystemNs = total &- stats.cpuUserNs
        var ru1 = rusage(); getrusage(__rusage_who_t(1), &ru1)
        let ru0 = rusageAtStart
        stats.contextSwitches = UInt64(max(0, (ru1.ru_nvcsw + ru1.ru_nivcsw) - (ru0.ru_nvcsw + ru0.ru_nivcsw)))
        stats.majorFaults = UInt64(max(0, ru1.ru_majflt - ru0.ru_majflt))
        stats.minorFaults = UInt64(max(0, ru1.ru_minflt - ru0.ru_minflt))
    }

    /// I/Os that never completed (an engine that broke, a drain that gave up) will not be
    /// recorded: tell a shared recorder not to wait for them.
    mutating func cancelUnfinished() {
        guard let rec = recorder, pool.inUse > 0 else { return }
        for i in pool.inUseSlots() { rec.cancel(pool.slots[Int(i)].tapSeq) }
    }

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
        nextProgressNs = stats.startNs + 1_000_000_000
        nextSpinCheckNs = stats.startNs + 100_000_000
        lastSpinCheckNs = stats.startNs
        cpuAtLastTick = threadCPUTotal()
        if let rec = recorder { recEpoch = rec.startClock(at: stats.startNs) }
        rampEndNs = rampNs > 0 ? stats.startNs + rampNs : 0
        runtimeEndNs = runtimeNs > 0 && rampEndNs == 0 ? stats.startNs + runtimeNs : 0
        markCPU()
        nextTickNs = min(nextSpinCheckNs, nextSampleNs, nextProgressNs, rampEndNs == 0 ? .max : rampEndNs,
                         runtimeEndNs == 0 ? .max : runtimeEndNs)
    }

    // MARK: the loop

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
                if reaped == 0 && woke > wake {
                    let over = woke - wake
                    if over > spin / 2 { spin = min(spinCap, max(spin, over * 2)) }
                    else if spin > spinNs { spin -= (spin - spinNs) / 64 + 1 }
                }
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

    /// Replays one pass of `source`. Returns the time of its last record (ns since trace start).
    mutating func replayPass(source: inout any TraceSource, baseNs: inout UInt64, startClock: Bool) -> UInt64 {
        var batch: [TraceRecord] = []
        batch.reserveCapacity(batchSize)
        var lastTime: UInt64 = 0
        let timed = timing == .original
        let invSpeed = 1 / speed
        // Untimed, with nothing in flight, the previous I/O's completion time (read just
        // before) is this I/O's start: saves a clock read per I/O. Reset whenever anything
        // but bookkeeping happens in between (batch refill, file events).
        var lastDone: UInt64 = 0
        outer: while !stop {
            commitPending()
            do {
                guard try source.nextBatch(&batch, maxCount: batchSize) else { break }
            } catch {
                commitPending()
                fail(ReplayError(.trace, "reading the trace after record \(record) failed: \(error)", record: record))
                break
            }
            syncFiles(source.files)
            if recFileMap == nil { recorder?.noteFiles(source.files) }
            lastDone = 0
            if startClock && stats.startNs == 0 {
                // The schedule starts once the first records are decoded and the targets are
                // open, so neither counts as lateness of the first I/Os. A target that fails to
                // open here is reported at its first record instead.
                for f in 0..<fileFd.count where fileFd[f] < 0 {
                    let t = targets.fileTarget[f]
                    if (try? targets.open(t, files: files)) != nil {
                        targets.targets[t].openCount = max(1, targets.targets[t].openCount)
                        refreshFileCache(target: t)
                    }
                }
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
                // File and offset mapping.
                let f = Int(r.file)
                if f >= fileFd.count || fileFd[f] < 0 {
                    if !openFile(f) { break outer }
                    targets.targets[targets.fileTarget[f]].openCount = max(1, targets.targets[targets.fileTarget[f]].openCount)
                }
                var off = r.offset
                var len = r.length
                if r.op.isData || r.op == .syncFileRange {
                    if offsets.scale != 1 { off = UInt64(Double(off) * offsets.scale) }
                    if offsets.align > 1 { off -= off % offsets.align }
                    let size = fileSize[f]
                    if size > 0 && off &+ len > size {
                        if offsets.wrap && len <= size {
                            off %= size
                            if off + len > size { off = size - len }
                            if offsets.align > 1 { off -= off % offsets.align }
                        } else {
                            fail(ReplayError(.targetTooSmall,
                                "record \(recNo): \(r.op.fioName) of \(len) bytes at offset \(off) reaches past the end of \(targets.targets[targets.fileTarget[f]].path) (\(size) bytes); use --wrap, --scale or a larger target",
                                record: recNo))
                            break outer
                        }
                    }
                } else if r.op.isSync {
                    len = r.op == .syncFileRange ? len : 0
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
                if len > UInt64(pool.slots[Int(si)].capacity) {
                    if !pool.ensureCapacity(si, len) {
                        pool.release(si)
                        fail(ReplayError(.invalidOption, "record \(recNo): cannot allocate a \(len)-byte buffer", record: recNo))
                        break outer
                    }
                }
                let s = pool.slots + Int(si)
                s.pointee.fd = fileFd[f]
                s.pointee.op = r.op
                s.pointee.isBlockDevice = fileBlock[f]
                s.pointee.offset = off
                s.pointee.length = len
                s.pointee.record = recNo
                s.pointee.file = r.file
                s.pointee.dueNs = due
                s.pointee.tracedLatency = r.latency ?? 0
                s.pointee.startNs = now
                s.pointee.submitNs = now
                traceTime = r.time
                if timed {
                    let late = now &- due
                    stats.lateness.record(late)
                    // Waited for a slot past the due time: the cap (the trace's depth) made it
                    // late; what the scheduler added is the rest.
                    if slotFreeNs > due {
                        stats.depthBlocked &+= 1
                        stats.schedulerLateness.record(now &- slotFreeNs)
                    } else {
                        stats.schedulerLateness.record(late)
                    }
                    slotFreeNs = 0
                    if late <= 10_000 { stats.within10us &+= 1 }
                    if late <= 100_000 { stats.within100us &+= 1 }
                    if late > worstLateness { worstLateness = late }
                }
                inflight += 1
                s.pointee.depth = UInt32(truncatingIfNeeded: inflight)
                if let rec = recorder { (s.pointee.tapSeq, s.pointee.tapNs) = rec.issue(at: now) }
                stats.issued &+= 1
                if inflight > stats.maxInFlight { stats.maxInFlight = inflight }
                stats.depthLevels[ReplayStats.levelIndex(inflight)] &+= 1
                switch engine.queue(pool.slots, si) {
                case .completed:
                    let done = monotonicNs()
                    complete(s, now: done)
                    inflight -= 1
                    pool.release(si)
                    if !timed { lastDone = done }
                case .queued:
                    pending[pendingCount] = si
                    pendingCount += 1
                    // Timed: submit now, or hold it for one submission with the next I/O
                    // (see below and `holdNs`). Every wait commits first.
                    if timed {
                        let nextDue = i < count ? baseNs &+ (speed == 1 ? batch[i].time : UInt64(Double(batch[i].time) * invSpeed)) : .max
                        // Hold only for a next I/O the trace puts at the same time, or one due
                        // within the hold window. One that is already overdue means the replay
                        // is behind (a device slower than the recorded one): then each I/O goes
                        // at once, as the recorded closed loop issued them.
                        let sameTime = i < count && batch[i].time == r.time
                        let soon = nextDue > now && nextDue <= now &+ holdNs
                        if !(sameTime || soon) || pendingCount >= cap || inflight >= cap { commitPending() }
                    } else if submitBatch > 0 && pendingCount >= submitBatch {
                        commitPending()
                    }
                case .busy:
                    // Should not happen (the ring holds `cap` entries); retry after a commit.
                    commitPending()
                    reap(waitNs: 1_000_000)
                    if engine.queue(pool.slots, si) == .queued {
                        pending[pendingCount] = si
                        pendingCount += 1
                        commitPending()
                    } else {
                        inflight -= 1
                        recorder?.cancel(s.pointee.tapSeq)
                        pool.release(si)
                        fail(ReplayError(.ioFailed, "record \(recNo): the engine refused the I/O (queue full)", record: recNo))
                        break outer
                    }
                }
                if now >= nextTickNs { periodic(now: now) }
            }
        }
        commitPending()
        return lastTime
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
}
