import Foundation
import Testing
@testable import FioTrace

/// Every reader, fed damaged or random input, ends with records or a `TraceError`: never a
/// crash, a hang or another kind of failure. Fixed seeds, so a failure reproduces.
@Suite struct GarbageInputTests {
    static let formats: [TraceFormat] = [.fiot, .iolog2, .iolog3, .blktrace, .msr, .alibaba, .tencent, .spc,
                                         .disksim, .mqsim, .blkreplay, .csv]

    func drainOrTraceError(_ path: String, _ format: TraceFormat?, skip: Bool = false) -> Bool {
        do {
            var s = try openTraceSource(path: path, options: TraceOpenOptions(format: format, skipBadBlocks: skip))
            var batch: [TraceRecord] = []
            var n = 0
            while try s.nextBatch(&batch, maxCount: 512) {
                n += batch.count
                if n > 10_000_000 { return false } // a reader that never ends
            }
            return true
        } catch is TraceError {
            return true
        } catch {
            return false
        }
    }

    @Test func randomBytesInEveryFormat() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        var rng = TestRNG(seed: 99)
        for round in 0..<40 {
            let n = Int(rng.below(4096)) + 1
            var bytes = [UInt8](repeating: 0, count: n)
            for i in 0..<n {
                // Half the rounds printable text with separators, half raw binary.
                bytes[i] = round % 2 == 0 ? Array(" ,;\n0123456789RWrwabc.-".utf8)[Int(rng.below(23))] : UInt8(truncatingIfNeeded: rng.next())
            }
            let p = dir + "/r\(round)"
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            for f in Self.formats {
                #expect(drainOrTraceError(p, f), "format \(f.rawValue), round \(round)")
            }
            #expect(drainOrTraceError(p, nil), "detected, round \(round)")
        }
    }

    @Test func damagedNativeTracesNeverCrash() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let files = [TraceFile(path: "a"), TraceFile(path: "b")]
        try writeFiot(dir + "/ok.fiot", randomRecords(3000, files: 2, seed: 5), files: files, blockRecords: 500)
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/ok.fiot"))
        var rng = TestRNG(seed: 7)
        for round in 0..<60 {
            var d = good
            switch round % 3 {
            case 0: // flip a few bytes anywhere
                for _ in 0..<(1 + Int(rng.below(4))) { d[Int(rng.below(UInt64(d.count)))] ^= UInt8(1 + rng.below(255)) }
            case 1: // cut anywhere
                d = d.prefix(Int(rng.below(UInt64(d.count))))
            default: // splice a random chunk in
                let at = Int(rng.below(UInt64(d.count)))
                d.insert(contentsOf: (0..<Int(rng.below(64) + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            }
            let p = dir + "/bad\(round).fiot"
            try d.write(to: URL(fileURLWithPath: p))
            #expect(drainOrTraceError(p, .fiot), "round \(round)")
            #expect(drainOrTraceError(p, .fiot, skip: true), "round \(round), skipping")
        }
    }
}
