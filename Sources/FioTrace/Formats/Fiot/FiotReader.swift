/// Reads a native `.fiot` trace as a stream (from a file or a pipe), block by block.
///
/// A bad block stops the stream with an error naming the block, its byte offset and its
/// record range; with `skipBadBlocks` it is reported in `skipped` and reading goes on.
/// A file without its footer (a killed writer) yields every complete block and then
/// throws `.truncated`. On a regular file the footer index is loaded at open, which
/// enables `seek(toRecord:)` and `seek(toTime:)`. Memory: one decoded block.
///
/// Integrity (docs/trace-format.md, "Reading"): every block's checksum is seeded with the
/// file identity (1.1), its first record number must continue the running count, and on a
/// file with a footer the index must list the block at its byte offset with the same
/// records and times. Records always come out in trace order: after a skipped block, a
/// block whose records are not past those already read is skipped as out of place. A
/// skipped block loses only its own records: the file table comes from the footer, or
/// from the next block, which repeats the definitions of the one before it.
public final class FiotReader: TraceSource {
    public struct Footer: Sendable {
        public var blocks: [FiotBlockInfo]
        public var totalRecords: UInt64
        public var files: [TraceFile]
        public var metadata: [String: String]
        /// Record times never decrease (seeking by time is exact).
        public var timeSorted: Bool
        /// Byte offset of the footer in the file.
        public var offset: UInt64
    }

    public let input: TraceInput
    public let skipBadBlocks: Bool
    public private(set) var files: [TraceFile]
    public private(set) var metadata: [String: String]
    public let headerMetadata: [String: String]
    public let version: (major: UInt16, minor: UInt16)
    /// The file identity that seeds every checksum (format 1.1); 0 for a 1.0 file.
    public let fileID: UInt64
    /// The footer, loaded at open on regular files, or when a stream reaches it.
    public private(set) var footer: Footer?
    /// Blocks skipped because they were bad (only with `skipBadBlocks`): the first
    /// `maxSkippedKept`, then one line counting the rest.
    public var skipped: [TraceError] {
        guard skippedMore > 0 else { return skippedKept }
        return skippedKept + [TraceError(.corruptBlock, "\(name): \(skippedMore) more bad blocks skipped")]
    }
    public static let maxSkippedKept = 1000
    private var skippedKept: [TraceError] = []
    private var skippedMore = 0
    /// Records handed out or skipped over so far: the number of the next record.
    public private(set) var nextRecord: UInt64 = 0
    /// Blocks read so far.
    public private(set) var blockNumber = 0
    /// The byte offset where blocks start (just after the header).
    public let dataOffset: UInt64

    private var decoder = FiotBlockDecoder()
    private var decoded: [TraceRecord] = []
    private var decodedPos = 0
    private var done = false
    /// A block was skipped since the last good one: the next good block may start past
    /// `nextRecord` (the skipped records), never before it.
    private var afterSkip = false
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
            throw TraceError(.truncated, "\(name): truncated: the file ends inside the .fiot header (\(bodyLen) bytes of header body announced)")
        }
        let body = UnsafeRawBufferPointer(rebasing: input.bytes[0..<bodyLen])
        guard FiotLayout.checksum(body) == sum else {
            throw TraceError(.corruptBlock, "\(name): corrupt header (checksum mismatch in the first \(FiotLayout.fileHeaderSize + bodyLen) bytes)", byteOffset: 0)
        }
        var c = ByteCursor(body) { TraceError(.corruptBlock, "\(name): corrupt header: \($0)", byteOffset: 0) }
        let flags = try c.varint()
        let nf = try c.varint()
        guard nf <= 1 << 24 else { throw c.fail("file count \(nf) is implausible") }
        var files: [TraceFile] = []
        for _ in 0..<nf { files.append(try c.fiotFile()) }
        let meta = try c.fiotMetadata()
        var id: UInt64 = 0
        if flags & FiotLayout.headerFlagFileID != 0 {
            id = try c.le(UInt64.self)
            guard id != 0 else { throw c.fail("file identity 0 (a 1.1 writer never writes it)") }
        }
        fileID = id
        input.consume(bodyLen)
        dataOffset = UInt64(FiotLayout.fileHeaderSize + bodyLen)
        self.files = files
        metadata = meta
        headerMetadata = meta
        if input.isSeekableFile, let f = try? loadFooter() {
            // A regular file: the footer's metadata (known only when the writer finished)
            // is available from the start. A footer that does not check out is not used
            // (reading front to back reports it when it gets there).
            footer = f
            metadata.merge(f.metadata) { _, new in new }
        }
    }

    private func footerError(_ offset: UInt64, _ what: String) -> TraceError {
        TraceError(.corruptBlock, "\(name): corrupt footer index at byte \(offset): \(what)", byteOffset: offset)
    }

    /// The footer's byte offset from the trailer, or nil.
    private func loadFooterOffset() -> UInt64? {
        guard let size = input.fileSize, size >= UInt64(FiotLayout.trailerSize),
              let t = try? input.readAt(size - UInt64(FiotLayout.trailerSize), count: FiotLayout.trailerSize),
              t.count == FiotLayout.trailerSize, Array(t[16..<24]) == FiotLayout.trailerMagic else { return nil }
        let off = t.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        return off >= dataOffset && off < size ? off : nil
    }

    /// Reads the trailer and footer with pread; nil when the file has none (truncated).
    /// Every offset and length is checked against the file's size before it is used.
    private func loadFooter() throws -> Footer? {
        let trailerSize = UInt64(FiotLayout.trailerSize)
        guard let size = input.fileSize, size >= dataOffset + trailerSize else { return nil }
        let trailer = try input.readAt(size - trailerSize, count: FiotLayout.trailerSize)
        guard trailer.count == FiotLayout.trailerSize, Array(trailer[16..<24]) == FiotLayout.trailerMagic else { return nil }
        let (footOff, total) = trailer.withUnsafeBytes {
            ($0.loadUnaligned(as: UInt64.self).littleEndian, $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian)
        }
        let footerEnd = size - trailerSize
        guard footOff >= dataOffset, footOff <= footerEnd, footerEnd - footOff >= 16 else {
            throw footerError(footOff, "the trailer places the footer at byte \(footOff), outside bytes \(dataOffset)..<\(footerEnd) of this \(size)-byte file")
        }
        let len = footerEnd - footOff
        guard len <= UInt64(16 + FiotLayout.maxHeaderBytes) else {
            throw footerError(footOff, "a footer of \(len) bytes is implausible")
        }
        let bytes = try input.readAt(footOff, count: Int(len))
        let f = try bytes.withUnsafeBytes { try parseFooter($0, at: footOff, exact: true) }
        guard f.totalRecords == total else {
            throw footerError(footOff, "the trailer counts \(total) records, the footer \(f.totalRecords)")
        }
        return f
    }

    /// Parses a footer (magic, length, checksum, body) found at byte `offset`, checking
    /// that its index describes blocks that follow each other between the header and the
    /// footer, with record numbers that add up. `exact`: `p` must hold the footer only.
    private func parseFooter(_ p: UnsafeRawBufferPointer, at offset: UInt64, exact: Bool) throws -> Footer {
        let fail = { (m: String) in self.footerError(offset, m) }
        var c = ByteCursor(p, fail: fail)
        guard try c.le(UInt32.self) == FiotLayout.footerMagic else { throw fail("bad magic") }
        let len = Int(try c.le(UInt32.self))
        let sum = try c.le(UInt64.self)
        let body = try c.bytes(len)
        if exact && !c.atEnd { throw fail("\(c.remaining) bytes between the footer body and the trailer") }
        guard FiotLayout.checksum(body, seed: fileID) == sum else {
            throw fail(fileID != 0 ? "checksum mismatch (or the footer of another trace)" : "checksum mismatch")
        }
        var b = ByteCursor(body, fail: fail)
        let flags = try b.varint()
        let nb = try b.varint()
        // Each entry takes at least five bytes: a count the body cannot hold is a lie, and
        // nothing is allocated for it.
        guard nb <= UInt64(body.count / FiotLayout.minIndexEntryBytes) else {
            throw fail("block count \(nb) does not fit in a \(body.count)-byte footer")
        }
        var blocks: [FiotBlockInfo] = []
        blocks.reserveCapacity(Int(nb))
        var off: UInt64 = 0, rec: UInt64 = 0, t: UInt64 = 0
        var nextRec: UInt64 = 0
        for k in 0..<Int(nb) {
            let dOff = try b.varint()
            let (o, o1) = off.addingReportingOverflow(dOff)
            let lowest = k == 0 ? dataOffset : off &+ UInt64(FiotLayout.blockHeaderSize)
            guard !o1, o >= lowest, o <= offset, offset - o >= UInt64(FiotLayout.blockHeaderSize) else {
                throw fail("block \(k) is placed at byte offset \(o1 ? "past 2^64" : String(o)), not after block \(k - 1) and before the footer")
            }
            off = o
            let dRec = try b.varint()
            let (r, o2) = rec.addingReportingOverflow(dRec)
            guard !o2, r == nextRec else {
                throw fail("block \(k) starts at record \(o2 ? "past 2^64" : String(r)), but the blocks before it end at record \(nextRec)")
            }
            rec = r
            let n = try b.varint()
            guard n <= UInt64(FiotLayout.maxBlockRecords) else { throw fail("block \(k) claims \(n) records") }
            let (e, o3) = rec.addingReportingOverflow(n)
            guard !o3 else { throw fail("block \(k)'s records run past record 2^64") }
            nextRec = e
            t = t &+ UInt64(bitPattern: try b.svarint())
            let span = try b.varint()
            let (maxT, o4) = t.addingReportingOverflow(span)
            guard !o4 else { throw fail("block \(k)'s time span runs past 2^64 ns") }
            blocks.append(FiotBlockInfo(byteOffset: off, firstRecord: rec, recordCount: UInt32(n), minTime: t, maxTime: maxT))
        }
        let total = try b.varint()
        guard total == nextRec else { throw fail("the footer counts \(total) records but its blocks hold \(nextRec)") }
        let nf = try b.varint()
        guard nf <= 1 << 24 else { throw fail("file count \(nf) is implausible") }
        var files: [TraceFile] = []
        for _ in 0..<nf { files.append(try b.fiotFile()) }
        let meta = try b.fiotMetadata()
        return Footer(blocks: blocks, totalRecords: total, files: files, metadata: meta, timeSorted: flags & 1 != 0, offset: offset)
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

    /// An error naming block `blockNumber` at `offset` and its records (from `nextRecord`;
    /// `records` is the block's own count, when its header can be believed).
    private func blockError(_ what: String, at offset: UInt64, records: UInt64?) -> TraceError {
        let end = records.map { nextRecord.addingReportingOverflow($0).overflow ? UInt64.max : nextRecord + $0 }
        let range = end.map { " (records \(nextRecord)..<\($0))" } ?? " (records from \(nextRecord))"
        return TraceError(.corruptBlock, "\(name): block \(blockNumber) at byte \(offset)\(range) is corrupt: \(what)",
                          block: blockNumber, byteOffset: offset, recordRange: end.map { nextRecord..<$0 })
    }

    private func truncatedError() -> TraceError {
        let partial = input.available
        let trailing = partial > 0 ? "; \(partial) trailing bytes of an incomplete block ignored" : ""
        if blockNumber == 0 {
            return TraceError(.truncated, "\(name): truncated: no blocks and no footer index after the header (the writer stopped before its first block\(trailing)); the trace holds no records")
        }
        return TraceError(.truncated, "\(name): truncated: no footer index after block \(blockNumber - 1) (\(nextRecord) records read from \(blockNumber) complete blocks\(trailing)); the writer did not finish")
    }

    /// Reads the next frame: a block (decoded into `decoded`) or the footer (sets `done`).
    private func readBlock() throws {
        let offset = input.position
        guard try input.ensure(4) else {
            done = true
            throw truncatedError()
        }
        let magic = input.bytes.loadUnaligned(as: UInt32.self).littleEndian
        if magic == FiotLayout.footerMagic {
            try readFooterFromStream(at: offset)
            return
        }
        guard magic == FiotLayout.blockMagic else {
            return try bad(blockError("bad block magic", at: offset, records: nil), at: offset)
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
        let seed = FiotLayout.blockSeed(header: h, fileID: fileID)
        guard clen <= FiotLayout.maxPayloadBytes, plen <= FiotLayout.maxPayloadBytes, count <= FiotLayout.maxBlockRecords,
              plen <= clen * FiotLayout.maxExpansion else {
            return try bad(blockError("implausible header (payload \(clen) bytes compressed, \(plen) bytes decompressed, \(count) records)",
                                      at: offset, records: nil), at: offset)
        }
        // On a file with a footer, the index must list this block here, with these records.
        var listed: FiotBlockInfo?
        if let f = footer {
            guard blockNumber < f.blocks.count, f.blocks[blockNumber].byteOffset == offset else {
                return try bad(blockError("the footer index lists no block \(blockNumber) at this byte offset", at: offset, records: nil), at: offset)
            }
            let e = f.blocks[blockNumber]
            guard e.firstRecord == first, Int(e.recordCount) == count else {
                return try bad(blockError("the header holds records \(first) and \(count) more, the footer index records \(e.firstRecord) and \(e.recordCount) more",
                                          at: offset, records: UInt64(e.recordCount)), at: offset)
            }
            listed = e
        }
        guard try input.ensure(FiotLayout.blockHeaderSize + clen) else {
            done = true
            throw TraceError(.truncated, "\(name): truncated: block \(blockNumber) at byte \(offset) is incomplete (\(nextRecord) records read from \(blockNumber) complete blocks; no footer index)")
        }
        let payload = UnsafeRawBufferPointer(rebasing: input.bytes[FiotLayout.blockHeaderSize..<(FiotLayout.blockHeaderSize + clen)])
        guard FiotLayout.checksum(payload, seed: seed) == sum else {
            let why = fileID != 0 ? "checksum mismatch (damaged, or a block of another trace)" : "checksum mismatch"
            return try bad(blockError(why, at: offset, records: UInt64(count)), at: offset)
        }
        // The header checked out: its record numbers must continue the trace in order.
        let (end, overflow) = first.addingReportingOverflow(UInt64(count))
        if overflow {
            return try bad(blockError("first record \(first) plus \(count) records passes 2^64", at: offset, records: nil), at: offset)
        }
        if first != nextRecord && (!afterSkip || first < nextRecord) {
            let why = first < nextRecord
                ? "its first record is \(first), but records up to \(nextRecord) were already read (a block out of place)"
                : "its first record is \(first), expected \(nextRecord) (a block out of place, or records missing)"
            return try bad(blockError(why, at: offset, records: UInt64(count)), at: offset)
        }
        let lost = first - nextRecord
        // Decode into a copy of the file table: a block that fails defines nothing.
        var table = files
        let bn = blockNumber, nm = name
        do {
            try decoder.decode(compressed: payload, payloadSize: plen, recordCount: count, into: &decoded, files: &table) { m in
                TraceError(.corruptBlock, "\(nm): block \(bn) at byte \(offset) (records \(first)..<\(end)) is corrupt: \(m)",
                           block: bn, byteOffset: offset, recordRange: first..<end)
            }
        } catch let e as TraceError {
            decoded.removeAll(keepingCapacity: true)
            return try bad(e, at: offset)
        }
        if let e = listed, count > 0, decoder.minTime != e.minTime || decoder.maxTime != e.maxTime {
            decoded.removeAll(keepingCapacity: true)
            return try bad(blockError("record times \(decoder.minTime)...\(decoder.maxTime) ns, the footer index says \(e.minTime)...\(e.maxTime) ns",
                                      at: offset, records: UInt64(count)), at: offset)
        }
        if afterSkip && lost > 0, !skippedKept.isEmpty {
            // Now the records the skipped block(s) held are known.
            let k = skippedKept.count - 1
            skippedKept[k].message += "; records \(nextRecord)..<\(first) lost"
            skippedKept[k].recordRange = nextRecord..<first
        }
        files = table
        input.consume(FiotLayout.blockHeaderSize + clen)
        nextRecord = end
        blockNumber += 1
        afterSkip = false
    }

    /// A bad frame at `offset`: thrown, or with `skipBadBlocks` noted and passed over.
    private func bad(_ e: TraceError, at offset: UInt64) throws {
        guard skipBadBlocks else {
            done = true
            throw e
        }
        if skippedKept.count < Self.maxSkippedKept { skippedKept.append(e) } else { skippedMore += 1 }
        afterSkip = true
        decoded.removeAll(keepingCapacity: true)
        try resync(after: offset)
    }

    /// After a bad frame: go to the next block the footer index lists (taking the file
    /// table from the footer, which the bad block may have extended), or, without an
    /// index (a pipe, a truncated file), scan forward to the next block or footer magic
    /// (whose frame is then checked like any other).
    private func resync(after offset: UInt64) throws {
        blockNumber += 1
        if let f = footer, input.isSeekableFile {
            if f.files.count > files.count { files = f.files }
            if let i = f.blocks.firstIndex(where: { $0.byteOffset > offset }) {
                try input.reposition(to: f.blocks[i].byteOffset)
                blockNumber = i
            } else {
                try input.reposition(to: f.offset)
                blockNumber = f.blocks.count
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
            throw TraceError(.truncated, "\(name): truncated: the footer index at byte \(offset) is incomplete (\(nextRecord) records were read)")
        }
        let len = Int(input.bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
        guard len <= FiotLayout.maxHeaderBytes else {
            return try badFooter(footerError(offset, "length \(len) is implausible"))
        }
        let total = 16 + len + FiotLayout.trailerSize
        guard try input.ensure(total) else {
            done = true
            throw TraceError(.truncated, "\(name): truncated: the footer index at byte \(offset) is incomplete (\(nextRecord) records were read)")
        }
        let f: Footer
        do {
            f = try parseFooter(UnsafeRawBufferPointer(rebasing: input.bytes[0..<(16 + len)]), at: offset, exact: true)
        } catch let e as TraceError {
            return try badFooter(e)
        }
        let trailer = UnsafeRawBufferPointer(rebasing: input.bytes[(16 + len)..<total])
        let tOff = trailer.loadUnaligned(as: UInt64.self).littleEndian
        let tTotal = trailer.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        guard Array(trailer[16..<24]) == FiotLayout.trailerMagic, tOff == offset, tTotal == f.totalRecords else {
            return try badFooter(footerError(offset, "the trailer after it does not match (footer offset \(tOff), \(tTotal) records)"))
        }
        input.consume(total)
        done = true
        footer = f
        if f.files.count >= files.count { files = f.files }
        metadata.merge(f.metadata) { _, new in new }
        if skippedKept.isEmpty && f.totalRecords != nextRecord {
            throw TraceError(.corruptBlock, "\(name): the footer counts \(f.totalRecords) records but the blocks hold \(nextRecord)", byteOffset: offset)
        }
        if skippedKept.isEmpty && f.blocks.count != blockNumber {
            throw TraceError(.corruptBlock, "\(name): the footer lists \(f.blocks.count) blocks but the file holds \(blockNumber)", byteOffset: offset)
        }
    }

    /// A footer that does not check out, after every block was read: an error, or with
    /// `skipBadBlocks` a skipped part (there is nothing after it to read).
    private func badFooter(_ e: TraceError) throws {
        done = true
        guard skipBadBlocks else { throw e }
        if skippedKept.count < Self.maxSkippedKept { skippedKept.append(e) } else { skippedMore += 1 }
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
        afterSkip = false
        if bi >= f.blocks.count {
            try input.reposition(to: f.offset)
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
        return FiotRandomAccess(path: name, footer: f, fileID: fileID)
    }
}

/// Decodes any block of a finished `.fiot` by its index entry, with its own file handle:
/// several threads can each hold one and decode disjoint blocks in parallel.
public struct FiotRandomAccess: Sendable {
    public let path: String
    public let footer: FiotReader.Footer
    /// The file identity seeding the checksums (0 for a 1.0 file).
    public let fileID: UInt64

    public init(path: String, footer: FiotReader.Footer, fileID: UInt64) {
        self.path = path
        self.footer = footer
        self.fileID = fileID
    }

    /// Decodes block `i` into `out` (replacing its contents) using `decoder`.
    public func decodeBlock(_ i: Int, input: TraceInput, decoder: inout FiotBlockDecoder,
                            into out: inout [TraceRecord]) throws {
        let b = footer.blocks[i]
        // The footer was checked at load: record ranges and offsets cannot overflow.
        let end = b.firstRecord + UInt64(b.recordCount)
        let fail = { (m: String) in
            TraceError(.corruptBlock, "\(path): block \(i) at byte \(b.byteOffset) (records \(b.firstRecord)..<\(end)) is corrupt: \(m)",
                       block: i, byteOffset: b.byteOffset, recordRange: b.firstRecord..<end)
        }
        let head = try input.readAt(b.byteOffset, count: FiotLayout.blockHeaderSize)
        guard head.count == FiotLayout.blockHeaderSize else { throw fail("truncated") }
        let (magic, clen, plen, count, first, sum, seed) = head.withUnsafeBytes { h in
            (h.loadUnaligned(as: UInt32.self).littleEndian,
             Int(h.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian),
             Int(h.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian),
             Int(h.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian),
             h.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian,
             h.loadUnaligned(fromByteOffset: 32, as: UInt64.self).littleEndian,
             FiotLayout.blockSeed(header: h, fileID: fileID))
        }
        guard magic == FiotLayout.blockMagic, clen <= FiotLayout.maxPayloadBytes, count == Int(b.recordCount),
              first == b.firstRecord, b.byteOffset + UInt64(FiotLayout.blockHeaderSize + clen) <= footer.offset else {
            throw fail("header does not match the index")
        }
        let payload = try input.readAt(b.byteOffset + UInt64(FiotLayout.blockHeaderSize), count: clen)
        guard payload.count == clen else { throw fail("truncated") }
        out.removeAll(keepingCapacity: true)
        var files = footer.files
        try payload.withUnsafeBytes { p in
            guard FiotLayout.checksum(p, seed: seed) == sum else { throw fail("checksum mismatch") }
            try decoder.decode(compressed: p, payloadSize: plen, recordCount: count, into: &out, files: &files, fail: fail)
        }
        if count > 0 && (decoder.minTime != b.minTime || decoder.maxTime != b.maxTime) {
            out.removeAll(keepingCapacity: true)
            throw fail("record times \(decoder.minTime)...\(decoder.maxTime) ns, the footer index says \(b.minTime)...\(b.maxTime) ns")
        }
    }
}
