import Foundation
import Testing
@testable import FioTrace

@Suite struct SummaryTests {
    @Test func footprintHandComputed() {
        let f = Footprint()
        f.add(file: 0, offset: 0, length: 8192)
        f.add(file: 0, offset: 4096, length: 8192) // overlaps 4096 bytes
        f.add(file: 1, offset: 0, length: 4096) // another file counts separately
        #expect(f.bytes == 12288 + 4096)
        #expect(f.unitBytes == 4096)
        f.add(file: 0, offset: 12288 + 512, length: 512) // 512-aligned: refines to 512 B units
        #expect(f.unitBytes == 512)
        #expect(f.bytes == 12288 + 4096 + 512)
        #expect(f.unalignedIOs == 0)
        f.add(file: 0, offset: 100, length: 10) // unaligned: rounds out to sector 0, already counted
        #expect(f.unalignedIOs == 1)
        #expect(f.bytes == 12288 + 4096 + 512)
        f.add(file: 2, offset: 1 << 45, length: 1 << 30) // far offsets go to the sparse map
        #expect(f.bytes == 12288 + 4096 + 512 + (1 << 30))
        f.add(file: 0, offset: 0, length: 64 << 20) // spans several pages, covers everything of file 0
        #expect(f.bytes == (64 << 20) + 4096 + (1 << 30))
    }

    @Test func footprintMatchesASetOfBlocks() {
        var rng = TestRNG(seed: 11)
        let f = Footprint()
        var set = Set<UInt64>()
        for _ in 0..<50_000 {
            let block = rng.below(200_000)
            let n = rng.below(4) + 1
            f.add(file: 0, offset: block * 4096, length: n * 4096)
            for b in block..<(block + n) { set.insert(b) }
        }
        #expect(f.bytes == UInt64(set.count) * 4096)
    }

    @Test func summaryCountsMatchIndependentCount() throws {
        let recs = randomRecords(20_000, files: 2, seed: 12)
        var s = TraceSummary()
        recs.withUnsafeBufferPointer { s.add($0) }
        s.finish()
        for op in TraceOp.allCases {
            let mine = recs.filter { $0.op == op }
            #expect(s.ops[Int(op.rawValue)].count == UInt64(mine.count))
            if op.isData { #expect(s.ops[Int(op.rawValue)].bytes == mine.reduce(0) { $0 + $1.length }) }
        }
        var sizes: [UInt64: UInt64] = [:]
        for r in recs where r.op.isData { sizes[r.length, default: 0] += 1 }
        #expect(s.allBlockSizes == sizes)
        #expect(s.duration == recs.last!.time - recs.first!.time)
        #expect(s.errors == UInt64(recs.filter { ($0.result ?? 0) < 0 }.count))
        var seq: UInt64 = 0
        var last: [UInt32: UInt64] = [:]
        for r in recs where r.op.isData {
            if last[r.file] == r.offset { seq += 1 }
            last[r.file] = r.offset + r.length
        }
        #expect(s.sequential == seq)
    }
}
