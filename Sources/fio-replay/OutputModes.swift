import ArgumentParser
import FioReplay
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// fio's `--output-format`: a comma list of normal, terse, json and json+ (json+ implies
/// json), printed in fio's order: terse lines, then JSON, then the normal text.
struct OutputModes: Equatable {
    var normal = false
    var terse = false
    var json = false
    var jsonPlus = false

    static let names = "normal, terse, json, json+ (or a comma list of them)"

    static func parse(_ text: String, minimal: Bool) throws -> OutputModes {
        var m = OutputModes()
        if minimal { m.terse = true }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            switch part.trimmingCharacters(in: " ") {
            case "normal": m.normal = true
            case "terse": m.terse = true
            case "json": m.json = true
            case "json+": m.json = true; m.jsonPlus = true
            default: throw ValidationError("--output-format: unknown format \"\(part)\" (known: \(names))")
            }
        }
        // --minimal alone is terse alone, as in fio.
        if minimal && text == "normal" { m.normal = false }
        return m
    }
}

/// What a report shows beyond the jobs: fio's header lines (when not printed before the
/// run), the [global] options and the disks' utilization.
struct ReportExtras {
    var header: String?
    var globalOptions: [String: String] = [:]
    var disks: [DiskUtilStat] = []
}

/// The progress (ETA) line on stderr: overwritten in place, or, with `--eta-newline`,
/// ended with a newline every interval, as fio's eta_newline does.
final class EtaLine: @unchecked Sendable {
    let newlineNs: UInt64?
    private var lastNewline: UInt64 = 0
    private let lock = NSLock()

    init(newlineNs: UInt64?) { self.newlineNs = newlineNs }

    func write(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        var body = text
        if body.hasPrefix("\r") { body.removeFirst() }
        var out: String
        if let every = newlineNs {
            let now = monotonicNs()
            guard now &- lastNewline >= every else { return }
            lastNewline = now
            out = body.trimmingCharacters(in: " ") + "\n"
        } else {
            out = "\r" + body
        }
        out.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
    }
}

extension RunReportOptions {
    func outputModes() throws -> OutputModes { try OutputModes.parse(outputFormat, minimal: minimal) }

    /// Whether to show the progress line: `--eta always` or `never`, else (`auto`) when
    /// stderr is a terminal, unless `--no-progress`.
    func progressWanted() -> Bool {
        switch eta {
        case "always": return true
        case "never": return false
        default: return !noProgress && (isatty(2) == 1 || etaNewline != nil)
        }
    }

    func etaLine() throws -> EtaLine {
        EtaLine(newlineNs: try etaNewline.map { try parseDuration($0) })
    }

    /// Checks the output options (called from `check`).
    func checkOutputModes() throws {
        _ = try outputModes()
        guard ["auto", "always", "never"].contains(eta) else {
            throw ValidationError("--eta takes auto, always or never, not \"\(eta)\"")
        }
        if let n = etaNewline, try parseDuration(n) == 0 { throw ValidationError("--eta-newline must be above 0") }
        _ = try statusIntervalNs()
    }

    /// The report text in every mode asked for, in fio's order.
    func renderReport(_ jobs: [JobReport], label: String, extras: ReportExtras) throws -> String {
        let m = try outputModes()
        var text = ""
        if m.terse { text += TerseReport().render(jobs, disks: extras.disks) }
        if m.json { text += FioJSONReport(plus: m.jsonPlus).render(jobs, globalOptions: extras.globalOptions, disks: extras.disks) }
        if m.normal { text += (extras.header ?? "") + TextReport().render(jobs, label: label, disks: extras.disks) }
        return text
    }
}
