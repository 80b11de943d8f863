import FioTrace
import Foundation
import Glibc

/// What a shard's report says about the shard and its clock (the `shard` object inside our
/// `replay` object). Wall-clock times are CLOCK_REALTIME ns since the Unix epoch.
public struct ShardRunInfo: Sendable {
    /// Shard number and count (nil: the replay was not sharded, only mergeable).
    public var index: Int?
    public var count: Int?
    /// volume or range.
    public var unit: String?
    /// Where index and count came from ("--shard", "SLURM_PROCID/SLURM_NTASKS", ...).
    public var source: String?
    public var host: String = hostName()
    /// Trace paths this shard replayed (volume mode: its own; range mode: every one).
    public var files: [String] = []
    /// I/Os cut at a range boundary (extra pieces this shard issued).
    public var splits: UInt64 = 0
    /// --start-at, when given.
    public var startAtNs: UInt64?
    /// When the schedule started (the trace's time 0 at speed 1).
    public var startWallNs: UInt64 = 0
    /// When the first I/O went, and the trace time of its record (ns).
    public var firstIssueWallNs: UInt64?
    public var firstIssueTraceNs: UInt64?
    public var speed: Double = 1

    public init() {}

    /// The first issue against its due instant on the wall clock (ns; + late, - early):
    /// start-at plus the record's trace time over the speed. nil without --start-at.
    public var startSkewNs: Int64? {
        guard let at = startAtNs, let first = firstIssueWallNs, let t = firstIssueTraceNs else { return nil }
        let due = Double(at) + Double(t) / speed
        return Int64((Double(first) - due).rounded())
    }

    /// Fills the wall-clock fields from a run's monotonic ones, with `offsetNs` = realtime
    /// minus monotonic (taken when the start instant was converted, or now).
    public mutating func setTimes(_ s: ReplayStats, realtimeMinusMonotonic offsetNs: Int64, speed: Double) {
        self.speed = speed
        startWallNs = UInt64(clamping: Int64(clamping: s.startNs) &+ offsetNs)
        if s.firstIssueNs != 0 {
            firstIssueWallNs = UInt64(clamping: Int64(clamping: s.firstIssueNs) &+ offsetNs)
            firstIssueTraceNs = s.firstIssueTraceNs
        }
    }

    public var json: JSONValue {
        var kv: [(String, JSONValue)] = []
        if let index { kv.append(("index", .int(Int64(index)))) }
        if let count { kv.append(("count", .int(Int64(count)))) }
        if let unit { kv.append(("by", .string(unit))) }
        if let source { kv.append(("from", .string(source))) }
        kv.append(("host", .string(host)))
        kv.append(("files", .array(files.map { .string($0) })))
        kv.append(("splits", .uint(splits)))
        if let startAtNs { kv.append(("start_at_ns", .uint(startAtNs))) }
        kv.append(("start_wall_ns", .uint(startWallNs)))
        if let f = firstIssueWallNs { kv.append(("first_issue_wall_ns", .uint(f))) }
        if let t = firstIssueTraceNs { kv.append(("first_issue_trace_ns", .uint(t))) }
        if let s = startSkewNs { kv.append(("start_skew_ns", .int(s))) }
        return .object(kv)
    }

    /// Reads the `shard` object of a report back.
    public static func read(_ o: [String: Any]) -> ShardRunInfo { ShardRunInfo(json: o) }

    init(json o: [String: Any]) {
        index = (o["index"] as? NSNumber)?.intValue
        count = (o["count"] as? NSNumber)?.intValue
        unit = o["by"] as? String
        source = o["from"] as? String
        host = o["host"] as? String ?? ""
        files = o["files"] as? [String] ?? []
        splits = (o["splits"] as? NSNumber)?.uint64Value ?? 0
        startAtNs = (o["start_at_ns"] as? NSNumber)?.uint64Value
        startWallNs = (o["start_wall_ns"] as? NSNumber)?.uint64Value ?? 0
        firstIssueWallNs = (o["first_issue_wall_ns"] as? NSNumber)?.uint64Value
        firstIssueTraceNs = (o["first_issue_trace_ns"] as? NSNumber)?.uint64Value
    }
}

/// The parts of a replay's statistics that an exact merge needs, as our JSON carries them
/// (the `merge` object inside `replay`): every count, the running sums of every latency
/// (as exact decimal strings) and the histograms bucket by bucket, so that merged
/// percentiles are those of the union of the shards' I/Os, not an average of percentiles.
public enum MergeData {
    /// A histogram as "lowest value of the bucket:count" pairs, comma separated.
    static func latency(_ l: LatencyStat) -> JSONValue {
        var kv: [(String, JSONValue)] = [
            ("N", .uint(l.count)), ("min", .uint(l.minValue)), ("max", .uint(l.max)),
            ("sum", .string(String(l.sum))), ("sum_sq", .string(String(l.sumSquares))),
        ]
        if l.tracksPercentiles { kv.append(("bins", .string(l.bins.map { "\($0.0):\($0.1)" }.joined(separator: ",")))) }
        return .object(kv)
    }

    static func samples(_ s: SampleStat) -> JSONValue {
        .object([("N", .uint(s.count)), ("min", .string(String(s.minValue))), ("max", .string(String(s.max))),
                 ("sum", .string(String(s.sum))), ("sum_sq", .string(String(s.sumSquares)))])
    }

    static func counts(_ a: [UInt64]) -> JSONValue { .string(a.map(String.init).joined(separator: ",")) }

    /// The merge data of `s`.
    public static func json(_ s: ReplayStats) -> JSONValue {
        var kv: [(String, JSONValue)] = [("version", .int(1))]
        for op in StatOp.allCases {
            let o = s[op]
            kv.append((op.fioKey, .object([
                ("ios", .uint(o.ios)), ("bytes", .uint(o.bytes)), ("short", .uint(o.shortIOs)), ("dropped", .uint(o.droppedIOs)),
                ("slat", latency(o.slat)), ("clat", latency(o.clat)), ("lat", latency(o.lat)),
                ("traced", latency(o.tracedClat)), ("replayed", latency(o.replayedLat)),
                ("bw_samples", samples(o.bwSamples)), ("iops_samples", samples(o.iopsSamples)),
            ])))
        }
        kv += [
            ("depth_levels", counts(s.depthLevels)), ("submit_levels", counts(s.submitLevels)),
            ("complete_levels", counts(s.completeLevels)), ("latency_ns", counts(s.latencyNs)),
            ("latency_us", counts(s.latencyUs)), ("latency_ms", counts(s.latencyMs)),
            ("lateness", latency(s.lateness)), ("scheduler_lateness", latency(s.schedulerLateness)),
            ("depth_blocked", .uint(s.depthBlocked)), ("within_10us", .uint(s.within10us)), ("within_100us", .uint(s.within100us)),
            ("runtime_ns", .uint(s.runtimeNs)), ("cpu_base_ns", .uint(s.cpuBaseNs)), ("trace_duration_ns", .uint(s.traceDurationNs)),
            ("records", .uint(s.recordsRead)), ("issued", .uint(s.issued)), ("skipped", .uint(s.skipped)),
            ("max_inflight", .int(Int64(s.maxInFlight))),
            ("cpu_usr_ns", .uint(s.cpuUserNs)), ("cpu_sys_ns", .uint(s.cpuSystemNs)), ("spin_ns", .uint(s.spinNs)),
            ("ctx", .uint(s.contextSwitches)), ("majf", .uint(s.majorFaults)), ("minf", .uint(s.minorFaults)),
        ]
        return .object(kv)
    }

    /// Reads merge data back; `where` names the input for errors. `startNs` places the
    /// rebuilt run on a common clock (a shard's wall-clock start).
    public static func stats(_ o: [String: Any], startNs: UInt64, where place: String) throws -> ReplayStats {
        func num(_ d: [String: Any], _ k: String) throws -> UInt64 {
            guard let n = d[k] as? NSNumber else { throw MergeError("\(place): merge data lacks \"\(k)\"") }
            return n.uint64Value
        }
        func dbl(_ d: [String: Any], _ k: String) throws -> Double {
            guard let t = d[k] as? String, let v = Double(t) else { throw MergeError("\(place): merge data lacks \"\(k)\" (a number in a string)") }
            return v
        }
        func obj(_ d: [String: Any], _ k: String) throws -> [String: Any] {
            guard let v = d[k] as? [String: Any] else { throw MergeError("\(place): merge data lacks the object \"\(k)\"") }
            return v
        }
        func lat(_ d: [String: Any]) throws -> LatencyStat {
            var bins: [(UInt64, UInt64)]? = nil
            if let text = d["bins"] as? String {
                var b: [(UInt64, UInt64)] = []
                for pair in text.split(separator: ",") {
                    let parts = pair.split(separator: ":")
                    guard parts.count == 2, let v = UInt64(parts[0]), let n = UInt64(parts[1]) else {
                        throw MergeError("\(place): bad histogram bin \"\(pair)\" (want VALUE:COUNT)")
                    }
                    b.append((v, n))
                }
                guard b.reduce(0, { $0 &+ $1.1 }) == (try num(d, "N")) else {
                    throw MergeError("\(place): a histogram's bins do not add up to its N")
                }
                bins = b
            }
            return LatencyStat(count: try num(d, "N"), min: try num(d, "min"), max: try num(d, "max"),
                               sum: try dbl(d, "sum"), sumSquares: try dbl(d, "sum_sq"), bins: bins)
        }
        func samples(_ d: [String: Any]) throws -> SampleStat {
            SampleStat(count: try num(d, "N"), min: try dbl(d, "min"), max: try dbl(d, "max"), sum: try dbl(d, "sum"), sumSquares: try dbl(d, "sum_sq"))
        }
        func counts(_ k: String, _ n: Int) throws -> [UInt64] {
            guard let t = o[k] as? String else { throw MergeError("\(place): merge data lacks \"\(k)\"") }
            let v = t.split(separator: ",").compactMap { UInt64($0) }
            guard v.count == n else { throw MergeError("\(place): \"\(k)\" has \(v.count) counts, want \(n)") }
            return v
        }
        guard (o["version"] as? NSNumber)?.intValue == 1 else { throw MergeError("\(place): merge data of an unknown version") }
        var s = ReplayStats(percentiles: true)
        for op in StatOp.allCases {
            let d = try obj(o, op.fioKey)
            var x = s[op]
            x.ios = try num(d, "ios"); x.bytes = try num(d, "bytes"); x.shortIOs = try num(d, "short"); x.droppedIOs = try num(d, "dropped")
            x.slat = try lat(try obj(d, "slat")); x.clat = try lat(try obj(d, "clat")); x.lat = try lat(try obj(d, "lat"))
            x.tracedClat = try lat(try obj(d, "traced")); x.replayedLat = try lat(try obj(d, "replayed"))
            x.bwSamples = try samples(try obj(d, "bw_samples")); x.iopsSamples = try samples(try obj(d, "iops_samples"))
            s[op] = x
        }
        s.depthLevels = try counts("depth_levels", 7); s.submitLevels = try counts("submit_levels", 7)
        s.completeLevels = try counts("complete_levels", 7)
        s.latencyNs = try counts("latency_ns", 10); s.latencyUs = try counts("latency_us", 10); s.latencyMs = try counts("latency_ms", 12)
        s.lateness = try lat(try obj(o, "lateness")); s.schedulerLateness = try lat(try obj(o, "scheduler_lateness"))
        s.depthBlocked = try num(o, "depth_blocked"); s.within10us = try num(o, "within_10us"); s.within100us = try num(o, "within_100us")
        s.startNs = startNs
        s.endNs = startNs &+ (try num(o, "runtime_ns"))
        let base = try num(o, "cpu_base_ns")
        if base != s.runtimeNs { s.mergedRuntimeNs = base }
        s.traceDurationNs = try num(o, "trace_duration_ns")
        s.recordsRead = try num(o, "records"); s.issued = try num(o, "issued"); s.skipped = try num(o, "skipped")
        s.maxInFlight = Int(try num(o, "max_inflight"))
        s.cpuUserNs = try num(o, "cpu_usr_ns"); s.cpuSystemNs = try num(o, "cpu_sys_ns"); s.spinNs = try num(o, "spin_ns")
        s.contextSwitches = try num(o, "ctx"); s.majorFaults = try num(o, "majf"); s.minorFaults = try num(o, "minf")
        return s
    }
}

extension ReplayResult {
    /// A result rebuilt from a report (`fio-replay merge`).
    public init(rebuilt stats: ReplayStats, error: ReplayError?, interrupted: Bool, engineName: String, iodepth: Int,
                timing: ReplayTiming, speed: Double, notes: [String], schedulerPolicy: String) {
        self.init(stats: stats, error: error, interrupted: interrupted, engineName: engineName, iodepth: iodepth,
                  timing: timing, speed: speed, notes: notes, schedulerPolicy: schedulerPolicy, shard: nil)
    }
}

/// A merge input that cannot be merged: one line naming the file and what is wrong.
public struct MergeError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
