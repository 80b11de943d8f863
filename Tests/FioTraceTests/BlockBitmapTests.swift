import Testing
@testable import FioTrace

/// fio's random map (`BlockBitmap`) against a plain array of flags: `setRun` marks whole
/// free words at once (found by fuzzing: a job with `bsrange=205k-1` marked 205k one-byte
/// blocks per I/O, one call each), and must still mark exactly what the block-by-block
/// walk marks, stop at the first block already done, and keep `nextFree` right.
@Suite("Block bitmap")
struct BlockBitmapTests {
    /// A small deterministic generator (SplitMix64), so a failure reproduces.
    struct Mix { var s: UInt64; mutating func next() -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15; var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31) } }

    @Test(arguments: [1, 63, 64, 65, 1000, 4096, 70_001] as [UInt64])
    func runsMatchABlockByBlockModel(count: UInt64) {
        let map = BlockBitmap(count: count)
        defer { map.deallocate() }
        var model = [Bool](repeating: false, count: Int(count))
        var rng = Mix(s: count)
        for _ in 0..<400 {
            let start = rng.next() % count
            let len = 1 + rng.next() % min(count, 3000)
            // The model: mark from start until len, the end, or a block already done.
            var want: UInt64 = 0
            var i = Int(start)
            while want < len && i < model.count && !model[i] { model[i] = true; want += 1; i += 1 }
            #expect(map.setRun(from: start, max: len) == want, "run from \(start), max \(len)")
            // nextFree after a few points agrees with the model (wrapping at the end).
            for _ in 0..<4 {
                let b = rng.next() % count
                let after = Int(b) + 1 >= model.count ? 0 : Int(b) + 1
                let free = model[after...].firstIndex(of: false) ?? model[..<after].firstIndex(of: false)
                #expect(map.nextFree(after: b) == free.map { UInt64($0) }, "nextFree(after: \(b))")
            }
        }
        for (i, done) in model.enumerated() { if map.isSet(UInt64(i)) != done { Issue.record("block \(i)"); break } }
    }

    @Test func wholeMapInOneRunThenNothingIsFree() {
        let map = BlockBitmap(count: 64 * 64 * 3 + 5)
        defer { map.deallocate() }
        #expect(map.setRun(from: 0, max: .max) == 64 * 64 * 3 + 5)
        #expect(map.nextFree(after: 0) == nil)
        #expect(map.setRun(from: 17, max: 10) == 0)
    }

    /// `markFree` (the fixed-block fast path) against `setRun(max: 1)` on a copy, block by
    /// block in a scattered order, with the summary levels checked through `nextFree`; and
    /// a copy is independent of its original.
    @Test(arguments: [1, 64, 4097, 300_000] as [UInt64])
    func markFreeEqualsSetRunAndCopiesAreIndependent(count: UInt64) {
        let a = BlockBitmap(count: count)
        defer { a.deallocate() }
        let b = a.copy()
        defer { b.deallocate() }
        var rng = Mix(s: count &+ 99)
        var order = Array(0..<count)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        for (k, blk) in order.enumerated() {
            a.markFree(blk)
            #expect(b.setRun(from: blk, max: 1) == 1)
            if k % 97 == 0 || k == order.count - 1 {
                let probe = rng.next() % count
                #expect(a.nextFree(after: probe) == b.nextFree(after: probe), "after \(k + 1) marks, probe \(probe)")
            }
        }
        #expect(a.nextFree(after: 0) == nil)
        let c = BlockBitmap(count: count)
        defer { c.deallocate() }
        let d = c.copy()
        defer { d.deallocate() }
        c.markFree(0)
        #expect(c.isSet(0) && !d.isSet(0))
        #expect(d.nextFree(after: count - 1) == 0)
        c.reset()
        #expect(!c.isSet(0))
    }
}
