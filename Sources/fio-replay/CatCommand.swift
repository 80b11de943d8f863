import ArgumentParser
import FioTrace
#if canImport(Glibc)
import Glibc
#endif

struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Print a trace as text (fio v3 iolog lines by default), with filters.")

    @Argument(help: "Trace file (- for stdin).")
    var trace: String

    @Option(name: [.customLong("from"), .customLong("start")], parsing: .unconditional, help: "Keep records at or after this time (e.g. 1.5s, 200ms, 300us).")
    var start: String?

    @Option(name: [.customLong("to"), .customLong("end")], parsing: .unconditional, help: "Keep records before this time.")
    var end: String?

    @Option(name: .customLong("op"), help: "Keep only these ops (comma-separated: read,write,trim,sync,...).")
    var ops: String?

    @Option(name: .customLong("file"), help: "Keep only records on this file (path or table index); repeatable.")
    var files: [String] = []

    @Option(name: .customLong("as"), help: "Output: iolog3 (default), iolog2, csv, or records (every field, tab-separated).")
    var outputFormat: String = "iolog3"

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr (shown only when stderr is a terminal and stdout is not).")
    var noProgress = false

    @OptionGroup var input: TraceInputOptions

    func run() throws {
        try reportingErrors {
            var source = try openTraceSource(path: trace, options: input.openOptions())
            // Output to the terminal is its own progress; a line over it would garble it.
            source = ProgressSource.wrap(source, label: "cat", quiet: noProgress || isatty(1) == 1)
            let filter = try makeFilter(start: start, end: end, ops: ops, files: files)
            let out = try TraceOutput(path: "-")
            let sink: any TraceSink
            switch outputFormat {
            case "iolog3", "v3": sink = try IologWriter(output: out, version: 3)
            case "iolog2", "v2": sink = try IologWriter(output: out, version: 2)
            case "records": sink = RecordDumpWriter(out: out)
            case "csv": sink = try CSVTraceWriter(output: out)
            default: throw ValidationError("unknown --as \"\(outputFormat)\" (iolog3, iolog2, csv, records)")
            }
            try pump(&source, into: sink, filter: filter, salvage: input.skipBadBlocks, metadata: [:])
        }
    }
}

/// Every field of every record, one line each:
/// `time_ns file op offset length latency_ns result depth stream flags` (`-` when absent).
final class RecordDumpWriter: TraceSink {
    let out: TraceOutput
    var names: [String] = []
    init(out: TraceOutput) {
        self.out = out
        out.append("# time_ns\tfile\top\toffset\tlength\tlatency_ns\tresult\tdepth\tstream\tflags\n")
    }
    func define(file: TraceFile) throws { names.append(file.path) }
    func write(_ records: UnsafeBufferPointer<TraceRecord>) throws {
        for r in records {
            out.append(decimal: r.time); out.append(0x09)
            out.append(names[Int(r.file)]); out.append(0x09)
            out.append(r.op.fioName); out.append(0x09)
            out.append(decimal: r.offset); out.append(0x09)
            out.append(decimal: r.length); out.append(0x09)
            if let l = r.latency { out.append(decimal: l) } else { out.append("-") }
            out.append(0x09)
            if let v = r.result { out.append(decimal: v) } else { out.append("-") }
            out.append(0x09)
            if let d = r.depth { out.append(decimal: UInt64(d)) } else { out.append("-") }
            out.append(0x09)
            if let s = r.stream { out.append(decimal: UInt64(s)) } else { out.append("-") }
            out.append(0x09)
            out.append(r.flags.isEmpty ? "-" : r.flags.names.joined(separator: ","))
            out.append(0x0a)
            try out.maybeFlush()
        }
    }
    func finish(metadata: [String: String]) throws { try out.flush() }
}
