import ArgumentParser
import FioReplay
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Prints one line to stderr.
func warn(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { p in _ = Glibc.write(2, p.baseAddress, p.count) }
}

/// Runs `body`; a TraceError or ReplayError becomes one line on stderr and exit status 1.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as TraceError {
        warn("fio-replay: error: \(e.message)")
        throw ExitCode(1)
    } catch let e as ReplayError {
        warn("fio-replay: error: \(e.message)")
        throw ExitCode(1)
    }
}

/// Options every command that reads a trace shares.
struct TraceInputOptions: ParsableArguments {
    @Option(name: .customLong("format"), help: ArgumentHelp("Input format (\(TraceFormat.allCases.map(\.rawValue).joined(separator: ", "))); detected from content when omitted."))
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
                throw ValidationError("unknown format \"\(name)\" (known: \(TraceFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            o.format = f
        }
        return o
    }
}

/// Parses a duration: `1.5s`, `200ms`, `300us`, `1000ns`, `2m`; a bare number is seconds. Returns ns.
func parseDuration(_ text: String) throws -> UInt64 {
    let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
    var number = Substring(text)
    var scale = 1e9
    for (u, s) in units where text.hasSuffix(u) {
        number = text.dropLast(u.count)
        scale = s
        break
    }
    guard let v = Double(number), v >= 0, v.isFinite else {
        throw ValidationError("\"\(text)\" is not a duration (examples: 1.5s, 200ms, 300us, 1000ns)")
    }
    return UInt64((v * scale).rounded())
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
    if let r = source as? FiotReader {
        for e in r.skipped { warn("fio-replay: warning: skipped \(e.message)") }
    }
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

/// Reads `source` on a second thread while `body` consumes batches on this one, so that
/// decoding and whatever `body` computes overlap (two cores: `info` decodes at the
/// decoder's rate instead of the sum of both). At most `depth` batches wait between the
/// threads: memory is bounded by `depth + 2` batches. Errors reach the caller after every
/// batch read before them; a truncated trace with `salvage` is a warning, as in `drain`.
func drainPipelined(_ source: inout any TraceSource, salvage: Bool, batchSize: Int = 65536, depth: Int = 2,
                    _ body: (UnsafeBufferPointer<TraceRecord>) throws -> Void) throws {
    final class Channel: @unchecked Sendable {
        let cond = NSCondition()
        var full: [[TraceRecord]] = []
        var empty: [[TraceRecord]] = []
        var finished = false
        var error: Error?
        var cancelled = false
    }
    final class SourceBox: @unchecked Sendable {
        var source: any TraceSource
        init(_ s: any TraceSource) { source = s }
    }
    let ch = Channel()
    let box = SourceBox(source)
    for _ in 0..<depth { var b: [TraceRecord] = []; b.reserveCapacity(batchSize); ch.empty.append(b) }
    let producer = Thread {
        var batch: [TraceRecord] = []
        batch.reserveCapacity(batchSize)
        do {
            while true {
                guard try box.source.nextBatch(&batch, maxCount: batchSize) else { break }
                ch.cond.lock()
                while ch.empty.isEmpty && !ch.cancelled { ch.cond.wait() }
                if ch.cancelled { ch.cond.unlock(); return }
                var next = ch.empty.removeLast()
                swap(&next, &batch) // hand the filled array over, keep a recycled one
                ch.full.append(next)
                ch.cond.broadcast()
                ch.cond.unlock()
            }
        } catch {
            ch.cond.lock()
            ch.error = error
            ch.cond.unlock()
        }
        ch.cond.lock()
        ch.finished = true
        ch.cond.broadcast()
        ch.cond.unlock()
    }
    producer.stackSize = 1 << 20
    producer.start()
    defer {
        ch.cond.lock()
        ch.cancelled = true
        ch.cond.broadcast()
        while !ch.finished { ch.cond.wait() }
        ch.cond.unlock()
        source = box.source
    }
    while true {
        ch.cond.lock()
        while ch.full.isEmpty && !ch.finished { ch.cond.wait() }
        if ch.full.isEmpty {
            let e = ch.error
            ch.cond.unlock()
            if let e {
                if let te = e as? TraceError, te.kind == .truncated, salvage {
                    warn("fio-replay: warning: \(te.message)")
                } else {
                    throw e
                }
            }
            break
        }
        var batch = ch.full.removeFirst()
        ch.cond.unlock()
        try batch.withUnsafeBufferPointer { try body($0) }
        batch.removeAll(keepingCapacity: true)
        ch.cond.lock()
        ch.empty.append(batch)
        ch.cond.broadcast()
        ch.cond.unlock()
    }
    reportSkipped(box.source)
}

/// Options `replay` and `run` share: the report, the recording and the scheduler's timing.
struct RunReportOptions: ParsableArguments {
    @Flag(name: .customLong("allow-destructive"), help: "Allow writing to a block device that is mounted or holds a filesystem or partition table.")
    var allowDestructive = false

    @Option(name: .customLong("output-format"), help: "normal, json or json+ (json with clat_ns.bins).")
    var outputFormat: String = "normal"

    @Option(help: "Write the report to this file instead of stdout.")
    var output: String?

    @Option(name: .customLong("write-iolog"), help: "Record every issued I/O with its latency, result and depth to this trace (.fiot; fio iolog v3 for .iolog/.log; .csv).")
    var writeIolog: String?

    @Option(name: .customLong("write-iolog-format"), help: "Format of --write-iolog: fiot, iolog3, iolog2 or csv (default: from the extension, else fiot).")
    var writeIologFormat: String?

    @Option(name: .customLong("spin-us"), help: "Spin (instead of sleeping) for this many microseconds before each due time.")
    var spinUs: Double = 40

    @Option(name: .customLong("max-spin-us"), help: "Upper bound of the adaptive spin window (microseconds) used when wake-ups come late.")
    var maxSpinUs: Double = 200

    @Option(name: .customLong("rt-priority"), help: "Run the scheduler SCHED_FIFO at this priority (1-99; needs root) so other processes cannot delay issues. With io_uring on files whose I/O the kernel hands to its worker threads (tmpfs, buffered), it keeps them off its CPU and lateness gets worse.")
    var rtPriority: Int32?

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    func check() throws {
        guard ["normal", "json", "json+"].contains(outputFormat) else {
            throw ValidationError("unknown output format \"\(outputFormat)\" (known: normal, json, json+)")
        }
        if let p = rtPriority, !(1...99).contains(p) { throw ValidationError("--rt-priority must be 1...99") }
        _ = try recordingFormat()
    }

    /// The --write-iolog-format choice, nil when not given.
    func recordingFormat() throws -> TraceFormat? {
        guard let f = writeIologFormat else { return nil }
        guard let t = TraceFormat(userName: f), t.isWritable else {
            throw ValidationError("--write-iolog-format \(f): expected fiot, iolog3, iolog2 or csv")
        }
        return t
    }

    /// Writes the report to --output, else stdout.
    func writeReport(_ text: String) throws {
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                warn("fio-replay: error: cannot write report to \(output)")
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
    func openRecorder(path: String?, concurrent: Bool) throws -> ReplayRecorder? {
        guard let path else { return nil }
        let format = try recordingFormat()
        return try reportingErrors { ReplayRecorder(sink: try openTraceSink(path: path, format: format), concurrent: concurrent) }
    }

    /// Writes what is left of the recording and its metadata (host and time unit added).
    func finishRecorder(_ recorder: ReplayRecorder?, path: String?, metadata: [String: String]) throws {
        guard let recorder else { return }
        var meta = metadata
        meta["host"] = ProcessInfo.processInfo.hostName
        meta["time.unit"] = "ns"
        meta["tool.version"] = "fio-replay \(fioGenVersion)"
        do {
            try recorder.finish(metadata: meta)
        } catch {
            warn("fio-replay: error: writing \(path ?? ""): \(error)")
            throw ExitCode(1)
        }
    }

    /// Prints the jobs' report (fio's normal or JSON shape), then each job's error; returns
    /// the exit status: 130 when interrupted, 1 after an error, else 0.
    func report(_ jobs: [JobReport], label: String) throws -> Int32 {
        let text: String
        switch outputFormat {
        case "json", "json+": text = FioJSONReport(plus: outputFormat == "json+").render(jobs)
        default: text = TextReport().render(jobs, label: label)
        }
        try writeReport(text)
        var failed = false
        for j in jobs {
            if let e = j.result.error {
                warn("fio-replay: error: " + (jobs.count > 1 ? "\(j.name): " : "") + e.message)
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
