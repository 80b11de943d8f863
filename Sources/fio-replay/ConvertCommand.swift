import ArgumentParser
import FioTrace
import Foundation

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a trace between formats (any readable to any writable), optionally sliced by time, op or file.")

    @Argument(help: "Input trace (- for stdin).")
    var input: String

    @Argument(help: "Output trace (- for stdout).")
    var output: String

    @Option(name: .customLong("from"), help: "Input format (\(TraceFormat.allNames)); detected when omitted.")
    var fromFormat: String?

    @Option(name: .customLong("to"), help: "Output format (\(TraceFormat.writableNames)); from the output name when omitted, else fiot.")
    var toFormat: String?

    @Option(name: .customLong("start"), parsing: .unconditional, help: "Keep records at or after this time (e.g. 1.5s, 200ms).")
    var start: String?

    @Option(name: .customLong("end"), parsing: .unconditional, help: "Keep records before this time.")
    var end: String?

    @Option(name: .customLong("op"), help: "Keep only these ops (comma-separated: read,write,trim,sync,...).")
    var ops: String?

    @Option(name: .customLong("file"), help: "Keep only records on this file (path or table index); repeatable.")
    var files: [String] = []

    @Option(name: .customLong("block-records"), parsing: .unconditional, help: "Records per block of a .fiot output (1...4194304).")
    var blockRecords: Int = 65536

    @Option(name: .customLong("level"), parsing: .unconditional, help: "zstd level of a .fiot output's blocks (-131072...22; negative levels are faster).")
    var level: Int32 = 3

    @OptionGroup var inputOptions: TraceInputOptions

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    func run() throws {
        guard (1...(1 << 22)).contains(blockRecords) else { throw ValidationError("--block-records must be 1...4194304") }
        guard (-131_072...22).contains(level) else { throw ValidationError("--level must be -131072...22 (zstd's levels)") }
        // An output name whose extension names no format would silently become .fiot.
        let base = output.split(separator: "/").last.map(String.init) ?? output
        if toFormat == nil, output != "-", let dot = base.lastIndex(of: "."), dot != base.startIndex,
           TraceFormat.guess(fromName: output) == nil {
            throw ValidationError("\(output): the extension \(base[dot...]) names no trace format; give --to (\(TraceFormat.writableNames)) or a name ending in .fiot, .iolog or .csv")
        }
        try refuseOverlappingFiles(outputs: [NamedFile(role: "the output", path: output)],
                                   inputs: [NamedFile(role: "the input", path: input)])
        try reportingErrors(formatOption: "--from") {
            var source = try openTraceSource(path: input, options: inputOptions.openOptions(format: fromFormat))
            source = ProgressSource.wrap(source, label: "convert", quiet: noProgress) // a line on a terminal only
            let filter = try makeFilter(start: start, end: end, ops: ops, files: files)
            var outFormat: TraceFormat? = nil
            if let t = toFormat {
                guard let f = TraceFormat(userName: t), f.isWritable else {
                    throw TraceError(.unsupported, "cannot write format \"\(t)\" (writable: \(TraceFormat.writableNames))")
                }
                outFormat = f
            }
            let format = outFormat ?? TraceFormat.guess(fromName: output) ?? .fiot
            guard format.isWritable else {
                throw TraceError(.unsupported, "cannot write \(format.rawValue); use --to \(TraceFormat.writableNames)")
            }
            var meta = source.metadata
            meta[MetadataKey.convertedFrom] = input
            func convert(to path: String) throws -> any TraceSink {
                let sink: any TraceSink
                if format == .fiot {
                    sink = try FiotWriter(path: path, metadata: meta,
                                          options: .init(blockRecords: blockRecords, level: level))
                } else {
                    sink = try openTraceSink(path: path, format: format)
                }
                try pump(&source, into: sink, filter: filter, salvage: inputOptions.skipBadBlocks)
                return sink
            }
            let sink: any TraceSink
            if input == "-" || !isRegularFile(input) {
                // A stream (a pipe, stdin) may never end: it is converted under the output's
                // own name, like a recording, so a kill keeps every complete block; a failure
                // removes it.
                do { sink = try convert(to: output) } catch {
                    if output != "-" && isRegularFile(output) { unlink(output) }
                    throw error
                }
            } else {
                // Whole or not at all: a failed conversion leaves no partial file that looks
                // complete, and an existing output stays as it was.
                sink = try writeAtomically(output) { try convert(to: $0) }
            }
            if sink.skippedNamespaceRecords > 0 {
                warn("fio-replay: warning: \(sink.skippedNamespaceRecords) create/rename/unlink records left out: \(output) is in a format that cannot hold them (a .fiot can)")
            }
            if let w = sink as? IologWriter {
                if w.droppedFields > 0 {
                    warn("fio-replay: note: \(w.droppedFields) records carried latency/result/depth/stream/flags, which a fio iolog cannot hold")
                }
                if w.nonFioRecords > 0 {
                    warn("fio-replay: note: \(w.nonFioRecords) fallocate/truncate records written; fio's own iolog parser does not read them")
                }
            }
        }
    }
}
