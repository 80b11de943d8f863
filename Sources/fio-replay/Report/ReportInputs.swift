import FioTrace
import Foundation

/// One trace the report draws: its path, what it is, and its profile.
struct ReportTrace {
    enum Role: String {
        /// The one trace of a report.
        case trace
        /// The first of two: the trace that was replayed (or any trace set beside another).
        case original
        /// The second of two: the replay's recording (or any second trace).
        case replay
    }

    let path: String
    let role: Role
    var profile: TraceTimeProfile
    let metadata: [String: String]

    var label: String {
        switch role {
        case .trace: return "trace"
        case .original: return profile.timeDivisor == 1 ? "A (original)" : "A (original at speed \(formatSpeed(profile.timeDivisor)))"
        case .replay: return "B (replay)"
        }
    }

    var shortLabel: String { role == .replay ? "B" : "A" }
}

/// `2.0` as "2", `0.5` as "0.5".
func formatSpeed(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
}

/// The replay's lateness, measured against the original trace (`ReplayMatcher`).
struct ReportLateness {
    var matcher: ReplayMatcher
    /// The replay's timing and speed from its recording's metadata.
    var speed: Double
}

/// A `replay` (or fio) JSON report given to `report`.
struct ReportJSONInput {
    let path: String
    let document: [String: Any]

    var jobs: [[String: Any]] { document["jobs"] as? [[String: Any]] ?? [] }

    /// Reads `path` as a JSON report; nil when the file does not start with `{`.
    static func load(_ path: String) throws -> ReportJSONInput? {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw TraceError(.cannotOpen, "\(path): cannot open")
        }
        defer { try? h.close() }
        let head = h.readData(ofLength: 64)
        guard let first = head.first(where: { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }), first == UInt8(ascii: "{") else {
            return nil
        }
        h.seek(toFileOffset: 0)
        let data = h.readDataToEndOfFile()
        let doc: Any
        do {
            doc = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TraceError(.invalidSequence, "\(path): not valid JSON: \(error.localizedDescription)")
        }
        guard let obj = doc as? [String: Any], let jobs = obj["jobs"] as? [Any], !jobs.isEmpty else {
            throw TraceError(.invalidSequence, "\(path): a JSON file without \"jobs\": not a replay (--output-format json) or fio JSON report")
        }
        return ReportJSONInput(path: path, document: obj)
    }
}

/// Reads the traces of a report: one alone, or two side by side, the second paired I/O by
/// I/O with the first when it is a timed replay's recording (for its lateness). Each source
/// is decoded on its own thread (`ReadAheadSource`) while this one bins.
struct ReportReader {
    let options: TraceOpenOptions
    let salvage: Bool
    let intervalNs: UInt64
    let maxIntervals: Int
    let progress: ProgressMeter

    static let batch = 65536

    func open(_ path: String) throws -> any TraceSource {
        try openTraceSource(path: path, options: options)
    }

    /// Reads `source` to the end into `profile` (and the matcher's queue, if any).
    func profile(_ path: String, role: ReportTrace.Role) throws -> ReportTrace {
        let base = try open(path)
        let meta0 = base.metadata
        var p = TraceTimeProfile(intervalNs: intervalNs, maxIntervals: maxIntervals)
        let ahead = try ReadAheadSource(base, batchRecords: Self.batch, depth: 2)
        var batch: [TraceRecord] = []
        batch.reserveCapacity(Self.batch)
        try reading(ahead) {
            while try ahead.nextBatch(&batch, maxCount: Self.batch) {
                batch.withUnsafeBufferPointer { p.add($0, files: ahead.files) }
                progress.add(batch.count)
            }
        }
        p.finish(files: ahead.files)
        reportSkipped(ahead)
        return ReportTrace(path: path, role: role, profile: p, metadata: ahead.metadata.isEmpty ? meta0 : ahead.metadata)
    }

    /// Reads the original `a` and the replay's recording `b` together, pairing `b`'s I/Os with
    /// `a`'s records; `b`'s intervals get each paired I/O's lateness.
    func pair(_ a: String, _ b: String, speed: Double, byStream: Bool) throws -> (ReportTrace, ReportTrace, ReplayMatcher) {
        let baseA = try open(a), baseB = try open(b)
        let metaA = baseA.metadata, metaB = baseB.metadata
        // A is drawn on the replay's schedule (its times / speed), so the two overlay.
        var pa = TraceTimeProfile(intervalNs: intervalNs, maxIntervals: maxIntervals, timeDivisor: speed)
        var pb = TraceTimeProfile(intervalNs: intervalNs, maxIntervals: maxIntervals)
        var matcher = ReplayMatcher(speed: speed, byStream: byStream)
        let sa = try ReadAheadSource(baseA, batchRecords: Self.batch, depth: 2)
        let sb = try ReadAheadSource(baseB, batchRecords: Self.batch, depth: 2)
        var ba: [TraceRecord] = [], bb: [TraceRecord] = []
        ba.reserveCapacity(Self.batch)
        bb.reserveCapacity(Self.batch)
        var aEnded = false
        func pullA() throws {
            do {
                if try sa.nextBatch(&ba, maxCount: Self.batch) {
                    ba.withUnsafeBufferPointer { batch in
                        pa.add(batch, files: sa.files)
                        matcher.addOriginal(batch)
                    }
                    progress.add(ba.count)
                } else {
                    aEnded = true
                }
            } catch let e as TraceError where e.kind == .truncated && salvage {
                warn("fio-replay: warning: \(e.message)")
                aEnded = true
            }
        }
        try reading(sb) {
            while try sb.nextBatch(&bb, maxCount: Self.batch) {
                bb.withUnsafeBufferPointer { pb.add($0, files: sb.files) }
                for r in bb where !r.op.isFileEvent {
                    pairing: while true {
                        switch matcher.match(r, originalEnded: aEnded) {
                        case .needOriginal:
                            try pullA()
                        case .matched(let late):
                            pb.series.addLateness(time: r.time, value: late)
                            break pairing
                        case .unmatched:
                            break pairing
                        }
                    }
                }
                progress.add(bb.count)
            }
        }
        while !aEnded { try pullA() }
        matcher.finish()
        reportSkipped(sa)
        reportSkipped(sb)
        pa.finish(files: sa.files)
        pb.finish(files: sb.files)
        return (ReportTrace(path: a, role: .original, profile: pa, metadata: sa.metadata.isEmpty ? metaA : sa.metadata),
                ReportTrace(path: b, role: .replay, profile: pb, metadata: sb.metadata.isEmpty ? metaB : sb.metadata),
                matcher)
    }

    /// Runs `body`; a truncated trace with `--skip-bad-blocks` ends it with a warning (every
    /// record before the cut counted), as `info` does; skipped blocks are reported after.
    private func reading(_ source: ReadAheadSource, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as TraceError where e.kind == .truncated && salvage {
            warn("fio-replay: warning: \(e.message)")
        }
    }
}
