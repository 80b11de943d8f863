/// Streams records into a native `.fiot` trace (docs/trace-format.md).
///
/// Records are buffered one block at a time (`blockRecords`, default 65,536) and every
/// finished block goes to the kernel in one write, so a writer killed at any point leaves
/// a file whose complete blocks all read back. `finish` writes the footer index.
/// Every block's and the footer's checksum is seeded with the file's random identity
/// (format 1.1), and a block repeats the file definitions of the block before it, so a
/// reader skipping one bad block still knows every file the next blocks name.
/// Memory: O(blockRecords).
public final class FiotWriter: TraceSink {
    public struct Options: Sendable {
        /// Records per block: bigger compresses a little better, smaller loses less on a crash.
        public var blockRecords: Int = 65536
        /// zstd level of block payloads.
        public var level: Int32 = 3
        /// The file identity (nonzero); nil draws a random one, as every real trace should.
        public var fileID: UInt64?
        public init(blockRecords: Int = 65536, level: Int32 = 3, fileID: UInt64? = nil) {
            self.blockRecords = blockRecords
            self.level = level
            self.fileID = fileID
        }
    }

    public let out: TraceOutput
    public let options: Options
    /// The random identity in the header that seeds every checksum of this file.
    public let fileID: UInt64
    private var encoder: FiotBlockEncoder
    private var pending: [TraceRecord] = []
    private var files: [TraceFile]
    private var newFiles: [TraceFile] = []
    /// Index of the first file the last written block defined (`files.count` when it
    /// defined none): the next block repeats the definitions from there on.
    private var repeatFrom = 0
    private var index: [FiotBlockInfo] = []
    private var frame = ByteBuffer()
    private var compressed = ByteBuffer()
    private var finished = false
    private var timeSorted = true
    private var lastTime: UInt64 = 0
    /// Records written so far (including the block being filled).
    public private(set) var recordCount: UInt64 = 0
    /// Records already in written blocks: the number of the next block's first record.
    private var recordsInBlocks: UInt64 = 0

    /// Creates `path` (`-`: stdout) and writes the header with `files` and `metadata`.
    public convenience init(path: String, files: [TraceFile] = [], metadata: [String: String] = [:],
                            options: Options = Options()) throws {
        try self.init(output: TraceOutput(path: path), files: files, metadata: metadata, options: options)
    }

    public init(output: TraceOutput, files: [TraceFile] = [], metadata: [String: String] = [:],
                options: Options = Options()) throws {
        precondition(options.blockRecords > 0 && options.blockRecords <= FiotLayout.maxBlockRecords)
        precondition(options.fileID != 0, "a file identity of 0 means a 1.0 file")
        out = output
        self.options = options
        var id = options.fileID ?? 0
        var rng = SystemRandomNumberGenerator()
        while id == 0 { id = rng.next() }
        fileID = id
        self.files = files
        repeatFrom = files.count
        encoder = FiotBlockEncoder(level: options.level)
        pending.reserveCapacity(options.blockRecords)
        var body = ByteBuffer()
        body.varint(FiotLayout.headerFlagFileID)
        body.varint(UInt64(files.count))
        for f in files { body.fiotFile(f) }
        body.fiotMetadata(metadata)
        body.le(fileID)
        var head = ByteBuffer()
        head.append(FiotLayout.magic)
        head.le(FiotLayout.majorVersion)
        head.le(FiotLayout.minorVersion)
        head.le(UInt32(body.count))
        body.bytes.withUnsafeBytes { head.le(FiotLayout.checksum($0)) }
        head.append(body.bytes)
        try head.bytes.withUnsafeBytes { try out.writeNow($0) }
    }

    public func define(file: TraceFile) throws {
        files.append(file)
        newFiles.append(file)
    }

    /// The file table as defined so far.
    public var fileTable: [TraceFile] { files }

    public func write(_ records: UnsafeBufferPointer<TraceRecord>) throws {
        precondition(!finished, "write after finish")
        var i = 0
        let blockSize = options.blockRecords
        while i < records.count {
            let take = min(records.count - i, blockSize - pending.count)
            let slice = UnsafeBufferPointer(rebasing: records[i..<(i + take)])
            if pending.isEmpty && take == blockSize {
                // A whole block from the caller's buffer: encode it in place, no copy; the
                // encoder's one pass over the records also checks them (`checked`).
                try writeBlock(slice, checked: false)
                recordCount += UInt64(take)
            } else {
                try check(slice)
                recordCount += UInt64(take)
                pending.append(contentsOf: slice)
                if pending.count == blockSize { try flushBlock() }
            }
            i += take
        }
    }

    /// Refuses a record naming a file not yet defined (with its number) and notes whether
    /// record times ever decrease. O(records).
    private func check(_ records: UnsafeBufferPointer<TraceRecord>) throws {
        for (k, r) in records.enumerated() {
            if r.file >= files.count {
                throw TraceError(.invalidSequence, "\(out.name): record \(recordCount + UInt64(k)) names file \(r.file) but only \(files.count) are defined")
            }
            if r.time < lastTime { timeSorted = false }
            lastTime = r.time
        }
    }

    /// Writes the records buffered so far as a (possibly short) block.
    public func flushBlock() throws {
        if pending.isEmpty && newFiles.isEmpty { return }
        try pending.withUnsafeBufferPointer { try writeBlock($0) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Encodes, frames and writes one block. `checked`: the records went through `check`;
    /// if not, the encoder's figures check them before anything is written.
    private func writeBlock(_ block: UnsafeBufferPointer<TraceRecord>, checked: Bool = true) throws {
        let first = recordsInBlocks
        let firstTime = block.first?.time ?? 0
        // This block's new files, preceded by a repeat of the previous block's.
        let firstNew = files.count - newFiles.count
        let firstDefined = min(repeatFrom, firstNew)
        let defined = firstDefined == firstNew ? newFiles : Array(files[firstDefined...])
        let payloadSize = try encoder.encode(block, newFiles: defined, firstNewFile: firstDefined,
                                             firstTime: firstTime, into: &compressed)
        let minT = encoder.minTime, maxT = encoder.maxTime
        if !checked && !block.isEmpty {
            // The slow scan only finds which record is wrong, for the message.
            if encoder.maxFile >= files.count { try check(block) }
            if encoder.timeDecreased || block[0].time < lastTime { timeSorted = false }
            lastTime = block[block.count - 1].time
        }
        frame.removeAll()
        frame.le(FiotLayout.blockMagic)
        frame.le(UInt32(compressed.count))
        frame.le(UInt32(payloadSize))
        frame.le(UInt32(block.count))
        frame.le(first)
        frame.le(firstTime)
        let headSum = frame.bytes.withUnsafeBytes { FiotLayout.blockSeed(header: $0, fileID: fileID) }
        let sum = compressed.bytes.withUnsafeBytes { FiotLayout.checksum($0, seed: headSum) }
        frame.le(sum)
        frame.append(compressed.bytes)
        let offset = out.written
        try frame.bytes.withUnsafeBytes { try out.writeNow($0) }
        index.append(FiotBlockInfo(byteOffset: offset, firstRecord: first, recordCount: UInt32(block.count),
                                   minTime: minT, maxTime: maxT))
        recordsInBlocks += UInt64(block.count)
        repeatFrom = newFiles.isEmpty ? files.count : firstNew
        newFiles.removeAll()
    }

    /// Writes the last block, the footer (index, full file table, `metadata`) and the trailer.
    public func finish(metadata: [String: String] = [:]) throws {
        if finished { return }
        try flushBlock()
        finished = true
        var body = ByteBuffer()
        body.varint(timeSorted ? 1 : 0) // flags: bit 0 = record times never decrease
        body.varint(UInt64(index.count))
        var prevOff: UInt64 = 0, prevRec: UInt64 = 0, prevT: UInt64 = 0
        for b in index {
            body.varint(b.byteOffset - prevOff)
            body.varint(b.firstRecord - prevRec)
            body.varint(UInt64(b.recordCount))
            body.svarint(Int64(bitPattern: b.minTime &- prevT))
            body.varint(b.maxTime &- b.minTime)
            prevOff = b.byteOffset
            prevRec = b.firstRecord
            prevT = b.minTime
        }
        body.varint(recordCount)
        body.varint(UInt64(files.count))
        for f in files { body.fiotFile(f) }
        body.fiotMetadata(metadata)
        var foot = ByteBuffer()
        let footerOffset = out.written
        foot.le(FiotLayout.footerMagic)
        foot.le(UInt32(body.count))
        body.bytes.withUnsafeBytes { foot.le(FiotLayout.checksum($0, seed: fileID)) }
        foot.append(body.bytes)
        foot.le(footerOffset)
        foot.le(recordCount)
        foot.append(FiotLayout.trailerMagic)
        try foot.bytes.withUnsafeBytes { try out.writeNow($0) }
        try out.flush()
    }
}
