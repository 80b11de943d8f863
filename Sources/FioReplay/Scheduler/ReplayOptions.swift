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
    /// Open targets with O_DIRECT.
    public var direct = false
    /// No target is opened or created: `run`'s jobs on fio's null engine, which is diskless
    /// in fio (a replay on the null engine still opens and checks its targets, as a dry run
    /// of the real one).
    public var diskless = false
    /// Honour each data record's direct flag (fio-gen's `direct=1` jobs, a recording's
    /// streams): a record whose flag differs from `direct` goes through a second
    /// descriptor of its target, opened the other way. Off: every I/O follows `direct`.
    public var directPerRecord = false
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
    public var batchSize = 16384
    /// Interval of the report's bandwidth samples (fio's bwavgtime; ns).
    public var sampleIntervalNs: UInt64 = 500_000_000
    /// Interval of the report's IOPS samples (fio's iopsavgtime; ns).
    public var iopsSampleIntervalNs: UInt64 = 500_000_000
    /// Track percentiles (HdrHistogram).
    public var percentiles = true
    /// Initial buffer size per slot (bytes); buffers grow for longer records.
    public var blockSizeHint = 4096
    /// Run the scheduler thread SCHED_FIFO at this priority (1...99), so that other busy
    /// processes cannot delay issues; needs CAP_SYS_NICE. nil = see `autoRealtime`.
    public var realtimePriority: Int32?
    /// Without `realtimePriority`: a timed replay runs SCHED_FIFO at `autoRealtimePriority`
    /// when the process may (root), else normal scheduling, silently. A thread that spins
    /// before due times has used much CPU, so the kernel lets any waking thread (on this VM,
    /// DAMON's kdamond every 0.5 s) run its whole slice before it: I/Os late by 1-4 ms.
    /// Callers leave a CPU free for the kernel's I/O workers (streams < CPUs).
    public var autoRealtime = false
    public static let autoRealtimePriority: Int32 = 10
    /// With SCHED_FIFO on a machine of several CPUs: pin the scheduler to the CPU it runs
    /// on, and keep the engine's kernel workers (io_uring's io-wq) and the process's other
    /// threads off it. At one priority the FIFO thread would starve a worker that shares its
    /// CPU (the worker completes the I/O); the kernel here does not preempt kernel code
    /// (PREEMPT_NONE), so a thread in a long system call there would also delay its
    /// wake-ups. For one stream (the caller knows).
    public var pinCPU = false
    /// Called about once a second on the scheduler thread (keep it cheap).
    public var progress: ((ReplayProgress) -> Void)?
    /// fio's --status-interval: every this many ns from the start, `status` is called on
    /// the scheduler thread with a copy of the statistics so far (ending then, CPU use
    /// included) and `false`; once more at the end with the final statistics and `true`.
    /// 0: never. Keep the callback cheap: hand the copy to another thread.
    public var statusIntervalNs: UInt64 = 0
    public var status: ((ReplayStats, _ final: Bool) -> Void)?
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
    /// What writes carry (fio's buffer options). Filled at submit for engines that move data.
    public var payload = WritePayloadOptions()
    /// Verify: writes carry self-describing data and reads are checked (`VerifyTap`).
    public var verifier: Verifier?
    /// The verify tap runs the read-back pass (reads counted as the pass's).
    public var verifyPass = false
    /// Checking after a crash (see `SectorChecker.afterCrash`).
    public var verifyAfterCrash = false
    /// Per-interval samples go here (`--write-timeseries`); nil: no sampler.
    public var timeSeries: TimeSeriesWriter?
    /// Interval of those samples (ns).
    public var timeSeriesIntervalNs: UInt64 = 1_000_000_000
    /// The job name the samples carry.
    public var jobName = "replay"
    /// fio's log files for this stream (`FioLogTap.make`); nil: none.
    public var fioLogs: FioLogTap?
    /// Decode the trace on a reader thread one stage ahead of the scheduler (always, except
    /// for sources that already do: `PrefetchingSource`). Off only to measure what it buys.
    public var readAhead = true
    /// Start the clock before the first records arrive (streams fed by a `StreamSplitter`,
    /// which must not wait for each other's data before they start). Targets named in the
    /// source's initial file table are opened first.
    public var startBeforeData = false

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
    /// How the scheduler thread ran: "other" or "fifo N".
    public var schedulerPolicy = "other"
    /// A shard's (or a mergeable replay's) own facts; when set, the JSON report carries them
    /// and the merge data (`MergeData`) in its `replay` object.
    public var shard: ShardRunInfo? = nil
}

extension ReplayResult {
    /// The result of a run still going on, from its statistics so far (fio's
    /// --status-interval reports): no error, not interrupted, no notes.
    public init(snapshot stats: ReplayStats, engineName: String, iodepth: Int, timing: ReplayTiming, speed: Double) {
        self.init(stats: stats, error: nil, interrupted: false, engineName: engineName, iodepth: iodepth,
                  timing: timing, speed: speed, notes: [])
    }
}

