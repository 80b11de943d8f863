import Foundation
import Glibc
import Testing
@testable import FioTrace

/// Recordings killed with SIGKILL at random points lose at most about a second of I/Os, and
/// what they leave reads back cleanly: every complete block, then the truncation reported as
/// such. And SIGTERM ends a recording cleanly, footer and all.
///
/// Each try kills the recorder `K` seconds (uniform in 1...3 s) after it was started, reads
/// the recording back, and measures how far it reaches: `K - t_last`, where `t_last` is the
/// recorded time of the last record (times count from when the recorder's clock started,
/// which is after the process started, so this is an upper bound on the time lost; it
/// includes the tool's start-up). The workloads issue about 2000 I/Os a second (`run`,
/// `replay`) or about 60 calls a second (`record`, under strace), far below one block, so a
/// recorder that writes only full blocks records nothing at all.
///
/// KILL_TRIES (default 5) sets the tries per tool; scripts/kill-recordings.sh runs 20 each
/// against a release build and prints every try.
@Suite struct KillRecordingTests {
    static let tries = Int(ProcessInfo.processInfo.environment["KILL_TRIES"] ?? "") ?? 5
    /// "About a second": the recorders promise ~1 s; start-up of a debug build on a busy
    /// two-core machine is counted in too.
    static let boundSeconds = 1.5

    enum Tool: String, CaseIterable, CustomTestStringConvertible {
        case run, replay, record
        var testDescription: String { rawValue }
    }

    @Test(arguments: Tool.allCases)
    func killedRecordingLosesAtMostAboutASecond(_ tool: Tool) throws {
        if tool == .record { try #require(haveTool("strace"), "strace must be installed (scripts/test.sh installs it)") }
        let dir = makeTempDir("kill-\(tool.rawValue)"); defer { cleanup(dir) }
        let trace = dir + "/p.fiot"
        if tool == .replay {
            let g = try run("fio-gen", ["--name=p", "--rw=randread", "--bs=4k", "--size=16m", "--rate_iops=2000",
                                        "--rate_process=poisson", "--runtime=6", "--time_based", "-o", trace])
            try #require(g.status == 0, "\(g.stderr)")
            try Data().write(to: URL(fileURLWithPath: dir + "/tgt"))
            try #require(truncate(dir + "/tgt", 16 << 20) == 0)
        }
        var windows: [Double] = []
        for k in 0..<Self.tries {
            let out = dir + "/rec\(k).fiot"
            let args: [String]
            switch tool {
            case .run:
                args = ["run", "--name=r", "--filename=\(dir)/f", "--size=16m", "--rw=randwrite", "--bs=4k", "--rate_iops=2000",
                        "--ioengine=null", "--runtime=6", "--time_based", "--no-progress", "--write-iolog", out]
            case .replay:
                args = ["replay", trace, "--engine", "null", "--target", dir + "/tgt", "--no-progress", "--write-iolog", out]
            case .record:
                let script = "i=0; while [ $i -lt 400 ]; do echo $i >&3; i=$((i+1)); sleep 0.01; done 3>>\(dir)/log\(k).txt"
                args = ["record", "-o", out, "--paths", dir, "--", "sh", "-c", script]
            }
            let killAt = Double.random(in: 1...3)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binDir + "/fio-replay")
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            p.standardInput = FileHandle.nullDevice
            let t0 = Date()
            try p.run()
            usleep(UInt32(max(0, killAt - Date().timeIntervalSince(t0)) * 1e6))
            // strace and the command it runs outlive the recorder: end them too, by pid.
            let helpers = descendants(of: p.processIdentifier)
            kill(p.processIdentifier, SIGKILL)
            let killed = Date().timeIntervalSince(t0)
            p.waitUntilExit()
            for pid in helpers.reversed() { kill(pid, SIGKILL) }
            #expect(p.terminationReason == .uncaughtSignal, "try \(k): the recorder ended before the kill")

            // Every complete block reads back, then the truncation is reported as such.
            var records: [TraceRecord] = []
            var ending: TraceError?
            do {
                var src = try openTraceSource(path: out)
                var batch: [TraceRecord] = []
                while try src.nextBatch(&batch, maxCount: 4096) { records += batch }
            } catch let e as TraceError {
                ending = e
            }
            #expect(ending?.kind == .truncated, "\(tool) try \(k): \(String(describing: ending))")
            let last = records.last.map { Double($0.time) / 1e9 } ?? 0
            let window = killed - last
            windows.append(window)
            print("kill \(tool.rawValue) try \(k + 1): killed at \(String(format: "%.3f", killed)) s, \(records.count) records, last at \(String(format: "%.3f", last)) s, lost at most \(String(format: "%.3f", window)) s")
            #expect(window <= Self.boundSeconds,
                    "\(tool) killed at \(killed) s: the recording reaches \(last) s (\(records.count) records)")
            #expect(zip(records, records.dropFirst()).allSatisfy { $0.time <= $1.time }, "records in order")
        }
        let sorted = windows.sorted()
        print("kill \(tool.rawValue): \(windows.count) tries, lost at most: median \(String(format: "%.3f", sorted[sorted.count / 2])) s, max \(String(format: "%.3f", sorted.last ?? 0)) s")
    }

    /// SIGTERM: the recorder stops (the command, for `record`), writes the rest and the
    /// footer; the file reads to its end with no truncation, and a replay's or run's
    /// recording holds exactly the I/Os its report counts.
    @Test(arguments: Tool.allCases)
    func sigtermFinishesTheRecording(_ tool: Tool) throws {
        if tool == .record { try #require(haveTool("strace")) }
        let dir = makeTempDir("term-\(tool.rawValue)"); defer { cleanup(dir) }
        let out = dir + "/rec.fiot"
        var args: [String]
        switch tool {
        case .run:
            args = ["run", "--name=r", "--filename=\(dir)/f", "--size=4m", "--rw=randwrite", "--bs=4k", "--rate_iops=1000",
                    "--ioengine=null", "--runtime=20", "--time_based", "--no-progress", "--output-format", "json"]
        case .replay:
            let g = try run("fio-gen", ["--name=p", "--rw=randread", "--bs=4k", "--size=4m", "--rate_iops=1000",
                                        "--runtime=20", "--time_based", "-o", dir + "/p.fiot"])
            try #require(g.status == 0, "\(g.stderr)")
            args = ["replay", dir + "/p.fiot", "--engine", "null", "--target", dir + "/f", "--no-progress", "--output-format", "json"]
        case .record:
            args = ["record", "-o", out, "--paths", dir, "--", "sh", "-c",
                    "i=0; while [ $i -lt 2000 ]; do echo $i >&3; i=$((i+1)); sleep 0.01; done 3>>\(dir)/log.txt"]
        }
        if tool != .record { args += ["--write-iolog", out] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/fio-replay")
        p.arguments = args
        let stdout = Pipe()
        p.standardOutput = stdout
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        usleep(1_500_000)
        kill(p.processIdentifier, SIGTERM)
        let text = stdout.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationReason == .exit, "SIGTERM is caught, not fatal")
        #expect(p.terminationStatus == (tool == .record ? 128 + SIGTERM : 130), "status \(p.terminationStatus)")
        var src = try openTraceSource(path: out)
        var records: [TraceRecord] = []
        var batch: [TraceRecord] = []
        while try src.nextBatch(&batch, maxCount: 4096) { records += batch }
        #expect(records.count > (tool == .record ? 20 : 1000), "\(records.count) records in 1.5 s")
        if tool == .record {
            #expect(src.metadata[MetadataKey.recordExitStatus] == String(128 + SIGTERM), "the footer's metadata: \(src.metadata)")
        } else {
            let j = try JSONSerialization.jsonObject(with: text) as! [String: Any]
            let job = (j["jobs"] as! [[String: Any]])[0]
            let op = job[tool == .run ? "write" : "read"] as! [String: Any]
            #expect((op["total_ios"] as? Int) == records.count, "the report's I/Os vs the recording's")
        }
    }

    /// The process ids below `pid` (children first, then theirs), from /proc.
    func descendants(of pid: Int32) -> [Int32] {
        var out: [Int32] = []
        var queue = [pid]
        while let p = queue.popLast() {
            guard let text = try? String(contentsOfFile: "/proc/\(p)/task/\(p)/children", encoding: .utf8) else { continue }
            let kids = text.split(separator: " ").compactMap { Int32($0) }
            out += kids
            queue += kids
        }
        return out
    }
}
