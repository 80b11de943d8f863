import Foundation
import Testing
@testable import FioTrace

/// The footprint stays exact under its memory budget whatever the I/O lengths, and past
/// the budget stays within it, saying it estimates (issue 12: one I/O of 2^62 bytes used
/// to take gigabytes and minutes).
@Suite struct FootprintBoundsTests {
    /// Union of sector ranges per file, by sorting and merging: the ground truth.
    static func unionBytes(_ ios: [(file: UInt32, offset: UInt64, length: UInt64)]) -> UInt64 {
        var byFile: [UInt32: [(UInt64, UInt64)]] = [:]
        for io in ios where io.length > 0 {
            byFile[io.file, default: []].append((io.offset / 512, (io.offset + io.length + 511) / 512))
        }
        var total: UInt64 = 0
        for (_, r) in byFile {
            var cur: (UInt64, UInt64)? = nil
            for x in r.sorted(by: { $0.0 < $1.0 }) {
                if let c = cur, x.0 <= c.1 { cur = (c.0, max(c.1, x.1)) } else {
                    if let c = cur { total += c.1 - c.0 }
                    cur = x
                }
            }
            if let c = cur { total += c.1 - c.0 }
        }
        return total * 512
    }

    /// Short and long I/Os (past 16 MiB: kept as extents), 4 KiB, 512 B and unaligned,
    /// over three files, overlapping each other: exact against the merged ranges, at
    /// every step where the unit refines. With the default budget every word stays in
    /// dense pages; with 4 MiB the pages (512 KiB at most) fill when the unit refines to
    /// 512 B and every word moves to the hash table, still exact.
    @Test(arguments: [Footprint.defaultMemoryBudget, 4 << 20])
    func exactAgainstMergedRanges(budget: Int) {
        var rng = TestRNG(seed: 1212)
        let f = Footprint(memoryBudget: budget)
        var wasDense = false
        var ios: [(file: UInt32, offset: UInt64, length: UInt64)] = []
        for i in 0..<40_000 {
            let file = UInt32(rng.below(3))
            let kind = rng.below(100)
            var off = rng.below(1 << 32)
            var len: UInt64
            switch kind {
            case 0..<3: len = (rng.below(48) + 17) << 20 // 17..64 MiB: an extent
            case 3..<60: len = (rng.below(16) + 1) * 4096; off &= ~4095
            default: len = (rng.below(64) + 1) * 512; off &= ~511
            }
            if i > 30_000 && kind == 99 { off += rng.below(511) + 1; len = rng.below(10_000) + 1 } // unaligned, late
            f.add(file: file, offset: off, length: len)
            ios.append((file, off, len))
            if i % 10_000 == 9_999 { #expect(f.bytes == Self.unionBytes(ios), "after \(i + 1) I/Os") }
            if i == 100 { wasDense = f.isDense }
        }
        #expect(wasDense)
        #expect(f.isDense == (budget == Footprint.defaultMemoryBudget))
        #expect(f.tableBytes <= budget)
        #expect(f.isExact)
        #expect(f.unitBytes == 512)
        #expect(f.unalignedIOs > 0)
        #expect(f.bytes == Self.unionBytes(ios))
    }

    /// Random 4 KiB I/Os over 64 TiB (each in its own word): past a 256 KiB budget the
    /// table stops growing and the estimate stays within 5 %.
    @Test func boundedMemoryPastTheBudget() {
        var rng = TestRNG(seed: 77)
        let budget = 256 << 10
        let f = Footprint(memoryBudget: budget)
        var distinct = Set<UInt64>()
        var most = 0
        for _ in 0..<200_000 {
            let block = rng.below(1 << 34)
            distinct.insert(block)
            f.add(file: 0, offset: block << 12, length: 4096)
            most = max(most, f.tableBytes)
        }
        #expect(most <= budget)
        #expect(!f.isExact)
        #expect(f.samplingRate < 0.2)
        let truth = Double(distinct.count * 4096)
        #expect(abs(Double(f.bytes) - truth) / truth < 0.05, "estimate \(f.bytes), truth \(truth)")
    }

    /// A million long I/Os far apart: extents are merged and coarsened, never more than a
    /// bounded number kept, and an I/O running past 2^64 counts up to the end.
    @Test(.timeLimit(.minutes(1))) func longIOsAreExtents() {
        let f = Footprint()
        for i in 0..<200_000 as Range<UInt64> {
            f.add(file: 0, offset: i << 40, length: 1 << 30)
        }
        #expect(f.bytes == 200_000 << 30)
        #expect(f.isExact)
        f.add(file: 1, offset: UInt64.max - 4095, length: 1 << 40)
        #expect(f.bytes == 200_000 << 30 + 4096)
    }
}
