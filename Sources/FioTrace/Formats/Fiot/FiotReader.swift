/// Reads a native `.fiot` trace as a stream (from a file or a pipe), block by block.
///
/// A bad block stops the stream with an error naming the block, its byte offset and its
/// record range; with `skipBadBlocks` it is reported in `skipped` and reading goes on.
/// A file without its footer (a killed writer) yields every complete block and then
/// throws `.truncated`. On a regular file the footer index is loaded at open, which
/// enables `seek(toRecord:)` and `seek(toTime:)`. Memory: one decoded block.
public final class FiotReader: TraceSource {
    public struct Footer: Sendable {
        public var blocks: [FiotBlockInfo]
        public var totalRecords: UInt64
        public var files: [TraceFile]
        public var metadata: [String: String]
        /// Record times never decrease (seeking by time is exact).
        public var timeSorted: Bool
    }

    public let input: TraceInput
    public let skipBadBlocks: Bool
    public private(set) var files: [TraceFile]
    public private(set) var metadata: [String: String]
    public let headerMetadata: [String: String]
    public let version: (major: UInt16, minor: UInt16)
    /// The footer, loaded at open on regular files, or when a stream reaches it.
    public private(set) var footer: Footer?
    /// Blocks skipped because they were bad (only with `skipBadBlocks`).
    public private(set) var skipped: [TraceError] = []
    /// Records handed out or skipped over so far: the number of the next record.
    public private(set) var nextRecord: UInt64 = 0
    /// Blocks read so far.
    public private(set) var blockNumber = 0

    private var decoder = FiotBlockDecoder()
    private var decoded: [TraceRecord] = []
    private var decodedPos = 0
    private var done = false
    private var name: String { input.name }

    public convenience init(path: String, skipBadBlocks: Bool = false) throws {
        try self.init(input: TraceInput(path: path), skipBadBlocks: skipBadBlocks)
    }

    public init(input: TraceInput, skipBadBlocks: Bool = false) throws {
        self.input = input
        self.skipBadBlocks = skipBadBlocks
        let name = input.name
        guard try input.ensure(FiotLayout.fileHeaderSize) else {
            if input.available >= 8 && Array(input.bytes.prefix(8)) == FiotLayout.magic {
                throw TraceError(.truncated, "\(name): truncated: the file ends inside the .fiot header")
            }
            throw TraceError(.badMagic, "\(name): not a .fiot trace (too short for its header)")
        }
        let b = input.bytes
        guard Array(b.prefix(8)) == FiotLayout.magic else {
            throw TraceError(.badMagic, "\(name): not a .fiot trace (wrong magic number)")
        }
        let major = b.loadUnaligned(fromByteOffset: 8, as: UInt16.self).littleEndian
        let minor = b.loadUnaligned(fromByteOffset: 10, as: UInt16.self).littleEndian
        version = (major, minor)
        guard major == FiotLayout.majorVersion else {
            throw TraceError(.unsupportedVersion, "\(name): .fiot format version \(major).\(minor) is not supported (this build reads \(FiotLayout.majorVersion).x); upgrade fio-replay")
        }
        let bodyLen = Int(b.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        let sum = b.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        guard bodyLen <= FiotLayout.maxHeaderBytes else {
            throw TraceError(.corruptBlock, "\(name): corrupt header: length \(bodyLen) is implausible", byteOffset: 0)
        }
        input.consume(FiotLayout.fileHeaderSize)
        guard try input.ensure(bodyLen) else {
            throw TraceError(.truncated, "\(name): truncated: the file ends inside the .fiot header")
        }
        let body = UnsafeRawBufferPointer(rebasing: input.bytes[0..<bodyLen])
        guard FiotLayout.checksum(body) == sum else {
            throw TraceError(.corruptBlock, "\(name): corrupt header (checksum mismatch in the first \(FiotLayout.fileHeaderSize + bodyLen) bytes)", byteOffset: 0)
        }
        var c = ByteCursor(body) { TraceError(.corruptBlock, "\(name): corrupt header: \($0)", byteOffset: 0) }
        _ = try c.varint() // flags, reserved
        let nf = try c.varint()
        guard nf <= 1 << 24 else { throw c.fail("file count \(nf) is implausible") }
        var files: [TraceFile] = []
        for _ in 0..<nf { files.append(try c.fiotFile()) }
        let meta = try c.fiotMetadata()
        input.consume(bodyLen)
        self.files = files
        metadata = meta
        headerMetadata = meta
        if input.isSeekableFile, let f = try? loadFooter() {
            // A regular file: the footer's metadata (known only when the writer finished)
            // is available from the start.
            footer = f
            metadata.merge(f.metadata) { _, new in new }
        }
    }

    /// The footer's byte offset from the trailer, or nil.
    private func loadFooterOffset() -> UInt64? {
        guard let size = input.fileSize, size >= UInt64(FiotLayout.trailerSize),
              let t = try? input.readAt(size - UInt64(FiotLayout.trailerSize), count: FiotLayout.trailerSize),
              t.count == FiotLayout.trailerSize, Array(t[16..<24]) == FiotLayout.trailerMagic else { return nil }
        return t.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
    }

    /// Reads the trailer and footer with pread; nil when the file has none (truncated).
    private func loadFooter() throws -> Footer? {
        guard let size = input.fileSize, size >= UInt64(FiotLayout.trailerSize) else { return nil }
        let trailer = try input.readAt(size - UInt64(FiotLayout.trailerSize), count: FiotLayout.trailerSize)
        guard trailer.count == FiotLayout.trailerSize, Array(trailer[16..<24]) == FiotLayout.trailerMagic else { return nil }
        let footOff = trailer.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        guard footOff + 16 <= size - UInt64(FiotLayout.trailerSize) else { return nil }
        let len = Int(size - UInt64(FiotLayout.trailerSize) - footOff)
        let bytes = try input.readAt(footOff, count: len)
        return try bytes.withUnsafeBytes { try parseFooter($0, at: footOff) }
    }

    /// Parses a footer: magic, length, checksum, body.
    private func parseFooter(_ p: UnsafeRawBufferPointer, at offset: UInt64) throws -> Footer {
        let fail = { (m: String) in TraceError(.corruptBlock, "\(self.name): corrupt footer index at byte \(offset): \(m)", byteOffset: offset) }
        var c = ByteCursor(p, fail: fail)
        guard try c.le(UInt32.self) == FiotLayout.footerMagic else { throw fail("bad magic") }
        let len = Int(try c.le(UInt32.self))
        let sum = try c.le(UInt64.self)
        let body = try c.bytes(len)
        guard FiotLayout.checksum(body) == sum else { throw fail("checksum mismatch") }
        var b = ByteCursor(body, fail: fail)
        let flags = try b.varint()
        let nb = try b.varint()
        guard nb <= 1 << 32 else { throw fail("block count \(nb) is implausible") }
        var blocks: [FiotBlockInfo] = []
        blocks.reserveCapacity(Int(nb))
        var off: UInt64 = 0, rec: UInt64 = 0, t: UInt64 = 0
        for _ in 0..<nb {
            off &+= try b.varint()
            rec &+= try b.varint()
            let n = try b.varint()
            t = t &+ UInt64(bitPattern: try b.svarint())
            let span = try b.varint()
            blocks.append(FiotBlockInfo(byteOffset: off, firstRecord: rec, recordCount: UInt32(truncatingIfNeeded: n),
                                        minTime: t, maxTime: t &+ span))
        }
        let total = try b.varint()
        let nf = try b.varint()
        guard nf <= 1 << 24 else { throw fail("file count \(nf) is implausible") }
        var files: [TraceFile] = []
        for _ in 0..<nf { files.append(try b.fiotFile()) }
        let meta = try b.fiotMetadata()
        return Footer(blocks: blocks, totalRecords: total, files: files, metadata: meta, timeSorted: flags & 1 != 0)
    }

    public func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        while decodedPos == decoded.count {
            if done { return false }
            decoded.removeAll(keepingCapacity: true)
            decodedPos = 0
            try readBlock()
        }
        let take = min(maxCount, decoded.count - decodedPos)
        if decodedPos == 0 && take == decoded.count {
            // Hand the whole decoded block over without copying.
            swap(&batch, &decoded)
            decoded.removeAll(keepingCapacity: true)
            decodedPos = 0
        } else {
            batch.append(contentsOf: decoded[decodedPos..<(decodedPos + take)])
            decodedPos += take
        }
        return true
    }

    private func blockError(_ what: String, at offset: UInt64, records: UInt64?) -> TraceError {
        let range = records.map { " (records \(nextRecord)..<\(nextRecord + $0))" } ?? " (records from \(nextRecord))"
        return TraceError(.corruptBlock, "\(name): block \(blockNumber) at byte \(offset)\(range) is corrupt: \(what)",
                          block: blockNumber, byteOffset: offset,
                          recordRange: records.map { nextRecord..<(nextRecord + $0) })
    }

    /// Reads the next frame: a block (decoded into `decoded`) or the footer (sets `done`).
    private func readBlock() throws {
        let offset = input.position
        guard try input.ensure(4) else {
            done = true
            let partial = input.available
            throw TraceError(.truncated, "\(name): truncated: no footer index after block \(blockNumber - 1) (\(nextRecord) records read from \(blockNumber) complete blocks" + (partial > 0 ? "; \(partial) trailing bytes of an incomplete block ignored)" : ")") + "; the writer did not finish")
        }
        let magic = input.bytes.loadUnaligned(as: UInt32.self).littleEndian
        if magic == FiotLayout.footerMagic {
            try readFooterFromStream(at: offset)
            return
        }
        guard magic == FiotLayout.blockMagic else {
            let e = blockError("bad block magic", at: offset, records: nil)
            guard skipBadBlocks else { done = true; throw e }
            skipped.append(e)
            try resync(after: offset)
            return
        }
        guard try input.ensure(FiotLayout.blockHeaderSize) else {
            done = true
            throw TraceError(.truncated, "\(name): truncated: block \(blockNumber) at byte \(offset) is incomplete (\(nextRecord) records read from \(blockNumber) complete blocks; no footer index)")
        }
        let h = input.bytes
        let clen = Int(h.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
        let plen = Int(h.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
        let count = Int(h.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        let first = h.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        let sum = h.loadUnaligned(fromByteOffset: 32, as: UInt64.self).littleEndian
        let headSum = FiotLayout.checksum(UnsafeRawBufferPointer(rebasing: h[0..<32]))
        let plausible = clen <= FiotLayout.maxPayloadBytes && plen <= FiotLayout.maxPayloadBytes && count <= FiotLayout.maxBlockRecords
        guard plausible else {
            let e = blockError("implausible header (payload \(clen) bytes, \(count) records)", at: offset, records: nil)
            guard skipBadBlocks else { done = true; throw e }
            skipped.append(e)
            try resync(after: offset)
            return
        }
        guard try input.ensure(FiotLayout.blockHeaderSize + clen) else {
            done = true
            throw TraceError(.truncated, "\(name): truncated: block \(blockNumber) at byte \(offset) is incomplete (\(nextRecord) records read from \(blockNumber) complete blocks; no footer index)")
        }
        let payload = UnsafeRawBufferPointer(rebasing: input.bytes[FiotLayout.blockHeaderSize..<(FiotLayout.blockHeaderSize + clen)])
        var err: TraceError?
        if FiotLayout.checksum(payload, seed: headSum) != sum {
            err = blockError("checksum mismatch", at: offset, records: UInt64(count))
        } else if first != nextRecord && skipped.isEmpty {
            err = blockError("first record is \(first), expected \(nextRecord)", at: offset, records: UInt64(count))
        } else {
            if first != nextRecord { nextRecord = first } // after a skipped block, trust the checked header
            let bn = blockNumber, rec = nextRecord, nm = name
            do {
                try decoder.decode(compressed: payload, payloadSize: plen, recordCount: count, into: &decoded, files: &files) { m in
                    TraceError(.corruptBlock, "\(nm): block \(bn) at byte \(offset) (records \(rec)..<\(rec + UInt64(count))) is corrupt: \(m)",
                               block: bn, byteOffset: offset, recordRange: rec..<(rec + UInt64(count)))
                }
            } catch let e as TraceError {
                decoded.removeAll(keepingCapacity: true)
                err = e
            }
        }
        if let e = err {
            guard skipBadBlocks else { done = true; throw e }
            skipped.append(e)
            // The frame's own lengths can't be trusted: find the next block afresh.
            nextRecord += UInt64(count)
            try resync(after: offset)
            return
        }
        input.consume(FiotLayout.blockHeaderSize + clen)
        nextRecord += UInt64(count)
        blockNumber += 1
    }

    /// After a bad frame: go to the next block the footer index lists, or, without an
    /// index (a pipe, a truncated file), scan forward to the next block or footer magic
    /// (whose frame is then checked like any other).
    private func resync(after offset: UInt64) throws {
        blockNumber += 1
        if let f = footer, input.isSeekableFile {
            if let next = f.blocks.first(where: { $0.byteOffset > offset }) {
                try input.reposition(to: next.byteOffset)
                nextRecord = next.firstRecord
            } else if let end = loadFooterOffset() {
                try input.reposition(to: end)
            } else {
                done = true
            }
            return
        }
        input.consume(1)
        while true {
            guard try input.ensure(4) else { return }
            let b = input.bytes
            var i = 0
            while i + 4 <= b.count {
                let m = b.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian
                if m == FiotLayout.blockMagic || m == FiotLayout.footerMagic {
                    input.consume(i)
                    return
                }
                i += 1
            }
            input.consume(b.count - 3)
        }
    }

    private func readFooterFromStream(at offset: UInt64) throws {
        guard try input.ensure(16) else {
            done = true
            throw TraceError(.truncated, "\(name): truncated: the footer index at byte \(offset) is incomplete (all \(nextRecord) records were read)")
        }
        let len = Int(input.bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
        let total = 16 + len + FiotLayout.trailerSize
        guard len <= FiotLayout.maxHeaderBytes, try input.ensure(total) else {
            done = true
            throw TraceError(.truncated, "\(name): truncated: the footer index at byte \(offset) is incomplete (all \(nextRecord) records were read)")
        }
        let f = try parseFooter(UnsafeRawBufferPointer(rebasing: input.bytes[0..<(16 + len)]), at: offset)
        input.consume(total)
        done = true
        footer = f
        if f.files.count >= files.count { files = f.files }
        metadata.merge(f.metadata) { _, new in new }
        if skipped.isEmpty && f.totalRecords != nextRecord {
            throw TraceError(.corruptBlock, "\(name): the footer counts \(f.totalRecords) records but the blocks hold \(nextRecord)", byteOffset: offset)
        }
    }

    // MARK: - Seeking (needs the footer index)

    /// Positions the stream so that the next record handed out is record `n`.
    public func seek(toRecord n: UInt64) throws {
        guard let f = footer else {
            throw TraceError(.unsupported, "\(name): cannot seek: no footer index (a pipe, or a truncated trace)")
        }
        guard let bi = f.blocks.lastIndex(where: { $0.firstRecord <= n }) else {
            try position(atBlock: 0, skipping: 0)
            return
        }
        try position(atBlock: bi, skipping: Int(min(n - f.blocks[bi].firstRecord, UInt64(f.blocks[bi].recordCount))))
    }

    /// Positions the stream at the first record whose time is >= `t` ns. Exact when the
    /// trace is time-sorted; otherwise at the first block that can hold such a record.
    public func seek(toTime t: UInt64) throws {
        guard let f = footer else {
            throw TraceError(.unsupported, "\(name): cannot seek: no footer index (a pipe, or a truncated trace)")
        }
        guard let bi = f.blocks.firstIndex(where: { $0.maxTime >= t }) else {
            try position(atBlock: f.blocks.count, skipping: 0)
            return
        }
        try position(atBlock: bi, skipping: 0)
        if f.timeSorted {
            var skip = 0
            while decodedPos + skip < decoded.count && decoded[decodedPos + skip].time < t { skip += 1 }
            decodedPos += skip
        }
    }

    private func position(atBlock bi: Int, skipping: Int) throws {
        guard let f = footer else { return }
        files = f.files
        decoded.removeAll(keepingCapacity: true)
        decodedPos = 0
        done = false
        if bi >= f.blocks.count {
            let end = f.blocks.last.map { $0.byteOffset } ?? 0
            try input.reposition(to: end)
            nextRecord = f.totalRecords
            blockNumber = f.blocks.count
            done = true
            return
        }
        try input.reposition(to: f.blocks[bi].byteOffset)
        nextRecord = f.blocks[bi].firstRecord
        blockNumber = bi
        try readBlock()
        decodedPos = min(skipping, decoded.count)
    }

    /// A thread-safe view for decoding blocks in parallel, or nil without a footer.
    public func randomAccess() -> FiotRandomAccess? {
        guard let f = footer, input.isSeekableFile else { return nil }
        return FiotRandomAccess(path: name, footer: f)
    }
}

/// Decodes any block of a finished `.fiot` by its index entry, with its own file handle:
/// several threads can each hold one and decode disjoint blocks in parallel.
public struct FiotRandomAccess: Sendable {
    public let path: String
    public let footer: FiotReader.Footer

    /// Decodes block `i` into `out` (replacing its contents) using `decoder`.
    public func decodeBlock(_ i: Int, input: TraceInput, decoder: inout FiotBlockDecoder,
                            into out: inout [TraceRecord]) throws {
        let b = footer.blocks[i]
        let head = try input.readAt(b.byteOffset, count: FiotLayout.blockHeaderSize)
        let fail = { (m: String) in
            TraceError(.corruptBlock, "\(path): block \(i) at byte \(b.byteOffset) (records \(b.firstRecord)..<\(b.firstRecord + UInt64(b.recordCount))) is corrupt: \(m)",
                       block: i, byteOffset: b.byteOffset, recordRange: b.firstRecord..<(b.firstRecord + UInt64(b.recordCount)))
        }
        guard head.count == FiotLayout.blockHeaderSize else { throw fail("truncated") }
        let (magic, clen, plen, count, sum, headSum) = head.withUnsafeBytes { h in
            (h.loadUnaligned(as: UInt32.self).littleEndian,
             Int(h.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian),
             Int(h.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian),
             Int(h.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian),
             h.loadUnaligned(fromByteOffset: 32, as: UInt64.self).littleEndian,
             FiotLayout.checksum(UnsafeRawBufferPointer(rebasing: h[0..<32])))
        }
        guard magic == FiotLayout.blockMagic, clen <= FiotLayout.maxPayloadBytes, count == Int(b.recordCount) else {
            throw fail("header does not match the index")
        }
        let payload = try input.readAt(b.byteOffset + UInt64(FiotLayout.blockHeaderSize), count: clen)
        guard payload.count == clen else { throw fail("truncated") }
        out.removeAll(keepingCapacity: true)
        var files = footer.files
        try payload.withUnsafeBytes { p in
            guard FiotLayout.checksum(p, seed: headSum) == sum else { throw fail("checksum mismatch") }
            try decoder.decode(compressed: p, payloadSize: plen, recordCount: count, into: &out, files: &files, fail: fail)
        }
    }
}
