import Foundation
@testable import FioTrace

/// The directory holding the built executables: the test bundle's own directory.
let binDir: String = {
    if let env = ProcessInfo.processInfo.environment["FIOTRACE_BIN_DIR"] { return env }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: exe).deletingLastPathComponent().path
}()

/// The repository's traces/ (small real traces), found from this file's location.
let sampleTraces: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("traces").path
}()

struct RunResult {
    var status: Int32
    var signaled: Bool
    var stdout: String
    var stderr: String
    var stdoutData: Data
}

/// Runs a tool (`fio-replay`, `fio-gen`, or an absolute path / PATH name) to completion.
@discardableResult
func run(_ tool: String, _ args: [String], stdin: Data? = nil, cwd: String? = nil) throws -> RunResult {
    let p = Process()
    let local = binDir + "/" + tool
    if FileManager.default.isExecutableFile(atPath: local) {
        p.executableURL = URL(fileURLWithPath: local)
        p.arguments = args
    } else {
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
    }
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let inPipe = Pipe()
    p.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
    try p.run()
    if let stdin {
        DispatchQueue.global().async {
            inPipe.fileHandleForWriting.write(stdin)
            try? inPipe.fileHandleForWriting.close()
        }
    }
    // Read both pipes concurrently so neither can fill up and block the child.
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let g = DispatchGroup()
    g.enter()
    DispatchQueue.global().async {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile()
        g.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    g.wait()
    let errData = errBox.data
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal,
                     stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                     stdoutData: outData)
}

func makeTempDir(_ tag: String = "cli") -> String {
    let dir = NSTemporaryDirectory() + "\(tag)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func cleanup(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }

func json(_ r: RunResult) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: r.stdoutData) as! [String: Any]
}

func haveTool(_ name: String) -> Bool {
    (try? run("sh", ["-c", "command -v \(name)"]).status) == 0
}

/// A directory on a filesystem of the test's own: ext4 on a loop device over an image file
/// on the temporary directory's disk, written out in full and attached with direct I/O so
/// that requests reach the real disk (its latency, not a memory copy's). Timing tests that
/// replay with O_DIRECT use it because on the shared filesystem an io_submit now and then
/// waited hundreds of ms for the journal behind the other suites' writes (a stall that is
/// the filesystem's, not the scheduler's); a filesystem of its own has its own journal.
/// Needs root, loop devices, losetup, mkfs.ext4 and mount; elsewhere it is a plain
/// temporary directory and `isPrivate` says so. Call `release()` when done.
struct PrivateDiskDir {
    let path: String
    let isPrivate: Bool
    private let device: String?
    private let image: String?

    init(_ tag: String, megabytes: Int = 64) {
        let root = getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/loop-control")
            && ["losetup", "mkfs.ext4", "mount", "umount", "dd"].allSatisfy(haveTool)
        let dir = makeTempDir(tag)
        guard root else { path = dir; isPrivate = false; device = nil; image = nil; return }
        let img = NSTemporaryDirectory() + "\(tag)-\(UUID().uuidString).img"
        var dev: String?
        // Written out (not sparse): loop's direct writes then overwrite allocated blocks.
        if (try? run("dd", ["if=/dev/zero", "of=\(img)", "bs=1M", "count=\(megabytes)", "conv=fsync", "status=none"]))?.status == 0,
           (try? run("mkfs.ext4", ["-q", "-F", img]))?.status == 0,
           let l = try? run("losetup", ["-f", "--show", "--direct-io=on", img]), l.status == 0 {
            let d = l.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if (try? run("mount", [d, dir]))?.status == 0 { dev = d } else { _ = try? run("losetup", ["-d", d]) }
        }
        if dev == nil { try? FileManager.default.removeItem(atPath: img) }
        path = dir; isPrivate = dev != nil; device = dev; image = dev == nil ? nil : img
    }

    func release() {
        if let device {
            _ = try? run("umount", [path])
            _ = try? run("losetup", ["-d", device])
        }
        if let image { try? FileManager.default.removeItem(atPath: image) }
        cleanup(path)
    }
}
