import ArgumentParser
import FioTrace
import Foundation

struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Write a fio job file whose synthetic workload matches a trace as closely as fio's options allow.",
        discussion: """
        One job per file (or per stream and file when the trace's records carry streams): rw and \
        rwmixread, bs/bssplit, the offset distribution (zipf, pareto, normal or uniform, fitted to \
        the trace's hit table with fio-gen's own samplers), sequential runs (percentage_random or \
        rw=randread:N), the arrival process (rate_process=poisson, a linear rate, thinktime, or a \
        closed loop at iodepth), iodepth, fsync/fdatasync cadence, offset, size and the I/O count. \
        What fio's options cannot say is listed in a comment at the top of the file. fio-gen reads \
        the file as it is, and fio runs it as it is.
        """)

    @Argument(help: "Trace to fit.")
    var trace: String

    @Option(name: .shortAndLong, help: "Job file to write ('-' for stdout).")
    var output: String

    @Option(help: "One job per file, or per stream-file; auto: stream-file when the records carry streams.")
    var by: String = "auto"

    @Option(help: "randseed of the first job (the others count up from it).")
    var seed: UInt64 = 1

    @Option(name: .customLong("file-prefix"), help: "Data files are PREFIX.N.dat (N: the trace's file index), relative to fio's working directory.")
    var filePrefix: String = "fio-fit"

    @Flag(name: .shortAndLong, help: "Print nothing on success.")
    var quiet = false

    @OptionGroup var input: TraceInputOptions

    func validate() throws {
        guard ["auto", "file", "stream-file"].contains(by) else {
            throw ValidationError("--by \(by): expected auto, file or stream-file")
        }
        guard !filePrefix.isEmpty, !filePrefix.contains("/"), !filePrefix.contains(":"), !filePrefix.contains(" ") else {
            throw ValidationError("--file-prefix \(filePrefix): give a plain name (no '/', ':' or spaces)")
        }
    }

    func run() throws {
        try reportingErrors {
            // Grouped by (stream, file): without streams every group is (no stream, file),
            // which is the per-file grouping, so one pass serves `auto` either way.
            var source = try openTraceSource(path: trace, options: input.openOptions())
            var grouping: ProfileGrouping = by == "file" ? .file : .streamFile
            var profiles = ProfileSet(grouping: grouping, fitting: true)
            try drainPipelined(&source, salvage: input.skipBadBlocks) { batch in profiles.add(batch) }
            profiles.finish()
            if by == "auto" && profiles.whole.streams.isEmpty {
                // No streams: stream-file groups are file groups already (stream = none).
                grouping = .file
            }
            let result = try WorkloadFit.fit(profiles, files: source.files, metadata: source.metadata, traceName: trace,
                                             options: FitOptions(seed: seed, grouping: grouping, filePrefix: filePrefix))
            let text = result.jobFileText
            if output == "-" {
                FileHandle.standardOutput.write(Data(text.utf8))
            } else {
                guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                    throw TraceError(.io, "\(output): cannot write the job file")
                }
            }
            if !quiet {
                var s = "fio-replay: fit: \(result.jobs.count) job\(result.jobs.count == 1 ? "" : "s") -> \(output)\n"
                for j in result.jobs {
                    s += "  [\(j.name)] rw=\(j.rw)"
                    if let m = j.rwmixread { s += " rwmixread=\(m)" }
                    if let d = j.value("random_distribution") { s += " random_distribution=\(d)" }
                    s += " arrivals=\(j.arrival) iodepth=\(j.iodepth)"
                    if let f = j.fsync { s += " fsync=\(f)" }
                    s += "\n"
                }
                let n = result.notes.count + result.jobs.reduce(0) { $0 + $1.notExpressed.count }
                if n > 0 { s += "  \(n) thing\(n == 1 ? "" : "s") fio cannot express: see the comment at the top of the job file\n" }
                warn(String(s.dropLast()))
            }
        }
    }
}
