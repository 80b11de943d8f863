import Glibc

/// 512 bytes of scratch for regenerating expected sectors; one per checking thread.
final class SectorScratch: @unchecked Sendable {
    let bytes = UnsafeMutableRawPointer.allocate(byteCount: VerifyFormat.sector, alignment: 64)
    deinit { bytes.deallocate() }
}

/// What one sector holds, against who should have written it.
enum SectorVerdict: Equatable {
    /// The expected write (the newest of an ambiguous range).
    case good
    /// An older write of the range the circumstances allow (crash, race, failed write).
    case allowedOlder
    case zero
    /// A valid header of this run and place, but an older generation than expected (with
    /// its own data intact).
    case older(generation: UInt64)
    /// ... a newer one than any write known to own it.
    case newer(generation: UInt64)
    /// A valid header of this run naming another offset or target.
    case misplaced(generation: UInt64, offset: UInt64, target: UInt32)
    /// A valid header of another run (an earlier replay's data).
    case otherRun(generation: UInt64)
    /// The expected write's data with a few bits wrong (or its header damaged).
    case corrupt
    /// Something else: neither zeros nor any write we can name.
    case foreign
}

/// Checks sectors read back against the writers the map names, and sorts the bad ones into
/// `VerifyClass`es. The fast path per chunk is one header CRC and one digest; bad chunks are
/// examined sector by sector by regenerating what each should hold.
struct SectorChecker {
    let content: VerifyContent
    let scratch: SectorScratch
    /// Checking after a crash: a newer generation than recorded (a write whose journal
    /// record was lost with the crash) is allowed, not misdirected.
    let afterCrash: Bool

    /// Checks `count` sectors starting at sector `start` of `target` in `buf` against the
    /// owned extents `owned` (clipped to the range, in order). Tallies into `counts` and
    /// calls `bad` for each bad range.
    func check(_ buf: UnsafeRawPointer, target: UInt32, targetName: String, start: UInt64, count: Int,
               owned: [(UInt64, UInt64, WriterMap.Owner)], counts: inout VerifyCounts, bad: (VerifyBadRange) -> Void) {
        var ownedSectors: UInt64 = 0
        for (s, e, owner) in owned {
            ownedSectors += e - s
            var good: UInt64 = 0, allowed: UInt64 = 0, nbad: UInt64 = 0
            scan(buf, target: target, start: start, from: s, to: e, owner: owner) { _, v in
                switch v {
                case .good: good += 1
                case .allowedOlder: allowed += 1
                default: nbad += 1
                }
            }
            counts.sectorsGood += good
            counts.sectorsAllowedOlder += allowed
            if nbad > 0 {
                report(buf, target: target, targetName: targetName, start: start, from: s, to: e, owner: owner,
                       writeSurvives: good + allowed > 0, counts: &counts, bad: bad)
            }
        }
        counts.sectorsChecked += ownedSectors
        counts.sectorsUnowned += UInt64(count) - ownedSectors
    }

    /// Second pass over an extent with bad sectors: runs of one verdict become bad ranges,
    /// classified knowing whether part of the write survived (then older data is a torn
    /// write, else a lost one).
    private func report(_ buf: UnsafeRawPointer, target: UInt32, targetName: String, start: UInt64, from s: UInt64, to e: UInt64,
                        owner: WriterMap.Owner, writeSurvives: Bool, counts: inout VerifyCounts, bad: (VerifyBadRange) -> Void) {
        var run: (first: UInt64, last: UInt64, verdict: SectorVerdict)? = nil
        func flush() {
            guard let r = run else { return }
            run = nil
            let n = r.last - r.first + 1
            var range = VerifyBadRange(target: targetName, offset: r.first * 512, length: n * 512, kind: .corrupted,
                                       expectedLow: owner.lo, expectedHigh: owner.hi, detail: "")
            switch r.verdict {
            case .good, .allowedOlder:
                return
            case .zero:
                range.kind = .unwritten
                range.detail = "zeros where the write completed"
            case .older(let g):
                range.kind = writeSurvives ? .torn : .stale
                range.foundGeneration = g
                range.foundOffset = r.first * 512
                range.detail = writeSurvives ? "sectors of an older write inside a newer one: part of it did not reach the disk"
                                             : "an older write's data: the newer write was lost"
            case .newer(let g):
                range.kind = .misdirected
                range.foundGeneration = g
                range.foundOffset = r.first * 512
                range.detail = "a newer generation than any write known to reach here"
            case .misplaced(let g, let off, let t):
                range.kind = .misdirected
                range.foundGeneration = g
                range.foundOffset = off
                if t != target { range.foundTarget = t }
                range.detail = t != target ? "data written to target \(t)" : "data written to offset \(off)"
            case .otherRun(let g):
                range.kind = .stale
                range.foundGeneration = g
                range.detail = "data of another run: nothing this run wrote reached here"
            case .corrupt:
                range.kind = .corrupted
                range.detail = "the expected write's data with bits changed"
            case .foreign:
                range.kind = writeSurvives ? .torn : .corrupted
                range.detail = writeSurvives ? "sectors of other data inside the write: part of it did not reach the disk"
                                             : "data that no write of this run put here"
            }
            counts.bad[range.kind, default: 0] += n
            bad(range)
        }
        scan(buf, target: target, start: start, from: s, to: e, owner: owner) { sector, v in
            switch v {
            case .good, .allowedOlder:
                flush()
            default:
                if let r = run, r.last + 1 == sector, Self.sameRun(r.verdict, v, gap: sector - r.first) {
                    run!.last = sector
                } else {
                    flush()
                    run = (sector, sector, v)
                }
            }
        }
        flush()
    }

    /// Whether a sector with verdict `b`, `gap` sectors after a run's first with verdict
    /// `a`, continues that run (misplaced data continues when its offsets do).
    private static func sameRun(_ a: SectorVerdict, _ b: SectorVerdict, gap: UInt64) -> Bool {
        switch (a, b) {
        case (.misplaced(let g1, let o1, let t1), .misplaced(let g2, let o2, let t2)):
            return g1 == g2 && t1 == t2 && o2 == o1 + gap * 512
        default:
            return a == b
        }
    }

    /// Calls `body(sector, verdict)` for every sector of `from..<to` (an extent of one
    /// owner) held in `buf` (which starts at sector `start`).
    private func scan(_ buf: UnsafeRawPointer, target: UInt32, start: UInt64, from s: UInt64, to e: UInt64,
                      owner: WriterMap.Owner, _ body: (UInt64, SectorVerdict) -> Void) {
        var k = s
        while k < e {
            let p = buf + Int(k - start) * VerifyFormat.sector
            if let h = VerifyHeader.parse(p) {
                if h.run == content.run && h.target == target && h.offset == k * 512 {
                    let chunkEnd = min(e, k + UInt64(h.sectors))
                    if owner.contains(h.generation) {
                        let verdict: SectorVerdict = h.generation == owner.hi ? .good : .allowedOlder
                        if k + UInt64(h.sectors) <= e && h.algorithm != .pattern
                            && h.algorithm.matches(p + VerifyFormat.headerSize, h.sectors * 512 - VerifyFormat.headerSize, stored: p + 32) {
                            for q in k..<chunkEnd { body(q, verdict) }
                        } else {
                            // A digest that fails, a chunk cut short by a later write, or a
                            // pattern: sector by sector against what this write put there.
                            for q in k..<chunkEnd {
                                let sp = buf + Int(q - start) * VerifyFormat.sector
                                body(q, matches(sp, sector: q, generation: h.generation, target: target, headerAt: q == k)
                                     ? verdict : diagnose(sp, sector: q, owner: owner, target: target))
                            }
                        }
                    } else {
                        // Another write of this place: its data intact (or not) in its chunk.
                        let v: SectorVerdict = h.generation < owner.lo ? .older(generation: h.generation)
                            : (afterCrash ? .allowedOlder : .newer(generation: h.generation))
                        for q in k..<chunkEnd {
                            let sp = buf + Int(q - start) * VerifyFormat.sector
                            body(q, matches(sp, sector: q, generation: h.generation, target: target, headerAt: q == k)
                                 ? v : diagnose(sp, sector: q, owner: owner, target: target))
                        }
                    }
                    k = chunkEnd
                    continue
                }
                // A valid header naming another place or run: follow its chunk's sectors.
                let chunkEnd = min(e, k + UInt64(h.sectors))
                let v: SectorVerdict = h.run != content.run ? .otherRun(generation: h.generation)
                    : .misplaced(generation: h.generation, offset: h.offset, target: h.target)
                for q in k..<chunkEnd {
                    let sp = buf + Int(q - start) * VerifyFormat.sector
                    let srcSector = h.offset / 512 + (q - k)
                    if q == k || (h.run == content.run && matches(sp, sector: srcSector, generation: h.generation, target: h.target, headerAt: false)) {
                        if case .misplaced(let g, let o, let t) = v {
                            body(q, .misplaced(generation: g, offset: o + (q - k) * 512, target: t))
                        } else {
                            body(q, v)
                        }
                    } else {
                        body(q, diagnose(sp, sector: q, owner: owner, target: target))
                    }
                }
                k = chunkEnd
                continue
            }
            // No header: a sector inside a chunk whose header sector a later write replaced,
            // or damage.
            body(k, diagnose(p, sector: k, owner: owner, target: target))
            k += 1
        }
    }

    /// The verdict for a sector without a usable header of the expected write: good when it
    /// holds one of the owner's writes' data, else zeros, corruption or foreign data.
    private func diagnose(_ p: UnsafeRawPointer, sector: UInt64, owner: WriterMap.Owner, target: UInt32) -> SectorVerdict {
        if isZero(p) { return .zero }
        // Headerless sectors of the owner's writes (a range: try each when there are few).
        if owner.hi - owner.lo <= 64 {
            var g = owner.hi
            while true {
                if matches(p, sector: sector, generation: g, target: target, headerAt: false) {
                    return g == owner.hi ? .good : .allowedOlder
                }
                if g == owner.lo { break }
                g -= 1
            }
        }
        // The expected data with a few bits flipped: corrupt. Judged on the bytes past where
        // a header would be, so a damaged header (or none) does not hide an intact payload.
        content.payload(scratch.bytes, offset: sector * 512, generation: owner.hi, target: target)
        var diff = 0
        var i = VerifyFormat.headerSize
        while i < VerifyFormat.sector {
            diff += (p.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ scratch.bytes.load(fromByteOffset: i, as: UInt64.self)).nonzeroBitCount
            i += 8
        }
        return diff * 50 < (VerifyFormat.sector - VerifyFormat.headerSize) * 8 ? .corrupt : .foreign
    }

    /// Whether the sector at `p` holds what `generation` wrote at `sector` of `target`
    /// (past the header when `headerAt`).
    @inline(__always)
    private func matches(_ p: UnsafeRawPointer, sector: UInt64, generation: UInt64, target: UInt32, headerAt: Bool) -> Bool {
        content.payload(scratch.bytes, offset: sector * 512, generation: generation, target: target)
        let from = headerAt ? VerifyFormat.headerSize : 0
        return memcmp(p + from, scratch.bytes + from, VerifyFormat.sector - from) == 0
    }

    @inline(__always)
    private func isZero(_ p: UnsafeRawPointer) -> Bool {
        var i = 0
        while i < VerifyFormat.sector {
            if p.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        return true
    }
}
