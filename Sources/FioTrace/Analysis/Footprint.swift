/// Distinct bytes touched, counted in 512-byte sectors on a paged bitmap per file.
///
/// Memory: 4 KiB per 16 MiB of address space actually touched (plus a directory of
/// 8 bytes per 16 MiB up to the highest offset, 8 MiB at most per file; offsets past
/// 16 TiB go to a dictionary). Exact for 512-byte-aligned I/O; an unaligned I/O counts
/// the whole sectors it touches, and `unalignedIOs` says how many did.
public struct Footprint {
    static let sectorShift: UInt64 = 9
    /// Sectors per page: 2^15 (16 MiB of address space, a 4 KiB bitmap).
    static let pageShift: UInt64 = 15
    static let wordsPerPage = 1 << (15 - 6)
    static let denseLimit: UInt64 = 1 << 20

    private final class Page {
        var words = [UInt64](repeating: 0, count: Footprint.wordsPerPage)
    }

    private var dense: [[Page?]] = []
    private var sparse: [UInt64: Page] = [:] // key: file << 44 | page
    /// Sectors marked so far.
    public private(set) var sectors: UInt64 = 0
    /// I/Os not aligned to 512 bytes at either end.
    public private(set) var unalignedIOs: UInt64 = 0

    public init() {}

    /// Bytes touched (sectors × 512).
    public var bytes: UInt64 { sectors << Footprint.sectorShift }

    /// Marks [offset, offset+length) of `file`.
    public mutating func add(file: UInt32, offset: UInt64, length: UInt64) {
        if length == 0 { return }
        let end = offset &+ length
        if end < offset { return }
        if (offset | length) & 511 != 0 { unalignedIOs += 1 }
        var s = offset >> Footprint.sectorShift
        let e = (end + 511) >> Footprint.sectorShift
        while s < e {
            let pageNo = s >> Footprint.pageShift
            let pageEnd = (pageNo + 1) << Footprint.pageShift
            let stop = min(e, pageEnd)
            let page = self.page(file: file, index: pageNo)
            let first = Int(s & ((1 << Footprint.pageShift) - 1))
            let last = Int((stop - 1) & ((1 << Footprint.pageShift) - 1))
            sectors &+= page.words.withUnsafeMutableBufferPointer { w in
                Footprint.setBits(w, first, last)
            }
            s = stop
        }
    }

    @inline(__always)
    private static func setBits(_ w: UnsafeMutableBufferPointer<UInt64>, _ first: Int, _ last: Int) -> UInt64 {
        var added: UInt64 = 0
        let fw = first >> 6, lw = last >> 6
        if fw == lw {
            let width = last - first + 1
            let mask = (width == 64 ? UInt64.max : ((1 << UInt64(width)) - 1)) << UInt64(first & 63)
            added = UInt64((mask & ~w[fw]).nonzeroBitCount)
            w[fw] |= mask
            return added
        }
        let head = UInt64.max << UInt64(first & 63)
        added += UInt64((head & ~w[fw]).nonzeroBitCount)
        w[fw] |= head
        var k = fw + 1
        while k < lw {
            added += UInt64(64 - w[k].nonzeroBitCount)
            w[k] = UInt64.max
            k += 1
        }
        let tailBits = (last & 63) + 1
        let tail = tailBits == 64 ? UInt64.max : (1 << UInt64(tailBits)) - 1
        added += UInt64((tail & ~w[lw]).nonzeroBitCount)
        w[lw] |= tail
        return added
    }

    @inline(__always)
    private mutating func page(file: UInt32, index: UInt64) -> Page {
        if index < Footprint.denseLimit && file < 1 << 16 {
            let f = Int(file)
            if f >= dense.count { dense.append(contentsOf: repeatElement([], count: f - dense.count + 1)) }
            let i = Int(index)
            if i >= dense[f].count {
                dense[f].append(contentsOf: repeatElement(nil, count: max(i + 1, dense[f].count * 2) - dense[f].count))
            }
            if let p = dense[f][i] { return p }
            let p = Page()
            dense[f][i] = p
            return p
        }
        let key = UInt64(file) << 44 | index
        if let p = sparse[key] { return p }
        let p = Page()
        sparse[key] = p
        return p
    }
}
