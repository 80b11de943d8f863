import Foundation
import Glibc
import Testing

// I/O errors in the middle of a replay (EIO, ENOSPC) and the progress line on a terminal.
//
// The EIO device: the test machine's kernel has no device-mapper (no dm-error target, no
// modules to load), so the failing half comes from a FUSE file served by this test
// process over /dev/fuse (the raw kernel protocol, no libfuse): reads and writes that
// touch its second half fail with EIO, the first half reads zeros and accepts writes. A
// loop device over that file is the block device the replay targets, so the error travels
// the real path: block layer, loop driver, FUSE, and back as EIO.

/// True when this process can mount filesystems and set up loop devices (root in a
/// container that allows it).
private let isRoot = geteuid() == 0

private let canLoopOverFuse: Bool = {
    isRoot && access("/dev/fuse", R_OK | W_OK) == 0 && access("/dev/loop-control", F_OK) == 0
        && haveTool("losetup")
}()

private let canMountTmpfs: Bool = {
    guard isRoot else { return false }
    let dir = makeTempDir("tmpfs-probe"); defer { cleanup(dir) }
    guard mountFS("tmpfs", dir, "tmpfs", 0, "size=64k") == 0 else { return false }
    umount2(dir, 2) // MNT_DETACH
    return true
}()

/// Runs a tool like `run`, but kills it after `timeout` seconds (a hang fails the test
/// instead of stalling the suite).
private func runLimited(_ tool: String, _ args: [String], timeout: Double = 60) throws -> (RunResult, timedOut: Bool) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binDir + "/" + tool)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box(), outBox = Box()
    let g = DispatchGroup()
    g.enter()
    DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); g.leave() }
    g.enter()
    DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); g.leave() }
    var timedOut = false
    if g.wait(timeout: .now() + timeout) == .timedOut {
        timedOut = true
        kill(p.processIdentifier, SIGKILL)
        g.wait()
    }
    p.waitUntilExit()
    return (RunResult(status: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal,
                      stdout: String(decoding: outBox.data, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self), stdoutData: outBox.data), timedOut)
}

/// mount(2); returns 0 or -1 with errno set.
private func mountFS(_ source: String, _ target: String, _ type: String, _ flags: UInt, _ data: String) -> Int32 {
    data.withCString { mount(source, target, type, flags, $0) }
}

@discardableResult
private func sh(_ command: String) -> (status: Int32, output: String) {
    guard let r = try? run("sh", ["-c", command]) else { return (-1, "cannot run sh") }
    return (r.status, (r.stdout + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines))
}

/// A fio iolog v3 with one file and `ios` (op, offset, length), 100 us apart.
private func iologV3(path: String, ios: [(String, UInt64, UInt64)], gapUs: UInt64 = 100) -> String {
    var s = "fio version 3 iolog\n0 \(path) add\n0 \(path) open\n"
    for (i, io) in ios.enumerated() { s += "\(UInt64(i + 1) * gapUs) \(path) \(io.0) \(io.1) \(io.2)\n" }
    s += "\(UInt64(ios.count + 1) * gapUs) \(path) close\n"
    return s
}

/// jobs[0] of a fio JSON report.
private func job(_ r: RunResult) throws -> [String: Any] {
    let top = try #require(try? json(r), "stdout is a JSON report even after the error: \(r.stdout.prefix(300))")
    let jobs = try #require(top["jobs"] as? [[String: Any]])
    return try #require(jobs.first)
}

private func totalIOs(_ job: [String: Any], _ op: String) -> Int {
    ((job[op] as? [String: Any])?["total_ios"] as? NSNumber)?.intValue ?? -1
}

// MARK: - a FUSE file whose second half fails with EIO

/// One file, `/disk`, `size` bytes, served from this process over /dev/fuse. Any read or
/// write that touches a byte at or past `errorFrom` fails with EIO; the rest succeed: with
/// `keepsWrites` the first half holds what was written (in memory), else reads return zeros
/// and writes are accepted and dropped (a device that loses acknowledged writes). Opened with
/// FOPEN_DIRECT_IO so every request reaches the server with the caller's own offset and length.
private final class FuseErrorFile: @unchecked Sendable {
    let mountPoint: String
    let size: UInt64
    let errorFrom: UInt64
    private let fd: Int32
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _eioCount = 0
    /// Requests answered with EIO so far.
    var eioCount: Int { lock.lock(); defer { lock.unlock() }; return _eioCount }

    var path: String { mountPoint + "/disk" }
    /// The first half's bytes, when writes are kept.
    private let store: UnsafeMutableRawBufferPointer?

    init(mountPoint: String, size: UInt64, errorFrom: UInt64, keepsWrites: Bool = false) throws {
        self.mountPoint = mountPoint
        self.size = size
        self.errorFrom = errorFrom
        if keepsWrites {
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(errorFrom), alignment: 4096)
            b.initializeMemory(as: UInt8.self, repeating: 0)
            store = b
        } else {
            store = nil
        }
        fd = Glibc.open("/dev/fuse", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let opts = "fd=\(fd),rootmode=40000,user_id=0,group_id=0"
        if mountFS("fiotrace-eio", mountPoint, "fuse", 2 | 4 /* MS_NOSUID | MS_NODEV */, opts) != 0 {
            let e = errno
            Glibc.close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: e) ?? .EIO)
        }
        let t = Thread { [self] in serve() }
        t.start()
    }

    /// Detaches the mount; the kernel ends the connection once the last user (the loop
    /// device) lets go of the file, and the server thread then returns. Waits up to 10 s.
    func unmount() -> Bool {
        umount2(mountPoint, 2) // MNT_DETACH
        return done.wait(timeout: .now() + 10) == .success
    }

    // fuse.h opcodes used here.
    private enum Op: UInt32 {
        case lookup = 1, forget = 2, getattr = 3, setattr = 4, open = 14, read = 15, write = 16,
             statfs = 17, release = 18, fsync = 20, flush = 25, initialize = 26, opendir = 27,
             readdir = 28, releasedir = 29, access = 34, interrupt = 36, destroy = 38, batchForget = 42
    }

    private func serve() {
        defer { Glibc.close(fd); done.signal() }
        let cap = (1 << 20) + 8192
        let buf = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 8)
        defer { buf.deallocate() }
        while true {
            let n = Glibc.read(fd, buf, cap)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN || errno == ENOENT { continue }
                return // ENODEV: unmounted / aborted
            }
            guard n >= 40 else { continue }
            let opcode = buf.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            let unique = buf.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let nodeid = buf.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
            let body = UnsafeRawBufferPointer(start: buf + 40, count: n - 40)
            guard let op = Op(rawValue: opcode) else { reply(unique, error: ENOSYS); continue }
            switch op {
            case .forget, .batchForget, .interrupt:
                continue // no reply
            case .initialize:
                var out = Bytes()
                out.u32(7); out.u32(31)             // major, minor
                out.u32(0); out.u32(0)              // max_readahead, flags
                out.u16(16); out.u16(12)            // max_background, congestion_threshold
                out.u32(1 << 20); out.u32(1)        // max_write, time_gran
                out.u16(0); out.u16(0); out.u32(0)  // max_pages, map_alignment, flags2
                out.u32(0)                          // max_stack_depth
                for _ in 0..<6 { out.u32(0) }
                reply(unique, out)
            case .lookup:
                let name = String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)
                guard nodeid == 1, name == "disk" else { reply(unique, error: ENOENT); continue }
                var out = Bytes()
                out.u64(2); out.u64(0)              // nodeid, generation
                out.u64(1); out.u64(1)              // entry_valid, attr_valid (s)
                out.u32(0); out.u32(0)
                attr(&out, node: 2)
                reply(unique, out)
            case .getattr, .setattr:
                guard nodeid == 1 || nodeid == 2 else { reply(unique, error: ENOENT); continue }
                var out = Bytes()
                out.u64(1); out.u32(0); out.u32(0)  // attr_valid, nsec, dummy
                attr(&out, node: nodeid)
                reply(unique, out)
            case .open, .opendir:
                var out = Bytes()
                out.u64(0); out.u32(op == .open ? 1 : 0); out.u32(0) // fh, FOPEN_DIRECT_IO
                reply(unique, out)
            case .read:
                let off = body.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let len = UInt64(body.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
                if off + len > errorFrom && off < size { failed(unique); continue }
                let count = Int(off >= size ? 0 : min(len, size - off))
                if let store { reply(unique, Bytes(copying: UnsafeRawBufferPointer(rebasing: store[Int(off)..<(Int(off) + count)]))) }
                else { reply(unique, Bytes(zeros: count)) }
            case .write:
                let off = body.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let len = body.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
                if off + UInt64(len) > errorFrom { failed(unique); continue }
                // fuse_write_in is 40 bytes; the data follows it.
                if let store, body.count >= 40 + Int(len) {
                    store.baseAddress!.advanced(by: Int(off)).copyMemory(from: body.baseAddress! + 40, byteCount: Int(len))
                }
                var out = Bytes()
                out.u32(len); out.u32(0)
                reply(unique, out)
            case .statfs:
                var out = Bytes()
                for v in [size / 4096, 0, 0, 2, 0] as [UInt64] { out.u64(v) }
                out.u32(4096); out.u32(255); out.u32(4096); out.u32(0)
                for _ in 0..<6 { out.u32(0) }
                reply(unique, out)
            case .readdir:
                reply(unique, Bytes())
            case .release, .releasedir, .flush, .fsync, .access:
                reply(unique, Bytes())
            case .destroy:
                reply(unique, Bytes())
                return
            }
        }
    }

    private func failed(_ unique: UInt64) {
        lock.lock(); _eioCount += 1; lock.unlock()
        reply(unique, error: EIO)
    }

    private func attr(_ out: inout Bytes, node: UInt64) {
        let isDir = node == 1
        out.u64(node)                                   // ino
        out.u64(isDir ? 0 : size)                       // size
        out.u64(isDir ? 0 : size / 512)                 // blocks
        out.u64(0); out.u64(0); out.u64(0)              // atime, mtime, ctime
        out.u32(0); out.u32(0); out.u32(0)              // nsecs
        out.u32(isDir ? 0o040755 : 0o100644)            // mode
        out.u32(isDir ? 2 : 1)                          // nlink
        out.u32(0); out.u32(0); out.u32(0)              // uid, gid, rdev
        out.u32(4096); out.u32(0)                       // blksize, flags
    }

    private func reply(_ unique: UInt64, _ payload: Bytes = Bytes(), error: Int32 = 0) {
        var msg = Bytes()
        let len = 16 + (error == 0 ? payload.data.count : 0)
        msg.u32(UInt32(len)); msg.u32(UInt32(bitPattern: -error)); msg.u64(unique)
        if error == 0 { msg.data += payload.data }
        _ = msg.data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    deinit { store?.deallocate() }

    private struct Bytes {
        var data: [UInt8] = []
        init() {}
        init(zeros: Int) { data = [UInt8](repeating: 0, count: zeros) }
        init(copying b: UnsafeRawBufferPointer) { data = Array(b) }
        mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    }
}

/// A loop device over a `FuseErrorFile`: a block device whose second half fails with EIO.
/// `body` gets the device path; everything is torn down afterwards, also when it throws.
private func withHalfFailingDevice(size: UInt64, errorFrom: UInt64, keepsWrites: Bool = false,
                                   _ body: (String, FuseErrorFile) throws -> Void) throws {
    let dir = makeTempDir("eio-mnt")
    defer { rmdir(dir) }
    let fuse = try FuseErrorFile(mountPoint: dir, size: size, errorFrom: errorFrom, keepsWrites: keepsWrites)
    defer { #expect(fuse.unmount(), "the FUSE server ends once the mount is gone") }
    let l = sh("losetup -f --show \(fuse.path)")
    try #require(l.status == 0 && l.output.hasPrefix("/dev/loop"), "losetup over the FUSE file: \(l.output)")
    let dev = l.output
    defer {
        let d = sh("losetup -d \(dev)")
        #expect(d.status == 0, "losetup -d \(dev): \(d.output)")
    }
    try body(dev, fuse)
}

@Suite(.serialized) struct FailureTests {
    /// The EIO trace: 40 I/Os of 4 KiB. I/O k (k < 33) is at k MiB + (k % 4) * 4 KiB, so
    /// I/Os 0...31 lie in the good first 32 MiB and I/O 32 (record 34: the add and open
    /// events are records 0 and 1) is the first in the failing half. I/Os 33...39 are back
    /// in the good half: a replay that went on after the error would count them.
    static func eioIOs(firstFailingOp: String) -> [(String, UInt64, UInt64)] {
        let other = firstFailingOp == "write" ? "read" : "write"
        return (0..<40).map { k -> (String, UInt64, UInt64) in
            let op = k % 2 == 0 ? firstFailingOp : other
            let off: UInt64 = k <= 32 ? UInt64(k) << 20 + UInt64(k % 4) * 4096 : UInt64(k - 33) * 4096
            return (op, off, 4096)
        }
    }

    @Test(.enabled(if: canLoopOverFuse, "needs root, /dev/fuse, /dev/loop-control and losetup"),
          arguments: ["psync", "libaio", "io_uring"], ["write", "read"])
    func eioMidRunStopsWithRecordNumberAndStats(engine: String, firstFailingOp: String) throws {
        let dir = makeTempDir("eio"); defer { cleanup(dir) }
        let ios = Self.eioIOs(firstFailingOp: firstFailingOp)
        let trace = dir + "/t.log"
        try iologV3(path: "/dev/orig", ios: ios).write(toFile: trace, atomically: true, encoding: .utf8)
        // Hand count: I/Os 0...31 complete; 0, 2, ..., 30 are `firstFailingOp`.
        let expectFirst = 16, expectOther = 16
        let (readsOK, writesOK) = firstFailingOp == "read" ? (expectFirst, expectOther) : (expectOther, expectFirst)
        try withHalfFailingDevice(size: 64 << 20, errorFrom: 32 << 20) { dev, fuse in
            // No --allow-destructive: an unmounted device without any signature is writable.
            let (r, timedOut) = try runLimited("fio-replay", [
                "replay", trace, "--target", dev, "--engine", engine, "--iodepth", "1", "--direct",
                "--output-format", "json", "--no-progress"])
            #expect(!timedOut, "the replay must not hang after EIO")
            #expect(!r.signaled && r.status == 1, "exit status 1, got \(r.status) (signaled: \(r.signaled)); stderr: \(r.stderr)")
            #expect(!r.stderr.contains("refusing"), "a blank device needs no --allow-destructive: \(r.stderr)")
            let expected = "record 34: \(firstFailingOp) of 4096 bytes at offset \(32 << 20) failed: Input/output error"
            #expect(r.stderr.contains(expected), "stderr names the record and the error: \(r.stderr)")
            #expect(fuse.eioCount == 1, "exactly one I/O reached the failing half, got \(fuse.eioCount)")
            let j = try job(r)
            #expect((j["error"] as? NSNumber)?.intValue == Int(EIO))
            #expect(totalIOs(j, "read") == readsOK, "reads before the failure: \(totalIOs(j, "read"))")
            #expect(totalIOs(j, "write") == writesOK, "writes before the failure: \(totalIOs(j, "write"))")
            let replay = try #require(j["replay"] as? [String: Any])
            #expect((replay["error_record"] as? NSNumber)?.intValue == 34)
            #expect((replay["error"] as? String)?.contains("Input/output error") == true)
        }
    }

    /// A verified replay whose write fails with EIO: the failed write is not reported as
    /// corrupt later; everything that completed is read back and checked good. And a device
    /// that acknowledges writes and drops them: every one of them is reported as unwritten.
    @Test(.enabled(if: canLoopOverFuse, "needs root, /dev/fuse, /dev/loop-control and losetup"),
          arguments: ["libaio", "io_uring"])
    func eioWriteIsNotReportedByVerify(engine: String) throws {
        let dir = makeTempDir("eiov"); defer { cleanup(dir) }
        let trace = dir + "/t.log"
        try iologV3(path: "/dev/orig", ios: Self.eioIOs(firstFailingOp: "write")).write(toFile: trace, atomically: true, encoding: .utf8)
        try withHalfFailingDevice(size: 64 << 20, errorFrom: 32 << 20) { dev, _ in
            let (r, _) = try runLimited("fio-replay", [
                "replay", trace, "--target", dev, "--engine", engine, "--iodepth", "1", "--direct",
                "--verify", "crc32c", "--output-format", "json", "--no-progress"])
            let v = try #require(try job(r)["verify"] as? [String: Any])
            let pass = try #require(v["pass"] as? [String: Any])
            let bad = try #require(pass["bad"] as? [String: Any])
            #expect((bad["unwritten"] as? NSNumber)?.intValue == 16 * 4096, "the 16 dropped writes: \(pass)")
            #expect((v["bad_extents"] as? [Any])?.count == 16)
        }
        try withHalfFailingDevice(size: 64 << 20, errorFrom: 32 << 20, keepsWrites: true) { dev, fuse in
            let (r, timedOut) = try runLimited("fio-replay", [
                "replay", trace, "--target", dev, "--engine", engine, "--iodepth", "1", "--direct",
                "--verify", "crc32c", "--verify-state", dir + "/s", "--output-format", "json", "--no-progress"])
            #expect(!timedOut)
            #expect(r.status == 1 && r.stderr.contains("Input/output error"), "\(r.stderr)")
            let v = try #require(try job(r)["verify"] as? [String: Any])
            #expect((v["writes_failed"] as? NSNumber)?.intValue == 1)
            #expect(v["ok"] as? Bool == true, "\(v)")
            // Later, in another process: the failed write's sectors are not expected to hold it.
            let (p, t2) = try runLimited("fio-replay", ["verify", "--state", dir + "/s", "--target", dev, "--engine", engine,
                                                        "--direct", "--output-format", "json", "--no-progress"])
            #expect(!t2)
            #expect(p.status == 0, "\(p.stderr)")
            let pv = try #require(try job(p)["verify"] as? [String: Any])
            let pass = try #require(pv["pass"] as? [String: Any])
            #expect((pass["good_bytes"] as? NSNumber)?.intValue == 16 * 4096, "the 16 writes that completed: \(pass)")
            #expect((pass["bad_bytes"] as? NSNumber)?.intValue == 0)
            #expect(fuse.eioCount == 1, "the pass reads nothing of the failing half")
        }
    }

    /// With 4 in flight, I/Os after the failing one may already be in flight when its error
    /// comes back (and the loop device may complete them first, so more than 3 can be
    /// issued). Every issued I/O but the failing one must still be drained and counted.
    @Test(.enabled(if: canLoopOverFuse, "needs root, /dev/fuse, /dev/loop-control and losetup"),
          arguments: ["libaio", "io_uring"])
    func eioWithDepthFourDrainsInFlight(engine: String) throws {
        let dir = makeTempDir("eio4"); defer { cleanup(dir) }
        let trace = dir + "/t.log"
        try iologV3(path: "/dev/orig", ios: Self.eioIOs(firstFailingOp: "write")).write(toFile: trace, atomically: true, encoding: .utf8)
        try withHalfFailingDevice(size: 64 << 20, errorFrom: 32 << 20) { dev, fuse in
            let (r, timedOut) = try runLimited("fio-replay", [
                "replay", trace, "--target", dev, "--engine", engine, "--iodepth", "4", "--direct",
                "--timing", "none", "--no-progress"])
            #expect(!timedOut)
            #expect(r.status == 1, "\(r.stderr)")
            #expect(r.stderr.contains("record 34: write of 4096 bytes at offset \(32 << 20) failed: Input/output error"), "\(r.stderr)")
            #expect(fuse.eioCount == 1)
            // The normal report still comes out, with the error in it.
            #expect(r.stdout.contains("replay: (groupid=0, jobs=1): err= 5"), "\(r.stdout.prefix(400))")
            #expect(r.stdout.contains("error: record 34:"), "\(r.stdout)")
            let issued = try #require(r.stdout.firstMatch(of: /issued=(\d+)/).flatMap { Int($0.1) })
            let maxInFlight = try #require(r.stdout.firstMatch(of: /max in flight (\d+)/).flatMap { Int($0.1) })
            let totals = try #require(r.stdout.firstMatch(of: /issued rwts: total=(\d+),(\d+),/))
            let done = Int(totals.1)! + Int(totals.2)!
            #expect((33...40).contains(issued), "at least I/Os 0...32 were issued: \(issued)")
            #expect(maxInFlight <= 4)
            #expect(done == issued - 1, "every issued I/O but the failing one completed and counts: \(done) of \(issued)")
        }
    }

    /// A 2 MiB tmpfs and a trace that writes 4 MiB: the target is created sparse at 4 MiB,
    /// and the 513th 4 KiB write (I/O 512, record 514) is the first that finds no space.
    @Test(.enabled(if: canMountTmpfs, "needs root to mount a tmpfs"),
          arguments: ["psync", "libaio", "io_uring"])
    func enospcMidRunStopsWithRecordNumberAndStats(engine: String) throws {
        let dir = makeTempDir("enospc"); defer { cleanup(dir) }
        let mnt = dir + "/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        try #require(mountFS("tmpfs", mnt, "tmpfs", 0, "size=2m,huge=never") == 0, "mount tmpfs: \(String(cString: strerror(errno)))")
        defer { #expect(umount2(mnt, 0) == 0, "umount \(mnt): \(String(cString: strerror(errno)))") }
        // Reads of what was written so far every 8th I/O, so both directions are counted.
        var ios: [(String, UInt64, UInt64)] = []
        var w: UInt64 = 0
        while w < 1024 {
            if ios.count % 8 == 7 { ios.append(("read", (w - 1) * 4096, 4096)) } else { ios.append(("write", w * 4096, 4096)); w += 1 }
        }
        let trace = dir + "/t.log"
        try iologV3(path: "/data/f", ios: ios).write(toFile: trace, atomically: true, encoding: .utf8)
        // Hand count: the failing I/O is the write of block 512.
        let failing = try #require(ios.firstIndex { $0.0 == "write" && $0.1 == 512 * 4096 })
        let readsBefore = ios[..<failing].filter { $0.0 == "read" }.count
        let target = mnt + "/f"
        let (r, timedOut) = try runLimited("fio-replay", [
            "replay", trace, "--target", target, "--engine", engine, "--iodepth", "1", "--timing", "none",
            "--output-format", "json", "--no-progress"])
        #expect(!timedOut, "the replay must not hang after ENOSPC")
        #expect(!r.signaled && r.status == 1, "exit status 1, got \(r.status); stderr: \(r.stderr)")
        let rec = failing + 2
        #expect(r.stderr.contains("record \(rec): write of 4096 bytes at offset \(512 * 4096) failed: No space left on device"),
                "stderr names record \(rec) and ENOSPC: \(r.stderr)")
        let j = try job(r)
        #expect((j["error"] as? NSNumber)?.intValue == Int(ENOSPC))
        #expect(totalIOs(j, "write") == 512, "writes that found space: \(totalIOs(j, "write"))")
        #expect(totalIOs(j, "read") == readsBefore, "reads before the failure: \(totalIOs(j, "read")) vs \(readsBefore)")
        let replay = try #require(j["replay"] as? [String: Any])
        #expect((replay["error_record"] as? NSNumber)?.intValue == rec)
    }
}

// MARK: - the progress line on a terminal

/// Runs fio-replay with stderr on a fresh pseudo-terminal (stdout on a pipe); returns the
/// exit status, everything written to the terminal, and stdout.
func runWithTerminalStderr(_ args: [String], timeout: Double = 60) throws -> (status: Int32, terminal: String, stdout: String) {
    // posix_openpt and friends are not in Swift's Glibc module: /dev/ptmx plus the two
    // ioctls they wrap (TIOCSPTLCK to unlock, TIOCGPTN for the slave's number).
    let master = Glibc.open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
    try #require(master >= 0, "open /dev/ptmx: \(String(cString: strerror(errno)))")
    defer { Glibc.close(master) }
    var unlock: Int32 = 0, number: UInt32 = 0
    try #require(ioctl(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0, "TIOCSPTLCK")
    try #require(ioctl(master, 0x8004_5430 /* TIOCGPTN */, &number) == 0, "TIOCGPTN")
    let name = "/dev/pts/\(number)"
    let slave = Glibc.open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)
    try #require(slave >= 0, "open \(name)")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binDir + "/fio-replay")
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
    p.standardInput = FileHandle.nullDevice
    try p.run()
    final class Box: @unchecked Sendable { var data = Data() }
    let outBox = Box()
    let g = DispatchGroup()
    g.enter()
    DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); g.leave() }
    // Drain the terminal while the child runs (its buffer is small), and after it exits
    // until nothing more comes: the test's own copy of the slave stays open meanwhile, so
    // there is no end-of-file to wait for.
    var term = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 4096)
    let deadline = Date().addingTimeInterval(timeout)
    var exitedAt: Date? = nil
    while true {
        var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        if poll(&pfd, 1, 50) > 0 {
            let n = buf.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
            if n > 0 { term += buf[0..<n]; continue }
        }
        if !p.isRunning {
            if exitedAt == nil { exitedAt = Date() } else if Date().timeIntervalSince(exitedAt!) > 0.2 { break }
        }
        if Date() > deadline { kill(p.processIdentifier, SIGKILL) }
    }
    p.waitUntilExit()
    g.wait()
    Glibc.close(slave)
    return (p.terminationStatus, String(decoding: term, as: UTF8.self), String(decoding: outBox.data, as: UTF8.self))
}

/// One progress line: "replay: Ns, N done, N IOPS[, worst lateness Xus], trace at Xs[, ETA Xs]".
private struct ProgressLine {
    var elapsed: Int, done: Int, iops: Int, traceAt: Double, eta: Double?
}

private func progressLines(_ text: String) -> [ProgressLine] {
    text.matches(of: /replay: (\d+)s, (\d+) done, (\d+) IOPS(?:, worst lateness [0-9.]+us)?, trace at ([0-9.]+)s(?:, ETA ([0-9.]+)s)?/).map {
        ProgressLine(elapsed: Int($0.1)!, done: Int($0.2)!, iops: Int($0.3)!, traceAt: Double($0.4)!, eta: $0.5.map { Double($0)! })
    }
}

extension FailureTests {
    /// 1000 reads of 4 KiB, one every 2.5 ms (v3 times in us): the trace lasts 2.5 s.
    static func progressTrace(_ dir: String) throws -> String {
        var ios: [(String, UInt64, UInt64)] = []
        for i in 0..<1000 { ios.append(("read", UInt64(i % 256) * 4096, 4096)) }
        let path = dir + "/p.log"
        try iologV3(path: "/data/p", ios: ios, gapUs: 2500).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    enum ProgressCase: String, CaseIterable, CustomTestStringConvertible {
        /// iolog text, target to be created: the pre-scan knows the trace end -> ETA.
        case iologScanned
        /// iolog text, existing target, --iodepth given: no pre-scan, the end is unknown -> no ETA.
        case iologStreamed
        /// .fiot, existing target, --iodepth given: the footer index knows the end -> ETA.
        case fiotFooter
        var testDescription: String { rawValue }
    }

    @Test(arguments: ProgressCase.allCases)
    func progressLineOnTerminal(_ c: ProgressCase) throws {
        let dir = makeTempDir("progress"); defer { cleanup(dir) }
        var trace = try Self.progressTrace(dir)
        let target = dir + "/target"
        var args = ["--engine", "null"]
        if c != .iologScanned {
            try Data(count: 1 << 20).write(to: URL(fileURLWithPath: target))
            args += ["--iodepth", "1"]
        }
        if c == .fiotFooter {
            let r = try run("fio-replay", ["convert", trace, dir + "/p.fiot"])
            try #require(r.status == 0, "\(r.stderr)")
            trace = dir + "/p.fiot"
        }
        let r = try runWithTerminalStderr(["replay", trace, "--target", target] + args)
        #expect(r.status == 0, "\(r.terminal)")
        #expect(r.stdout.contains("read: IOPS="), "the report goes to stdout: \(r.stdout.prefix(300))")
        #expect(!r.terminal.contains("read: IOPS="), "and not to the terminal")
        let lines = progressLines(r.terminal)
        // Printed about once a second over a 2.5 s run: at ~1 s and ~2 s.
        #expect((2...3).contains(lines.count), "progress lines: \(lines.count) in \(r.terminal.debugDescription)")
        for (a, b) in zip(lines, lines.dropFirst()) {
            #expect(a.done < b.done && a.elapsed < b.elapsed && a.traceAt < b.traceAt, "counts increase: \(a) then \(b)")
        }
        for l in lines {
            // One read per 2.5 ms of trace time, reads 1...1000: done = 400 * traceAt (+1),
            // within the 0.05 s rounding of "trace at" (20 reads).
            #expect(abs(Double(l.done) - 400 * l.traceAt) <= 25, "done vs trace position: \(l)")
            #expect(l.done >= 1 && l.done <= 1000)
            // Original timing: the trace position tracks the clock, 400 reads a second.
            #expect(abs(Double(l.elapsed) - l.traceAt) <= 0.6, "\(l)")
            #expect((200...600).contains(l.iops), "IOPS near 400: \(l)")
            if c == .iologStreamed {
                #expect(l.eta == nil, "no ETA when the trace end is unknown: \(l)")
            } else {
                // The last record (close) is at 2.5025 s.
                let eta = try #require(l.eta, "ETA shown: \(l)")
                #expect(abs(l.traceAt + eta - 2.5) <= 0.12, "trace at + ETA = trace length: \(l)")
            }
        }
    }

    /// No progress line with --no-progress on a terminal, nor when stderr is not a terminal.
    @Test func noProgressLineWhenDisabledOrNotATerminal() throws {
        let dir = makeTempDir("noprogress"); defer { cleanup(dir) }
        let trace = try Self.progressTrace(dir)
        let a = try runWithTerminalStderr(["replay", trace, "--target", dir + "/t1", "--engine", "null", "--no-progress"])
        #expect(a.status == 0, "\(a.terminal)")
        #expect(a.stdout.contains("read: IOPS="))
        #expect(progressLines(a.terminal).isEmpty && !a.terminal.contains("\rreplay:"), "--no-progress: \(a.terminal.debugDescription)")
        let b = try run("fio-replay", ["replay", trace, "--target", dir + "/t2", "--engine", "null"])
        #expect(b.status == 0, "\(b.stderr)")
        #expect(b.stdout.contains("read: IOPS="))
        #expect(progressLines(b.stderr).isEmpty && !b.stderr.contains("\r"), "stderr on a pipe: \(b.stderr.debugDescription)")
    }
}
