import CFioLinux
import FioTrace
import Glibc

/// The hot loop's state: a non-copyable struct in a local variable, generic over the engine
/// and the tap so that both are specialised (no dynamic dispatch per I/O), with no access
/// checked at run time and nothing allocated per I/O. It owns the slots and completion
/// arrays (freed when it goes away).
struct SchedulerCore<E: IOEngine, T: ReplayTap>: ~Copyable {
    let engine: E
    var tap: T
    /// Fills every write's buffer at submit; nil for engines that move no data (null).
    var payload: WritePayload?
    let percentiles: Bool
    /// Monotonic ns at which the ramp ends and the stats start over; 0: no ramp (or done).
    var rampEndNs: UInt64 = 0
    let rampNs: UInt64
    let stopSignal: StopSignal?
    let startAt: (() -> UInt64)?
    let startBeforeData: Bool
    /// When the I/O being issued got its slot after waiting for one (timed replays), else 0.
    var slotFreeNs: UInt64 = 0
    let startDelayNs: UInt64
    /// Monotonic ns at which the runtime is up (0: no runtime, or the ramp is not over).
    var runtimeEndNs: UInt64 = 0
    /// The measured CPU window (restarted when the ramp ends).
    var cpu = CPUWindow()
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
    var realtime = false
    var lastSpinCheckNs: UInt64 = 0
    var nextSpinCheckNs: UInt64 = 0
    /// The earliest of the sample, progress and spin-budget times.
    var nextTickNs: UInt64 = 0
    let runtimeNs: UInt64
    let batchSize: Int
    /// Bandwidth and IOPS sampling intervals (fio's bwavgtime, iopsavgtime; ns).
    let sampleIntervalNs: UInt64
    let iopsSampleIntervalNs: UInt64
    let offsets: OffsetMapping
    let skipMask: UInt32
    let progress: ((ReplayProgress) -> Void)?
    /// `ReplayOptions.status` and its interval (ns), and when it is next due.
    let status: ((ReplayStats, Bool) -> Void)?
    let statusIntervalNs: UInt64
    var nextStatusNs = UInt64.max
    var stats: ReplayStats
    var targets: TargetTable
    let events: FixedBuffer<IOCompletion>
    /// Slots queued to the engine and not yet committed.
    let pending: FixedBuffer<Int32>
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
    var nextIopsSampleNs: UInt64 = 0
    var lastIopsSampleNs: UInt64 = 0
    var nextProgressNs: UInt64 = 0
    var lastProgressCompleted: UInt64 = 0
    var worstLateness: UInt64 = 0
    var completed: UInt64 = 0
    var traceTime: UInt64 = 0
    /// The last issue or completion (monotonic ns): where a stream fed by a splitter ends
    /// (it learns that its records are over only when the whole trace has been read).
    var lastActivityNs: UInt64 = 0
    // Per trace file: fd, size, block flag, target index (cached so the hot path reads locals).
    var fileFd: [Int32] = []
    /// Per trace file: its target's second descriptor (`Target.altFd`), -1 until opened.
    var fileAltFd: [Int32] = []
    /// `ReplayOptions.directPerRecord`, and the flag a record needs to take `fileAltFd`.
    let directPerRecord: Bool
    let altDirectFlag: Bool
    /// `ReplayOptions.diskless`: files get `disklessFd` instead of an open target.
    let diskless: Bool
    static var disklessFd: Int32 { Int32.max }
    var fileSize: [UInt64] = []
    var fileBlock: [Bool] = []
    var files: [TraceFile] = []

    init(engine: E, tap: T, depth: Int, options o: ReplayOptions) throws {
        self.engine = engine
        self.tap = tap
        // Verify writes its own self-describing data (VerifyTap); no payload under it.
        payload = engine.movesData && o.verifier == nil ? WritePayload(options: o.payload) : nil
        percentiles = o.percentiles
        rampNs = o.rampNs
        stopSignal = o.stop
        startAt = o.startAt
        startBeforeData = o.startBeforeData
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
        runtimeNs = o.runtimeNs ?? 0
        batchSize = max(1, o.batchSize)
        sampleIntervalNs = max(1_000_000, o.sampleIntervalNs)
        directPerRecord = o.directPerRecord
        diskless = o.diskless
        altDirectFlag = !o.direct
        iopsSampleIntervalNs = max(1_000_000, o.iopsSampleIntervalNs)
        offsets = o.offsets
        var mask: UInt32 = 0
        for op in o.skipOps { mask |= 1 << UInt32(op.rawValue) }
        if o.readOnly { mask |= 1 << UInt32(TraceOp.write.rawValue) | 1 << UInt32(TraceOp.trim.rawValue) }
        skipMask = mask
        progress = o.progress
        status = o.statusIntervalNs > 0 ? o.status : nil
        statusIntervalNs = o.statusIntervalNs
        stats = ReplayStats(percentiles: o.percentiles)
        targets = TargetTable(mapping: o.targets, direct: o.direct, readOnly: o.readOnly,
                              allowDestructive: o.allowDestructive, requiredSizes: o.requiredSizes,
                              wrap: o.offsets.wrap)
        events = FixedBuffer(capacity: cap, repeating: IOCompletion(slot: 0, result: 0))
        pending = FixedBuffer(capacity: cap, repeating: 0)
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
        tap.noteFiles(table)
        while fileFd.count < table.count {
            fileFd.append(-1)
            fileAltFd.append(-1)
            fileSize.append(0)
            fileBlock.append(false)
        }
    }

    mutating func refreshFileCache(target t: Int) {
        if targets.targets[t].fd >= 0 { tap.noteTarget(t, path: targets.targets[t].path) }
        for (i, ti) in targets.fileTarget.enumerated() where ti == t {
            fileFd[i] = targets.targets[t].fd
            fileAltFd[i] = targets.targets[t].altFd
            fileSize[i] = targets.targets[t].size
            fileBlock[i] = targets.targets[t].isBlockDevice
        }
    }

    /// Opens every target of the files known so far that is not open yet, ignoring
    /// failures (they are reported at the first record that needs the target).
    mutating func openKnownTargets() {
        if diskless { return }
        for f in 0..<fileFd.count where fileFd[f] < 0 {
            let t = targets.fileTarget[f]
            if (try? targets.open(t, files: files)) != nil {
                targets.targets[t].openCount = max(1, targets.targets[t].openCount)
                refreshFileCache(target: t)
            }
        }
    }

    /// Opens the target of trace file `f` (lazily, or for an open event). False on error.
    mutating func openFile(_ f: Int) -> Bool {
        guard f < targets.fileTarget.count else {
            fail(ReplayError(.trace, "record \(current) names file \(f), which the trace never defined", record: current))
            return false
        }
        if diskless {
            fileFd[f] = Self.disklessFd
            return true
        }
        let t = targets.fileTarget[f]
        let known = files
        return opening(target: t) { try $0.open(t, files: known) }
    }

    /// Runs `body` (an open on the target table), then refreshes the file cache of target
    /// `t`; a failure stops the replay with the current record named. False on error.
    private mutating func opening(target t: Int, _ body: (inout TargetTable) throws -> Void) -> Bool {
        do {
            try body(&targets)
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

    /// Opens the second descriptor of trace file `f`'s target (open already). False on error.
    mutating func openAlternate(_ f: Int) -> Bool {
        if diskless {
            fileAltFd[f] = Self.disklessFd
            return true
        }
        let t = targets.fileTarget[f]
        return opening(target: t) { try $0.openAlternate(t) }
    }

    mutating func handleFileEvent(_ r: TraceRecord) {
        let f = Int(r.file)
        switch r.op {
        case .add:
            break
        case .open:
            if r.flags.contains(.created) { replayNamespace(TraceRecord(time: r.time, op: .create, file: r.file)) }
            if stop { return }
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
        case .create, .rename, .unlink:
            replayNamespace(r)
        default:
            break
        }
    }
}
