import ArgumentParser
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `fio-replay report INPUT... -o report.html`: one self-contained HTML file of a trace, or
/// of a trace and its replay's recording side by side, with the replay's JSON report.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML report (charts and tables) of a trace, or of a trace and its replay side by side.",
        discussion: """
        Inputs: one or two traces (any readable format) and any replay or fio JSON reports \
        (--output-format json), told apart by content. With two traces the first is the \
        original (A) and the second the replay's recording (B, from replay --write-iolog): \
        both are drawn on one time axis, and when B records a timed replay its I/Os are paired \
        with A's records for the issue lateness.

        Drawn: IOPS and bandwidth over time per op; latency p50/p99/max over time and the \
        latency distribution (traces that carry latency); queue depth over time (traces that \
        carry depth); the replay's lateness over time and its distribution; offset-over-time \
        heat maps per file; block-size and read/write mix over time; the summary `info` prints; \
        fidelity figures. Records are binned per interval (at most --max-intervals), so the \
        file stays small whatever the trace's length. The page needs no network and no \
        external script; the charts are SVG drawn by an inline script.
        """)

    @Argument(help: "One or two traces (original, then the replay's recording) and replay JSON reports.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "The HTML file to write.")
    var output: String

    @Option(help: "Interval of the time series (e.g. 10ms, 1s); it doubles while the trace needs more than --max-intervals. Default: 1ms, doubled as needed.")
    var interval: String?

    @Option(name: .customLong("max-intervals"), parsing: .unconditional, help: "Most intervals per time series (16...100000).")
    var maxIntervals: Int = 400

    @Option(help: "Title of the page (default: the inputs' names).")
    var title: String?

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    @OptionGroup var input: TraceInputOptions

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give a trace (and optionally its replay's recording and JSON report)") }
        guard (16...100_000).contains(maxIntervals) else { throw ValidationError("--max-intervals must be 16...100000") }
        if let i = interval, try parseDuration(i) == 0 { throw ValidationError("--interval must be above 0") }
    }

    func run() throws {
        let started = monotonicClockNs()
        try reportingErrors {
            var traces: [String] = []
            var reports: [ReportJSONInput] = []
            for path in inputs {
                if path != "-", access(path, F_OK) == 0, let j = try ReportJSONInput.load(path) {
                    reports.append(j)
                } else {
                    traces.append(path)
                }
            }
            guard traces.count <= 2 else {
                throw ValidationError("at most two traces (the original, then the replay's recording); got \(traces.count): \(traces.joined(separator: ", "))")
            }
            if traces.filter({ $0 == "-" }).count > 1 { throw ValidationError("only one input can be stdin") }
            let width = try interval.map(parseDuration) ?? 1_000_000
            let progress = ProgressMeter.onTerminal(label: "report", quiet: noProgress)
            if progress.enabled { progress.total = try knownTotal(traces) }
            defer { progress.finish() }
            let reader = ReportReader(options: try input.openOptions(), salvage: input.skipBadBlocks,
                                      intervalNs: width, maxIntervals: maxIntervals, progress: progress)
            var shown: [ReportTrace] = []
            var lateness: ReportLateness?
            var notes: [String] = []
            if traces.count == 2 {
                // The recording's metadata says how it was replayed (a .fiot footer's is read at open).
                let metaB = traces[1] == "-" ? [:] : try openTraceSource(path: traces[1], options: input.openOptions()).metadata
                let timing = metaB[MetadataKey.timing]
                let speed = metaB[MetadataKey.speed].flatMap(Double.init) ?? 1
                if timing == "original" {
                    let byStream = metaB[MetadataKey.streams] != nil
                    let (a, b, m) = try reader.pair(traces[0], traces[1], speed: speed, byStream: byStream)
                    shown = [a, b]
                    lateness = ReportLateness(matcher: m, speed: speed)
                    if let why = m.gaveUp { notes.append(why) }
                    if speed != 1 {
                        notes.append("B replayed A at speed \(formatSpeed(speed)): A's charts are drawn on that schedule (its times divided by \(formatSpeed(speed))); its summary keeps its own times")
                    }
                } else {
                    shown = [try reader.profile(traces[0], role: .original), try reader.profile(traces[1], role: .replay)]
                    if let timing {
                        notes.append("B replayed with --timing \(timing): no schedule to be late against, so no lateness")
                    } else {
                        notes.append("B carries no replay timing in its metadata (not a replay --write-iolog recording): no lateness")
                    }
                }
                // One time axis: both series at the coarser interval.
                let w = max(shown[0].profile.series.widthNs, shown[1].profile.series.widthNs)
                for k in 0..<2 { shown[k].profile.series.coarsen(toWidth: w) }
            } else if traces.count == 1 {
                shown = [try reader.profile(traces[0], role: .trace)]
            }
            progress.finish()
            let page = HTMLReport(title: title, traces: shown, lateness: lateness, reports: reports, notes: notes,
                                  inputs: inputs).render()
            try writeAtomically(page)
            let secs = Double(monotonicClockNs() - started) / 1e9
            let records = shown.reduce(UInt64(0)) { $0 + $1.profile.summary.records }
            let intervals = shown.first.map { " in \($0.profile.series.count) intervals of \(humanTime($0.profile.series.widthNs))" } ?? ""
            print("report: \(output) (\(page.utf8.count) bytes; \(records) records\(intervals); \(String(format: "%.2f", secs)) s)")
        }
    }

    /// The records of all `traces` when every one is a .fiot with a footer (for the progress
    /// line's share done), else nil.
    func knownTotal(_ traces: [String]) throws -> UInt64? {
        var total: UInt64 = 0
        for t in traces {
            guard t != "-", let s = try? openTraceSource(path: t, options: input.openOptions()),
                  let f = (s as? FiotReader)?.footer else { return nil }
            total += f.totalRecords
        }
        return total
    }

    /// Writes the page to a temporary file beside `output`, then renames it over, so a
    /// failed run never leaves half a page.
    func writeAtomically(_ page: String) throws {
        let tmp = output + ".tmp-\(getpid())"
        let out: TraceOutput
        do {
            out = try TraceOutput(path: tmp)
        } catch {
            throw TraceError(.cannotOpen, "\(output): cannot write the report: \(String(cString: strerror(errno)))")
        }
        do {
            try out.write(page)
            try out.flush()
        } catch {
            unlink(tmp)
            throw error
        }
        if rename(tmp, output) != 0 {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw TraceError(.io, "\(output): cannot write the report: \(why)")
        }
    }
}
