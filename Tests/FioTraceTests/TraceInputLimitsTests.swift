import Foundation
import Testing
@testable import FioTrace

/// Offsets a corrupt file can hand to the input layer (found by fuzzing .fiot: a footer
/// index entry near 2^64 reached `reposition` and trapped converting to off_t).
@Suite struct TraceInputLimitsTests {
    @Test("reposition past off_t's range is an error naming the file; in range still works")
    func repositionLimits() throws {
        let dir = makeTempDir("input-limits"); defer { cleanup(dir) }
        let path = dir + "/f.bin"
        try Data("0123456789".utf8).write(to: URL(fileURLWithPath: path))
        let input = try TraceInput(path: path)
        for bad: UInt64 in [UInt64(Int64.max) + 1, .max] {
            do {
                try input.reposition(to: bad)
                Issue.record("accepted \(bad)")
            } catch let e as TraceError {
                #expect(e.description.contains(path) && e.description.contains("\(bad)"), "\(e.description)")
            }
        }
        try input.reposition(to: 4)
        #expect(try input.ensure(6))
        #expect(Array(input.bytes.prefix(6)) == Array("456789".utf8))
    }
}
