import ArgumentParser
import FioReplay
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `fio-replay replay TRACE`: reissue a trace against a target with its original timing and
/// queue depth, and print fio's statistics.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Reissue a trace with its original timing and queue depth; print fio's statistics.",
        discussion: """
        Exit status: 0 on success, 1 when an error stopped the replay (stats are still
        printed), 130 when interrupted by Ctrl-C (in-flight I/O is drained first).
        """
    )

    @Argument(help: "Trace file (.fiot, fio iolog v2/v3, .gz/.zst, blktrace).")
    var trace: String

    @OptionGroup var input: TraceInputOptions

    @OptionGroup var common: RunReportOptions

    @Option(help: "Streams: auto (one thread per stream when the trace is a multi-stream recording of `run`), on (split any trace whose records carry streams), off (one thread).")
    var streams: String = "auto"

    @Option(help: "Replay every trace file onto this file or block device.")
    var target: String?

    @Option(name: .customLong("map"), help: "Map one trace file to a target: ORIG=NEW (repeatable; ORIG may be a file index).")
    var maps: [String] = []

    @Flag(name: .customLong("in-place"), help: "Replay files that --target and --map leave alone onto the paths the trace names even when they are existing files (their data is overwritten), and create missing ones whatever their size (else at most 1 GiB in all).")
    var inPlace = false

    @Option(help: ArgumentHelp("I/O engine: \(EngineRegistry.choices) (default: the engine the trace was recorded with, when it names one; else auto)."))
    var engine: String?

    @Option(parsing: .unconditional, help: "Maximum I/Os in flight (default: the trace's iodepth metadata, else its deepest recorded depth, else 1).")
    var iodepth: Int?

    @Flag(help: "Every I/O with O_DIRECT. Default: as the trace says (recorded O_DIRECT, or each record's direct flag).")
    var direct = false

    @Flag(help: "Every I/O buffered, even where the trace was recorded O_DIRECT or its records carry the direct flag.")
    var buffered = false

    @Flag(name: .customLong("create-targets"), help: "Create the missing files at the paths the trace names whatever their size (else at most 1 GiB in all); existing files are still left alone (see --in-place).")
    var createTargets = false

    @Option(help: "Timing: original (absolute schedule), none (as fast as possible, order kept), closed (recorded in-flight depth).")
    var timing: String = "original"

    @Option(parsing: .unconditional, help: "Speed factor for original timing (2 = twice as fast).")
    var speed: Double = 1

    @Option(parsing: .unconditional, help: "Round offsets down to a multiple of this many bytes (fio's suffixes: 4k = 4096).", transform: parseSize)
    var align: UInt64 = 0

    @Option(parsing: .unconditional, help: "Multiply offsets by this factor.")
    var scale: Double = 1

    @Flag(help: "Wrap I/Os that reach past the end of the target (default: stop with an error).")
    var wrap = false

    @Option(help: "Ops not to replay, comma separated (read, write, trim, sync, datasync, ...).")
    var skip: String?

    @Flag(help: "Replay reads only: drop writes and trims, open targets read-only.")
    var readonly = false

    @Option(parsing: .unconditional, help: "Replay the trace this many times.")
    var loops: Int = 1

    @Option(parsing: .unconditional, help: "Stop issuing after this long (e.g. 30s, 500ms; a bare number is seconds).")
    var runtime: String?

    @OptionGroup(title: "Write data (fio's buffer options)") var writeData: WriteDataOptions

    @OptionGroup(title: "Verify") var verifyFlags: VerifyFlags

    @OptionGroup(title: "fio log files") var logFlags: FioLogFlags

    @OptionGroup(title: "Many hosts (docs/multi-host.md)") var sharding: ShardOptions










    mutating func run() throws {
        // Every rank of a launcher runs the same command line: {shard} names its own files.
        let shard = try sharding.resolve()?.0
        common.output = common.output.map { ShardOptions.expand($0, shard: shard) }
        common.writeIolog = common.writeIolog.map { ShardOptions.expand($0, shard: shard) }
        common.writeTimeseries = common.writeTimeseries.map { ShardOptions.expand($0, shard: shard) }
        verifyFlags.state = verifyFlags.state.map { ShardOptions.expand($0, shard: shard) }
        try replay()
    }

    mutating func replay() throws {
        guard var engineKind = EngineKind(rawValue: engine ?? "auto") else {
            throw ValidationError("unknown engine \"\(engine ?? "")\" (known: \(EngineRegistry.choices))")
        }
        if direct && buffered { throw ValidationError("--direct and --buffered contradict each other; give one") }
        guard let timingMode = ReplayTiming(rawValue: timing) else {
            throw ValidationError("unknown timing \"\(timing)\" (known: original, none, closed)")
        }
        currentCommand = .replay
        try common.check()
        _ = try verifyFlags.options()
        guard ["auto", "on", "off"].contains(streams) else { throw ValidationError("--streams wants auto, on or off") }
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be > 0") }
        guard scale > 0, scale.isFinite else { throw ValidationError("--scale must be > 0") }
        if let d = iodepth, d < 1 || d > 65536 { throw ValidationError("--iodepth must be 1...65536") }
        guard loops >= 1 else { throw ValidationError("--loops must be >= 1") }
        let shardSpec = try sharding.resolve()
        let startAtNs = try sharding.startInstant()

        var o = ReplayOptions()
        o.timing = timingMode
        o.speed = speed
        o.iodepth = iodepth
        o.direct = direct
        var map: [String: String] = [:]
        for m in maps {
            guard let eq = m.firstIndex(of: "=") else { throw ValidationError("--map wants ORIG=NEW, got \"\(m)\"") }
            map[String(m[..<eq])] = String(m[m.index(after: eq)...])
        }
        o.targets = TargetMapping(all: target, map: map)
        o.targets.protectTracePaths = !inPlace
        if createTargets { o.targets.createLimit = .max }
        o.offsets = OffsetMapping(scale: scale, align: align, wrap: wrap)
        if let skip {
            for name in skip.split(separator: ",") {
                guard let op = TraceOp(fioName: name.trimmingCharacters(in: " ")) else {
                    throw ValidationError("unknown op \"\(name)\" in --skip")
                }
                o.skipOps.insert(op)
            }
        }
        o.readOnly = readonly
        o.allowDestructive = common.allowDestructive
        o.loops = loops
        if let runtime { o.runtimeNs = try parseDuration(runtime) }
        o.spinNs = UInt64(max(0, common.spinUs) * 1000)
        o.maxSpinNs = UInt64(max(0, common.maxSpinUs) * 1000)
        o.realtimePriority = try common.rtPriority()
        o.autoRealtime = common.autoRealtime(streams: 1)
        o.pinCPU = true
        o.payload = try writeData.payload()
        o.timeSeriesIntervalNs = try common.timeseriesIntervalNs()

        let openOpts = try input.openOptions()
        let path = trace
        let openWhole: () throws -> any TraceSource = {
            if path.hasSuffix(".fiot") && openOpts.format == nil { return try FiotReader(path: path, skipBadBlocks: openOpts.skipBadBlocks) }
            return try openTraceSource(path: path, options: openOpts)
        }
        // Sharded (or with placeholders in the targets): one pass plans the shards, then the
        // replay reads only this shard's records (docs/multi-host.md).
        let placeholders = (target ?? "").contains("{") || maps.contains { $0.contains("{") }
        var shardInfo: ShardRunInfo? = nil
        var open = openWhole
        if sharding.active || placeholders {
            let spec = shardSpec?.0 ?? ShardSpec(index: 0, count: 1, unit: .volume)
            var whole = try reportingErrors { try openWhole() }
            let plan = try reportingErrors { try ShardPlan.scan(&whole, spec: spec) }
            o.targets = try expandTargets(target: target, maps: try sharding.mapEntries(maps), files: plan.files,
                                          owned: plan.owns(file:), shard: shardSpec?.0)
            o.targets.protectTracePaths = !inPlace
            if shardSpec != nil {
                open = { ShardFilterSource(try openWhole(), plan: plan) }
                warn("fio-replay: \(plan.summary) (from \(shardSpec!.1))")
            }
            if sharding.active {
                var info = ShardRunInfo()
                if let (spec, source) = shardSpec {
                    (info.index, info.count, info.unit, info.source) = (spec.index, spec.count, spec.unit.rawValue, source)
                }
                info.files = plan.files.indices.filter(plan.owns(file:)).map { plan.files[$0].path }
                info.startAtNs = startAtNs
                shardInfo = info
            }
        }
        // --start-at: the schedule starts at that wall-clock instant (an instant already past,
        // with --allow-past-start: at once).
        let wallStart = startAtNs.flatMap { $0 > realtimeNs() ? WallClockStart(atNs: $0) : nil }
        if let at = startAtNs, wallStart == nil {
            // Checked again here: the instant may have passed while the shard was planned.
            let ago = Double(realtimeNs() - at) / 1e9
            guard sharding.allowPastStart else {
                warn(String(format: "fio-replay: error: --start-at passed %.3f s ago, while the replay was being prepared; give a later instant (or --allow-past-start to start at once)", ago))
                throw ExitCode(1)
            }
            warn(String(format: "fio-replay: --start-at passed %.3f s ago; starting at once", ago))
        }
        if let w = wallStart { o.startAt = { w.monotonicInstant() } }

        // Pre-scan only when the answer matters: no depth to go by, or a target to create.
        var first: any TraceSource = try reportingErrors { try open() }
        // The recording's engine and O_DIRECT are the defaults (issue 15): say which.
        let defaults = TraceReplayDefaults(metadata: first.metadata, peek: trace == "-" || direct || buffered ? nil : open)
        var taken: [String] = []
        if engine == nil, let e = defaults.engine {
            engineKind = e
            taken.append("ioengine=\(e.rawValue)")
        }
        // Without --direct or --buffered, each data record's direct flag decides its I/O
        // (a trace of a direct=1 job beside a buffered one replays both as they ran).
        o.directPerRecord = !direct && !buffered
        if !direct && !buffered && defaults.direct {
            direct = true
            o.direct = true
            taken.append("direct=1 (\(defaults.directSource))")
        }
        if o.directPerRecord && defaults.mixedDirect {
            taken.append("direct per record (\(defaults.directSource))")
        }
        replayDefaultsFromTrace = taken
        if !taken.isEmpty {
            let how = (engine == nil && defaults.engine != nil ? ["--engine"] : [])
                + (o.direct || defaults.mixedDirect ? ["--buffered"] : []) + (defaults.mixedDirect ? ["--direct"] : [])
            warn("fio-replay: from the trace: \(taken.joined(separator: ", ")); override with \(how.joined(separator: " or "))")
        }
        // Pre-scan only when the answer matters: no depth to go by, or a target that may
        // have to be created (its size comes from the trace).
        var needScan = iodepth == nil && first.metadata[MetadataKey.iodepth] == nil
        // A --map entry must name a file of the trace: only the whole file table can tell
        // (files may be defined as the trace goes).
        if !o.targets.unmatchedKeys(files: knownFiles(first)).isEmpty { needScan = true }
        if let target {
            if access(target, F_OK) != 0 { needScan = true }
        } else {
            if first.files.isEmpty { needScan = true }
            for (i, f) in first.files.enumerated() where !needScan {
                let p = o.targets.path(for: f, index: i)
                if access(p, F_OK) != 0 && f.size == nil { needScan = true }
            }
        }
        // The trace's last time (ns), for the progress line's ETA: from the pre-scan, or a
        // .fiot footer's block index; unknown (no ETA) otherwise.
        var traceEndNs: UInt64? = (first as? FiotReader)?.footer?.blocks.map(\.maxTime).max()
        // One thread per stream: auto when the trace is a multi-stream recording of `run`.
        let explicitStreams = streams == "on"
        if explicitStreams && traceStreams(metadata: first.metadata, prescan: nil).isEmpty { needScan = true }
        var scanned: TracePrescan?
        if needScan {
            do {
                let scan = try TracePrescan.scan(&first)
                scanned = scan
                traceEndNs = scan.lastTime
                o.requiredSizes = scan.extents
                o.depthHint = scan.suggestedDepth
                if scan.maxLength > 0 { o.blockSizeHint = Int(min(scan.maxLength, 1 << 24)) }
            } catch {
                warn("fio-replay: error: \(error)")
                throw ExitCode(1)
            }
        }

        // Before anything is written: no output may be an input, and every target the file
        // table names is checked (and created) now, so that a refusal is one line, not an
        // error at record 0 after a report.
        let files = knownFiles(first)
        let logSettings = try reportingErrors { try logFlags.settings() }
        let logNames = (1...max(1, streamCountHint(first, scanned))).flatMap { logSettings.fileNames(jobNumber: $0) }
        try refuseOverlappingFiles(outputs: common.outputFiles(recording: common.writeIolog, verifyState: verifyFlags.state)
                                       + (readonly ? [] : targetFiles(files, mapping: o.targets))
                                       + logNames.map { NamedFile(role: "a log file", path: $0) },
                                   inputs: [NamedFile(role: "the trace", path: trace)] + (readonly ? targetFiles(files, mapping: o.targets) : []))
        for n in try reportingErrors({ try prepareTargets(files: files, options: &o) }) { warn("fio-replay: \(n)") }

        let showProgress = common.progressWanted()
        if showProgress {
            let etaLine = try common.etaLine()
            let runtimeLimit = o.runtimeNs, etaEnd = traceEndNs
            o.progress = { [loops, speed] p in
                var line = String(format: "\rreplay: %.0fs, %llu done, %.0f IOPS", Double(p.elapsedNs) / 1e9, p.completed, p.iopsLastSecond)
                if p.worstLatenessNs > 0 { line += String(format: ", worst lateness %.1fus", Double(p.worstLatenessNs) / 1000) }
                line += String(format: ", trace at %.1fs", Double(p.traceTimeNs) / 1e9)
                // ETA only where the schedule says when the run ends: original timing, one
                // pass, a known trace end (capped by --runtime).
                if timingMode == .original, loops == 1, let end = etaEnd {
                    var eta = Double(end - min(end, p.traceTimeNs)) / speed
                    if let limit = runtimeLimit { eta = min(eta, Double(limit) - Double(min(limit, p.elapsedNs))) }
                    line += String(format: ", ETA %.1fs", eta / 1e9)
                }
                line += "   "
                etaLine.write(line)
            }
        }

        var streamList: [(id: UInt32, depth: Int?)] = []
        if streams != "off" {
            streamList = traceStreams(metadata: first.metadata, prescan: scanned)
            if explicitStreams && streamList.count < 2 {
                warn("fio-replay: the trace has one stream" + ((scanned?.unstreamed ?? 0) > 0 ? ", or records without one," : "") + "; replaying it on one thread")
            }
        }
        if streamList.count > 1 {
            installInterruptHandler()
            if let vo = try verifyFlags.options() {
                o.verifier = try makeVerifier(vo, statePath: verifyFlags.state, concurrent: true)
            }
            let logWriter: FioLogWriter? = logSettings.isEmpty ? nil : try reportingErrors { try FioLogWriter() }
            try replayStreams(streamList, options: o, engine: engineKind, files: first.files, open: open, showProgress: showProgress,
                              shard: shardInfo, wallStart: wallStart, logs: logWriter.map { ($0, logSettings) })
            return
        }

        installInterruptHandler()
        o.timeSeries = try common.openTimeSeries()
        // The first source is handed over as is unless the pre-scan consumed it.
        var pristine: (any TraceSource)? = needScan ? nil : first
        let recorder = try common.openRecorder(path: common.writeIolog, concurrent: false)
        o.recorder = recorder
        if let vo = try verifyFlags.options() {
            o.verifier = try makeVerifier(vo, statePath: verifyFlags.state, concurrent: false)
        }
        let logWriter: FioLogWriter? = logSettings.isEmpty ? nil : try reportingErrors {
            let w = try FioLogWriter()
            o.fioLogs = try FioLogTap.make(writer: w, settings: logSettings, jobNumber: 1, rampNs: 0)
            return w
        }
        let statusReports = try common.statusReports(streams: 1, label: "Replay") { [self, o, engineKind] stats in
            guard let s = stats[0] else { return [] }
            let r = ReplayResult(snapshot: s, engineName: engineKind.rawValue, iodepth: o.iodepth ?? o.depthHint ?? 1,
                                 timing: o.timing, speed: o.speed)
            return [JobReport(name: "replay", result: r, options: jobOptions(r))]
        }
        if let statusReports {
            o.statusIntervalNs = statusReports.intervalNs
            o.status = { s, final in statusReports.deliver(0, s, final: final) }
        }
        let scheduler = Scheduler(options: o)
        let disks = DiskUtilTracker(paths: targetFiles(first.files, mapping: o.targets).map(\.path))
        var result = try reportingErrors {
            try scheduler.run(engine: engineKind, note: { warn("fio-replay: \($0)") }) {
                if let s = pristine { pristine = nil; return s }
                return try open()
            }
        }
        statusReports?.close()
        if showProgress { warn("") }
        for n in result.notes { warn("fio-replay: \(n)") }
        if wallStart?.interrupted == true { result.interrupted = true }
        result.shard = shardInfo.map { finishShardInfo($0, stats: result.stats, wallStart: wallStart) }
        // The cap came from no recorded depth at all, and it made the schedule slip: say so.
        let late = result.stats.lateness.count
        if iodepth == nil && o.depthHint == nil && first.metadata[MetadataKey.iodepth] == nil && late > 0
            && result.stats.depthBlocked * 100 > late {
            warn(String(format: "fio-replay: %.1f%% of I/Os waited past their due time for a free slot: the trace records no queue depth, so the replay kept %d in flight; give --iodepth to hold the schedule",
                        Double(result.stats.depthBlocked) * 100 / Double(late), result.iodepth))
        }
        // The report first: a recording that cannot be finished (a full disk) must not
        // cost the statistics.
        let verified = try o.verifier.map {
            try finishVerify($0, statePath: verifyFlags.state, pass: verifyFlags.doVerify, engine: engineKind,
                             iodepth: verifyFlags.passDepth, direct: direct, interrupted: result.interrupted)
        }
        var status = try common.report([JobReport(name: "replay", result: result, options: jobOptions(result), verify: verified)], label: "Replay",
                                       extras: ReportExtras(disks: disks.finish()))
        status = verifyStatus(verified, status)
        try common.finishTimeSeries(o.timeSeries)
        try reportingErrors { try logWriter?.finish() }
        var meta = recordingMetadata()
        meta.extra[MetadataKey.direct] = direct ? "1" : "0"
        meta.ioengine = result.engineName
        meta.iodepth = result.iodepth
        addShardMetadata(&meta, recorder: recorder, shard: result.shard, wallStart: wallStart)
        try common.finishRecorder(recorder, path: common.writeIolog, metadata: meta)
        if status != 0 { throw ExitCode(status) }
    }

    /// The trace's file table as far as it is known before reading on: a .fiot footer has all
    /// of it (files may be defined in any block), a pre-scanned source has read all of it.
    func knownFiles(_ source: any TraceSource) -> [TraceFile] {
        if let f = (source as? FiotReader)?.footer?.files, f.count > source.files.count { return f }
        return source.files
    }

    /// The targets the trace's files go to, one entry per file (several trace files may
    /// share one).
    func targetFiles(_ files: [TraceFile], mapping: TargetMapping) -> [NamedFile] {
        var paths: [(String, String)] = []
        if let target = mapping.all { paths.append(("--target", target)) }
        for (i, f) in files.enumerated() { paths.append(("the target of trace file \(i)", mapping.path(for: f, index: i))) }
        return distinctFiles(paths.map { NamedFile(role: $0.0, path: $0.1) })
    }

    /// The metadata of a replay's recording (engine and depth are the caller's).
    func recordingMetadata() -> RecordingMetadata {
        var meta = RecordingMetadata(recorder: "fio-replay replay --write-iolog")
        meta.target = target
        meta.extra = [MetadataKey.sourceTrace: trace, MetadataKey.timing: timing, MetadataKey.speed: String(speed)]
        for (i, m) in maps.enumerated() { meta.extra[MetadataKey.map(i)] = m }
        return meta
    }

    /// fio's "job options" of a replay (or of one stream of it).
    func jobOptions(_ r: ReplayResult) -> [String: String] {
        var opts: [String: String] = ["trace": trace, "ioengine": r.engineName, "iodepth": String(r.iodepth),
                                      "timing": r.timing.rawValue]
        if let target { opts["filename"] = target }
        if direct { opts["direct"] = "1" }
        if !replayDefaultsFromTrace.isEmpty { opts["from_trace"] = replayDefaultsFromTrace.joined(separator: ", ") }
        return opts
    }
}

extension ReplayCommand {
    /// Replays each stream of a multi-stream trace on its own thread, with its own in-flight
    /// cap (the stream's recorded depth unless --iodepth), all on one clock; reports one
    /// job per stream and their group, as `run` does.
    func replayStreams(_ list: [(id: UInt32, depth: Int?)], options base: ReplayOptions, engine: EngineKind,
                       files: [TraceFile], open: @escaping () throws -> any TraceSource, showProgress: Bool,
                       shard: ShardRunInfo?, wallStart: WallClockStart?,
                       logs: (writer: FioLogWriter, settings: FioLogSettings)? = nil) throws {
        for n in try reportingErrors({ try createMissingTargets(files: files, mapping: base.targets, requiredSizes: base.requiredSizes) }) {
            warn("fio-replay: \(n)")
        }
        let recorder = try common.openRecorder(path: common.writeIolog, concurrent: true)
        let timeSeries = try common.openTimeSeries()
        let disks = DiskUtilTracker(paths: targetFiles(files, mapping: base.targets).map(\.path))
        let progress = showProgress ? ProgressAggregator(streams: list.count, sink: base.progress) : nil
        // A timed replay decodes the trace once, on one reader thread that hands each stream
        // its records; untimed streams run at their own speeds, so each reads its own pass.
        let splitter: StreamSplitter? = base.timing == .original
            ? try reportingErrors {
                let opener = SendableBox(open)
                return try StreamSplitter(streams: list.map(\.id), passes: base.loops, files: files) { try opener.value() }
            }
            : nil
        let statusReports = try common.statusReports(streams: list.count, label: "Replay") { [self, base, engine] stats in
            var out: [JobReport] = []
            for (k, st) in stats.enumerated() {
                guard let st else { continue }
                let r = ReplayResult(snapshot: st, engineName: engine.rawValue,
                                     iodepth: iodepth ?? list[k].depth ?? base.depthHint ?? 1, timing: base.timing, speed: base.speed)
                var opts = jobOptions(r)
                opts["stream"] = String(list[k].id)
                out.append(JobReport(jobIndex: k, name: "replay.s\(list[k].id)", result: r, options: opts))
            }
            return out
        }
        var tasks: [StreamTask] = []
        for (k, s) in list.enumerated() {
            var o = base
            if let statusReports {
                o.statusIntervalNs = statusReports.intervalNs
                o.status = { st, final in statusReports.deliver(k, st, final: final) }
            }
            o.iodepth = iodepth ?? s.depth ?? base.depthHint
            o.autoRealtime = common.autoRealtime(streams: list.count)
            o.recorder = recorder
            o.recorderStream = s.id
            o.timeSeries = timeSeries
            o.jobName = "replay.s\(s.id)"
            if let logs { o.fioLogs = try reportingErrors { try FioLogTap.make(writer: logs.writer, settings: logs.settings, jobNumber: k + 1, rampNs: 0) } }
            if let progress { o.progress = { p in progress.report(k, p) } } else { o.progress = nil }
            let id = s.id
            let opener: () throws -> any TraceSource
            if let splitter {
                o.startBeforeData = true
                opener = { splitter.source(stream: k) }
            } else {
                opener = { StreamFilterSource(try open(), stream: id) }
            }
            tasks.append(StreamTask(options: o, engine: engine, name: "stream \(id)", open: opener,
                                    finished: { progress?.finished(k) }))
        }
        var results = runConcurrently(tasks, startAt: wallStart.map { w in { w.monotonicInstant() } }, note: { warn("fio-replay: \($0)") })
        statusReports?.close()
        if let shard {
            // Each stream's report carries the shard's facts and its own merge data; the skew
            // line is the shard's (its earliest first issue).
            var all = ReplayStats()
            for r in results { all.merge(r.stats) }
            let info = finishShardInfo(shard, stats: all, wallStart: wallStart)
            for k in results.indices { results[k].shard = info }
        }
        if showProgress { warn("") }
        var reports: [JobReport] = []
        for (k, r) in results.enumerated() {
            for n in r.notes { warn("fio-replay: stream \(list[k].id): \(n)") }
            var opts = jobOptions(r)
            opts["stream"] = String(list[k].id)
            reports.append(JobReport(jobIndex: k, name: "replay.s\(list[k].id)", result: r, options: opts))
        }
        // One verifier for all streams: its results go with the first stream's report.
        let verified = try base.verifier.map {
            try finishVerify($0, statePath: verifyFlags.state, pass: verifyFlags.doVerify, engine: engine,
                             iodepth: verifyFlags.passDepth, direct: direct, interrupted: results.contains(where: \.interrupted))
        }
        if !reports.isEmpty { reports[0].verify = verified }
        var status = try common.report(reports, label: "Replay", extras: ReportExtras(disks: disks.finish()))
        status = verifyStatus(verified, status)
        try common.finishTimeSeries(timeSeries)
        try reportingErrors { try logs?.writer.finish() }
        var meta = recordingMetadata()
        meta.extra[MetadataKey.direct] = direct ? "1" : "0"
        meta.ioengine = Array(Set(results.map(\.engineName))).sorted().joined(separator: ",")
        meta.iodepth = results.reduce(0) { $0 + $1.iodepth }
        meta.streams = zip(list, results).map { RecordingMetadata.Stream(id: $0.id, iodepth: $1.iodepth) }
        addShardMetadata(&meta, recorder: recorder, shard: results.first?.shard, wallStart: wallStart)
        try common.finishRecorder(recorder, path: common.writeIolog, metadata: meta)
        if status != 0 { throw ExitCode(status) }
    }
}

extension ReplayCommand {
    /// How many jobs (streams) the replay's logs are numbered for, as far as is known before
    /// the replay: the trace's streams when it will be split, else one.
    func streamCountHint(_ first: any TraceSource, _ scanned: TracePrescan?) -> Int {
        guard streams != "off" else { return 1 }
        return max(1, traceStreams(metadata: first.metadata, prescan: scanned).count)
    }
}

extension ReplayCommand {
    /// The shard's wall-clock facts from its run, and the skew line for the user.
    func finishShardInfo(_ base: ShardRunInfo, stats: ReplayStats, wallStart: WallClockStart?) -> ShardRunInfo {
        var info = base
        let offset = wallStart.map { $0.offsetNs != 0 ? $0.offsetNs : realtimeMinusMonotonic() } ?? realtimeMinusMonotonic()
        info.setTimes(stats, realtimeMinusMonotonic: offset, speed: timing == "original" ? speed : 1)
        if let skew = info.startSkewNs {
            let who = info.index.map { "shard \($0)/\(info.count ?? 1)" } ?? "replay"
            warn(String(format: "fio-replay: %@: start skew %+.1f us (first I/O against --start-at plus its trace time)", who, Double(skew) / 1000))
        }
        return info
    }
}

extension ReplayCommand {
    /// A shard's recording says which shard it is and when, on the wall clock, its time 0
    /// was (`merge` orders several shards' recordings on that clock).
    func addShardMetadata(_ meta: inout RecordingMetadata, recorder: ReplayRecorder?, shard: ShardRunInfo?, wallStart: WallClockStart?) {
        guard let shard, let recorder, recorder.epochNs != 0 else { return }
        let offset = wallStart.map { $0.offsetNs != 0 ? $0.offsetNs : realtimeMinusMonotonic() } ?? realtimeMinusMonotonic()
        meta.extra[RecordingMerge.epochKey] = String(UInt64(clamping: Int64(clamping: recorder.epochNs) &+ offset))
        if let i = shard.index, let n = shard.count { meta.extra["shard"] = "\(i)/\(n)"; meta.extra["shard.by"] = shard.unit ?? "volume" }
        if let at = shard.startAtNs { meta.extra["start_at_ns"] = String(at) }
    }
}
