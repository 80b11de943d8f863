import ArgumentParser
import FioTrace
import Foundation

struct AnonymizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anonymize",
        abstract: "Write a copy of a trace that keeps the workload and hides names, offsets and metadata (keyed, irreversible).",
        discussion: """
        File names become keyed hashes (the same name maps the same way under the same key, in \
        every trace); each file's extents are shuffled by a keyed permutation, keeping offsets \
        inside an extent, so the same block maps to the same block and sequential runs stay \
        sequential (except across extent boundaries, counted in the output's metadata); streams \
        are renumbered; metadata is dropped except the time unit and depths. Optional: time \
        jitter, and sampling by extent or by stream. The output's metadata (anonymize.*) says \
        what was kept and what was destroyed. Reads the trace twice (it must be a file).
        """)

    @Argument(help: "Trace to anonymize (a file: it is read twice).")
    var trace: String

    @Option(name: .shortAndLong, help: "Output trace (.fiot; fio iolog v3 for .iolog/.log; .csv).")
    var output: String

    @Option(help: "Secret key (visible to other users in ps and in shell history: prefer --key-file).")
    var key: String?

    @Option(name: .customLong("key-file"), help: "File whose bytes are the secret key (e.g. head -c 32 /dev/urandom > key).")
    var keyFile: String?

    @Option(help: "Extent size (power of two, e.g. 1m); default: the larger of 1m and 64 x the largest I/O.")
    var extent: String?

    @Option(help: "Move each record's time by a keyed uniform amount up to +- this (e.g. 50us).")
    var jitter: String?

    @Option(help: "Keep this share of the trace, e.g. 10% or 0.1 (by extent or by stream, see --sample-by).")
    var sample: String?

    @Option(name: .customLong("sample-by"), help: "block (whole extents) or stream.")
    var sampleBy: String = "block"

    @Option(name: .customLong("to"), help: "Output format: fiot, iolog3, iolog2 or csv (default: from the extension, else fiot).")
    var outputFormat: String?

    @Flag(name: .shortAndLong, help: "Print nothing on success.")
    var quiet = false

    @OptionGroup var input: TraceInputOptions

    func validate() throws {
        if (key == nil) == (keyFile == nil) { throw ValidationError("give the secret with --key-file PATH (or --key TEXT), exactly one of them") }
        if let k = key, k.isEmpty { throw ValidationError("--key is empty") }
        guard AnonymizeOptions.SampleUnit(rawValue: sampleBy) != nil else { throw ValidationError("--sample-by \(sampleBy): expected block or stream") }
        if trace == "-" { throw ValidationError("anonymize reads the trace twice: give a file, not stdin") }
    }

    func run() throws {
        var options = AnonymizeOptions(key: try keyBytes())
        if let e = extent {
            guard let v = FioValue.size(e), v >= 512, v & (v - 1) == 0 else {
                throw ValidationError("--extent \(e): expected a power of two of at least 512 bytes (e.g. 1m)")
            }
            options.extent = v
        }
        if let j = jitter { options.jitter = try parseDuration(j) }
        if let s = sample {
            let t = s.trimmingCharacters(in: " ")
            let v = t.hasSuffix("%") ? Double(t.dropLast()).map { $0 / 100 } : Double(t)
            guard let v, v > 0, v <= 1 else { throw ValidationError("--sample \(s): expected a share in (0, 1] or a percentage like 10%") }
            options.sample = v
        }
        options.sampleUnit = AnonymizeOptions.SampleUnit(rawValue: sampleBy)!
        var format: TraceFormat?
        if let f = outputFormat {
            guard let t = TraceFormat(userName: f), t.isWritable else { throw ValidationError("--to \(f): expected fiot, iolog3, iolog2 or csv") }
            format = t
        }
        if URL(fileURLWithPath: output).standardizedFileURL.path == URL(fileURLWithPath: trace).standardizedFileURL.path {
            throw ValidationError("the output would overwrite the input trace")
        }
        try reportingErrors {
            // Pass 1: sizes, the largest I/O, the streams.
            var first = try openTraceSource(path: trace, options: input.openOptions())
            var scan = AnonymizeScan()
            try drain(&first, salvage: input.skipBadBlocks) { batch, _ in scan.add(batch) }
            if options.sampleUnit == .stream && options.sample < 1 && scan.streamOrder.isEmpty {
                throw TraceError(.unsupported, "\(trace): --sample-by stream: the trace's records carry no stream ids (use --sample-by block)")
            }
            let inFiles = first.files
            var anon = try Anonymizer(options: options, files: inFiles, scan: scan)
            // Pass 2: map and write.
            var source = try openTraceSource(path: trace, options: input.openOptions())
            // The same trace and key give the same bytes: the identity derives from the
            // (keyed) names rather than being drawn at random.
            let sink = try openTraceSink(path: output, format: format, files: anon.files,
                                         fileID: FiotLayout.fileID(derivedFrom: "anonymize\n" + anon.files.map(\.path).joined(separator: "\n")))
            var out: [TraceRecord] = []
            var failure: Error?
            do {
                try drain(&source, salvage: input.skipBadBlocks) { batch, _ in
                    anon.map(batch, into: &out)
                    try out.withUnsafeBufferPointer { try sink.write($0) }
                }
            } catch {
                failure = error
            }
            try sink.finish(metadata: anon.metadata(from: source.metadata))
            if let failure { throw failure }
            if !quiet {
                warn("fio-replay: anonymize: \(anon.kept) records -> \(output) (\(anon.dropped) sampled out; extent \(anon.extent) bytes; \(anon.crossing) I/Os cross an extent boundary; \(anon.brokenRuns) of \(anon.sequentialRuns) sequential continuations broken)")
            }
        }
    }

    func keyBytes() throws -> [UInt8] {
        if let k = key { return Array(k.utf8) }
        guard let data = FileManager.default.contents(atPath: keyFile!) else {
            throw ValidationError("--key-file \(keyFile!): cannot read it")
        }
        guard !data.isEmpty else { throw ValidationError("--key-file \(keyFile!): the file is empty") }
        if data.count < 16 { warn("fio-replay: warning: the key has \(data.count) bytes; 16 or more random bytes resist guessing") }
        return Array(data)
    }
}
