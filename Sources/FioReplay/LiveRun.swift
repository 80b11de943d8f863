import CFioLinux
import FioTrace
import Foundation
import Glibc
import Synchronization

/// A stop request shared by the streams of a live run (fio's `exitall`): set once, read by
/// every scheduler at its periodic tick (at least every 100 ms), never on the per-I/O path.
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func raise() { flag.store(true, ordering: .relaxed) }
    public var isRaised: Bool { flag.load(ordering: .relaxed) }
}

/// How one stream of a live run is driven, decided from its fio job.
public struct LivePlan: Sendable {
    /// Engine for the stream (the job's `ioengine=`, unless overridden).
    public var engine: EngineKind
    /// In-flight cap (the job's `iodepth`; 1 for the synchronous engines, as in fio).
    public var iodepth: Int
    /// `.none` (closed loop at iodepth) for an unthrottled job; `.original` (open loop
    /// against the job's schedule) for a job with a rate, a think time or a start delay.
    public var timing: ReplayTiming
    /// Execution wave: jobs of one wave run at once; a `stonewall` job starts a new wave.
    public var wave: Int
    /// fio's group id: a new group at `stonewall` or `new_group`.
    public var group: Int
    /// Open targets O_DIRECT.
    public var direct: Bool
    /// I/Os submitted together (fio's iodepth_batch_submit, default 1: each at once).
    public var submitBatch: Int
    /// Completions taken per reap (fio's iodepth_batch_complete_max); nil: all that are
    /// ready (fio's default is 1; see `ReplayOptions.reapMax`).
    public var reapMax: Int?
}

/// Everything a live run needs besides the jobs.
public struct LiveRunOptions {
    /// Overrides every job's `randseed`.
    public var seed: UInt64?
    /// Overrides every job's `ioengine`.
    public var engine: EngineKind?
    /// Every job file goes to this file or block device.
    public var target: String?
    public var allowDestructive = false
    /// Scheduler settings (see `ReplayOptions`).
    public var spinNs: UInt64 = 40_000
    public var maxSpinNs: UInt64 = 200_000
    public var realtimePriority: Int32?
    /// Open-loop (timed) streams may run SCHED_FIFO on their own when allowed, as long as
    /// the streams of their wave leave a CPU free (`ReplayOptions.autoRealtime`).
    public var autoRealtime = false
    /// Records every issued I/O of every stream (made with `concurrent: true` when there
    /// is more than one stream).
    public var recorder: ReplayRecorder?
    /// Called about once a second with the totals over the streams that are running.
    public var progress: ((ReplayProgress) -> Void)?
    /// fio's --status-interval (ns; 0: never): each job's statistics so far, by job index,
    /// on its scheduler thread (`ReplayOptions.status`).
    public var statusIntervalNs: UInt64 = 0
    public var status: ((Int, ReplayStats, Bool) -> Void)?
    /// The run's verifier (jobs with fio's verify options), shared by its streams.
    public var verifier: Verifier?
    /// Per-interval samples of every stream (`--write-timeseries`), and their interval (ns).
    public var timeSeries: TimeSeriesWriter?
    public var timeSeriesIntervalNs: UInt64 = 1_000_000_000
    /// Each stream's fio log tap (`LiveRun.openLogs`), in job order; empty: no logs.
    public var fioLogTaps: [FioLogTap?] = []
    public init() {}
}

/// `fio-replay run`: fio jobs run live through the same generator, scheduler, engines and
/// statistics as a replay. Each job (each `numjobs` clone) is one stream on its own thread
/// with its own engine and in-flight cap; jobs between `stonewall`s run at once.
///
/// - An unthrottled job is a closed loop at its iodepth that submits each I/O at once
///   (fio's `iodepth_batch_submit`, default 1).
/// - A job with `rate`/`rate_iops` (linear or poisson) or `thinktime` is an open loop
///   against the schedule the generator computes for it with a zero service time
///   (`--timing original`), capped at its iodepth: what a replay of the same schedule does.
///   A think time is therefore a gap in the schedule, not a pause after the I/Os before it
///   complete, as fio has it; for a device faster than the think time the two agree.
/// - The streams of a wave start at one instant, once all are set up; `startdelay` waits
///   on top of it. `runtime` is wall time after the start delay and `ramp_time` (whose
///   I/Os are not counted, as in fio); `time_based` jobs repeat their region until it runs out.
/// - The per-I/O stream statistics are the replay's, so a run and the replay of its
///   recording print the same report for the same I/Os.
/// - Files are laid out before the first wave, as fio does: a file that is missing or too
///   small is written out (for jobs that read it) or extended (for write-only jobs).
///   Jobs on the null engine need none (fio's null engine is diskless).
///
/// Memory: per stream O(iodepth × block size + files); nothing grows with the run's length.
public struct LiveRun {
    public let jobs: [JobSpec]
    public let plans: [LivePlan]
    public var options: LiveRunOptions
    /// The run's file table (one entry per distinct path over all jobs) and, per job, the
    /// index in it of each of the job's own files.
    public let files: [TraceFile]
    public let fileMaps: [[UInt32]]
    /// Each job's own files (path and the size it needs), in its generator's order.
    let jobFiles: [[TraceFile]]
    /// Seed per job's generator (recorded in the metadata).
    public let seed: UInt64

    /// Engines `run` understands as fio's `ioengine=` names (`EngineRegistry`).
    public static func engine(fioName: String) -> EngineKind? { EngineKind(fioName: fioName) }

    /// fio options that change how fio issues I/O in a way a live run does not model; a
    /// job that sets one is refused rather than run differently from fio.
    public static let unsupportedLiveOptions: Set<String> = [
        "iodepth_batch_complete", "iodepth_batch_complete_min",
        "iodepth_low", "io_submit_mode", "thinktime_spin",
        "hipri", "hipri_percentage", "fixedbufs", "registerfiles", "sqthread_poll", "sqthread_poll_cpu",
        "nowait", "force_async", "cmdprio", "cmdprio_percentage", "cmdprio_class", "cmdprio_bssplit",
        "rate_min", "rate_iops_min", "ratemin", "max_latency",
        "latency_target", "steadystate", "ss", "exec_prerun", "exec_postrun", "pre_read",
        "fill_device", "userspace_reap", "serialize_overlap",
    ]

    /// The first option of `job` a live run cannot honour, and why; nil when it can run.
    static func unsupportedOption(_ job: JobSpec) -> (name: String, why: String)? {
        let issuing = "a live run reaps and submits as fio's defaults do"
        if let k = job.optionNames.first(where: { unsupportedLiveOptions.contains($0) }) { return (k, issuing) }
        if job.verifyBacklog != nil {
            return ("verify_backlog", "fio interleaves verify reads with the writes; a live run checks the job's own reads as they complete and reads everything back after the job (do_verify)")
        }
        if let v = job.verify, VerifyAlgorithm(name: v) == nil {
            return ("verify", "verify=\(v) is not available (available: \(VerifyAlgorithm.names); fio's crc32c-intel, xxhash and xxh64 map to them)")
        }
        return nil
    }

    /// The verify settings of the run, from its jobs' fio options; nil when no job verifies.
    /// One setting per run (the jobs share one last-writer map): jobs that verify with
    /// different algorithms, intervals or patterns are refused.
    public static func verifyOptions(_ jobs: [JobSpec]) throws -> VerifyOptions? {
        var found: (VerifyOptions, JobSpec)?
        for job in jobs {
            guard let name = job.verify ?? (job.verifyOnly ? "crc32c" : nil) else { continue }
            guard let a = VerifyAlgorithm(name: name) else {
                throw ReplayError(.invalidOption, "\(job.origin): job \(job.name): verify=\(name) is not available (available: \(VerifyAlgorithm.names))")
            }
            var o = VerifyOptions()
            o.algorithm = a
            if let i = job.verifyInterval {
                guard i >= 512, i <= 1 << 20, i & (i - 1) == 0 else {
                    throw ReplayError(.invalidOption, "\(job.origin): job \(job.name): verify_interval=\(i) must be a power of two from 512 to 1m here (every header starts a 512-byte sector)")
                }
                o.interval = Int(i)
            }
            o.pattern = job.verifyPattern
            o.fatal = job.verifyFatal
            if let (prev, pj) = found {
                guard prev.algorithm == o.algorithm && prev.interval == o.interval && prev.pattern == o.pattern else {
                    throw ReplayError(.invalidOption, "\(job.origin): job \(job.name) verifies differently from job \(pj.name); the jobs of a run share one verify setting")
                }
                o.fatal = o.fatal || prev.fatal
            }
            found = (o, job)
        }
        return found?.0
    }

    /// What the job's writes carry: fio's buffer options (with fio's implied settings, which
    /// the job parser applied), seeded from the job's seed.
    public static func payload(_ job: JobSpec, seed: UInt64?) -> WritePayloadOptions {
        var p = WritePayloadOptions()
        if let pat = job.bufferPattern { p.content = .pattern(pat) } else if job.zeroBuffers { p.content = .zeros }
        p.refill = job.refillBuffers
        p.scramble = job.scrambleBuffers
        p.compressPercentage = job.bufferCompressPercentage ?? 0
        if let c = job.bufferCompressChunk { p.compressChunk = Int(min(c, 1 << 30)) }
        p.dedupePercentage = job.dedupePercentage ?? 0
        p.seed = SplitMix64.mix(seed ?? job.randSeed ?? fioDefaultSeed, UInt64(job.index), 0xB0F)
        return p
    }

    public init(jobs: [JobSpec], options: LiveRunOptions) throws {
        guard !jobs.isEmpty else { throw ReplayError(.invalidOption, "no jobs to run") }
        self.jobs = jobs
        self.options = options
        var plans: [LivePlan] = []
        var wave = 0, group = 0
        for (i, job) in jobs.enumerated() {
            if let (k, why) = Self.unsupportedOption(job) {
                throw ReplayError(.invalidOption, "\(job.origin): job \(job.name): option \(k) is not supported by a live run (\(why)); remove it")
            }
            if i > 0 && job.stonewall { wave += 1; group += 1 } else if i > 0 && job.newGroup { group += 1 }
            if job.timeBased && job.runtime == nil {
                throw ReplayError(.invalidOption, "\(job.origin): job \(job.name): time_based needs runtime=, else the job never ends")
            }
            var kind: EngineKind
            if let e = options.engine {
                kind = e
            } else if let name = job.ioengine {
                guard let e = Self.engine(fioName: name) else {
                    throw ReplayError(.invalidOption, "\(job.origin): job \(job.name): ioengine=\(name) is not supported (supported: \(EngineRegistry.fioChoices))",
                                      remedy: .chooseEngine)
                }
                kind = e
            } else {
                kind = .psync // fio's default on Linux
            }
            let timed = job.isRateLimited || job.thinktime > 0
            let depth = kind == .psync ? 1 : max(1, job.iodepth)
            var batch = 1
            if let n = job.iodepthBatchSubmit { batch = n == 0 ? 1 : min(n, depth) } // fio: 0 means 1
            var reapMax: Int?
            if let n = job.iodepthBatchCompleteMax, n > 0 { reapMax = n }
            plans.append(LivePlan(engine: kind, iodepth: depth, timing: timed ? .original : .none,
                                  wave: wave, group: group, direct: job.direct, submitBatch: batch, reapMax: reapMax))
        }
        self.plans = plans

        // One file table over all jobs, as fio-gen builds it (a path two jobs share is one file).
        var go = GeneratorOptions(seed: options.seed, timing: .none)
        go.runtimeByConsumer = true
        let all = try WorkloadGenerator(jobs: jobs, options: go)
        files = all.files
        seed = all.seed
        var byPath: [String: UInt32] = [:]
        for (i, f) in all.files.enumerated() { byPath[f.path] = UInt32(i) }
        jobFiles = try jobs.map { try Self.generator($0, seed: options.seed).files }
        fileMaps = jobFiles.map { $0.map { byPath[$0.path] ?? 0 } }
        // fio's reporting options, checked before anything runs.
        _ = try logSettings()
        for job in jobs {
            _ = try Self.percentileList(job)
            _ = try Self.unlinks(job)
        }
    }

    /// An option name as fio spells it in its tables (lower case, `_` for `-`).
    public static func optionKey(_ name: String) -> String {
        String(name.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    /// The generator for one job: schedule times with a zero service time (only rates and
    /// think times put gaps in it), runtime left to the scheduler. The start delay is the
    /// scheduler's (`startDelay(_:)`), so that it counts neither in the runtime nor the ramp.
    static func generator(_ job: JobSpec, seed: UInt64?) throws -> WorkloadGenerator {
        var g = GeneratorOptions(seed: seed, timing: .serviceModel(serviceTime: 0, bytesPerSecond: nil))
        g.runtimeByConsumer = true
        var j = job
        j.startDelay = 0...0
        return try WorkloadGenerator(jobs: [j], options: g)
    }

    /// fio's startdelay for a job (ns): the value, or for a range one drawn from the seed.
    static func startDelay(_ job: JobSpec, seed: UInt64?) -> UInt64 {
        let r = job.startDelay
        guard r.upperBound > r.lowerBound else { return r.lowerBound }
        let x = SplitMix64.mix(seed ?? job.randSeed ?? fioDefaultSeed, UInt64(job.index), 0x5D)
        return r.lowerBound + x % (r.upperBound - r.lowerBound + 1)
    }

    /// The path a run file goes to.
    public func targetPath(_ f: TraceFile) -> String { options.target ?? f.path }

    /// fio's layout step: creates or grows every regular file the jobs need. A file some job
    /// reads is filled with data (reads of holes never reach the device); a file only written
    /// is extended with ftruncate. Block devices are left alone. Calls `note` per file done.
    public func layOut(note: (String) -> Void) throws {
        var need: [String: (size: UInt64, read: Bool)] = [:]
        // fio's null engine is diskless: its jobs need no file.
        for (j, job) in jobs.enumerated() where plans[j].engine != .null {
            for (k, f) in jobFiles[j].enumerated() {
                let path = targetPath(files[Int(fileMaps[j][k])])
                let size = f.size ?? 0
                let old = need[path] ?? (0, false)
                need[path] = (max(old.size, size), old.read || job.rw.reads)
            }
        }
        for (path, want) in need.sorted(by: { $0.key < $1.key }) where want.size > 0 {
            var st = stat()
            let existed = stat(path, &st) == 0
            if existed {
                if (st.st_mode & S_IFMT) != S_IFREG { continue }
                if UInt64(st.st_size) >= want.size { continue }
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 {
                let e = errno
                throw ReplayError(.targetUnavailable, "cannot create \(path): \(ReplayError.errnoString(e))", errno: e)
            }
            defer { close(fd) }
            if !existed { CreatedMark.set(fd) } // a replay of this run's recording may use it
            var from: UInt64 = 0
            var cur = stat()
            if fstat(fd, &cur) == 0 { from = UInt64(cur.st_size) }
            if !want.read {
                if ftruncate(fd, off_t(want.size)) != 0 {
                    let e = errno
                    throw ReplayError(.targetUnavailable, "cannot extend \(path) to \(want.size) bytes: \(ReplayError.errnoString(e))", errno: e)
                }
                note("laid out \(path): extended to \(want.size) bytes")
                continue
            }
            // Non-zero, non-repeating-per-block data, so that nothing below us can tell the
            // blocks apart from real data by their content.
            let chunk = 1 << 20
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
            defer { buf.deallocate() }
            var x: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(want.size)
            let words = buf.bindMemory(to: UInt64.self)
            var off = from - from % 4096
            while off < want.size {
                for w in 0..<words.count { x = x &* 6364136223846793005 &+ 1442695040888963407; words[w] = x }
                let n = Int(min(UInt64(chunk), want.size - off))
                do {
                    try SystemCall.pwriteAll(fd, buf.baseAddress!, n, off)
                } catch {
                    throw ReplayError(.ioFailed, "laying out \(path) at bytes \(off)..<\(off + UInt64(n)) failed: \(error)", errno: error.rawValue)
                }
                off += UInt64(n)
            }
            fsync(fd)
            note("laid out \(path): \(want.size) bytes of data")
        }
    }

    /// Runs every wave in turn, each stream on its own thread. Never throws for I/O problems:
    /// they come back in each stream's result, with its stats so far.
    /// A result for a snapshot of job `j`'s statistics (fio's --status-interval), as `run`
    /// reports it.
    public func snapshotResult(job j: Int, stats: ReplayStats) -> ReplayResult {
        ReplayResult(snapshot: stats, engineName: plans[j].engine.rawValue, iodepth: plans[j].iodepth,
                     timing: plans[j].timing, speed: 1)
    }

    public func run(note: @escaping @Sendable (String) -> Void = { _ in }) -> [JobReport] {
        var results: [ReplayResult?] = Array(repeating: nil, count: jobs.count)
        let exitAll = StopSignal()
        let progressState = ProgressAggregator(streams: jobs.count, sink: options.progress)
        let waves = (plans.map(\.wave).max() ?? 0) + 1
        for w in 0..<waves {
            if cfio_interrupted() != 0 || exitAll.isRaised { break }
            let members = plans.indices.filter { plans[$0].wave == w }
            var tasks: [StreamTask] = []
            for j in members {
                let plan = plans[j]
                let job = jobs[j]
                let seed = options.seed
                var handed = false
                tasks.append(StreamTask(
                    options: replayOptions(job: j, stop: exitAll, progress: progressState),
                    engine: plan.engine, name: "\(job.name).\(job.jobNumber)",
                    open: {
                        guard !handed else { throw ReplayError(.trace, "a live run has one pass") }
                        handed = true
                        return try LiveRun.generator(job, seed: seed)
                    },
                    finished: {
                        if job.exitAll { exitAll.raise() }
                        progressState.finished(j)
                    }))
            }
            let got = runConcurrently(tasks, note: note)
            for (k, j) in members.enumerated() { results[j] = got[k] }
        }
        return reports(results)
    }

    /// One report per job that has a result (ungrouped; see `grouped`), with its options as
    /// fio's report lists them.
    public func reports(_ results: [ReplayResult?]) -> [JobReport] {
        var out: [JobReport] = []
        for (j, job) in jobs.enumerated() {
            guard j < results.count, let r = results[j] else { continue }
            var opts = job.reportOptions.filter { !job.bareReportOptions.contains($0.key) }
            // The engine that ran, where fio's report lists the job's ioengine (a [global]
            // ioengine stays in "global options").
            if job.globalReportOptions["ioengine"] == nil { opts["ioengine"] = plans[j].engine.rawValue }
            var report = JobReport(jobIndex: j, name: job.name, group: plans[j].group, jobs: 1, result: r, options: opts)
            if let p = try? Self.percentileList(job) {
                report.percentiles = p.list
                report.percentilePrecision = p.precision
            }
            out.append(report)
        }
        return out
    }

    /// fio's `group_reporting`: the results of each group merged into one (named after its
    /// first job), for groups whose jobs ask for it.
    public func grouped(_ results: [JobReport]) -> [JobReport] {
        var out: [JobReport] = []
        var index: [Int: Int] = [:]
        for r in results {
            guard jobs[r.jobIndex].groupReporting else { out.append(r); continue }
            if let i = index[r.group] {
                out[i].jobs += 1
                out[i].result.stats.merge(r.result.stats)
                if out[i].result.error == nil { out[i].result.error = r.result.error }
                out[i].result.interrupted = out[i].result.interrupted || r.result.interrupted
                out[i].result.iodepth = max(out[i].result.iodepth, r.result.iodepth)
                out[i].result.notes += r.result.notes
            } else {
                index[r.group] = out.count
                out.append(r)
            }
        }
        return out
    }

    func replayOptions(job j: Int, stop: StopSignal, progress: ProgressAggregator) -> ReplayOptions {
        let job = jobs[j], plan = plans[j]
        var o = ReplayOptions()
        o.diskless = plan.engine == .null
        o.timing = plan.timing
        o.iodepth = plan.iodepth
        o.submitBatch = plan.submitBatch
        o.reapMax = plan.reapMax
        o.direct = plan.direct
        o.payload = Self.payload(job, seed: options.seed)
        o.targets = TargetMapping(all: options.target)
        o.allowDestructive = options.allowDestructive
        // A job that only reads opens its files read-only, as fio does: no refusal to run on
        // a block device that holds a filesystem, nothing it could change.
        o.readOnly = !(job.rw.writes || job.rw.trims)
        o.runtimeNs = job.runtime
        o.rampNs = job.rampTime
        o.startDelayNs = Self.startDelay(job, seed: options.seed)
        o.spinNs = options.spinNs
        o.maxSpinNs = options.maxSpinNs
        o.realtimePriority = options.realtimePriority
        let waveStreams = plans.filter { $0.wave == plan.wave }.count
        o.autoRealtime = options.autoRealtime && waveStreams < sysconf(Int32(_SC_NPROCESSORS_ONLN))
        var maxBS: UInt64 = 4096
        for d in job.rw.directions { maxBS = max(maxBS, job.blockSize[d].max) }
        o.blockSizeHint = Int(min(maxBS, 1 << 24))
        o.recorder = options.recorder
        o.timeSeries = options.timeSeries
        o.verifier = options.verifier
        o.timeSeriesIntervalNs = options.timeSeriesIntervalNs
        o.fioLogs = j < options.fioLogTaps.count ? options.fioLogTaps[j] : nil
        // The report's bandwidth and IOPS samples: every bwavgtime (iopsavgtime) ms, 500 by
        // default; a job that logs averaged bandwidth (IOPS) without setting it takes
        // log_avg_msec instead (fio's setup_log), so its samples are the log's windows.
        // (The options were checked when the run was planned.)
        let settings = (try? FioLogSettings.from(options: job.options, jobName: job.name, origin: job.origin)) ?? FioLogSettings()
        var bwMsec = settings.bwAvgMsec ?? 500, iopsMsec = settings.iopsAvgMsec ?? 500
        if settings.bwAvgMsec == nil && settings.prefix[.bw] != nil && settings.avgMsec > 0 { bwMsec = settings.avgMsec }
        if settings.iopsAvgMsec == nil && settings.prefix[.iops] != nil && settings.avgMsec > 0 { iopsMsec = settings.avgMsec }
        o.sampleIntervalNs = max(1, bwMsec) * 1_000_000
        o.iopsSampleIntervalNs = max(1, iopsMsec) * 1_000_000
        if options.statusIntervalNs > 0, let status = options.status {
            o.statusIntervalNs = options.statusIntervalNs
            o.status = { s, final in status(j, s, final) }
        }
        o.jobName = "\(job.name).\(job.jobNumber)"
        o.recorderStream = jobs.count > 1 ? UInt32(j) : nil
        o.recorderFileMap = fileMaps[j]
        o.stop = stop
        if options.progress != nil {
            o.progress = { p in progress.report(j, p) }
        }
        return o
    }

}

/// One stream of a concurrent run: a scheduler on its own thread.
public struct StreamTask: @unchecked Sendable {
    public var options: ReplayOptions
    public var engine: EngineKind
    /// Names the thread.
    public var name: String
    /// The stream's source for each pass (called on the stream's thread).
    public var open: () throws -> any TraceSource
    /// Called on the stream's thread when it has ended.
    public var finished: () -> Void

    public init(options: ReplayOptions, engine: EngineKind, name: String,
                open: @escaping () throws -> any TraceSource, finished: @escaping () -> Void = {}) {
        self.options = options
        self.engine = engine
        self.name = name
        self.open = open
        self.finished = finished
    }
}

/// Runs `tasks` at once, one thread each, and returns their results in order. The streams
/// start on one clock: each schedule counts from the same instant, just after the last
/// stream is ready to issue (`StartGate`), so their I/Os keep the offsets the trace gives them.
/// `startAt`, when given, is the start instant (monotonic ns; it may wait for it, as
/// `WallClockStart.monotonicInstant` does), taken when the last stream is ready.
public func runConcurrently(_ tasks: [StreamTask], startAt: (() -> UInt64)? = nil, note: @escaping @Sendable (String) -> Void) -> [ReplayResult] {
    let box = ResultBox(count: tasks.count)
    let gate = StartGate(count: tasks.count, at: startAt)
    let done = DispatchGroup()
    var threads: [Thread] = []
    for (k, task) in tasks.enumerated() {
        done.enter()
        let t = Thread {
            let r: ReplayResult
            do {
                var o = task.options
                // Each stream arrives once it is ready to issue; all start at one instant.
                o.startAt = { gate.arriveAndWait() }
                r = try Scheduler(options: o).run(engine: task.engine, note: note, open: task.open)
                gate.arriveIfNeeded()
            } catch let e as ReplayError {
                gate.arriveIfNeeded()
                r = failedResult(e, task)
            } catch {
                gate.arriveIfNeeded()
                r = failedResult(ReplayError(.trace, "\(task.name): \(error)"), task)
            }
            task.finished()
            box.set(k, r)
            done.leave()
        }
        t.stackSize = 8 << 20
        t.name = "fio-replay \(task.name)"
        threads.append(t)
    }
    for t in threads { t.start() }
    done.wait()
    return (0..<tasks.count).map { box.get($0)! }
}

func failedResult(_ e: ReplayError, _ task: StreamTask) -> ReplayResult {
    ReplayResult(stats: ReplayStats(), error: e, interrupted: false, engineName: task.engine.rawValue,
                 iodepth: task.options.iodepth ?? 1, timing: task.options.timing, speed: task.options.speed, notes: [])
}

/// Holds the streams of a wave until all of them are ready to issue (engine up, targets
/// open, first records decoded), and gives them one start instant: 500 µs after the last
/// arrives, time for the others to wake up.
final class StartGate: @unchecked Sendable {
    private let cond = NSCondition()
    private var waiting: Int
    private var arrived: Set<UInt64> = []
    private var start: UInt64 = 0
    private let at: (() -> UInt64)?
    init(count: Int, at: (() -> UInt64)? = nil) { waiting = count; self.at = at }
    private func arrive() -> Bool {
        let me = UInt64(pthread_self())
        guard arrived.insert(me).inserted else { return false }
        waiting -= 1
        if waiting <= 0 {
            start = at.map { $0() } ?? monotonicNs() + 500_000
            cond.broadcast()
        }
        return true
    }
    /// The common start instant (monotonic ns).
    func arriveAndWait() -> UInt64 {
        cond.lock()
        _ = arrive()
        while waiting > 0 { cond.wait() }
        let s = start
        cond.unlock()
        return s
    }
    /// A stream that failed before arriving must not hold the others back.
    func arriveIfNeeded() {
        cond.lock()
        _ = arrive()
        cond.unlock()
    }
}

/// Results written by stream threads, read after they are joined.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [ReplayResult?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: ReplayResult) { lock.lock(); results[i] = r; lock.unlock() }
    func get(_ i: Int) -> ReplayResult? { lock.lock(); defer { lock.unlock() }; return results[i] }
}

/// Sums the streams' once-a-second progress into one line's worth: the lowest-numbered
/// running stream reports the totals.
public final class ProgressAggregator: @unchecked Sendable {
    private let lock = NSLock()
    private var last: [ReplayProgress?]
    private var running: [Bool]
    private let sink: ((ReplayProgress) -> Void)?
    public init(streams: Int, sink: ((ReplayProgress) -> Void)?) {
        last = Array(repeating: nil, count: streams)
        running = Array(repeating: true, count: streams)
        self.sink = sink
    }
    public func finished(_ i: Int) { lock.lock(); running[i] = false; last[i] = nil; lock.unlock() }
    public func report(_ i: Int, _ p: ReplayProgress) {
        lock.lock()
        last[i] = p
        let first = running.firstIndex(of: true)
        var total: ReplayProgress?
        if first == i {
            var t = p
            for (k, q) in last.enumerated() where k != i {
                guard let q else { continue }
                t.issued += q.issued
                t.completed += q.completed
                t.iopsLastSecond += q.iopsLastSecond
                t.worstLatenessNs = max(t.worstLatenessNs, q.worstLatenessNs)
            }
            total = t
        }
        lock.unlock()
        if let total { sink?(total) }
    }
}

