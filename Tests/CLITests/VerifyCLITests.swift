import Foundation
import Glibc
import Testing

/// A fio v3 iolog (µs timestamps) of `ios` (time µs, op, offset, length) on `path`.
private func iolog(_ path: String, _ ios: [(UInt64, String, UInt64, UInt64)]) -> String {
    var s = "fio version 3 iolog\n0 \(path) add\n0 \(path) open\n"
    for (t, op, off, len) in ios {
        s += op == "sync" ? "\(t) \(path) sync \(off) 0\n" : "\(t) \(path) \(op) \(off) \(len)\n"
    }
    return s
}

/// jobs[0]["verify"] of a JSON report.
private func verifyObject(_ r: RunResult) throws -> [String: Any] {
    let top = try #require(try? json(r), "stdout is JSON: \(r.stdout.prefix(300)) \(r.stderr)")
    let jobs = try #require(top["jobs"] as? [[String: Any]])
    return try #require(jobs.first?["verify"] as? [String: Any], "a verify object: \(jobs.first ?? [:])")
}

private func int(_ d: [String: Any], _ path: String...) -> Int {
    var cur: Any? = d
    for k in path { cur = (cur as? [String: Any])?[k] }
    return (cur as? NSNumber)?.intValue ?? -1
}

/// Flips one bit in byte `offset` of `path`.
private func flipBit(_ path: String, at offset: UInt64) {
    let fd = open(path, O_RDWR)
    var b: UInt8 = 0
    pread(fd, &b, 1, off_t(offset))
    b ^= 0x20
    pwrite(fd, &b, 1, off_t(offset))
    close(fd)
}

/// Starts `fio-replay` with `args` in the background.
private func start(_ args: [String]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binDir + "/fio-replay")
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
}

@Suite("Verify from the command line", .serialized)
struct VerifyCLITests {
    /// A 4 s timed trace of random 4 KiB writes over 8 MiB at 2000 IOPS, an fsync every 100
    /// writes, and a block at 8 MiB written at 0.1 s and never again.
    func crashTrace(_ dir: String) throws -> String {
        var ios: [(UInt64, String, UInt64, UInt64)] = [(100_000, "write", 8 << 20, 4096)]
        var rng = SystemRandomNumberGenerator()
        for i in 0..<8000 {
            ios.append((UInt64(i) * 500, "write", UInt64.random(in: 0..<2048, using: &rng) * 4096, 4096))
            if i % 100 == 99 { ios.append((UInt64(i) * 500 + 1, "sync", 0, 0)) }
        }
        ios.sort { $0.0 < $1.0 }
        let path = dir + "/crash.log"
        try iolog("/data/f", ios).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("SIGKILL mid-replay: verify from the saved state reports nothing false (kill and power-cut models), and finds a block corrupted before the kill")
    func killedReplay() throws {
        let dir = makeTempDir("vkill"); defer { cleanup(dir) }
        let trace = try crashTrace(dir)
        let target = dir + "/f", state = dir + "/s"
        #expect(try run("truncate", ["-s", "9m", target]).status == 0)
        let p = try start(["replay", trace, "--target", target, "--engine", "libaio", "--iodepth", "8",
                           "--verify", "crc32c", "--verify-state", state, "--no-progress"])
        usleep(1_000_000)
        // Damage the block written at 0.1 s (and not again) while the replay goes on.
        flipBit(target, at: (8 << 20) + 700)
        usleep(500_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        for model in ["kill", "power"] {
            let r = try run("fio-replay", ["verify", "--state", state, "--crash", model, "--output-format", "json", "--no-progress"])
            #expect(r.status == 1, "\(model): the damaged block is bad: \(r.stderr)")
            let v = try verifyObject(r)
            let ranges = try #require(v["bad_extents"] as? [[String: Any]])
            #expect(ranges.count == 1, "\(model): exactly the damaged sector, no false reports: \(ranges)")
            #expect(int(ranges.first ?? [:], "offset") == (8 << 20) + 512 && ranges.first?["class"] as? String == "corrupted")
            #expect(int(v, "pass", "checked_bytes") > 4 << 20, "\(model): what the run wrote is checked")
            #expect(v["crash"] as? String == (model == "kill" ? "process kill" : "power cut"))
            if model == "power" {
                #expect(int(v, "pass", "good_bytes") > 1 << 20, "durable writes are checked strictly")
            }
        }
        // Undamaged, the state verifies clean under both models.
        flipBit(target, at: (8 << 20) + 700)
        for model in ["kill", "power"] {
            let r = try run("fio-replay", ["verify", "--state", state, "--crash", model, "--no-progress"])
            #expect(r.status == 0, "\(model): \(r.stdout.suffix(600)) \(r.stderr)")
        }
    }

    @Test("SIGKILL mid-run of a fio job with fsync every 32 writes: verify from the state finds nothing false")
    func killedRun() throws {
        let dir = makeTempDir("vrun"); defer { cleanup(dir) }
        let p = try start(["run", "--name=c", "--filename=\(dir)/f", "--size=8m", "--rw=randwrite", "--bs=4k", "--fsync=32",
                           "--rate_iops=2000", "--runtime=6", "--time_based", "--ioengine=libaio", "--iodepth=4",
                           "--verify=crc32c", "--verify_interval=4096", "--verify-state", dir + "/s", "--no-progress"])
        usleep(1_500_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        for model in ["kill", "power"] {
            let r = try run("fio-replay", ["verify", "--state", dir + "/s", "--crash", model, "--output-format", "json", "--no-progress"])
            #expect(r.status == 0, "\(model): \(r.stderr)")
            let v = try verifyObject(r)
            #expect(int(v, "pass", "checked_bytes") > 512 << 10, "\(model): \(v)")
            #expect(int(v, "pass", "bad_bytes") == 0)
        }
    }

    @Test("run with fio's verify=crc32c and verify_interval checks what it wrote; verify_only finds a corruption made afterwards")
    func runVerifyOptions() throws {
        let dir = makeTempDir("vopt"); defer { cleanup(dir) }
        let job = ["run", "--name=v", "--filename=\(dir)/f", "--size=8m", "--rw=randwrite", "--bs=16k", "--ioengine=libaio",
                   "--iodepth=8", "--verify=crc32c", "--verify_interval=4096", "--verify-state", dir + "/s",
                   "--output-format", "json", "--no-progress"]
        let w = try run("fio-replay", job)
        #expect(w.status == 0, "\(w.stderr)")
        let v = try verifyObject(w)
        #expect(v["interval"] as? Int == 4096 && v["algorithm"] as? String == "crc32c")
        #expect(int(v, "pass", "good_bytes") == 8 << 20, "\(v)")
        flipBit(dir + "/f", at: 3 * 4096 + 2000)
        let c = try run("fio-replay", job + ["--verify_only=1"])
        #expect(c.status == 1)
        let cv = try verifyObject(c)
        let ranges = try #require(cv["bad_extents"] as? [[String: Any]])
        #expect(ranges.count == 1 && int(ranges[0], "offset") == 3 * 4096 + 1536 && ranges[0]["class"] as? String == "corrupted", "\(ranges)")
        // fio-gen still cannot generate fio's read-back: it says so with the option's place.
        let g = try run("fio-gen", ["--name=v", "--rw=write", "--size=1m", "--verify=crc32c", "-o", dir + "/g.fiot"])
        #expect(g.status != 0 && g.stderr.contains("verify=crc32c"), "\(g.stderr)")
    }

    @Test("two jobs (numjobs=2) share one verifier: both streams' writes are read back and checked; a file-wide corruption is found once")
    func sharedVerifier() throws {
        let dir = makeTempDir("vnj"); defer { cleanup(dir) }
        let job = ["run", "--name=n", "--filename=\(dir)/f", "--size=4m", "--rw=randwrite", "--bs=4k", "--ioengine=libaio",
                   "--iodepth=4", "--numjobs=2", "--verify=xxhash", "--verify-state", dir + "/s", "--output-format", "json", "--no-progress"]
        let r = try run("fio-replay", job)
        #expect(r.status == 0, "\(r.stderr)")
        let v = try verifyObject(r)
        // Each clone writes the whole 4 MiB once (fio's random map): 2048 writes in all, and
        // the read-back covers the file (overlapping writes of the two streams are allowed
        // either way).
        #expect(int(v, "writes") == 2048)
        #expect(int(v, "pass", "checked_bytes") == 4 << 20, "\(v)")
        #expect(int(v, "pass", "bad_bytes") == 0)
        flipBit(dir + "/f", at: 1 << 20)
        let c = try run("fio-replay", ["verify", "--state", dir + "/s", "--output-format", "json", "--no-progress"])
        #expect(c.status == 1)
        let ranges = try #require(try verifyObject(c)["bad_extents"] as? [[String: Any]])
        #expect(ranges.count == 1 && int(ranges[0], "offset") == 1 << 20, "\(ranges)")
    }

    @Test("--verify-fatal stops the replay at the first bad read; without it the replay runs to the end and reports every bad read")
    func fatal() throws {
        let dir = makeTempDir("vfatal"); defer { cleanup(dir) }
        // A block written at once, then read back every 2 ms for 3 s.
        var ios: [(UInt64, String, UInt64, UInt64)] = [(0, "write", 0, 4096)]
        for i in 1...1500 { ios.append((UInt64(i) * 2000, "read", 0, 4096)) }
        let trace = dir + "/t.log"
        try iolog("/data/f", ios).write(toFile: trace, atomically: true, encoding: .utf8)
        for fatal in [true, false] {
            let target = dir + "/f\(fatal)"
            #expect(try run("truncate", ["-s", "1m", target]).status == 0)
            let out = dir + "/out\(fatal).json"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binDir + "/fio-replay")
            p.arguments = ["replay", trace, "--target", target, "--engine", "psync", "--verify", "crc32c", "--no-do-verify",
                           "--output-format", "json", "--output", out, "--no-progress"] + (fatal ? ["--verify-fatal"] : [])
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(1_000_000)
            flipBit(target, at: 1000)
            p.waitUntilExit()
            #expect(p.terminationStatus == 1)
            let j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
            let job = (j["jobs"] as! [[String: Any]])[0]
            let reads = int(job, "read", "total_ios")
            let v = job["verify"] as! [String: Any]
            if fatal {
                #expect(reads < 800, "stopped soon after the damage (about 500 reads in): \(reads)")
                #expect((job["replay"] as? [String: Any])?["error"] as? String ?? "" != "")
            } else {
                #expect(reads == 1500)
                #expect(int(v, "inline", "bad_ranges") > 500, "every read after the damage is bad: \(v)")
            }
            #expect(int(v, "inline", "good_bytes") > 100 * 4096, "reads before the damage were good")
        }
    }

    @Test("run's default state file (JOB-verify.state) is removed after a clean run and kept when the run is interrupted")
    func defaultState() throws {
        let dir = makeTempDir("vdef"); defer { cleanup(dir) }
        let r = try run("fio-replay", ["run", "--name=d", "--filename=\(dir)/f", "--size=1m", "--rw=write", "--bs=64k",
                                       "--verify=md5", "--no-progress"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/d-verify.state"), "fio keeps its state only for an aborted job")
        // Interrupted: the state stays, and a later check from it reads back what was written.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/fio-replay")
        p.arguments = ["run", "--name=d", "--filename=\(dir)/g", "--size=4m", "--rw=randwrite", "--bs=4k", "--rate_iops=500",
                       "--verify=md5", "--no-progress"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(800_000)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        #expect(FileManager.default.fileExists(atPath: dir + "/d-verify.state"))
        let v = try run("fio-replay", ["verify", "--state", dir + "/d-verify.state", "--output-format", "json", "--no-progress"])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(int(try verifyObject(v), "pass", "good_bytes") > 100 * 4096)
    }

    @Test("verify_backlog is refused by name; an unknown algorithm and a bad state file say what is wrong")
    func refusals() throws {
        let dir = makeTempDir("vref"); defer { cleanup(dir) }
        let b = try run("fio-replay", ["run", "--name=v", "--filename=\(dir)/f", "--size=1m", "--rw=write", "--verify=md5",
                                       "--verify_backlog=16", "--no-progress"])
        #expect(b.status != 0 && b.stderr.contains("verify_backlog"), "\(b.stderr)")
        let u = try run("fio-replay", ["replay", dir + "/none.fiot", "--verify", "adler"])
        #expect(u.status != 0 && u.stderr.contains("adler"), "\(u.stderr)")
        try Data("not a state".utf8).write(to: URL(fileURLWithPath: dir + "/bad"))
        let s = try run("fio-replay", ["verify", "--state", dir + "/bad", "--no-progress"])
        #expect(s.status == 1 && s.stderr.contains("not a verify state"), "\(s.stderr)")
    }
}
