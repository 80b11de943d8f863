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

    @Option(help: "Replay every trace file onto this file or block device.")
    var target: String?

    @Option(name: .customLong("map"), help: "Map one trace file to a target: ORIG=NEW (repeatable; ORIG may be a file index).")
    var maps: [String] = []

    @Option(help: "I/O engine: auto, io_uring, libaio, psync, null.")
    var engine: String = "auto"

    @Option(help: "Maximum I/Os in flight (default: the trace's iodepth metadata, else its deepest recorded depth, else 1).")
    var iodepth: Int?

    @Flag(help: "Open targets with O_DIRECT.")
    var direct = false

    @Option(help: "Timing: original (absolute schedule), none (as fast as possible, order kept), closed (recorded in-flight depth).")
    var timing: String = "original"

    @Option(help: "Speed factor for original timing (2 = twice as fast).")
    var speed: Double = 1

    @Option(help: "Round offsets down to a multiple of this many bytes.")
    var align: UInt64 = 0

    @Option(help: "Multiply offsets by this factor.")
    var scale: Double = 1

    @Flag(help: "Wrap I/Os that reach past the end of the target (default: stop with an error).")
    var wrap = false

    @Option(help: "Ops not to replay, comma separated (read, write, trim, sync, datasync, ...).")
    var skip: String?

    @Flag(help: "Replay reads only: drop writes and trims, open targets read-only.")
    var readonly = false

    @Option(help: "Replay the trace this many times.")
    var loops: Int = 1

    @Option(help: "Stop issuing after this long (e.g. 30s, 500ms).")
    var runtime: String?










    func run() throws {
        guard let engineKind = EngineKind(rawValue: engine == "iouring" ? "io_uring" : engine) else {
            throw ValidationError("unknown engine \"\(engine)\" (known: auto, io_uring, libaio, psync, null)")
        }
        guard let timingMode = ReplayTiming(rawValue: timing) else {
            throw ValidationError("unknown timing \"\(timing)\" (known: original, none, closed)")
        }
        try common.check()
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be > 0") }
        guard scale > 0, scale.isFinite else { throw ValidationError("--scale must be > 0") }
        if let d = iodepth, d < 1 || d > 65536 { throw ValidationError("--iodepth must be 1...65536") }
        guard loops >= 1 else { throw ValidationError("--loops must be >= 1") }

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
        o.realtimePriority = common.rtPriority

        let openOpts = try input.openOptions()
        let path = trace
        let open: () throws -> any TraceSource = {
            if path.hasSuffix(".fiot") && openOpts.format == nil { return try FiotReader(path: path, skipBadBlocks: openOpts.skipBadBlocks) }
            return try openTraceSource(path: path, options: openOpts)
        }

        // Pre-scan only when the answer matters: no depth to go by, or a target to create.
        var first: any TraceSource
        do { first = try open() } catch let e as TraceError {
            warn("fio-replay: error: \(e.message)")
            throw ExitCode(1)
        }
        // Pre-scan only when the answer matters: no depth to go by, or a target that may
        // have to be created (its size comes from the trace).
        var needScan = iodepth == nil && first.metadata["iodepth"] == nil
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
        if needScan {
            do {
                let scan = try TracePrescan.scan(&first)
                traceEndNs = scan.lastTime
                o.requiredSizes = scan.extents
                o.depthHint = scan.suggestedDepth
                if scan.maxLength > 0 { o.blockSizeHint = Int(min(scan.maxLength, 1 << 24)) }
            } catch {
                warn("fio-replay: error: \(error)")
                throw ExitCode(1)
            }
        }

        let showProgress = !common.noProgress && isatty(2) == 1
        if showProgress {
            let runtimeLimit = o.runtimeNs, etaEnd = traceEndNs
            o.progress = { p in
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
                line.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
            }
        }

        installInterruptHandler()
        // The first source is handed over as is unless the pre-scan consumed it.
        var pristine: (any TraceSource)? = needScan ? nil : first
        var recorder: ReplayRecorder? = nil
        if let path = common.writeIolog {
            do {
                recorder = ReplayRecorder(sink: try openTraceSink(path: path, format: try common.recordingFormat()))
            } catch let e as TraceError {
                warn("fio-replay: error: \(e.message)")
                throw ExitCode(1)
            }
            o.recorder = recorder
        }
        let scheduler = Scheduler(options: o)
        let result: ReplayResult
        do {
            result = try scheduler.run(engine: engineKind, note: { warn("fio-replay: \($0)") }) {
                if let s = pristine { pristine = nil; return s }
                return try open()
            }
        } catch let e as ReplayError {
            warn("fio-replay: error: \(e.message)")
            throw ExitCode(1)
        } catch let e as TraceError {
            warn("fio-replay: error: \(e.message)")
            throw ExitCode(1)
        }
        if showProgress { warn("") }
        if let recorder {
            var meta: [String: String] = [
                "recorder": "fio-replay replay --write-iolog", "source.trace": trace,
                "ioengine": result.engineName, "iodepth": String(result.iodepth),
                "timing": result.timing.rawValue, "speed": String(result.speed),
                "host": ProcessInfo.processInfo.hostName, "time.unit": "ns",
            ]
            if let target { meta["target"] = target }
            for (i, m) in maps.enumerated() { meta["map.\(i)"] = m }
            do {
                try recorder.finish(metadata: meta)
            } catch {
                warn("fio-replay: error: writing \(common.writeIolog ?? ""): \(error)")
                throw ExitCode(1)
            }
        }
        for n in result.notes { warn("fio-replay: \(n)") }

        var opts: [String: String] = ["trace": trace, "ioengine": result.engineName, "iodepth": String(result.iodepth),
                                      "timing": result.timing.rawValue]
        if let target { opts["filename"] = target }
        if direct { opts["direct"] = "1" }
        let text: String
        switch common.outputFormat {
        case "json", "json+": text = FioJSONReport(jobName: "replay", plus: common.outputFormat == "json+").render(result, options: opts)
        default: text = TextReport(jobName: "replay").render(result)
        }
        try common.writeReport(text)
        if let e = result.error {
            warn("fio-replay: error: \(e.message)")
            throw ExitCode(1)
        }
        if result.interrupted {
            warn("fio-replay: interrupted; in-flight I/O drained, stats above cover what was issued")
            throw ExitCode(130)
        }
    }
}


