import Foundation
import FioReplay
import FioTrace
import Glibc
import Testing

func runTool(_ path: String, _ args: [String]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite("Command line", .serialized)
struct ProcessTests {
    @Test("Ctrl-C stops issuing, drains in-flight I/O, prints the stats so far and exits non-zero")
    func sigint() throws {
        let bin = try #require(builtBinary(), "build the fio-replay product first (swift build), or set FIO_REPLAY_BIN")
        let d = try TempDir(); defer { d.cleanup() }
        let target = d.file("target")
        try makeFile(target, size: 16 << 20)
        // 10 s of reads at 2000 IOPS; we interrupt after ~0.7 s.
        let t = try writeTrace(d, files: [TraceFile(path: "x")], metadata: ["iodepth": "8"],
                               records: evenReads(count: 20000, durationNs: 10_000_000_000, span: 16 << 20))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = ["replay", t, "--target", target, "--engine", "libaio", "--direct", "--output-format", "json"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let t0 = Date()
        try p.run()
        usleep(700_000)
        kill(p.processIdentifier, SIGINT)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let elapsed = Date().timeIntervalSince(t0)
        #expect(p.terminationStatus == 130, "exit status \(p.terminationStatus)")
        #expect(elapsed < 3, "took \(elapsed) s after the interrupt")
        let job = try checkFioShape(String(decoding: data, as: UTF8.self))
        let read = job["read"] as! [String: Any]
        let rep = job["replay"] as! [String: Any]
        let ios = read["total_ios"] as! Int
        #expect(rep["interrupted"] as? Bool == true)
        #expect(ios > 200 && ios < 10000, "\(ios) I/Os before the interrupt")
        #expect(rep["issued"] as? Int == ios, "every issued I/O completed (drained)")
    }

    @Test("errors: missing trace, unknown engine, too-small target give one clear line and exit 1")
    func errors() throws {
        let bin = try #require(builtBinary())
        let d = try TempDir(); defer { d.cleanup() }
        var (s, _, e) = try runTool(bin, ["replay", d.file("missing.fiot"), "--target", d.file("x")])
        #expect(s == 1)
        #expect(e.contains("missing.fiot"))
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: [TraceRecord(time: 0, op: .write, file: 0, offset: 1 << 20, length: 4096)])
        (s, _, e) = try runTool(bin, ["replay", t, "--engine", "bogus"])
        #expect(s != 0)
        #expect(e.contains("bogus"))
        let small = d.file("small")
        try makeFile(small, size: 4096)
        var o = ""
        (s, o, e) = try runTool(bin, ["replay", t, "--target", small, "--engine", "psync", "--output-format", "json"])
        #expect(s == 1)
        #expect(e.contains("--wrap"), "stderr: \(e)")
        try checkFioShape(o)
    }
}

@Suite("Block devices", .serialized)
struct BlockDeviceTests {
    static func sh(_ cmd: String) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", cmd]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do { try p.run() } catch { return (-1, "\(error)") }
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("a loop device with ext4 is refused for writing unless allowDestructive; a blank one is written")
    func refuseFilesystem() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/losetup") else { return }
        let d = try TempDir(); defer { d.cleanup() }
        let img = d.file("disk.img")
        try makeFile(img, size: 32 << 20)
        let (rc, dev) = Self.sh("losetup -f --show \(img)")
        try #require(rc == 0 && dev.hasPrefix("/dev/loop"), "losetup: \(dev)")
        defer { _ = Self.sh("losetup -d \(dev)") }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: [
            TraceRecord(time: 0, op: .write, file: 0, offset: 1 << 20, length: 4096),
            TraceRecord(time: 1, op: .trim, file: 0, offset: 2 << 20, length: 1 << 20),
            TraceRecord(time: 2, op: .read, file: 0, offset: 1 << 20, length: 4096),
        ])
        // Blank device: writes, discards and reads go through (O_DIRECT too).
        let ok = try replay(t, engine: .libaio) { $0.targets = TargetMapping(all: dev); $0.direct = true }
        #expect(ok.error == nil, "\(ok.error?.message ?? "")")
        #expect(ok.stats.write.ios == 1 && ok.stats.trim.ios == 1 && ok.stats.read.ios == 1)

        let (mrc, mout) = Self.sh("mkfs.ext4 -q -F \(dev)")
        try #require(mrc == 0, "mkfs.ext4: \(mout)")
        let refused = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: dev) }
        let e = try #require(refused.error)
        #expect(e.kind == .refusedDestructive)
        #expect(e.message.contains("ext2/3/4"))
        #expect(e.message.contains("--allow-destructive"))
        #expect(refused.stats.write.ios == 0)
        // Reading it is fine.
        let ro = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: dev); $0.readOnly = true }
        #expect(ro.error == nil)
        #expect(ro.stats.read.ios == 1)
        // Mounted: refused for that reason first.
        let mnt = d.file("mnt")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let (mountRC, mountOut) = Self.sh("mount \(dev) \(mnt)")
        if mountRC == 0 {
            let m = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: dev) }
            #expect(m.error?.kind == .refusedDestructive)
            #expect(m.error?.message.contains("mounted on \(mnt)") == true, "\(m.error?.message ?? "")")
            _ = Self.sh("umount \(mnt)")
        } else {
            Issue.record("mount failed: \(mountOut)")
        }
        let forced = try replay(t, engine: .psync) { $0.targets = TargetMapping(all: dev); $0.allowDestructive = true }
        #expect(forced.error == nil, "\(forced.error?.message ?? "")")
        #expect(forced.stats.write.ios == 1)
    }

    @Test("ENOSPC mid-run: the replay stops with the record number and keeps the stats so far")
    func enospc() throws {
        guard getuid() == 0 else { return }
        let d = try TempDir(); defer { d.cleanup() }
        let mnt = d.file("mnt")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let (rc, out) = Self.sh("mount -t tmpfs -o size=1m tmpfs \(mnt)")
        try #require(rc == 0, "mount: \(out)")
        defer { _ = Self.sh("umount \(mnt)") }
        // 32 x 64 KiB writes = 2 MiB into a 1 MiB filesystem.
        let recs = (0..<32).map { TraceRecord(time: UInt64($0) * 1000, op: .write, file: 0, offset: UInt64($0) << 16, length: 1 << 16) }
        let t = try writeTrace(d, files: [TraceFile(path: "x")], records: recs)
        for kind in [EngineKind.psync, .iouring] {
            let target = mnt + "/f-\(kind.rawValue)"
            let r = try replay(t, engine: kind) {
                $0.targets = TargetMapping(all: target)
                $0.requiredSizes = [0: 2 << 20]
                $0.timing = .none
                $0.iodepth = 4
            }
            let e = try #require(r.error, "\(kind): no error on a full filesystem")
            #expect(e.kind == .ioFailed)
            #expect(e.errno == ENOSPC)
            #expect(e.message.contains("record \(e.record ?? 999)"))
            #expect(e.message.contains("full"))
            let rec = try #require(e.record)
            #expect(rec >= 8 && rec < 32, "failed at record \(rec)")
            #expect(r.stats.write.ios >= 8 && r.stats.write.ios < 32, "\(r.stats.write.ios) writes done")
            #expect(r.stats.write.bytes <= r.stats.write.ios << 16 && r.stats.write.bytes >= (r.stats.write.ios - 1) << 16)
            _ = Self.sh("rm -f \(target)")
        }
    }
}
