import Foundation
import Testing
@testable import FioTrace

@Suite struct TmpMakeSample {
    @Test func make() throws {
        guard let out = ProcessInfo.processInfo.environment["MAKE_FIOT10"] else { return }
        let recs = fiot10SampleRecords()
        let w = try FiotWriter(path: out, metadata: ["made-by": "FioTrace 1.0 writer", "sample": "fiot 1.0"], options: .init(blockRecords: 400))
        try w.define(file: TraceFile(path: "/data/a.dat", size: 1 << 40))
        try w.define(file: TraceFile(path: "/data/b.dat", device: DeviceNumber(major: 8, minor: 1)))
        try recs.prefix(400).withUnsafeBufferPointer { try w.write($0) }
        try w.define(file: TraceFile(path: "/data/c d.dat"))
        try recs.dropFirst(400).withUnsafeBufferPointer { try w.write($0) }
        try w.finish(metadata: ["end": "yes"])
    }
}

func fiot10SampleRecords() -> [TraceRecord] {
    var r = randomRecords(1200, files: 2, seed: 1010)
    for i in 400..<r.count { r[i].file = UInt32(i % 3) }
    return r
}
