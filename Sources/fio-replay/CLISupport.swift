import ArgumentParser
import FioReplay
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Prints one line to stderr. Every message goes through here, so this is where input
/// quoted in it (a bad line, a file name) gets its control characters escaped: CR, VT, FF
/// or a newline in the input cannot split or overwrite the one-line message.
func warn(_ message: String) {
    var line = message.escapingControlCharacters + "\n"
    line.withUTF8 { p in _ = Glibc.write(2, p.baseAddress, p.count) }
}

/// Runs `body`; a TraceError or ReplayError becomes one line on stderr and exit status 1.
/// A library error that the user could fix with an option gets this command's option for
/// it (`formatOption`: the one that names the input format).
func reportingErrors<T>(formatOption: String = "--format", _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as TraceError {
        var advice = ""
        if e.remedy == .nameTheFormat { advice = "; name it with \(formatOption) (\(TraceFormat.allNames))" }
        warn("fio-replay: error: \(e.message)\(advice)")
        throw ExitCode(1)
    } catch let e as ReplayError {
        warn("fio-replay: error: \(describe(e))")
        throw ExitCode(1)
    }
}

/// The command running: a library error's advice names this command's options.
enum CLICommand { case replay, run, verify }
nonisolated(unsafe) var currentCommand = CLICommand.replay

/// A replay error as one line, with this command's advice for its remedy.
func describe(_ e: ReplayError) -> String {
    guard let r = e.remedy else { return e.message }
    let advice: String
    switch (r, currentCommand) {
    case (.fitTarget, .run): advice = "make the file larger, or size= smaller"
    case (.fitTarget, _): advice = "use --wrap, --scale or a larger target"
    case (.alignForDirect, .run): advice = "use bs= and offsets that are multiples of the device's logical block size, or drop direct=1"
    case (.alignForDirect, .replay): advice = "use --align 4096 or drop --direct"
    case (.alignForDirect, .verify): advice = "drop --direct"
    case (.lowerDepth, .run): advice = "lower iodepth= or raise /proc/sys/fs/aio-max-nr"
    case (.lowerDepth, _): advice = "lower --iodepth or raise /proc/sys/fs/aio-max-nr"
    case (.chooseEngine, _): advice = "give --engine to override"
    case (.readOnly, .run): advice = "a job that only reads it (rw=read) may run"
    case (.readOnly, _): advice = "use --readonly to only read it"
    case (.createTarget, .replay): advice = "create it, or drop --readonly"
    case (.createTarget, _): advice = "name a target that exists"
    case (.makeWritable, .replay): advice = "use --readonly to replay reads only, or fix its permissions"
    case (.makeWritable, _): advice = "fix its permissions"
    case (.dropDirect, .run): advice = "drop direct=1"
    case (.dropDirect, _): advice = "drop --direct"
    case (.replayBuffered, _): advice = "pass --buffered to replay every I/O without O_DIRECT"
    case (.replayInPlace, _): advice = "pass --in-place to replay onto it, --readonly to only read it, or choose targets with --target or --map"
    case (.createInPlace, _): advice = "pass --create-targets to create them (--in-place also overwrites existing files), or choose targets with --target or --map"
    }
    return e.message + "; " + advice
}

/// Options every command that reads a trace shares.
struct TraceInputOptions: ParsableArguments {
    @Option(name: .customLong("format"), help: "Input format (\(TraceFormat.allNames)); detected from content when omitted.")
    var inputFormat: String?

    @Flag(name: .customLong("skip-bad-blocks"), help: "Report corrupt blocks of a .fiot trace (and a missing footer) and go on, instead of stopping.")
    var skipBadBlocks = false

    @Flag(name: .customLong("dispatch"), help: "blktrace: use D (issue) events instead of Q (arrival) events.")
    var dispatch = false

    @Option(name: .customLong("blktrace-streams"), help: "blktrace: what each record's stream holds: cpu (the default) or pid (process names go into the metadata).")
    var blktraceStreams: String = "cpu"

    func openOptions(format override: String? = nil) throws -> TraceOpenOptions {
        guard let streams = BlktraceStreamKey(rawValue: blktraceStreams) else {
            throw ValidationError("--blktrace-streams takes cpu or pid, not \"\(blktraceStreams)\"")
        }
        var o = TraceOpenOptions(skipBadBlocks: skipBadBlocks, blktraceDispatch: dispatch, blktraceStreams: streams)
        if let name = override ?? inputFormat {
            guard let f = TraceFormat(userName: name) else {
                throw ValidationError("unknown format \"\(name)\" (known: \(TraceFormat.allNames))")
            }
            o.format = f
        }
        return o
    }
}

/// Parses a duration with fio's units (`1.5s`, `200ms`, `300us`, `1000ns`, `2m`, `1h`); a
/// bare number is seconds. Returns ns.
func parseDuration(_ text: String) throws -> UInt64 {
    guard let v = FioValue.time(text, defaultUnit: FioValue.seconds) else {
        throw ValidationError("\"\(text)\" is not a duration (examples: \(FioValue.durationExamples))")
    }
    return v
}

/// Parses a size with fio's suffixes (`4k` is 4096). Returns bytes.
func parseSize(_ text: String) throws -> UInt64 {
    guard let v = FioValue.size(text) else {
        throw ValidationError("\"\(text)\" is not a size (examples: \(FioValue.sizeExamples))")
    }
    return v
}

/// Builds a record filter from the shared filter options.
func makeFilter(start: String?, end: String?, ops: String?, files: [String]) throws -> TraceFilter? {
    if start == nil && end == nil && ops == nil && files.isEmpty { return nil }
    var f = TraceFilter()
    if let s = start { f.from = try parseDuration(s) }
    if let e = end { f.to = try parseDuration(e) }
    if let ops {
        var set = Set<TraceOp>()
        for name in ops.split(separator: ",") {
            guard let op = TraceOp(fioName: name.trimmingCharacters(in: " ")) else {
                throw ValidationError("unknown op \"\(name)\" in --op (known: \(TraceOp.allCases.map(\.fioName).joined(separator: ",")))")
            }
            set.insert(op)
        }
        f.ops = set
    }
    if !files.isEmpty { f.files = files }
    return f
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}

/// After reading a native trace: print what `--skip-bad-blocks` skipped.
func reportSkipped(_ source: any TraceSource) {
    for e in source.skipped { warn("fio-replay: warning: skipped \(e.message)") }
}

/// Streams `source` through `body` batch by batch. A truncated trace is an error, or,
/// with `salvage`, a warning after every complete record has been handed over.
func drain(_ source: inout any TraceSource, salvage: Bool, batchSize: Int = 65536,
           _ body: (UnsafeBufferPointer<TraceRecord>, [TraceFile]) throws -> Void) throws {
    var batch: [TraceRecord] = []
    batch.reserveCapacity(batchSize)
    do {
        while try source.nextBatch(&batch, maxCount: batchSize) {
            let files = source.files
            try batch.withUnsafeBufferPointer { try body($0, files) }
        }
    } catch let e as TraceError where e.kind == .truncated && salvage {
        warn("fio-replay: warning: \(e.message)")
    }
    reportSkipped(source)
}

/// Copies `source` into `sink` through `filter`, defining files as they appear, then
/// finishes the sink with `metadata` (the source's when nil) even when reading failed, so
/// every record read so far is kept in a valid output; the read error is rethrown after.
func pump(_ source: inout any TraceSource, into sink: any TraceSink, filter: TraceFilter?, salvage: Bool,
          metadata: [String: String]? = nil) throws {
    var defined = 0
    var kept: [TraceRecord] = []
    var failure: Error?
    do {
        try drain(&source, salvage: salvage) { batch, files in
            while defined < files.count { try sink.define(file: files[defined]); defined += 1 }
            if let f = filter {
                kept.removeAll(keepingCapacity: true)
                for r in batch where f.accepts(r, files: files) { kept.append(r) }
                try kept.withUnsafeBufferPointer { try sink.write($0) }
            } else {
                try sink.write(batch)
            }
        }
    } catch {
        failure = error
    }
    let files = source.files
    while defined < files.count { try sink.define(file: files[defined]); defined += 1 }
    try sink.finish(metadata: metadata ?? source.metadata)
    if let failure { throw failure }
}

/// Reads `source` on a second thread (`ReadAheadSource`) while `body` consumes batches on
/// this one, so that decoding and whatever `body` computes overlap (two cores: `info`
/// decodes at the decoder's rate instead of the sum of both). Memory: the read-ahead
/// queue's few batches. Errors reach the caller after every batch read before them; a
/// truncated trace with `salvage` is a warning, as in `drain`.
func drainPipelined(_ source: inout any TraceSource, salvage: Bool, batchSize: Int = 65536,
                    _ body: (UnsafeBufferPointer<TraceRecord>) throws -> Void) throws {
    let ahead = try ReadAheadSource(source, batchRecords: batchSize, depth: 2)
    // Afterwards the caller gets its own source back (the reader has ended by then).
    defer { source = ahead.finishedBase ?? ahead }
    var batch: [TraceRecord] = []
    batch.reserveCapacity(batchSize)
    do {
        while try ahead.nextBatch(&batch, maxCount: batchSize) {
            try batch.withUnsafeBufferPointer { try body($0) }
        }
    } catch let e as TraceError where e.kind == .truncated && salvage {
        warn("fio-replay: warning: \(e.message)")
    }
    reportSkipped(ahead)
}

/// Options `replay` and `run` share: the report, the recording and the scheduler's timing.
struct RunReportOptions: ParsableArguments {
    @Flag(name: .customLong("allow-destructive"), help: "Allow writing to a block device that is mounted or holds a filesystem or partition table.")
    var allowDestructive = false

    @Option(name: .customLong("output-format"), help: "normal, terse, json or json+ (json with clat_ns.bins), or a comma list (normal,json), as fio's.")
    var outputFormat: String = "normal"

    @Flag(help: "fio's terse output (version 3, one ';'-separated line per job), alone unless --output-format names others too.")
    var minimal = false

    @Option(help: "The progress line: auto (on a terminal), always or never.")
    var eta: String = "auto"

    @Option(name: .customLong("eta-newline"), help: "End the progress line with a newline every TIME (e.g. 5s), as fio's --eta-newline.")
    var etaNewline: String?

    @Option(name: .customLong("status-interval"), help: "Print the full report of the statistics so far every TIME (e.g. 1s), as fio's --status-interval; in every --output-format, to stdout or --output.")
    var statusInterval: String?

    @Option(help: "Write the report to this file instead of stdout.")
    var output: String?

    @Option(name: .customLong("write-iolog"), help: "Record every issued I/O with its latency, result and depth to this trace (.fiot; fio iolog v3 for .iolog/.log; .csv). Written as the run goes: killed, it keeps every I/O up to about a second before the kill.")
    var writeIolog: String?

    @Option(name: .customLong("write-iolog-format"), help: "Format of --write-iolog: \(TraceFormat.writableNames) (default: from the extension, else fiot).")
    var writeIologFormat: String?

    @Option(name: .customLong("spin-us"), parsing: .unconditional, help: "Spin (instead of sleeping) for this many microseconds before each due time.")
    var spinUs: Double = 40

    @Option(name: .customLong("max-spin-us"), parsing: .unconditional, help: "Upper bound of the adaptive spin window (microseconds) used when wake-ups come late.")
    var maxSpinUs: Double = 200

    @Option(name: .customLong("rt-priority"), parsing: .unconditional, help: "Scheduler thread policy: a priority 1-99 runs it SCHED_FIFO (needs root) so other threads cannot delay issues; auto (default) does so at priority 10 for timed replays when allowed and a CPU stays free for the kernel's I/O workers; off never.")
    var rtPriorityText: String = "auto"

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    @Option(name: .customLong("write-timeseries"), help: "Write per-interval figures (per op: I/Os, bytes, IOPS, bandwidth, latency min/p50/p90/p99/max; per interval: depth and issue lateness) to this CSV file (written as NAME.partial, renamed when the run ends).")
    var writeTimeseries: String?

    @Option(name: .customLong("timeseries-interval"), help: "Interval of --write-timeseries (e.g. 1s, 100ms; at least 1ms).")
    var timeseriesInterval: String = "1s"

    func check() throws {
        try checkOutputModes()
        _ = try rtPriority()
        // Microseconds, at most 10 s (they become ns in a UInt64).
        guard (0...10_000_000).contains(spinUs) else { throw ValidationError("--spin-us must be 0...10000000") }
        guard (0...10_000_000).contains(maxSpinUs) else { throw ValidationError("--max-spin-us must be 0...10000000") }
        _ = try recordingFormat()
        if try timeseriesIntervalNs() < 1_000_000 { throw ValidationError("--timeseries-interval must be at least 1ms") }
    }

    /// The --write-iolog-format choice, nil when not given.
    func recordingFormat() throws -> TraceFormat? {
        guard let f = writeIologFormat else { return nil }
        guard let t = TraceFormat(userName: f), t.isWritable else {
            throw ValidationError("--write-iolog-format \(f): expected \(TraceFormat.writableNames)")
        }
        return t
    }

    /// The --rt-priority choice: an explicit priority, nil for auto or off (`autoRealtime`).
    func rtPriority() throws -> Int32? {
        switch rtPriorityText {
        case "auto", "off": return nil
        default:
            guard let p = Int32(rtPriorityText), (1...99).contains(p) else {
                throw ValidationError("--rt-priority wants auto, off or a priority 1...99, got \"\(rtPriorityText)\"")
            }
            return p
        }
    }

    /// Whether timed streams may run SCHED_FIFO on their own (`--rt-priority auto`), given
    /// how many run at once: one CPU must stay free for the kernel's I/O workers.
    func autoRealtime(streams: Int) -> Bool {
        rtPriorityText == "auto" && streams < Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// The --timeseries-interval in ns.
    func timeseriesIntervalNs() throws -> UInt64 { try parseDuration(timeseriesInterval) }

    /// The --write-timeseries writer, nil without the option. Exits 1 when the file cannot
    /// be created.
    /// It is written as `NAME.partial` until `finishTimeSeries` (see `inProgressName`).
    func openTimeSeries() throws -> TimeSeriesWriter? {
        guard let path = writeTimeseries else { return nil }
        return try reportingErrors { try TimeSeriesWriter(path: inProgressName(path)) }
    }

    /// Writes the rest of the time series and gives it its name; a failure is reported
    /// (exit 1) after the report.
    func finishTimeSeries(_ writer: TimeSeriesWriter?) throws {
        guard let writer, let path = writeTimeseries else { return }
        do {
            try writer.finish()
            try finishOutput(path)
        } catch {
            warn("fio-replay: error: writing \(writer.path): \(error)")
            throw ExitCode(1)
        }
    }

    /// The files these options write (for `refuseOverlappingFiles`): the recording (`--write-iolog`
    /// or a job's write_iolog=), the time series, the report and the verify state.
    func outputFiles(recording: String?, verifyState: String?) -> [NamedFile] {
        var out: [NamedFile] = []
        if let recording { out.append(NamedFile(role: "--write-iolog", path: recording)) }
        if let writeTimeseries { out.append(NamedFile(role: "--write-timeseries", path: writeTimeseries)) }
        if let output { out.append(NamedFile(role: "--output", path: output)) }
        if let verifyState { out.append(NamedFile(role: "--verify-state", path: verifyState)) }
        return out
    }

    /// Writes the report to --output (whole or not at all: through a temporary name), else
    /// stdout.
    func writeReport(_ text: String) throws {
        if let output, statusReportsWrittenTo == output {
            // --status-interval reports are in the file already: the final one follows them.
            writeStatus(text)
            return
        }
        if let output {
            do {
                try writeAtomically(output) { path in
                    let out = try TraceOutput(path: path)
                    try out.write(text)
                    try out.flush()
                }
            } catch {
                warn("fio-replay: error: cannot write report to \(output): \(error)")
                throw ExitCode(1)
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

extension RunReportOptions {
    /// The --write-iolog recorder, nil without the option (shared by streams when
    /// `concurrent`). Exits 1 with a message when the file cannot be created.
    /// The recording is written under its own name as the run goes (see `writeAtomically`
    /// for why): killed, the run leaves it there, readable.
    func openRecorder(path: String?, concurrent: Bool) throws -> ReplayRecorder? {
        guard let path else { return nil }
        let format = try recordingFormat()
        return try reportingErrors { ReplayRecorder(sink: try openTraceSink(path: path, format: format), concurrent: concurrent) }
    }

    /// Writes what is left of the recording and its metadata.
    func finishRecorder(_ recorder: ReplayRecorder?, path: String?, metadata: RecordingMetadata) throws {
        guard let recorder else { return }
        do {
            try recorder.finish(metadata: metadata.dictionary)
        } catch {
            warn("fio-replay: error: writing \(path ?? ""): \(error)")
            throw ExitCode(1)
        }
    }

    /// Prints the jobs' report (fio's normal or JSON shape), then each job's error; returns
    /// the exit status: 130 when interrupted, 1 after an error, else 0.
    func report(_ jobs: [JobReport], label: String, extras: ReportExtras = ReportExtras()) throws -> Int32 {
        try writeReport(try renderReport(jobs, label: label, extras: extras))
        var failed = false
        for j in jobs {
            if let e = j.result.error {
                warn("fio-replay: error: " + (jobs.count > 1 ? "\(j.name): " : "") + describe(e))
                failed = true
            }
        }
        if jobs.contains(where: \.result.interrupted) {
            warn("fio-replay: interrupted; in-flight I/O drained, stats above cover what was issued")
            return 130
        }
        return failed ? 1 : 0
    }
}
