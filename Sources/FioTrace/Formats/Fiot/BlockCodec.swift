import CZstd

/// Column-wise integer coding of one block of records (docs/trace-format.md, "Block
/// payload"). Scratch memory is owned and reused: 8 bytes per column per record of the
/// largest block, plus the payload and compressed buffers.
public struct FiotBlockEncoder: ~Copyable {
    private static let columnCount = FiotLayout.Column.allCases.count
    /// Column k occupies cols[k*capacity ..< (k+1)*capacity]; column `columnCount` is
    /// scratch (offset deltas, presence flags). `writeValues` never writes its input.
    private var cols: UnsafeMutablePointer<UInt64>
    private var capacity = 0
    private var expect: [UInt64] = []
    private var payload = ByteBuffer()
    private let cctx: OpaquePointer
    public let level: Int32
    /// Smallest and largest record time of the last block encoded, ns (0 for an empty block).
    public private(set) var minTime: UInt64 = 0
    public private(set) var maxTime: UInt64 = 0
    /// Largest file index in the last block encoded (0 for an empty block).
    public private(set) var maxFile: UInt32 = 0
    /// Whether a record time in the last block was below the one before it (the block's
    /// first record compared with `firstTime`).
    public private(set) var timeDecreased = false

    public init(level: Int32 = 3) {
        cols = .allocate(capacity: 1)
        cctx = ZSTD_createCCtx()
        self.level = level
    }

    deinit {
        cols.deallocate()
        ZSTD_freeCCtx(cctx)
    }

    @inline(__always) private func col(_ k: Int) -> UnsafeMutablePointer<UInt64> { cols + k * capacity }

    /// Encodes `records` (and the files first defined in this block) and compresses the
    /// payload into `out` (replacing its contents). Returns the uncompressed payload size.
    public mutating func encode(_ records: UnsafeBufferPointer<TraceRecord>, newFiles: [TraceFile],
                                firstNewFile: Int, firstTime: UInt64, into out: inout ByteBuffer) throws -> Int {
        let n = records.count
        payload.removeAll()
        payload.varint(UInt64(n))
        payload.varint(firstTime)
        payload.varint(UInt64(newFiles.count))
        payload.varint(UInt64(firstNewFile))
        for f in newFiles { payload.fiotFile(f) }
        if capacity < n {
            cols.deallocate()
            capacity = n
            cols = .allocate(capacity: n * (Self.columnCount + 1))
        }
        let op = col(0), file = col(1), len = col(2), off = col(3), tim = col(4), flg = col(5)
        let lat = col(6), res = col(7), dep = col(8), str = col(9)
        let scratch = col(Self.columnCount)

        // One pass over the records: every column's value (the optional ones 0 where
        // absent, with a count of those present), time as the delta from the previous
        // record, the time range, the largest file index and whether time ever decreased.
        // Later passes read the columns, never the (80-byte) records again.
        var maxFile: UInt32 = 0
        var prev = firstTime
        var nLat = 0, nRes = 0, nDep = 0, nStr = 0
        var lowT = UInt64.max, highT: UInt64 = 0
        var decreased = false
        for i in 0..<n {
            let r = records[i]
            op[i] = UInt64(r.op.rawValue)
            file[i] = UInt64(r.file)
            len[i] = r.length
            flg[i] = UInt64(r.flags.rawValue)
            off[i] = r.offset
            tim[i] = zigzag(Int64(bitPattern: r.time &- prev))
            decreased = decreased || r.time < prev
            prev = r.time
            if r.file > maxFile { maxFile = r.file }
            lat[i] = r.latency ?? 0
            nLat &+= r.latency != nil ? 1 : 0
            res[i] = r.result.map { zigzag($0 &- (r.op.isData ? Int64(bitPattern: r.length) : 0)) } ?? 0
            nRes &+= r.result != nil ? 1 : 0
            dep[i] = UInt64(r.depth ?? 0)
            nDep &+= r.depth != nil ? 1 : 0
            str[i] = UInt64(r.stream ?? 0)
            nStr &+= r.stream != nil ? 1 : 0
            lowT = Swift.min(lowT, r.time)
            highT = Swift.max(highT, r.time)
        }
        minTime = n == 0 ? 0 : lowT
        maxTime = highT
        self.maxFile = maxFile
        timeDecreased = decreased
        writeValues(op, n, transform: .raw)
        writeValues(file, n, transform: .raw)
        writeValues(len, n, transform: .raw)

        // offset: raw or delta from the previous end on the same file, whichever is smaller.
        var rawCost = 0, deltaCost = 0
        let canDelta = maxFile < 1 << 20
        if canDelta {
            if expect.count <= Int(maxFile) { expect = Array(repeating: 0, count: Int(maxFile) + 1) }
            expect.withUnsafeMutableBufferPointer { e in
                for i in 0..<n { e[Int(file[i])] = 0 }
                for i in 0..<n {
                    let f = Int(file[i])
                    let o = off[i]
                    rawCost &+= 64 - o.leadingZeroBitCount
                    let d = zigzag(Int64(bitPattern: o &- e[f]))
                    scratch[i] = d
                    deltaCost &+= 64 - d.leadingZeroBitCount
                    e[f] = o &+ len[i]
                }
            }
        }
        if canDelta && deltaCost < rawCost {
            writeValues(scratch, n, transform: .fileDelta)
        } else {
            writeValues(off, n, transform: .raw)
        }
        writeValues(tim, n, transform: .delta)
        writeValues(flg, n, transform: .raw)

        // Optional columns: presence, then values (0 where absent).
        writeOptional(lat, present: nLat, records) { $0.latency != nil }
        writeOptional(res, present: nRes, records) { $0.result != nil }
        writeOptional(dep, present: nDep, records) { $0.depth != nil }
        writeOptional(str, present: nStr, records) { $0.stream != nil }

        // Compress.
        let bound = ZSTD_compressBound(payload.count)
        out.removeAll()
        var written = 0
        var failure: String?
        payload.bytes.withUnsafeBytes { src in
            out.appendUninitialized(bound) { dst in
                let rc = ZSTD_compressCCtx(cctx, dst.baseAddress, bound, src.baseAddress, src.count, level)
                if ZSTD_isError(rc) != 0 { failure = String(cString: ZSTD_getErrorName(rc)) } else { written = rc }
            }
        }
        if let failure { throw TraceError(.io, "zstd compression failed: \(failure)") }
        out.truncate(to: written)
        return payload.count
    }

    /// One optional column: its presence (none, all, or a flag per record, read from the
    /// records only in that mixed case), then its `values` if any is present.
    private mutating func writeOptional(_ values: UnsafeMutablePointer<UInt64>, present: Int,
                                        _ records: UnsafeBufferPointer<TraceRecord>,
                                        _ has: (TraceRecord) -> Bool) {
        let n = records.count
        if present == 0 {
            payload.u8(FiotLayout.Presence.none.rawValue)
            return
        }
        if present == n {
            payload.u8(FiotLayout.Presence.all.rawValue)
        } else {
            let flags = col(Self.columnCount)
            for i in 0..<n { flags[i] = has(records[i]) ? 1 : 0 }
            payload.u8(FiotLayout.Presence.mixed.rawValue)
            writeValues(flags, n, transform: .raw)
        }
        writeValues(values, n, transform: .raw)
    }

    /// Frame of reference (minimum), common divisor, then the smallest byte width, stored
    /// as byte planes so that zstd's entropy coder sees each byte position on its own.
    private mutating func writeValues(_ v: UnsafePointer<UInt64>, _ n: Int, transform: FiotLayout.Transform) {
        // One pass: range, and the OR of differences from the first value (whose trailing
        // zeros are those of the common divisor: gcd{v - lo} = gcd{v - v0}).
        var lo = UInt64.max, hi: UInt64 = 0, bits: UInt64 = 0
        let v0 = n > 0 ? v[0] : 0
        for i in 0..<n {
            let x = v[i]
            lo = Swift.min(lo, x)
            hi = Swift.max(hi, x)
            bits |= x &- v0
        }
        if n == 0 || hi == 0 {
            payload.u8(FiotLayout.Encoding.zero.rawValue)
            payload.u8(transform.rawValue)
            return
        }
        if lo == hi {
            payload.u8(FiotLayout.Encoding.constant.rawValue)
            payload.u8(transform.rawValue)
            payload.varint(lo)
            return
        }
        let shift = UInt64(bits.trailingZeroBitCount)
        var odd: UInt64 = 0
        for i in 0..<n {
            odd = gcd(odd, (v[i] &- lo) >> shift)
            if odd == 1 { break }
        }
        let g = odd << shift
        // Exact division by g: shift, then multiply by the inverse of the odd part mod 2^64.
        let inverse = oddInverse(odd)
        let maxCode = (hi &- lo) / g
        let width = (64 - maxCode.leadingZeroBitCount + 7) / 8
        payload.u8(FiotLayout.Encoding.planes.rawValue)
        payload.u8(transform.rawValue)
        payload.varint(lo)
        payload.varint(g)
        payload.u8(UInt8(width))
        payload.appendUninitialized(width * n) { dst in
            let d = dst.baseAddress!.assumingMemoryBound(to: UInt8.self)
            @inline(__always) func code(_ i: Int) -> UInt64 { ((v[i] &- lo) >> shift) &* inverse }
            switch width {
            case 1:
                for i in 0..<n { d[i] = UInt8(truncatingIfNeeded: code(i)) }
            case 2:
                let p1 = d + n
                for i in 0..<n {
                    let c = code(i)
                    d[i] = UInt8(truncatingIfNeeded: c)
                    p1[i] = UInt8(truncatingIfNeeded: c >> 8)
                }
            case 3:
                let p1 = d + n, p2 = d + 2 * n
                for i in 0..<n {
                    let c = code(i)
                    d[i] = UInt8(truncatingIfNeeded: c)
                    p1[i] = UInt8(truncatingIfNeeded: c >> 8)
                    p2[i] = UInt8(truncatingIfNeeded: c >> 16)
                }
            default:
                for i in 0..<n {
                    let c = code(i)
                    for p in 0..<width { d[p &* n &+ i] = UInt8(truncatingIfNeeded: c >> (8 &* UInt64(p))) }
                }
            }
        }
    }
}

/// The inverse of an odd number modulo 2^64 (Newton's iteration: each step doubles the
/// correct low bits), so that exact division by it is one multiplication.
@inline(__always) func oddInverse(_ a: UInt64) -> UInt64 {
    var x = a // correct to 3 bits for odd a
    for _ in 0..<5 { x = x &* (2 &- a &* x) }
    return x
}

@inline(__always) func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var a = a, b = b
    while b != 0 { (a, b) = (b, a % b) }
    return a
}


/// Decodes block payloads; one per thread (it owns a zstd context and scratch columns).
/// Scratch: 10 columns of 8 bytes plus 4 presence bytes per record of the largest block.
public struct FiotBlockDecoder: ~Copyable {
    private static let columnCount = FiotLayout.Column.allCases.count
    /// Column k occupies cols[k*capacity ..< (k+1)*capacity].
    private var cols: UnsafeMutablePointer<UInt64>
    /// Presence flags of the optional columns 6...9 (index k-6).
    private var presence: UnsafeMutablePointer<UInt8>
    private var capacity = 0
    /// Records are built here, then copied into the caller's array in one go.
    private var recs: UnsafeMutablePointer<TraceRecord> = .allocate(capacity: 1)
    private var recCap = 0
    private var expect: [UInt64] = []
    private var raw: [UInt8] = []
    private let dctx: OpaquePointer
    /// Smallest and largest record time of the last block decoded, ns (0 for an empty
    /// block): a reader checks them against the footer index.
    public private(set) var minTime: UInt64 = 0
    public private(set) var maxTime: UInt64 = 0

    /// Valid op codes, by raw value.
    private static let validOp: [Bool] = (0..<256).map { TraceOp(rawValue: UInt8($0)) != nil }
    /// Ops by raw value (invalid codes are rejected before this table is used).
    private static let opTable: [TraceOp] = (0..<256).map { TraceOp(rawValue: UInt8($0)) ?? .read }

    public init() {
        cols = .allocate(capacity: 1)
        presence = .allocate(capacity: 1)
        dctx = ZSTD_createDCtx()
    }

    deinit {
        cols.deallocate()
        presence.deallocate()
        recs.deallocate()
        ZSTD_freeDCtx(dctx)
    }

    private mutating func reserve(_ n: Int) {
        guard n > capacity else { return }
        cols.deallocate()
        presence.deallocate()
        capacity = n
        cols = .allocate(capacity: n * Self.columnCount)
        presence = .allocate(capacity: n * 4)
    }

    @inline(__always) private func col(_ k: Int) -> UnsafeMutablePointer<UInt64> { cols + k * capacity }

    /// Decompresses and decodes one block payload, appending its records to `out`. Files the
    /// block defines are added to `files` (the table so far) at the index the block gives;
    /// ones already there (after a seek) are checked. `fail` builds the error naming the block.
    public mutating func decode(compressed: UnsafeRawBufferPointer, payloadSize: Int, recordCount: Int,
                                into out: inout [TraceRecord], files: inout [TraceFile],
                                fail: @escaping (String) -> TraceError) throws {
        // Nothing is allocated for a payload larger than any zstd frame of this length
        // can expand to.
        guard payloadSize <= FiotLayout.maxPayloadBytes, recordCount <= FiotLayout.maxBlockRecords,
              payloadSize <= compressed.count * FiotLayout.maxExpansion else {
            throw fail("implausible sizes (payload \(payloadSize) bytes from \(compressed.count) compressed, \(recordCount) records)")
        }
        minTime = 0
        maxTime = 0
        if raw.count < payloadSize { raw = Array(repeating: 0, count: payloadSize) }
        let dctx = self.dctx
        let got = raw.withUnsafeMutableBytes { dst in
            ZSTD_decompressDCtx(dctx, dst.baseAddress, payloadSize, compressed.baseAddress, compressed.count)
        }
        if ZSTD_isError(got) != 0 {
            throw fail("zstd: \(String(cString: ZSTD_getErrorName(got)))")
        }
        guard got == payloadSize else {
            throw fail("payload decompresses to \(got) bytes, header says \(payloadSize)")
        }
        var rawCopy: [UInt8] = []
        swap(&rawCopy, &raw)
        defer { swap(&rawCopy, &raw) }
        try rawCopy.withUnsafeBytes { all in
            var c = ByteCursor(UnsafeRawBufferPointer(rebasing: all[0..<payloadSize]), fail: fail)
            try decodePayload(&c, recordCount: recordCount, into: &out, files: &files)
        }
    }

    private mutating func decodePayload(_ c: inout ByteCursor, recordCount: Int, into out: inout [TraceRecord],
                                        files: inout [TraceFile]) throws {
        let count = try c.varint()
        guard count == UInt64(recordCount) else { throw c.fail("payload holds \(count) records, header says \(recordCount)") }
        let n = recordCount
        let firstTime = try c.varint()
        let nf = try c.varint()
        let firstNew = try c.varint()
        guard nf <= 1 << 24, firstNew <= UInt64(files.count) else {
            throw c.fail("file table entries \(firstNew)+\(nf) do not follow the \(files.count) known files")
        }
        for k in 0..<Int(nf) {
            let f = try c.fiotFile()
            let idx = Int(firstNew) + k
            if idx == files.count {
                files.append(f)
            } else if files[idx] != f {
                throw c.fail("file \(idx) is \"\(f.path)\" here but \"\(files[idx].path)\" in the file table")
            }
        }
        guard n == 0 || files.count > 0 else { throw c.fail("records but no files defined") }
        reserve(n)
        let opT = try readValues(&c, into: col(0), n: n)
        let fileT = try readValues(&c, into: col(1), n: n)
        let lenT = try readValues(&c, into: col(2), n: n)
        let offT = try readValues(&c, into: col(3), n: n)
        let timeT = try readValues(&c, into: col(4), n: n)
        let flagT = try readValues(&c, into: col(5), n: n)
        guard opT == .raw, fileT == .raw, lenT == .raw, flagT == .raw, timeT == .delta, offT != .delta else {
            throw c.fail("unexpected column transform")
        }
        // Optional columns: `has` says the column is present at all, `mixed` that some records lack it.
        var has: (Bool, Bool, Bool, Bool) = (false, false, false, false)
        var mixed: (Bool, Bool, Bool, Bool) = (false, false, false, false)
        for k in 6..<10 {
            let p = try c.u8()
            guard let pres = FiotLayout.Presence(rawValue: p) else { throw c.fail("unknown presence code \(p)") }
            var h = false, m = false
            switch pres {
            case .none: break
            case .all: h = true
            case .mixed:
                h = true
                m = true
                let flags = col(k)
                _ = try readValues(&c, into: flags, n: n)
                let pr = presence + (k - 6) * capacity
                for i in 0..<n { pr[i] = flags[i] == 0 ? 0 : 1 }
            }
            if h { guard try readValues(&c, into: col(k), n: n) == .raw else { throw c.fail("unexpected column transform") } }
            switch k {
            case 6: has.0 = h; mixed.0 = m
            case 7: has.1 = h; mixed.1 = m
            case 8: has.2 = h; mixed.2 = m
            default: has.3 = h; mixed.3 = m
            }
        }
        guard c.atEnd else { throw c.fail("\(c.remaining) unexpected bytes after the columns") }

        let op = col(0), file = col(1), len = col(2), off = col(3), tim = col(4), flg = col(5)
        var maxFile: UInt64 = 0
        var badOp: UInt64 = 0
        var maxFlags: UInt64 = 0
        Self.validOp.withUnsafeBufferPointer { valid in
            for i in 0..<n {
                let o = op[i]
                if o > 255 || !valid[Int(o)] { badOp = max(badOp, o | 0x1_0000_0000_0000) }
                maxFile = max(maxFile, file[i])
                maxFlags = max(maxFlags, flg[i])
            }
        }
        if badOp != 0 { throw c.fail("a record has unknown op code \(badOp & 0xffff_ffff_ffff)") }
        guard maxFlags <= 0xff else { throw c.fail("a record has flags \(maxFlags) out of range") }
        guard n == 0 || maxFile < UInt64(files.count) else {
            throw c.fail("a record names file \(maxFile) but the file table has \(files.count) entries")
        }
        if offT == .fileDelta {
            guard maxFile < 1 << 20 else { throw c.fail("file index \(maxFile) too large for delta offsets") }
            if expect.count <= Int(maxFile) { expect = Array(repeating: 0, count: Int(maxFile) + 1) }
            expect.withUnsafeMutableBufferPointer { e in
                for i in 0..<n { e[Int(file[i])] = 0 }
                for i in 0..<n {
                    let f = Int(file[i])
                    let o = e[f] &+ UInt64(bitPattern: unzigzag(off[i]))
                    off[i] = o
                    e[f] = o &+ len[i]
                }
            }
        }
        // Times: running sum of deltas (wrapping, as the writer's differences do), and
        // their range.
        var t = firstTime
        var lowT = UInt64.max, highT: UInt64 = 0
        for i in 0..<n {
            t = t &+ UInt64(bitPattern: unzigzag(tim[i]))
            tim[i] = t
            lowT = Swift.min(lowT, t)
            highT = Swift.max(highT, t)
        }
        minTime = n == 0 ? 0 : lowT
        maxTime = highT

        let lat = col(6), res = col(7), dep = col(8), str = col(9)
        let p6 = presence, p7 = presence + capacity, p8 = presence + 2 * capacity, p9 = presence + 3 * capacity
        let anyOptional = has.0 || has.1 || has.2 || has.3
        let opTable = Self.opTable
        // Builds the records straight into their final storage.
        func build(_ dst: UnsafeMutablePointer<TraceRecord>) {
            opTable.withUnsafeBufferPointer { ops in
                for i in 0..<n {
                    let opv = ops[Int(truncatingIfNeeded: op[i] & 0xff)]
                    (dst + i).initialize(to: TraceRecord(time: tim[i], op: opv, file: UInt32(truncatingIfNeeded: file[i]),
                                                         offset: off[i], length: len[i],
                                                         flags: TraceFlags(rawValue: UInt8(truncatingIfNeeded: flg[i]))))
                }
            }
            guard anyOptional else { return }
            for i in 0..<n {
                if has.0 && (!mixed.0 || p6[i] != 0) { dst[i].latency = lat[i] }
                if has.1 && (!mixed.1 || p7[i] != 0) {
                    dst[i].result = unzigzag(res[i]) &+ (dst[i].op.isData ? Int64(bitPattern: dst[i].length) : 0)
                }
                if has.2 && (!mixed.2 || p8[i] != 0) { dst[i].depth = UInt32(truncatingIfNeeded: dep[i]) }
                if has.3 && (!mixed.3 || p9[i] != 0) { dst[i].stream = UInt32(truncatingIfNeeded: str[i]) }
            }
        }
        if out.isEmpty {
            // The common case (a reader's block buffer): no copy. The array this replaces is
            // freed and its memory reused by malloc for the next block.
            out = Array(unsafeUninitializedCapacity: n) { buf, count in
                build(buf.baseAddress!)
                count = n
            }
        } else {
            if recCap < n {
                recs.deallocate()
                recs = .allocate(capacity: n)
                recCap = n
            }
            build(recs)
            // TraceRecord is trivial (no references): one memcpy moves the block into `out`.
            out.append(contentsOf: UnsafeBufferPointer(start: recs, count: n))
        }
    }

    /// Reads one column into `d[0..<n]`; returns its transform.
    private func readValues(_ c: inout ByteCursor, into d: UnsafeMutablePointer<UInt64>, n: Int) throws -> FiotLayout.Transform {
        let e = try c.u8()
        let tr = try c.u8()
        guard let enc = FiotLayout.Encoding(rawValue: e) else { throw c.fail("unknown column encoding \(e)") }
        guard let transform = FiotLayout.Transform(rawValue: tr) else { throw c.fail("unknown column transform \(tr)") }
        switch enc {
        case .zero:
            d.update(repeating: 0, count: n)
        case .constant:
            d.update(repeating: try c.varint(), count: n)
        case .planes:
            let base = try c.varint()
            let div = try c.varint()
            let width = Int(try c.u8())
            guard width >= 1 && width <= 8, div >= 1 else { throw c.fail("bad column width \(width) or divisor \(div)") }
            let planes = try c.bytes(width * n)
            let src = planes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            switch width {
            case 1:
                for i in 0..<n { d[i] = UInt64(src[i]) }
            case 2:
                let s1 = src + n
                for i in 0..<n { d[i] = UInt64(src[i]) | UInt64(s1[i]) << 8 }
            case 3:
                let s1 = src + n, s2 = src + 2 * n
                for i in 0..<n { d[i] = UInt64(src[i]) | UInt64(s1[i]) << 8 | UInt64(s2[i]) << 16 }
            default:
                let s1 = src + n, s2 = src + 2 * n, s3 = src + 3 * n
                for i in 0..<n { d[i] = UInt64(src[i]) | UInt64(s1[i]) << 8 | UInt64(s2[i]) << 16 | UInt64(s3[i]) << 24 }
                var plane = 4
                while plane < width {
                    let s = src + plane * n
                    let sh = UInt64(8 * plane)
                    for i in 0..<n { d[i] |= UInt64(s[i]) << sh }
                    plane += 1
                }
            }
            if div != 1 {
                for i in 0..<n { d[i] = base &+ d[i] &* div }
            } else if base != 0 {
                for i in 0..<n { d[i] = base &+ d[i] }
            }
        }
        return transform
    }
}
