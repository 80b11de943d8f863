import ArgumentParser
import FioReplay
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// fio's `--status-interval`: the full report of the statistics so far, every interval,
/// while the run goes on.
///
/// Each stream's scheduler hands a copy of its statistics over at every interval
/// (`ReplayOptions.status`, on its own thread, so it only stores it here); this object's
/// thread gathers one snapshot per running stream (waiting at most `gatherNs` for the
/// stragglers: streams tick about every 100 ms), renders the report with the caller's
/// `render` and writes it, so no scheduler ever formats or writes a report. A stream that
/// has ended stays in later reports with its final statistics; one that has not started
/// yet (a later `stonewall` wave) is left out.
final class StatusReports: @unchecked Sendable {
    private let monitor = Monitor()
    private var latest: [ReplayStats?]
    private var delivered: [Int]
    private var ended: [Bool]
    private var printed = 0
    private var closed = false
    private var thread: WorkerThread?
    /// The interval between reports (ns): the schedulers' `ReplayOptions.statusIntervalNs`.
    let intervalNs: UInt64
    /// How long a report waits for every running stream's snapshot (ns).
    static let gatherNs: UInt64 = 250_000_000

    /// `render` builds the report text from the streams' statistics (nil: not started); it
    /// runs on this object's thread. `write` puts the text out (stdout or --output).
    init(streams: Int, intervalNs: UInt64, render: @escaping ([ReplayStats?]) -> String?, write: @escaping (String) -> Void) throws {
        self.intervalNs = intervalNs
        latest = Array(repeating: nil, count: streams)
        delivered = Array(repeating: 0, count: streams)
        ended = Array(repeating: false, count: streams)
        // Both closures run only on the status thread.
        let work = SendableBox((render, write))
        thread = try WorkerThread(name: "fio-status") { [unowned self] in self.loop(render: work.value.0, write: work.value.1) }
    }

    /// Stream `k`'s statistics so far (`final`: its last).
    func deliver(_ k: Int, _ stats: ReplayStats, final: Bool) {
        monitor.withLock {
            latest[k] = stats
            if final { ended[k] = true } else { delivered[k] += 1 }
            monitor.broadcast()
        }
    }

    /// Stops the thread (after a report it is writing); call before the final report.
    func close() {
        monitor.withLock {
            closed = true
            monitor.broadcast()
        }
        if let t = thread.take() { t.join() }
    }

    deinit { close() }

    private func loop(render: ([ReplayStats?]) -> String?, write: (String) -> Void) {
        monitor.lock()
        while true {
            // A stream's next snapshot starts a report.
            while !closed && !delivered.indices.contains(where: { !ended[$0] && delivered[$0] > printed }) { monitor.wait() }
            if closed { break }
            let deadline = monotonicNs() &+ Self.gatherNs
            func gathered() -> Bool {
                delivered.indices.allSatisfy { ended[$0] || latest[$0] == nil || delivered[$0] > printed }
            }
            while !closed && !gathered() {
                if !monitor.wait(untilNs: deadline) { break }
            }
            if closed { break }
            printed += 1
            let snapshot = latest
            monitor.unlock()
            if let text = render(snapshot) { write(text) }
            monitor.lock()
        }
        monitor.unlock()
    }
}

/// Where status reports went, so that the final report is appended after them (not put
/// in place of the file): the --output path, once one was written.
nonisolated(unsafe) var statusReportsWrittenTo: String?

extension RunReportOptions {
    /// The status reports of `--status-interval` for `streams` streams, nil without it:
    /// `reports` turns the streams' statistics so far into the jobs to report, rendered in
    /// every --output-format asked for.
    func statusReports(streams: Int, label: String,
                       reports: @escaping ([ReplayStats?]) -> [JobReport]) throws -> StatusReports? {
        let interval = try statusIntervalNs()
        guard interval > 0 else { return nil }
        let options = self
        return try reportingErrors {
            do {
                return try StatusReports(streams: streams, intervalNs: interval, render: { stats in
                    let jobs = reports(stats)
                    return jobs.isEmpty ? nil : try? options.renderReport(jobs, label: label, extras: ReportExtras())
                }, write: { options.writeStatus($0) })
            } catch {
                throw ReplayError(.invalidOption, "cannot start the --status-interval thread: \(error)")
            }
        }
    }

    /// The interval of `--status-interval` (ns), 0 without it.
    func statusIntervalNs() throws -> UInt64 {
        guard let s = statusInterval else { return 0 }
        let ns = try parseDuration(s)
        guard ns >= 1_000_000 else { throw ValidationError("--status-interval must be at least 1ms (e.g. 1s, 500ms)") }
        return ns
    }

    /// Writes one status report: to stdout, or appended to --output (created by the first).
    func writeStatus(_ text: String) {
        guard let output else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        let first = statusReportsWrittenTo != output
        let fd = open(output, O_WRONLY | O_CREAT | O_CLOEXEC | (first ? O_TRUNC : O_APPEND), 0o644)
        guard fd >= 0 else {
            warn("fio-replay: error: cannot write a status report to \(output): \(String(cString: strerror(errno)))")
            return
        }
        defer { Glibc.close(fd) }
        if first { statusReportsWrittenTo = output }
        var rest = Array(text.utf8)[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                warn("fio-replay: error: writing a status report to \(output): \(String(cString: strerror(errno)))")
                return
            }
            rest = rest.dropFirst(n)
        }
    }
}
