import Foundation
import FioReplay
import FioTrace
import Glibc
import Testing

/// A fresh directory under /var/tmp (ext4 here, so O_DIRECT works), removed by `cleanup`.
struct TempDir {
    let path: String
    init() throws {
        var t = Array("/var/tmp/fioreplay-test-XXXXXX".utf8CString)
        guard mkdtemp(&t) != nil else { throw ReplayError(.invalidOption, "mkdtemp failed") }
        path = String(cString: t)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes `records` as a real .fiot trace and returns its path.
func writeTrace(_ dir: TempDir, name: String = "t.fiot", files: [TraceFile], metadata: [String: String] = [:],
                records: [TraceRecord]) throws -> String {
    let p = dir.file(name)
    var w = try FiotWriter(path: p, files: files, metadata: metadata)
    try w.write(records)
    try w.finish(metadata: [:])
    return p
}

/// Creates a file of `size` bytes filled with `byte`.
func makeFile(_ path: String, size: Int, byte: UInt8 = 0) throws {
    let d = Data(repeating: byte, count: size)
    guard FileManager.default.createFile(atPath: path, contents: d) else {
        throw ReplayError(.targetUnavailable, "cannot create \(path)")
    }
}

/// Replays the trace at `path` with `options` (one pass per loop), through the library.
func replay(_ path: String, engine: EngineKind, _ configure: (inout ReplayOptions) -> Void = { _ in }) throws -> ReplayResult {
    var o = ReplayOptions()
    o.sampleIntervalNs = 100_000_000
    configure(&o)
    return try Scheduler(options: o).run(engine: engine) { try FiotReader(path: path) }
}

/// Evenly spaced 4 KiB reads: `count` I/Os over `durationNs`.
func evenReads(count: Int, durationNs: UInt64, span: UInt64, file: UInt32 = 0) -> [TraceRecord] {
    (0..<count).map { i in
        let t = count > 1 ? durationNs * UInt64(i) / UInt64(count - 1) : 0
        return TraceRecord(time: t, op: .read, file: file, offset: (UInt64(i) * 7919 % (span / 4096)) * 4096, length: 4096)
    }
}

/// Path of the built `fio-replay` binary next to the test bundle, if it was built.
func builtBinary() -> String? {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<3 {
        let p = dir.appendingPathComponent("fio-replay").path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
        dir = dir.deletingLastPathComponent()
    }
    let env = ProcessInfo.processInfo.environment["FIO_REPLAY_BIN"]
    return env
}

/// Whether io_uring can be created here.
var ioUringAvailable: Bool { (try? IOUringEngine(depth: 4)) != nil }
