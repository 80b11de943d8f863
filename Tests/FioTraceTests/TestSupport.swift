import Foundation
@testable import FioTrace

/// A fresh temporary directory per call, removed by `cleanup`.
func makeTempDir(_ tag: String = "fiotrace") -> String {
    let dir = NSTemporaryDirectory() + "\(tag)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func cleanup(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }

/// The repository's traces/ (small real traces), found from this file's location.
let sampleTraces: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("traces").path
}()

/// A deterministic PRNG for test data (SplitMix64).
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: UInt64) -> UInt64 { next() % n }
}

/// Reads every record of a source.
func readAll<S: TraceSource>(_ s: inout S) throws -> [TraceRecord] {
    var all: [TraceRecord] = []
    var batch: [TraceRecord] = []
    while try s.nextBatch(&batch, maxCount: 1000) { all.append(contentsOf: batch) }
    return all
}

func readAll(path: String, options: TraceOpenOptions = TraceOpenOptions()) throws -> (records: [TraceRecord], files: [TraceFile]) {
    var s = try openTraceSource(path: path, options: options)
    let r = try readAll(&s)
    return (r, s.files)
}

/// Writes records to a .fiot with small blocks.
func writeFiot(_ path: String, _ records: [TraceRecord], files: [TraceFile], blockRecords: Int = 1000,
               metadata: [String: String] = [:], finish: Bool = true) throws {
    let w = try FiotWriter(path: path, metadata: metadata, options: .init(blockRecords: blockRecords))
    for f in files { try w.define(file: f) }
    try w.write(records)
    if finish { try w.finish(metadata: ["end": "yes"]) } else { try w.flushBlock() }
}

/// Random records with every optional field, some present and some absent.
func randomRecords(_ n: Int, files: Int, seed: UInt64, optionals: Bool = true) -> [TraceRecord] {
    var rng = TestRNG(seed: seed)
    var t: UInt64 = 0
    var out: [TraceRecord] = []
    let ops: [TraceOp] = [.read, .write, .trim, .sync, .datasync, .syncFileRange, .syncfs, .fallocate, .truncate]
    for i in 0..<n {
        t += rng.below(50_000)
        var r = TraceRecord(time: t, op: ops[Int(rng.below(UInt64(ops.count)))], file: UInt32(rng.below(UInt64(files))),
                            offset: rng.below(1 << 40) & ~4095, length: (rng.below(64) + 1) * 512,
                            flags: TraceFlags(rawValue: UInt8(rng.below(32))))
        if optionals {
            if i % 3 != 0 { r.latency = rng.below(10_000_000) }
            if i % 5 != 0 { r.result = rng.below(10) == 0 ? -Int64(rng.below(100) + 1) : Int64(r.length) }
            if i % 2 == 0 { r.depth = UInt32(rng.below(64) + 1) }
            if i % 7 == 0 { r.stream = UInt32(rng.below(8)) }
        }
        out.append(r)
    }
    return out
}
