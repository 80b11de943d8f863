import ArgumentParser
import FioReplay
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `fio-replay run JOB.fio`: runs fio jobs live through the replay's scheduler, engines and
/// statistics, optionally recording every I/O for a later replay.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run fio jobs live (a job file or fio's options as flags) and print fio's statistics.",
        discussion: """
        The jobs are fio-gen's: the same job files and flags (fio's names, with '_' or '-').

          fio-replay run job.fio --write-iolog run.fiot
          fio-replay run --name=r --filename=/tmp/f --size=64m --rw=randread --ioengine=libaio --direct=1 --iodepth=8 --runtime=5 --time_based

        Each job (each numjobs clone) is one stream on its own thread. An unthrottled job is a closed loop at its iodepth; a job with rate/rate_iops (linear or poisson), thinktime or startdelay is an open loop against its schedule, capped at its iodepth. runtime= is wall time; ramp_time's I/Os are not counted. ioengine= picks the engine (libaio, io_uring, psync/sync/pvsync, null; fio's default psync), --engine overrides it. Missing files are laid out first, as fio does.

        fio's log options (write_bw_log, write_lat_log, write_iops_log, write_hist_log, log_avg_msec, log_hist_msec, log_max_value, log_offset, per_job_logs) write fio's log files, under fio's names, in the working directory; percentile_list and unlink work as in fio.

        --write-iolog (or the job's write_iolog=) records every I/O of every stream, with its latency, result and in-flight depth, as one trace in issue order; replaying it with `fio-replay replay` gives the same statistics.

        Exit status: 0 on success, 1 when an error stopped a job (stats are still printed), 130 when interrupted by Ctrl-C.
        """)

    @Option(help: ArgumentHelp("I/O engine for every job, overriding ioengine=: \(EngineRegistry.choices)."))
    var engine: String?

    @Option(help: "Run every job's files on this one file or block device.")
    var target: String?


    @Option(parsing: .unconditional, help: "Random seed (overrides randseed).")
    var seed: UInt64?









    @OptionGroup var common: RunReportOptions

    @Option(name: .customLong("section"), help: "Run only this job file section (repeatable, or a comma list), as fio's --section.")
    var sections: [String] = []

    @Flag(name: .customLong("parse-only"), help: "Parse and check the jobs, then exit without running them.")
    var parseOnly = false

    @Flag(help: "Print the job file as fio's command-line options and exit.")
    var showcmd = false

    @Flag(help: "Print the version and exit.")
    var version = false

    @Option(name: .customLong("verify-state"), help: "With fio's verify= options: where the verify state goes (default: JOB-verify.state, kept only when the run or its check fails, as fio keeps its state only for an aborted job) and where verify_only/verify_state_load read it from.")
    var verifyState: String?

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("JOBFILE and/or fio options (--rw=randread ...).", valueName: "job-or-options"))
    var rest: [String] = []

    func run() throws {
        currentCommand = .run
        try common.check()
        var engineKind: EngineKind?
        if let engine {
            guard let k = EngineKind(rawValue: engine) else {
                throw ValidationError("unknown engine \"\(engine)\" (known: \(EngineRegistry.choices))")
            }
            engineKind = k
        }

        if version { print("fio-replay-\(fioTraceVersion)"); return }
        if showcmd {
            let (jobFiles, options) = try reportingErrors { try parseFioArguments(rest) }
            let text = try reportingErrors { try jobFiles.first.map { try readJobFileText(path: $0) } ?? jobFileText(options: options) }
            print(RunOutput.showCommand(jobText: text), terminator: "")
            return
        }
        let (parsedJobs, jobText): ([JobSpec], String) = try reportingErrors {
            let (jobFiles, options) = try parseFioArguments(rest)
            guard jobFiles.count <= 1 else { throw ValidationError("give one job file (got \(jobFiles.joined(separator: ", ")))") }
            if let path = jobFiles.first {
                return (try parseJobFile(path: path, extraOptions: options), (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
            }
            guard !options.isEmpty else { throw ValidationError("give a job file or fio options (e.g. --name=j --rw=randread --bs=4k --size=64m)") }
            return (try parseJobOptions(options), jobFileText(options: options))
        }
        let jobs = try RunOutput.selectSections(parsedJobs, sections, file: (try? parseFioArguments(rest).0.first) ?? "the command line")

        // The recording: --write-iolog, else the jobs' own write_iolog= (one file per run).
        var logPath = common.writeIolog
        if logPath == nil {
            let named = Set(jobs.flatMap { $0.options.filter { LiveRun.optionKey($0.name) == "write_iolog" }.compactMap(\.value) })
            if named.count > 1 {
                warn("fio-replay: error: jobs name different write_iolog files (\(named.sorted().joined(separator: ", "))); a run records into one trace: give --write-iolog")
                throw ExitCode(1)
            }
            logPath = named.first
        }

        var o = LiveRunOptions()
        o.seed = seed
        o.engine = engineKind
        o.target = target
        o.allowDestructive = common.allowDestructive
        o.spinNs = UInt64(max(0, common.spinUs) * 1000)
        o.maxSpinNs = UInt64(max(0, common.maxSpinUs) * 1000)
        o.realtimePriority = try common.rtPriority()
        o.autoRealtime = common.rtPriorityText == "auto"
        o.timeSeriesIntervalNs = try common.timeseriesIntervalNs()
        let showProgress = common.progressWanted()
        let runStart = StartTime()
        let etaLine = try common.etaLine()
        if showProgress {
            // ETA where the jobs say when they end: one wave, each with a runtime.
            let single = !jobs.dropFirst().contains { $0.stonewall }
            let ends = jobs.map { j in j.runtime.map { $0 + j.rampTime + j.startDelay.upperBound } }
            let etaEndNs: UInt64? = single && !ends.contains(nil) ? ends.compactMap { $0 }.max() : nil
            o.progress = { p in
                let elapsed = monotonicNs() &- runStart.value
                var line = String(format: "\rrun: %.0fs, %llu done, %.0f IOPS", Double(elapsed) / 1e9, p.completed, p.iopsLastSecond)
                if p.worstLatenessNs > 0 { line += String(format: ", worst lateness %.1fus", Double(p.worstLatenessNs) / 1000) }
                if let end = etaEndNs { line += String(format: ", ETA %.1fs", Double(end &- min(end, elapsed)) / 1e9) }
                line += "   "
                etaLine.write(line)
            }
        }

        let verifyOptions = try reportingErrors { try LiveRun.verifyOptions(jobs) }
        let defaultState = "\(jobs[0].name)-verify.state"
        if verifyOptions != nil && jobs.contains(where: { $0.verifyOnly || $0.verifyStateLoad }) {
            try verifyOnly(jobs, statePath: verifyState ?? defaultState, fatal: verifyOptions?.fatal ?? false)
            return
        }
        var live = try reportingErrors { try LiveRun(jobs: jobs, options: o) }
        if parseOnly { return }
        // Before anything is written: no output may be a job's file, the job file or another
        // output (the files the jobs write are compared by device and inode).
        var inputs: [NamedFile] = []
        if let jobFile = try? parseFioArguments(rest).0.first { inputs.append(NamedFile(role: "the job file", path: jobFile)) }
        // fio's log files (write_bw_log ...): outputs too.
        let logFiles = try reportingErrors { try live.logFiles() }
        try refuseOverlappingFiles(outputs: common.outputFiles(recording: logPath, verifyState: verifyOptions == nil ? nil : verifyState)
                                       + distinctFiles(live.files.map { NamedFile(role: "a job's file", path: live.targetPath($0)) })
                                       + logFiles.map { NamedFile(role: "a log file", path: $0) },
                                   inputs: inputs)
        try reportingErrors { try live.layOut(note: { warn("fio-replay: \($0)") }) }
        // From here a SIGINT or SIGTERM stops the jobs cleanly: the recording gets its footer.
        installInterruptHandler()

        // Opened once the jobs are known good and laid out, so an error before the run
        // leaves no recording behind.
        let recorder = try common.openRecorder(path: logPath, concurrent: jobs.count > 1)
        recorder?.noteFiles(live.files.map { f in TraceFile(path: live.targetPath(f), size: f.size) })
        live.options.recorder = recorder
        live.options.timeSeries = try common.openTimeSeries()
        var statePath: String?
        if let vo = verifyOptions {
            statePath = verifyState ?? (jobs.contains { $0.verifyStateSave } ? defaultState : nil)
            live.options.verifier = try makeVerifier(vo, statePath: statePath, concurrent: jobs.count > 1)
        }

        // fio's header, before the run when the report goes to stdout.
        var extras = ReportExtras()
        for job in jobs {
            let listed = job.globalReportOptions.filter { !job.bareReportOptions.contains($0.key) }
            extras.globalOptions.merge(listed) { first, _ in first }
        }
        if try common.outputModes().normal {
            let header = RunOutput.header(live)
            if common.output == nil { FileHandle.standardOutput.write(Data(header.utf8)) } else { extras.header = header }
        }
        // Jobs on the null engine touch no device (fio reports no disk for them).
        let disks = DiskUtilTracker(paths: live.files.indices.filter { f in
            live.plans.indices.contains { live.plans[$0].engine != .null && live.fileMaps[$0].contains(UInt32(f)) }
        }.map { live.targetPath(live.files[$0]) })
        let logWriter: FioLogWriter? = logFiles.isEmpty ? nil : try reportingErrors {
            let w = try FioLogWriter()
            try live.openLogs(w)
            return w
        }
        let snapshotLive = live
        let statusReports = try common.statusReports(streams: live.jobs.count, label: "Run") { stats in
            snapshotLive.grouped(snapshotLive.reports(stats.enumerated().map { j, s in
                s.map { snapshotLive.snapshotResult(job: j, stats: $0) }
            }))
        }
        if let statusReports {
            live.options.statusIntervalNs = statusReports.intervalNs
            live.options.status = { j, s, final in statusReports.deliver(j, s, final: final) }
        }
        runStart.value = monotonicNs()
        let results = live.run(note: { warn("fio-replay: \($0)") })
        statusReports?.close()
        extras.disks = disks.finish()
        if showProgress { warn("") }
        for r in results { for n in r.result.notes { warn("fio-replay: \(r.name): \(n)") } }

        var reports = live.grouped(results)
        var verified: VerifyResults?
        if let v = live.options.verifier {
            // fio's do_verify: read back what the jobs wrote, at the deepest job's depth.
            let doVerify = jobs.contains { $0.verify != nil && $0.doVerify }
            verified = try finishVerify(v, statePath: statePath, pass: doVerify, engine: live.plans[0].engine,
                                        iodepth: max(16, live.plans.map(\.iodepth).max() ?? 1), direct: live.plans[0].direct,
                                        interrupted: results.contains(where: \.result.interrupted))
            if !reports.isEmpty { reports[0].verify = verified }
        }
        var status = try common.report(reports, label: "Run", extras: extras)
        status = verifyStatus(verified, status)
        if let p = statePath, verifyState == nil, status == 0 {
            // Like fio, keep the default-named state only when something went wrong.
            unlink(p)
        }
        try common.finishTimeSeries(live.options.timeSeries)
        try reportingErrors { try logWriter?.finish() }
        // fio's unlink=1: the jobs' files go once everything that reads them is done.
        _ = try reportingErrors { try live.unlinkFiles() }
        if recorder != nil {
            // The depth a replay of the recording should allow: the most I/Os the streams of
            // one wave may have in flight together.
            var waveDepth: [Int: Int] = [:]
            for p in live.plans { waveDepth[p.wave, default: 0] += p.iodepth }
            var meta = RecordingMetadata(recorder: "fio-replay run --write-iolog")
            meta.iodepth = waveDepth.values.max() ?? 1
            meta.streams = live.plans.enumerated().map { RecordingMetadata.Stream(id: UInt32($0.offset), iodepth: $0.element.iodepth) }
            meta.ioengine = Array(Set(results.map(\.result.engineName))).sorted().joined(separator: ",")
            meta.target = target
            let directs = live.plans.map { $0.direct ? "1" : "0" }
            meta.extra[MetadataKey.direct] = Set(directs).count == 1 ? directs[0] : directs.joined(separator: ",")
            meta.extra.merge([
                MetadataKey.timingPerStream: live.plans.map(\.timing.rawValue).joined(separator: ","),
                MetadataKey.jobs: live.jobs.map { "\($0.name).\($0.jobNumber)" }.joined(separator: ","),
                MetadataKey.genSeed: String(live.seed), MetadataKey.genJob: jobText,
            ]) { $1 }
            try common.finishRecorder(recorder, path: logPath, metadata: meta)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

extension RunCommand {
    /// fio's verify_only / verify_state_load: no writes, only the check of what an earlier
    /// run wrote, from its saved state (a run that did not finish is read as after a power
    /// cut: only what a completed fsync made durable must be there).
    func verifyOnly(_ jobs: [JobSpec], statePath: String, fatal: Bool) throws {
        let loaded = try reportingErrors { try LoadedVerifyState.load(path: statePath, crash: .power) }
        if !loaded.clean {
            warn("fio-replay: the run that wrote \(statePath) did not finish (\(loaded.stoppedBecause)); checking as after a power cut")
        }
        let v = Verifier(state: loaded, fatal: fatal)
        if !loaded.clean { v.noteCrashMode("power cut") }
        var p = VerifyPass()
        let job = jobs[0]
        if let e = engine { p.engine = try reportingErrors { () throws -> EngineKind in
            guard let k = EngineKind(rawValue: e) else { throw ReplayError(.invalidOption, "unknown engine \(e)") }
            return k
        } } else if let k = job.ioengine.flatMap({ EngineKind(fioName: $0) }) { p.engine = k } else { p.engine = .psync }
        p.iodepth = max(16, job.iodepth)
        p.direct = job.direct
        p.targets = TargetMapping(all: target)
        installInterruptHandler()
        let r = try reportingErrors { try p.run(v, afterCrash: !loaded.clean) { warn("fio-replay: \($0)") } }
        var status = try common.report([JobReport(name: job.name, result: r, options: ["verify_only": "1", "state": statePath],
                                                  verify: v.results)], label: "Verify")
        status = verifyStatus(v.results, status)
        if status != 0 { throw ExitCode(status) }
    }
}

/// When the run began (monotonic ns), read by the progress line on a stream's thread.
final class StartTime: @unchecked Sendable {
    var value: UInt64 = 0
}
