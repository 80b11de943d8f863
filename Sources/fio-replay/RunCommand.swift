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

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("JOBFILE and/or fio options (--rw=randread ...).", valueName: "job-or-options"))
    var rest: [String] = []

    func run() throws {
        try common.check()
        var engineKind: EngineKind?
        if let engine {
            guard let k = EngineKind(rawValue: engine) else {
                throw ValidationError("unknown engine \"\(engine)\" (known: \(EngineRegistry.choices))")
            }
            engineKind = k
        }

        let (jobs, jobText): ([JobSpec], String) = try reportingErrors {
            let (jobFiles, options) = try parseFioArguments(rest)
            guard jobFiles.count <= 1 else { throw ValidationError("give one job file (got \(jobFiles.joined(separator: ", ")))") }
            if let path = jobFiles.first {
                return (try parseJobFile(path: path, extraOptions: options), (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
            }
            guard !options.isEmpty else { throw ValidationError("give a job file or fio options (e.g. --name=j --rw=randread --bs=4k --size=64m)") }
            return (try parseJobOptions(options), jobFileText(options: options))
        }

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
        let showProgress = !common.noProgress && isatty(2) == 1
        let runStart = StartTime()
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
                line.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
            }
        }

        var live = try reportingErrors { try LiveRun(jobs: jobs, options: o) }
        try reportingErrors { try live.layOut(note: { warn("fio-replay: \($0)") }) }

        // Opened once the jobs are known good and laid out, so an error before the run
        // leaves no recording behind.
        let recorder = try common.openRecorder(path: logPath, concurrent: jobs.count > 1)
        recorder?.noteFiles(live.files.map { f in TraceFile(path: live.targetPath(f), size: f.size) })
        live.options.recorder = recorder
        live.options.timeSeries = try common.openTimeSeries()

        installInterruptHandler()
        runStart.value = monotonicNs()
        let results = live.run(note: { warn("fio-replay: \($0)") })
        if showProgress { warn("") }
        for r in results { for n in r.result.notes { warn("fio-replay: \(r.name): \(n)") } }

        let status = try common.report(live.grouped(results), label: "Run")
        try common.finishTimeSeries(live.options.timeSeries)
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
            meta.extra = [
                MetadataKey.timingPerStream: live.plans.map(\.timing.rawValue).joined(separator: ","),
                MetadataKey.jobs: live.jobs.map { "\($0.name).\($0.jobNumber)" }.joined(separator: ","),
                MetadataKey.genSeed: String(live.seed), MetadataKey.genJob: jobText,
            ]
            try common.finishRecorder(recorder, path: logPath, metadata: meta)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// When the run began (monotonic ns), read by the progress line on a stream's thread.
final class StartTime: @unchecked Sendable {
    var value: UInt64 = 0
}
