import ArgumentParser
import FioReplay
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `replay`'s options for running one trace across many hosts: which shard this process
/// replays, where its targets are (placeholders), and the wall-clock start all shards share.
struct ShardOptions: ParsableArguments {
    @Option(help: "Replay only shard I of N (0-based: 0/4 ... 3/4), or auto: take I and N from the launcher (SLURM_PROCID/SLURM_NTASKS, OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE, PMI_RANK/PMI_SIZE, JOB_COMPLETION_INDEX with --shards).")
    var shard: String?

    @Option(parsing: .unconditional, help: "Shard count for --shard auto under a launcher that gives only an index (a Kubernetes Indexed Job's JOB_COMPLETION_INDEX).")
    var shards: Int?

    @Option(name: .customLong("shard-by"), help: "How the trace is split: volume (each trace file wholly on one shard, balanced by I/O count) or range (every file cut into N offset ranges, balanced by I/O count: every byte has one owner).")
    var shardBy: String = "volume"

    @Option(name: .customLong("map-file"), help: "Read --map entries from this file: one ORIG=NEW per line (# comments). NEW, --map's and --target may hold {volume} (the trace file's index), {name} (its file name), {shard} and {shards}.")
    var mapFile: String?

    @Option(name: .customLong("start-at"), help: "Start the schedule at this wall-clock instant (RFC 3339, e.g. 2026-12-01T21:30:00.000Z, or ns since the Unix epoch): shards started with one instant replay on one clock. Hosts must share the clock (NTP/PTP). An instant already past is refused unless --allow-past-start.")
    var startAt: String?

    @Flag(name: .customLong("allow-past-start"), help: "With --start-at: when the instant has already passed, start at once instead of refusing.")
    var allowPastStart = false

    @Flag(help: "Put what `fio-replay merge` needs (histograms, exact sums, shard and clock facts) into the JSON report even without --shard or --start-at.")
    var mergeable = false

    /// Whether anything here changes the replay.
    var active: Bool { shard != nil || startAt != nil || mergeable || mapFile != nil }

    /// Shard index and count, and where they came from; nil without --shard.
    func resolve(environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> (ShardSpec, String)? {
        guard let shard else {
            if shards != nil { throw ValidationError("--shards goes with --shard auto") }
            return nil
        }
        guard let unit = ShardSpec.Unit(rawValue: shardBy) else { throw ValidationError("--shard-by wants volume or range, got \"\(shardBy)\"") }
        func number(_ name: String) throws -> Int? {
            guard let v = env[name] else { return nil }
            guard let n = Int(v.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw ValidationError("--shard auto: \(name)=\"\(v)\" is not a number") }
            return n
        }
        var index: Int, count: Int, source: String
        if shard == "auto" {
            let pairs = [("SLURM_PROCID", "SLURM_NTASKS"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE")]
            if let (i, n) = try pairs.lazy.compactMap({ p -> (String, String)? in env[p.0] != nil ? p : nil }).first.map({ ($0.0, $0.1) }) {
                guard let iv = try number(i), let nv = try number(n) else { throw ValidationError("--shard auto: \(i) is set but \(n) is not") }
                if let s = shards, s != nv { throw ValidationError("--shards \(s) disagrees with \(n)=\(nv)") }
                (index, count, source) = (iv, nv, "\(i)/\(n)")
            } else if let iv = try number("JOB_COMPLETION_INDEX") {
                guard let s = shards else { throw ValidationError("--shard auto: JOB_COMPLETION_INDEX gives the index only; give the count with --shards N (the Job's completions)") }
                (index, count, source) = (iv, s, "JOB_COMPLETION_INDEX/--shards")
            } else {
                throw ValidationError("--shard auto: no launcher found (none of SLURM_PROCID, OMPI_COMM_WORLD_RANK, PMI_RANK, JOB_COMPLETION_INDEX is set); give --shard I/N")
            }
        } else {
            let parts = shard.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
                throw ValidationError("--shard wants I/N (e.g. 0/4) or auto, got \"\(shard)\"")
            }
            (index, count, source) = (i, n, "--shard")
        }
        guard count >= 1 && count <= 1_000_000 else { throw ValidationError("shard count \(count) (from \(source)) must be 1...1000000") }
        guard index < count else { throw ValidationError("shard index \(index) (from \(source)) must be below the count \(count) (shards are numbered from 0)") }
        return (ShardSpec(index: index, count: count, unit: unit), source)
    }

    /// The --start-at instant (realtime ns), checked: nil without the option.
    func startInstant() throws -> UInt64? {
        guard let startAt else {
            if allowPastStart { throw ValidationError("--allow-past-start goes with --start-at") }
            return nil
        }
        guard let at = WallClockStart.parse(startAt) else {
            throw ValidationError("--start-at \"\(startAt)\": want RFC 3339 (2026-12-01T21:30:00Z, fractions and +hh:mm allowed) or ns since the Unix epoch")
        }
        let now = realtimeNs()
        if at < now && !allowPastStart {
            throw ValidationError(String(format: "--start-at %@ passed %.3f s ago (this host's clock); give a later instant, or --allow-past-start to start at once", startAt, Double(now - at) / 1e9))
        }
        return at
    }

    /// `{shard}` and `{shards}` in an output path (every rank of a launcher gets the same
    /// command line, so each needs its own file name).
    static func expand(_ text: String, shard: ShardSpec?) -> String {
        guard let shard else { return text }
        return text.replacingOccurrences(of: "{shard}", with: String(shard.index))
                   .replacingOccurrences(of: "{shards}", with: String(shard.count))
    }

    /// --map-file's entries (ORIG=NEW per line), after --map's.
    func mapEntries(_ maps: [String]) throws -> [String] {
        guard let mapFile else { return maps }
        guard let text = try? String(contentsOfFile: mapFile, encoding: .utf8) else {
            throw ValidationError("--map-file \(mapFile): cannot read it")
        }
        var out = maps
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard line.contains("=") else { throw ValidationError("\(mapFile):\(n + 1): want ORIG=NEW, got \"\(line)\"") }
            out.append(line)
        }
        return out
    }
}

/// Where each of the shard's files goes once placeholders are filled in: `--target` and the
/// NEW side of `--map` entries may hold {volume} (trace file index), {name} (the file name of
/// the trace's path), {shard} and {shards}. Entries become per-path map entries for the
/// files this shard replays (another shard's volumes are none of its business).
func expandTargets(target: String?, maps: [String], files: [TraceFile], owned: (Int) -> Bool,
                   shard: ShardSpec?) throws -> TargetMapping {
    func fill(_ text: String, _ i: Int) -> String {
        let name = files[i].path.split(separator: "/").last.map(String.init) ?? String(i)
        return ShardOptions.expand(text, shard: shard)
            .replacingOccurrences(of: "{volume}", with: String(i))
            .replacingOccurrences(of: "{name}", with: name)
    }
    var all: String? = target.map { ShardOptions.expand($0, shard: shard) }
    var map: [String: String] = [:]
    if let t = target, t.contains("{volume}") || t.contains("{name}") {
        all = nil
        for i in files.indices where owned(i) { map[files[i].path] = fill(t, i) }
    }
    for m in maps {
        guard let eq = m.firstIndex(of: "=") else { throw ValidationError("--map wants ORIG=NEW, got \"\(m)\"") }
        let key = String(m[..<eq]), new = String(m[m.index(after: eq)...])
        // ORIG: a trace path or a trace file index.
        let hits = files.indices.filter { files[$0].path == key || String($0) == key }
        guard !hits.isEmpty else {
            throw ValidationError("--map \(m): the trace has no file \"\(key)\" (name a file by its path or its index)")
        }
        for i in hits where owned(i) { map[files[i].path] = fill(new, i) }
    }
    return TargetMapping(all: all, map: map)
}
