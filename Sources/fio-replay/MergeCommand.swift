import ArgumentParser
import FioReplay
import FioTrace
import Foundation

/// `fio-replay merge`: the shards' JSON reports into one fio-shaped report, or their
/// recordings into one trace (docs/multi-host.md).
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shards of one replay: their JSON reports into one report, or their recordings into one trace.",
        discussion: """
        Reports (JSON written by `replay --shard ... --output-format json`): counts, bytes,
        IOPS and bandwidth are summed, latency and lateness percentiles are those of all the
        shards' I/Os together (their histograms are merged, not their percentiles), and each
        shard keeps a line under replay.shards. Recordings (`--write-iolog` of each shard):
        one trace in time order on the shards' common wall clock, each shard's streams kept
        apart; memory is one batch per input.
        """
    )

    @Argument(help: "The shards' JSON reports, or their recordings (any readable trace format).")
    var inputs: [String]

    @Option(name: [.customShort("o"), .customLong("output")], help: "Where the merged report or trace goes (a report goes to stdout without it).")
    var output: String?

    @Option(name: .customLong("output-format"), help: "Report: json, json+ (with clat_ns.bins) or normal (default: json for a .json output, else normal).")
    var outputFormat: String?

    func run() throws {
        guard !inputs.isEmpty else { throw ValidationError("merge wants at least one input") }
        let isJSON = try inputs.map { path -> Bool in
            guard let h = FileHandle(forReadingAtPath: path) else { throw ValidationError("cannot open \(path)") }
            defer { try? h.close() }
            let head = h.readData(ofLength: 64)
            return head.first(where: { ![0x20, 0x0a, 0x0d, 0x09].contains($0) }) == UInt8(ascii: "{")
        }
        if isJSON.allSatisfy({ $0 }) {
            try mergeReports()
        } else if isJSON.contains(true) {
            let j = zip(inputs, isJSON).filter { $0.1 }.map(\.0), t = zip(inputs, isJSON).filter { !$0.1 }.map(\.0)
            throw ValidationError("merge takes reports or recordings, not both: \(j.joined(separator: ", ")) \(j.count == 1 ? "is a" : "are") JSON report\(j.count == 1 ? "" : "s"), \(t.joined(separator: ", ")) not")
        } else {
            guard let output else { throw ValidationError("merging recordings needs -o OUT (a trace file)") }
            try refuseOverlappingFiles(outputs: [NamedFile(role: "-o", path: output)],
                                       inputs: inputs.map { NamedFile(role: "an input", path: $0) })
            let sources = try inputs.map { p in try reportingErrors { try openTraceSource(path: p, options: TraceOpenOptions()) } }
            let result = try writeAtomically(output) { path -> RecordingMerge.Result in
                let sink = try openTraceSink(path: path)
                do {
                    return try RecordingMerge.merge(sources, names: inputs, into: sink)
                } catch let e as MergeError {
                    warn("fio-replay: error: \(e)")
                    throw ExitCode(1)
                }
            }
            for n in result.notes { warn("fio-replay: \(n)") }
            warn("fio-replay: merged \(result.records) records of \(inputs.count) recordings into \(output)")
        }
    }

    /// One input report's jobs, rebuilt from their merge data.
    struct ShardJobs {
        var path: String
        var jobs: [(name: String, options: [String: String], result: ReplayResult)]
    }

    func readReport(_ path: String) throws -> ShardJobs {
        guard let data = FileManager.default.contents(atPath: path) else { throw MergeError("\(path): cannot read it") }
        guard let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw MergeError("\(path): not a JSON object (want a report of `replay --output-format json`)")
        }
        guard let jobs = top["jobs"] as? [[String: Any]], !jobs.isEmpty else { throw MergeError("\(path): no \"jobs\" in the report") }
        var out = ShardJobs(path: path, jobs: [])
        for (k, job) in jobs.enumerated() {
            let name = job["jobname"] as? String ?? "job \(k)"
            let place = "\(path): job \"\(name)\""
            guard let replay = job["replay"] as? [String: Any] else { throw MergeError("\(place) has no \"replay\" object (not a report of fio-replay replay)") }
            guard let merge = replay["merge"] as? [String: Any], let shardObj = replay["shard"] as? [String: Any] else {
                throw MergeError("\(place) carries no merge data: replay with --shard, --start-at or --mergeable and --output-format json")
            }
            let info = ShardRunInfo.read(shardObj)
            let stats = try MergeData.stats(merge, startNs: info.startWallNs, where: place)
            let timing = ReplayTiming(rawValue: replay["timing"] as? String ?? "original") ?? .original
            var r = ReplayResult(rebuilt: stats, error: nil, interrupted: replay["interrupted"] as? Bool ?? false,
                                 engineName: replay["engine"] as? String ?? "", iodepth: (replay["iodepth"] as? NSNumber)?.intValue ?? 1,
                                 timing: timing, speed: (replay["speed"] as? NSNumber)?.doubleValue ?? 1, notes: [],
                                 schedulerPolicy: replay["scheduler_policy"] as? String ?? "other")
            if let e = replay["error"] as? String { r.error = ReplayError(.ioFailed, e, errno: (job["error"] as? NSNumber).map { Int32($0.intValue) }) }
            r.shard = info
            let options = (job["job options"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
            out.jobs.append((name, options, r))
        }
        return out
    }

    func mergeReports() throws {
        let format = outputFormat ?? ((output ?? "").hasSuffix(".json") ? "json" : "normal")
        guard ["json", "json+", "normal"].contains(format) else { throw ValidationError("--output-format wants json, json+ or normal") }
        // One input at a time: memory holds the merged statistics and one line per shard,
        // not every shard's histograms. Jobs merge by name (a replay is one job "replay"; a
        // multi-stream one a job per stream).
        struct Merged {
            var result: ReplayResult
            var info = ShardRunInfo()
            var options: [String: String]
            var sum = [Double](repeating: 0, count: 6) // iops and bw (bytes/s) per data op
            var lines: [JSONValue] = []
            var text: [String] = []
            var parts = 0
        }
        var names: [String] = []
        var acc: [String: Merged] = [:]
        do {
            for path in inputs {
                for job in try readReport(path).jobs {
                    let r = job.result, sh = r.shard!
                    var m = acc[job.name] ?? Merged(result: r, options: job.options)
                    if acc[job.name] == nil {
                        names.append(job.name)
                    } else {
                        m.result.stats.merge(r.stats)
                        m.result.iodepth += r.iodepth
                        if !m.result.engineName.split(separator: ",").contains(Substring(r.engineName)) { m.result.engineName += "," + r.engineName }
                        m.result.interrupted = m.result.interrupted || r.interrupted
                        if m.result.error == nil { m.result.error = r.error }
                    }
                    m.info.files += sh.files.filter { !m.info.files.contains($0) }
                    m.info.splits += sh.splits
                    m.info.startWallNs = m.parts == 0 ? sh.startWallNs : min(m.info.startWallNs, sh.startWallNs)
                    if let f = sh.firstIssueWallNs, m.info.firstIssueWallNs.map({ f < $0 }) ?? true {
                        m.info.firstIssueWallNs = f
                        m.info.firstIssueTraceNs = sh.firstIssueTraceNs
                    }
                    m.info.startAtNs = m.parts == 0 ? sh.startAtNs : (m.info.startAtNs == sh.startAtNs ? sh.startAtNs : nil)
                    let rtMs = Double(max(r.stats.runtimeNs / 1_000_000, 1))
                    for (j, op) in [StatOp.read, .write, .trim].enumerated() where r.stats[op].ios > 0 {
                        m.sum[2 * j] += Double(r.stats[op].ios) * 1000 / rtMs
                        m.sum[2 * j + 1] += Double(r.stats[op].bytes) * 1000 / rtMs
                    }
                    m.lines.append(Self.shardJSON(path, r))
                    m.text.append(shardLine(path, job.name, r))
                    m.parts += 1
                    acc[job.name] = m
                }
            }
        } catch let e as MergeError {
            warn("fio-replay: error: \(e)")
            throw ExitCode(1)
        }
        var reports: [JobReport] = []
        for (k, name) in names.enumerated() {
            var m = acc[name]!
            m.info.count = inputs.count
            m.info.host = ""
            m.info.speed = m.result.speed
            m.result.shard = m.info
            reports.append(JobReport(jobIndex: k, name: name, result: m.result, options: m.options))
            acc[name] = m
        }
        var text: String
        if format == "normal" {
            text = TextReport().render(reports, label: "Merged replay")
            text += "\nShards (\(inputs.count)):\n"
            for name in names { for l in acc[name]!.text { text += "  " + l + "\n" } }
            for name in names {
                let sum = acc[name]!.sum
                text += String(format: "  all%@: read IOPS=%.1f BW=%.1fKiB/s, write IOPS=%.1f BW=%.1fKiB/s (summed over shards)\n",
                               names.count > 1 ? " \(name)" : "", sum[0], sum[1] / 1024, sum[2], sum[3] / 1024)
            }
        } else {
            var tree = FioJSONReport(plus: format == "json+").json(reports)
            tree = Self.edit(tree, jobs: { jobs in
                jobs.enumerated().map { (k, job) in Self.editJob(job, sums: acc[names[k]]!.sum, lines: acc[names[k]]!.lines) }
            })
            text = tree.render() + "\n"
        }
        if let output {
            do {
                try writeAtomically(output) { path in try text.write(toFile: path, atomically: false, encoding: .utf8) }
            } catch {
                warn("fio-replay: error: cannot write \(output): \(error)")
                throw ExitCode(1)
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    func shardLine(_ path: String, _ name: String, _ r: ReplayResult) -> String {
        let s = r.stats, sh = r.shard!
        var line = "\(path)"
        if let i = sh.index, let n = sh.count { line += " shard \(i)/\(n)" }
        if !sh.host.isEmpty { line += " on \(sh.host)" }
        line += " \(name): read \(s.read.ios) I/Os \(s.read.bytes) B, write \(s.write.ios) I/Os \(s.write.bytes) B, runtime \(s.runtimeNs / 1_000_000) ms"
        if let skew = sh.startSkewNs { line += String(format: ", start skew %+.1f us", Double(skew) / 1000) }
        if s.lateness.count > 0, let p = s.lateness.percentile(99) { line += String(format: ", lateness p99 %.1f us", Double(p) / 1000) }
        return line
    }

    /// Applies `jobs` to the report's job list.
    static func edit(_ tree: JSONValue, jobs: ([JSONValue]) -> [JSONValue]) -> JSONValue {
        guard case .object(let kv) = tree else { return tree }
        return .object(kv.map { key, value in
            if key == "jobs", case .array(let a) = value { return (key, .array(jobs(a))) }
            return (key, value)
        })
    }

    /// One shard's line under replay.shards.
    static func shardJSON(_ path: String, _ r: ReplayResult) -> JSONValue {
        let s = r.stats, sh = r.shard!
        let rtMs = Double(max(s.runtimeNs / 1_000_000, 1))
        var o: [(String, JSONValue)] = [("report", .string(path))]
        if let idx = sh.index { o.append(("shard", .int(Int64(idx)))) }
        o.append(("host", .string(sh.host)))
        for op in [StatOp.read, .write, .trim, .sync] {
            o.append((op.fioKey + "_ios", .uint(s[op].ios)))
            if op != .sync { o.append((op.fioKey + "_bytes", .uint(s[op].bytes))) }
        }
        o.append(("iops", .double(Double(s.read.ios + s.write.ios + s.trim.ios) * 1000 / rtMs)))
        o.append(("bw_bytes", .int(Int64(Double(s.read.bytes + s.write.bytes + s.trim.bytes) * 1000 / rtMs))))
        o.append(("runtime_ms", .uint(s.runtimeNs / 1_000_000)))
        o.append(("start_wall_ns", .uint(sh.startWallNs)))
        if let f = sh.firstIssueWallNs { o.append(("first_issue_wall_ns", .uint(f))) }
        if let skew = sh.startSkewNs { o.append(("start_skew_ns", .int(skew))) }
        if s.lateness.count > 0 {
            o.append(("lateness_p99_ns", .uint(s.lateness.percentile(99) ?? 0)))
            o.append(("lateness_max_ns", .uint(s.lateness.max)))
        }
        return .object(o)
    }

    /// A merged job: IOPS and bandwidth summed over the shards (each shard's over its own
    /// runtime), and one line per shard under replay.shards.
    static func editJob(_ job: JSONValue, sums: [Double], lines: [JSONValue]) -> JSONValue {
        guard case .object(var kv) = job else { return job }
        for (i, (key, value)) in kv.enumerated() {
            if let j = ["read", "write", "trim"].firstIndex(of: key), case .object(var op) = value {
                for (n, (k, _)) in op.enumerated() {
                    switch k {
                    case "iops": op[n].1 = .double(sums[2 * j])
                    case "bw_bytes": op[n].1 = .int(Int64(sums[2 * j + 1]))
                    case "bw": op[n].1 = .int(Int64(sums[2 * j + 1] / 1024))
                    default: break
                    }
                }
                kv[i].1 = .object(op)
            }
            if key == "replay", case .object(var rep) = value {
                rep.append(("shards", .array(lines)))
                kv[i].1 = .object(rep)
            }
        }
        return .object(kv)
    }
}
