import CZstd

/// Column-wise integer coding of one block of records (docs/trace-format.md, "Block
/// payload"). Scratch memory is owned and reused: O(block records) bytes, never more.
public struct FiotBlockEncoder: ~Copyable {
    private var cols: [[UInt64]]
    private var presence: [UInt64]
    private var expect: [UInt64]
    private var scratch: [UInt64] = []
    private var payload = ByteBuffer()
    private let cctx: OpaquePointer
    public let level: Int32

    public init(level: Int32 = 3) {
        cols = Array(repeating: [], count: FiotLayout.Column.allCases.count)
        presence = []
        expect = []
        cctx = ZSTD_createCCtx()
        self.level = level
    }

    deinit { ZSTD_freeCCtx(cctx) }

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
        for c in 0..<cols.count where cols[c].count < n {
            cols[c] = Array(repeating: 0, count: n)
        }
        if presence.count < n { presence = Array(repeating: 0, count: n) }

        // op, file, length, flags: raw.
        var maxFile: UInt32 = 0
        for i in 0..<n {
            let r = records[i]
            cols[0][i] = UInt64(r.op.rawValue)
            cols[1][i] = UInt64(r.file)
            cols[2][i] = r.length
            cols[5][i] = UInt64(r.flags.rawValue)
            if r.file > maxFile { maxFile = r.file }
        }
        writeColumn(0, n: n, transform: .raw)
        writeColumn(1, n: n, transform: .raw)
        writeColumn(2, n: n, transform: .raw)

        // offset: raw or delta from the previous end on the same file, whichever is smaller.
        var rawCost = 0, deltaCost = 0
        let canDelta = maxFile < 1 << 20
        if canDelta {
            if expect.count <= Int(maxFile) { expect = Array(repeating: 0, count: Int(maxFile) + 1) }
            for i in 0..<n { expect[Int(records[i].file)] = 0 }
        }
        if scratch.count < n { scratch = Array(repeating: 0, count: n) }
        for i in 0..<n {
            let r = records[i]
            cols[3][i] = r.offset
            rawCost &+= 64 - r.offset.leadingZeroBitCount
            if canDelta {
                let f = Int(r.file)
                let d = zigzag(Int64(bitPattern: r.offset &- expect[f]))
                scratch[i] = d
                deltaCost &+= 64 - d.leadingZeroBitCount
                expect[f] = r.offset &+ r.length
            }
        }
        if canDelta && deltaCost < rawCost {
            swap(&cols[3], &scratch)
            writeColumn(3, n: n, transform: .fileDelta)
        } else {
            writeColumn(3, n: n, transform: .raw)
        }

        // time: delta from the previous record (the first from `firstTime`).
        var prev = firstTime
        for i in 0..<n {
            let t = records[i].time
            cols[4][i] = zigzag(Int64(bitPattern: t &- prev))
            prev = t
        }
        writeColumn(4, n: n, transform: .delta)
        writeColumn(5, n: n, transform: .raw)

        // Optional columns: presence, then values (0 where absent).
        writeOptional(6, records) { $0.latency }
        writeOptional(7, records) { r in
            r.result.map { zigzag($0 &- (r.op.isData ? Int64(bitPattern: r.length) : 0)) }
        }
        writeOptional(8, records) { $0.depth.map(UInt64.init) }
        writeOptional(9, records) { $0.stream.map(UInt64.init) }

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

    private mutating func writeOptional(_ c: Int, _ records: UnsafeBufferPointer<TraceRecord>,
                                        _ get: (TraceRecord) -> UInt64?) {
        let n = records.count
        var present = 0
        for i in 0..<n {
            if let v = get(records[i]) {
                cols[c][i] = v
                presence[i] = 1
                present += 1
            } else {
                cols[c][i] = 0
                presence[i] = 0
            }
        }
        if present == 0 {
            payload.u8(FiotLayout.Presence.none.rawValue)
            return
        }
        if present == n {
            payload.u8(FiotLayout.Presence.all.rawValue)
        } else {
            payload.u8(FiotLayout.Presence.mixed.rawValue)
            presence.withUnsafeBufferPointer { writeValues(UnsafeBufferPointer(rebasing: $0[0..<n]), transform: .raw) }
        }
        writeColumn(c, n: n, transform: .raw)
    }

    private mutating func writeColumn(_ c: Int, n: Int, transform: FiotLayout.Transform) {
        cols[c].withUnsafeBufferPointer { writeValues(UnsafeBufferPointer(rebasing: $0[0..<n]), transform: transform) }
    }

    /// Frame of reference (minimum), common divisor, then the smallest byte width, stored
    /// as byte planes so that zstd's entropy coder sees each byte position on its own.
    private mutating func writeValues(_ v: UnsafeBufferPointer<UInt64>, transform: FiotLayout.Transform) {
        let n = v.count
        var lo = UInt64.max, hi: UInt64 = 0
        for x in v {
            lo = Swift.min(lo, x)
            hi = Swift.max(hi, x)
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
        var g: UInt64 = 0
        for x in v {
            g = gcd(g, x &- lo)
            if g == 1 { break }
        }
        let maxCode = (hi &- lo) / g
        let width = (64 - maxCode.leadingZeroBitCount + 7) / 8
        payload.u8(FiotLayout.Encoding.planes.rawValue)
        payload.u8(transform.rawValue)
        payload.varint(lo)
        payload.varint(g)
        payload.u8(UInt8(width))
        payload.appendUninitialized(width * n) { dst in
            let d = dst.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if g == 1 {
                for i in 0..<n {
                    let code = v[i] &- lo
                    for p in 0..<width { d[p &* n &+ i] = UInt8(truncatingIfNeeded: code >> (8 &* UInt64(p))) }
                }
            } else {
                for i in 0..<n {
                    let code = (v[i] &- lo) / g
                    for p in 0..<width { d[p &* n &+ i] = UInt8(truncatingIfNeeded: code >> (8 &* UInt64(p))) }
                }
            }
        }
    }
}

@inline(__always) func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var a = a, b = b
    while b != 0 { (a, b) = (b, a % b) }
    return a
}


/// Decodes block payloads; one per thread (it owns a zstd context and scratch columns).
public struct FiotBlockDecoder: ~Copyable {
    private var cols: [[UInt64]]
    private var presence: [[UInt8]]
    private var expect: [UInt64] = []
    private var raw: [UInt8] = []
    private let dctx: OpaquePointer

    public init() {
        cols = Array(repeating: [], count: FiotLayout.Column.allCases.count)
        presence = Array(repeating: [], count: FiotLayout.Column.allCases.count)
        dctx = ZSTD_createDCtx()
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Decompresses and decodes one block payload, appending its records to `out`. Files the
    /// block defines are added to `files` (the table so far) at the index the block gives;
    /// ones already there (after a seek) are checked. `fail` builds the error naming the block.
    public mutating func decode(compressed: UnsafeRawBufferPointer, payloadSize: Int, recordCount: Int,
                                into out: inout [TraceRecord], files: inout [TraceFile],
                                fail: @escaping (String) -> TraceError) throws {
        guard payloadSize <= FiotLayout.maxPayloadBytes, recordCount <= FiotLayout.maxBlockRecords else {
            throw fail("implausible sizes (payload \(payloadSize) bytes, \(recordCount) records)")
        }
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
        try raw.withUnsafeBytes { all in
            var c = ByteCursor(UnsafeRawBufferPointer(rebasing: all[0..<payloadSize]), fail: fail)
            try decodePayload(&c, recordCount: recordCount, into: &out, files: &files)
        }
    }

    private mutating func decodePayload(_ c: inout ByteCursor, recordCount: Int, into out: inout [TraceRecord],
                                        files: inout [TraceFile]) throws {
        let n = Int(try c.varint())
        guard n == recordCount else { throw c.fail("payload holds \(n) records, header says \(recordCount)") }
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
        for k in 0..<cols.count where cols[k].count < n {
            cols[k] = Array(repeating: 0, count: n)
            presence[k] = Array(repeating: 0, count: n)
        }
        let opT = try readValues(&c, into: 0, n: n)
        let fileT = try readValues(&c, into: 1, n: n)
        let lenT = try readValues(&c, into: 2, n: n)
        let offT = try readValues(&c, into: 3, n: n)
        let timeT = try readValues(&c, into: 4, n: n)
        let flagT = try readValues(&c, into: 5, n: n)
        guard opT == .raw, fileT == .raw, lenT == .raw, flagT == .raw, timeT == .delta, offT != .delta else {
            throw c.fail("unexpected column transform")
        }
        var has = [Bool](repeating: false, count: 10)
        var mixed = [Bool](repeating: false, count: 10)
        for k in 6..<10 {
            let p = try c.u8()
            guard let pres = FiotLayout.Presence(rawValue: p) else { throw c.fail("unknown presence code \(p)") }
            switch pres {
            case .none: continue
            case .all: has[k] = true
            case .mixed:
                has[k] = true
                mixed[k] = true
                _ = try readValues(&c, into: k, n: n)
                for i in 0..<n { presence[k][i] = cols[k][i] == 0 ? 0 : 1 }
            }
            guard try readValues(&c, into: k, n: n) == .raw else { throw c.fail("unexpected column transform") }
        }
        guard c.atEnd else { throw c.fail("\(c.remaining) unexpected bytes after the columns") }

        // Validate ops before building records.
        let validOps = TraceOp.allCases.map { UInt64($0.rawValue) }
        var maxFile: UInt64 = 0
        for i in 0..<n {
            let o = cols[0][i]
            if o > 15 || !validOps.contains(o) { throw c.fail("record \(i) has unknown op code \(o)") }
            if cols[1][i] > maxFile { maxFile = cols[1][i] }
        }
        guard n == 0 || maxFile < UInt64(files.count) else {
            throw c.fail("a record names file \(maxFile) but the file table has \(files.count) entries")
        }
        if offT == .fileDelta {
            guard maxFile < 1 << 20 else { throw c.fail("file index \(maxFile) too large for delta offsets") }
            if expect.count <= Int(maxFile) { expect = Array(repeating: 0, count: Int(maxFile) + 1) }
            for i in 0..<n { expect[Int(cols[1][i])] = 0 }
        }

        out.reserveCapacity(out.count + n)
        var t = firstTime
        let l6 = has[6], l7 = has[7], l8 = has[8], l9 = has[9]
        let anyOptional = l6 || l7 || l8 || l9
        try cols[0].withUnsafeBufferPointer { op in
        try cols[1].withUnsafeBufferPointer { file in
        try cols[2].withUnsafeBufferPointer { len in
        try cols[3].withUnsafeBufferPointer { off in
        try cols[4].withUnsafeBufferPointer { tim in
        try cols[5].withUnsafeBufferPointer { flg in
            for i in 0..<n {
                t = t &+ UInt64(bitPattern: unzigzag(tim[i]))
                let f = file[i]
                var offset = off[i]
                if offT == .fileDelta {
                    offset = expect[Int(f)] &+ UInt64(bitPattern: unzigzag(offset))
                    expect[Int(f)] = offset &+ len[i]
                }
                guard flg[i] <= 0xff else { throw c.fail("record \(i) has flags \(flg[i]) out of range") }
                var r = TraceRecord(time: t, op: TraceOp(rawValue: UInt8(truncatingIfNeeded: op[i]))!,
                                    file: UInt32(truncatingIfNeeded: f), offset: offset, length: len[i],
                                    flags: TraceFlags(rawValue: UInt8(truncatingIfNeeded: flg[i])))
                if anyOptional {
                    if l6 && (!mixed[6] || presence[6][i] != 0) { r.latency = cols[6][i] }
                    if l7 && (!mixed[7] || presence[7][i] != 0) {
                        r.result = unzigzag(cols[7][i]) &+ (r.op.isData ? Int64(bitPattern: r.length) : 0)
                    }
                    if l8 && (!mixed[8] || presence[8][i] != 0) { r.depth = UInt32(truncatingIfNeeded: cols[8][i]) }
                    if l9 && (!mixed[9] || presence[9][i] != 0) { r.stream = UInt32(truncatingIfNeeded: cols[9][i]) }
                }
                out.append(r)
            }
        }}}}}}
    }

    /// Reads one column into `cols[k][0..<n]`; returns its transform.
    private mutating func readValues(_ c: inout ByteCursor, into k: Int, n: Int) throws -> FiotLayout.Transform {
        let e = try c.u8()
        let tr = try c.u8()
        guard let enc = FiotLayout.Encoding(rawValue: e) else { throw c.fail("unknown column encoding \(e)") }
        guard let transform = FiotLayout.Transform(rawValue: tr) else { throw c.fail("unknown column transform \(tr)") }
        switch enc {
        case .zero:
            cols[k].withUnsafeMutableBufferPointer { p in
                p.baseAddress!.update(repeating: 0, count: n)
            }
        case .constant:
            let v = try c.varint()
            cols[k].withUnsafeMutableBufferPointer { p in
                p.baseAddress!.update(repeating: v, count: n)
            }
        case .planes:
            let base = try c.varint()
            let div = try c.varint()
            let width = Int(try c.u8())
            guard width >= 1 && width <= 8, div >= 1 else { throw c.fail("bad column width \(width) or divisor \(div)") }
            let planes = try c.bytes(width * n)
            let src = planes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            cols[k].withUnsafeMutableBufferPointer { p in
                let d = p.baseAddress!
                for i in 0..<n { d[i] = UInt64(src[i]) }
                var plane = 1
                while plane < width {
                    let s = src + plane * n
                    let sh = UInt64(8 * plane)
                    for i in 0..<n { d[i] |= UInt64(s[i]) << sh }
                    plane += 1
                }
                if div != 1 {
                    for i in 0..<n { d[i] = base &+ d[i] &* div }
                } else if base != 0 {
                    for i in 0..<n { d[i] = base &+ d[i] }
                }
            }
        }
        return transform
    }
}
