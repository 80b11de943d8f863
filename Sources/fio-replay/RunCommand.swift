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

    @Option(help: "I/O engine for every job, overriding ioengine=: io_uring, libaio, psync, null, auto.")
    var engine: String?

    @Option(help: "Run every job's files on this one file or block device.")
    var target: String?

    @Flag(name: .customLong("allow-destructive"), help: "Allow writing to a block device that is mounted or holds a filesystem or partition table.")
    var allowDestructive = false

    @Option(help: "Random seed (overrides randseed).")
    var seed: UInt64?

    @Option(name: .customLong("output-format"), help: "normal, json or json+ (json with clat_ns.bins).")
    var outputFormat: String = "normal"

    @Option(help: "Write the report to this file instead of stdout.")
    var output: String?

    @Option(name: .customLong("write-iolog"), help: "Record every issued I/O with its latency, result and depth (.fiot; fio iolog v3 for .iolog/.log; .csv).")
    var writeIolog: String?

    @Option(name: .customLong("write-iolog-format"), help: "Format of --write-iolog: fiot, iolog3, iolog2 or csv (default: from the extension, else fiot).")
    var writeIologFormat: String?

    @Option(name: .customLong("spin-us"), help: "Spin (instead of sleeping) for this many microseconds before each due time of a rate-limited job.")
    var spinUs: Double = 40

    @Option(name: .customLong("max-spin-us"), help: "Upper bound of the adaptive spin window (microseconds).")
    var maxSpinUs: Double = 200

    @Option(name: .customLong("rt-priority"), help: "Run the streams SCHED_FIFO at this priority (1-99; needs root).")
    var rtPriority: Int32?

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("JOBFILE and/or fio options (--rw=randread ...).", valueName: "job-or-options"))
    var rest: [String] = []

    func run() throws {
        guard ["normal", "json", "json+"].contains(outputFormat) else {
            throw ValidationError("unknown output format \"\(outputFormat)\" (known: normal, json, json+)")
        }
        var engineKind: EngineKind?
        if let engine {
            guard let k = EngineKind(rawValue: engine == "iouring" ? "io_uring" : engine) else {
                throw ValidationError("unknown engine \"\(engine)\" (known: auto, io_uring, libaio, psync, null)")
            }
            engineKind = k
        }
        if let p = rtPriority, !(1...99).contains(p) { throw ValidationError("--rt-priority must be 1...99") }

        let jobs: [JobSpec]
        let jobText: String
        do {
            let (jobFiles, options) = try parseFioArguments(rest)
            guard jobFiles.count <= 1 else { throw ValidationError("give one job file (got \(jobFiles.joined(separator: ", ")))") }
            if let path = jobFiles.first {
                jobs = try parseJobFile(path: path, extraOptions: options)
                jobText = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            } else {
                guard !options.isEmpty else { throw ValidationError("give a job file or fio options (e.g. --name=j --rw=randread --bs=4k --size=64m)") }
                jobs = try parseJobOptions(options)
                jobText = jobFileText(options: options)
            }
        } catch let e as TraceError {
            warn("fio-replay: error: \(e.message)")
            throw ExitCode(1)
        }

        // The recording: --write-iolog, else the jobs' own write_iolog= (one file per run).
        var logPath = writeIolog
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
        o.allowDestructive = allowDestructive
        o.spinNs = UInt64(max(0, spinUs) * 1000)
        o.maxSpinNs = UInt64(max(0, maxSpinUs) * 1000)
        o.realtimePriority = rtPriority
        let showProgress = !noProgress && isatty(2) == 1
        if showProgress {
            o.progress = { p in
                var line = String(format: "\rrun: %.0fs, %llu done, %.0f IOPS", Double(p.elapsedNs) / 1e9, p.completed, p.iopsLastSecond)
                if p.worstLatenessNs > 0 { line += String(format: ", worst lateness %.1fus", Double(p.worstLatenessNs) / 1000) }
                line += "   "
                line.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
            }
        }
        var recorder: ReplayRecorder?
        if let logPath {
            do {
                recorder = ReplayRecorder(sink: try openTraceSink(path: logPath, format: try recordingFormat()), concurrent: jobs.count > 1)
            } catch let e as TraceError {
                warn("fio-replay: error: \(e.message)")
                throw ExitCode(1)
            }
            o.recorder = recorder
        }

        let live: LiveRun
        do {
            live = try LiveRun(jobs: jobs, options: o)
            recorder?.noteFiles(live.files.map { f in TraceFile(path: live.targetPath(f), size: f.size) })
            try live.layOut(note: { warn("fio-replay: \($0)") })
        } catch let e as ReplayError {
            warn("fio-replay: error: \(e.message)")
            throw ExitCode(1)
        } catch let e as TraceError {
            warn("fio-replay: error: \(e.message)")
            throw ExitCode(1)
        }

        installInterruptHandler()
        let results = live.run(note: { warn("fio-replay: \($0)") })
        if showProgress { warn("") }
        if let recorder {
            // The depth a replay of the recording should allow: the most I/Os the streams of
            // one wave may have in flight together.
            var waveDepth: [Int: Int] = [:]
            for p in live.plans { waveDepth[p.wave, default: 0] += p.iodepth }
            var meta: [String: String] = [
                "recorder": "fio-replay run --write-iolog", "tool.version": "fio-replay \(fioGenVersion)",
                "iodepth": String(waveDepth.values.max() ?? 1),
                "iodepth.per-stream": live.plans.map { String($0.iodepth) }.joined(separator: ","),
                "ioengine": Array(Set(results.map(\.result.engineName))).sorted().joined(separator: ","),
                "timing.per-stream": live.plans.map(\.timing.rawValue).joined(separator: ","),
                "jobs": live.jobs.map { "\($0.name).\($0.jobNumber)" }.joined(separator: ","),
                "fio-gen.seed": String(live.seed), "fio-gen.job": jobText,
                "host": ProcessInfo.processInfo.hostName, "time.unit": "ns",
            ]
            if let target { meta["target"] = target }
            do {
                try recorder.finish(metadata: meta)
            } catch {
                warn("fio-replay: error: writing \(logPath ?? ""): \(error)")
                throw ExitCode(1)
            }
        }
        for r in results { for n in r.result.notes { warn("fio-replay: \(r.name): \(n)") } }

        let reported = live.grouped(results)
        let text: String
        switch outputFormat {
        case "json", "json+": text = FioJSONReport(plus: outputFormat == "json+").render(reported)
        default: text = TextReport().render(reported, label: "Run")
        }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                warn("fio-replay: error: cannot write report to \(output)")
                throw ExitCode(1)
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        var failed = false
        for r in results {
            if let e = r.result.error {
                warn("fio-replay: error: \(r.name): \(e.message)")
                failed = true
            }
        }
        if results.contains(where: \.result.interrupted) {
            warn("fio-replay: interrupted; in-flight I/O drained, stats above cover what was issued")
            throw ExitCode(130)
        }
        if failed { throw ExitCode(1) }
    }
}

extension RunCommand {
    /// The --write-iolog-format choice, nil when not given.
    func recordingFormat() throws -> TraceFormat? {
        guard let f = writeIologFormat else { return nil }
        guard let t = TraceFormat(userName: f), t.isWritable else {
            throw ValidationError("--write-iolog-format \(f): expected fiot, iolog3, iolog2 or csv")
        }
        return t
    }
}
