import ArgumentParser
import FioTrace
#if canImport(Glibc)
import Glibc
#endif

@main
struct FioGenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fio-gen",
        abstract: "Generate a synthetic I/O trace from fio's workload vocabulary.",
        discussion: """
        Give a fio job file, or fio's options as flags (fio's names, with '_' or '-'):

          fio-gen job.fio -o out.fiot
          fio-gen --rw randrw --bs 4k --size 1g --number_ios 100000 -o out.fiot

        As on fio's command line, each --name starts a job and the options before the first --name apply to all jobs. Flags given with a job file override it. An option fio-gen does not model is an error naming it (and its line), never ignored.

        Output: .fiot by default; fio iolog v3 for .iolog/.log, v2 for .v2/.iolog2, or --format.

        Timing: rate-limited directions (rate, rate_iops, rate_process) follow their schedule. Unthrottled jobs use the service-time model: a closed loop at the job's iodepth in which every data I/O takes --service-time (default 100us) plus length / --service-bw when given; a sync waits for the I/O in flight; thinktime waits, then thinks. --no-timing stamps every record at 0. The metadata records the job, seed, timing model and version.
        """,
        version: "fio-gen-\(fioTraceVersion)")

    /// Errors are one line, `fio-gen: error: ...`, never ArgumentParser's usage block;
    /// --help and --version print as usual.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            var message = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            if message.hasPrefix("Error: ") { message.removeFirst(7) }
            printError("fio-gen: error: \(message) (fio-gen --help lists the options)\n")
            Glibc.exit(exitCode(for: error).rawValue)
        }
    }

    @Option(name: .shortAndLong, help: "Output trace ('-' for stdout).")
    var output: String?

    @Flag(help: "Generate the records but write nothing (measures the generator alone).")
    var discard = false

    @Option(help: "Output format: \(TraceFormat.writableNames) (default: from the extension, else fiot).")
    var format: String?

    @Option(parsing: .unconditional, help: "Seed every random stream, offsets included, from N (as fio's randseed=N randrepeat=0); default fio's own seeds (randseed, randrepeat).")
    var seed: UInt64?

    @Option(name: .customLong("service-time"), parsing: .unconditional, help: "Per-I/O service time of the timing model (e.g. 100us, 2ms; a bare number is seconds).")
    var serviceTime: String = "100us"

    @Option(name: .customLong("service-bw"), parsing: .unconditional, help: "Transfer rate of the timing model in bytes/s (e.g. 2g, fio's suffixes); adds length / rate per I/O.", transform: parseSize)
    var serviceBW: UInt64?

    @Flag(name: .customLong("no-timing"), help: "Write every record at time 0 (no timing model).")
    var noTiming = false

    @Flag(name: .shortAndLong, help: "Print nothing on success.")
    var quiet = false

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr (shown only on a terminal, after a second).")
    var noProgress = false

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("JOBFILE and/or fio options (--rw=randread ...).", valueName: "job-or-options"))
    var rest: [String] = []

    /// The `.fiot` identity of a generated trace: derived from the job and seed (its
    /// metadata), so the same input gives a byte-identical file.
    static func fileID(_ metadata: [String: String]) -> UInt64 {
        FiotLayout.fileID(derivedFrom: "fio-gen\n" + metadata.keys.sorted().map { "\($0)=\(metadata[$0]!)" }.joined(separator: "\n"))
    }

    func run() throws {
        do {
            try generate()
        } catch let e as TraceError {
            // A bad job or an I/O failure: one line naming the file and line, no usage text.
            printError("fio-gen: error: \(e.description)\(e.remedy == .serviceTime ? " (--service-time)" : "")\n")
            throw ExitCode.failure
        }
    }

    func generate() throws {
        let (jobFiles, options) = try parseFioArguments(rest)
        guard jobFiles.count <= 1 else { throw ValidationError("give one job file (got \(jobFiles.joined(separator: ", ")))") }
        let jobs: [JobSpec]
        let jobText: String
        if let path = jobFiles.first {
            jobs = try parseJobFile(path: path, extraOptions: options)
            jobText = try readJobFileText(path: path) + (options.isEmpty ? "" : "\n# command line overrides: " + options.map(\.description).joined(separator: " ") + "\n")
        } else {
            guard !options.isEmpty else { throw ValidationError("give a job file or fio options (e.g. --rw=randread --bs=4k --size=1g)") }
            jobs = try parseJobOptions(options)
            jobText = jobFileText(options: options)
        }
        if let why = jobs.lazy.compactMap(\.notGeneratable).first { throw TraceError(.unsupported, why) }
        let timing: GeneratorOptions.Timing
        if noTiming {
            timing = .none
        } else {
            if serviceBW == 0 { throw ValidationError("--service-bw must be above 0 bytes/s") }
            timing = .serviceModel(serviceTime: try parseDuration(serviceTime), bytesPerSecond: serviceBW)
        }
        var fmt: TraceFormat?
        if let f = format {
            guard let t = TraceFormat(userName: f), t.isWritable else {
                throw ValidationError("--format \(f): expected \(TraceFormat.writableNames)")
            }
            fmt = t
        }
        let gen = try WorkloadGenerator(jobs: jobs, options: GeneratorOptions(seed: seed, timing: timing, jobText: jobText))
        var t0 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        guard discard || output != nil else { throw ValidationError("give the output trace with -o PATH") }
        let output = discard ? "(discarded)" : output!
        let sink: any TraceSink = discard ? DiscardSink() : try openTraceSink(path: output, format: fmt, files: gen.files, metadata: gen.metadata,
                                                                            fileID: Self.fileID(gen.metadata))
        let jobCount = gen.jobs.count, fileCount = gen.files.count, seedUsed = gen.seed
        // The generator runs one stage ahead on its own thread while this one encodes,
        // compresses and writes: on 2 cores the two halves overlap. --discard measures the
        // generator alone, on this thread.
        let n: UInt64
        if discard {
            var g = gen
            let buffer = UnsafeMutableBufferPointer<TraceRecord>.allocate(capacity: Self.batchSize)
            buffer.initialize(repeating: TraceRecord(time: 0, op: .read, file: 0))
            defer { buffer.deallocate() }
            n = try writeAll(to: sink, next: {
                let k = g.nextRecords(into: buffer)
                return k > 0 ? UnsafeBufferPointer(rebasing: buffer[0..<k]) : nil
            }, metadata: { g.metadata })
        } else {
            let ahead = try GenerateAhead(gen, batchRecords: Self.batchSize)
            n = try writeAll(to: sink, next: { ahead.next() }, metadata: { ahead.metadata })
        }
        var t1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t1)
        if !quiet && output != "-" {
            let secs = Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) / 1e9
            let rate = secs > 0 ? Double(n) / secs / 1e6 : 0
            var line = "fio-gen: \(n) records, \(jobCount) job\(jobCount == 1 ? "" : "s"), \(fileCount) file\(fileCount == 1 ? "" : "s"), seed \(seedUsed) -> \(output)"
            line += " (\(String(format1(secs))) s, \(format1(rate)) M records/s)\n"
            printError(line)
        }
    }

    /// Records per batch: one whole .fiot block, so the writer encodes it in place instead
    /// of copying it into its own buffer (measured faster than cache-sized 4096 batches).
    static let batchSize = 65536

    /// Writes every batch `next` hands out to `sink`, then finishes it with `metadata()`
    /// and the record count. Returns the records written.
    func writeAll(to sink: any TraceSink, next: () throws -> UnsafeBufferPointer<TraceRecord>?,
                  metadata: () -> [String: String]) throws -> UInt64 {
        var n: UInt64 = 0
        let progress = ProgressMeter.onTerminal(label: "fio-gen", quiet: quiet || noProgress)
        defer { progress.finish() }
        while let batch = try next() {
            try sink.write(batch)
            n += UInt64(batch.count)
            progress.add(batch.count)
        }
        progress.finish()
        var md = metadata()
        md[MetadataKey.genRecords] = String(n)
        try sink.finish(metadata: md)
        return n
    }
}

/// A sink that drops everything (--discard).
final class DiscardSink: TraceSink {
    func define(file: TraceFile) throws {}
    func write(_ records: UnsafeBufferPointer<TraceRecord>) throws {}
    func finish(metadata: [String: String]) throws {}
}

private func printError(_ s: String) {
    var s = s
    s.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
}

private func format1(_ x: Double) -> String {
    let v = (x * 10).rounded() / 10
    return String(v)
}

/// A duration with fio's units (`100us`, `2ms`); a bare number is seconds, as on fio-replay's
/// command line. Returns ns.
private func parseDuration(_ text: String) throws -> UInt64 {
    guard let v = FioValue.time(text, defaultUnit: FioValue.seconds) else {
        throw ValidationError("\"\(text)\" is not a duration (examples: \(FioValue.durationExamples))")
    }
    return v
}

/// A size or rate with fio's suffixes (`2g`). Returns bytes.
private func parseSize(_ text: String) throws -> UInt64 {
    guard let v = FioValue.size(text) else {
        throw ValidationError("\"\(text)\" is not a size (examples: \(FioValue.sizeExamples))")
    }
    return v
}
