import CXXHash

/// Constants of the native `.fiot` layout; docs/trace-format.md is the specification.
public enum FiotLayout {
    /// `\x89FIOT\r\n\x1a`: the high byte and CR/LF catch 7-bit and newline-mangling copies.
    public static let magic: [UInt8] = [0x89, 0x46, 0x49, 0x4F, 0x54, 0x0D, 0x0A, 0x1A]
    public static let majorVersion: UInt16 = 1
    /// 1.1 added the file identity (header flag bit 0): a random id that seeds every block's
    /// and the footer's checksum, so a block from another trace never passes as this one's.
    public static let minorVersion: UInt16 = 1
    /// Header flag bit 0: a u64 file identity follows the header body's metadata.
    public static let headerFlagFileID: UInt64 = 1
    /// Bytes before the header body: magic, major, minor, body length, body checksum.
    public static let fileHeaderSize = 24
    /// "FBLK" little-endian.
    public static let blockMagic: UInt32 = 0x4B4C_4246
    /// "FIDX" little-endian.
    public static let footerMagic: UInt32 = 0x5844_4946
    /// magic, compressed length, payload length, record count, first record, first time, checksum.
    public static let blockHeaderSize = 40
    /// footer offset u64, total records u64, "FIOTEND\n".
    public static let trailerSize = 24
    public static let trailerMagic: [UInt8] = Array("FIOTEND\n".utf8)
    /// Upper bounds a reader enforces before allocating, so corrupt lengths can't exhaust memory.
    public static let maxBlockRecords = 1 << 22
    public static let maxPayloadBytes = 1 << 30
    public static let maxHeaderBytes = 1 << 28
    /// zstd's densest encoding, an RLE block (3 header bytes + 1 byte for up to 128 KiB),
    /// bounds how far any frame can expand: a payload larger than this many times its
    /// compressed length cannot be genuine, so nothing is allocated for it.
    public static let maxExpansion = 32768
    /// The smallest footer index entry: five varints of at least one byte.
    static let minIndexEntryBytes = 5

    /// Column order inside a block payload.
    public enum Column: Int, CaseIterable {
        case op, file, length, offset, time, flags, latency, result, depth, stream
    }

    /// Column encodings.
    public enum Encoding: UInt8 {
        case zero = 0, constant = 1, planes = 2
    }

    /// Column value transforms, applied before the encoding.
    public enum Transform: UInt8 {
        /// The value itself.
        case raw = 0
        /// ZigZag of the difference from the previous record's value (time: from the block's first time).
        case delta = 1
        /// Offsets only: ZigZag of offset minus the end (offset + length) of the previous
        /// record on the same file in this block (0 for a file's first record in the block).
        case fileDelta = 2
    }

    /// Optional-column presence codes.
    public enum Presence: UInt8 {
        case none = 0, all = 1, mixed = 2
    }

    static func checksum(_ p: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        XXH3_64bits_withSeed(p.baseAddress, p.count, seed)
    }

    /// A file identity derived from `key` (nonzero), for writers whose output must be a
    /// function of their input alone (fio-gen with a seed, anonymize with a key); every
    /// other writer draws a random one.
    public static func fileID(derivedFrom key: String) -> UInt64 {
        let h = Array(key.utf8).withUnsafeBytes { checksum($0, seed: 0x6669_6F74_2E69_6431) } // "fiot.id1"
        return h == 0 ? 1 : h
    }

    /// The seed of a block's payload checksum: XXH3 of the block header's first 32 bytes,
    /// seeded with the file identity (0 in a 1.0 file, which has none).
    static func blockSeed(header: UnsafeRawBufferPointer, fileID: UInt64) -> UInt64 {
        checksum(UnsafeRawBufferPointer(rebasing: header[0..<32]), seed: fileID)
    }
}

/// One entry of a native trace's footer index.
public struct FiotBlockInfo: Sendable, Equatable {
    /// Byte offset of the block's header in the file.
    public var byteOffset: UInt64
    /// Number of the block's first record (0-based over the whole trace).
    public var firstRecord: UInt64
    public var recordCount: UInt32
    /// Smallest and largest record time in the block, ns.
    public var minTime: UInt64
    public var maxTime: UInt64
}

extension ByteBuffer {
    mutating func fiotFile(_ f: TraceFile) {
        string(f.path)
        varint(f.size.map { $0 &+ 1 } ?? 0)
        if let d = f.device { varint((UInt64(d.major) << 32 | UInt64(d.minor)) &+ 1) } else { varint(0) }
    }

    mutating func fiotMetadata(_ m: [String: String]) {
        varint(UInt64(m.count))
        for k in m.keys.sorted() {
            string(k)
            string(m[k]!)
        }
    }
}

extension ByteCursor {
    mutating func fiotFile() throws -> TraceFile {
        let path = try string()
        let size = try varint()
        let dev = try varint()
        return TraceFile(path: path, size: size == 0 ? nil : size - 1,
                         device: dev == 0 ? nil : DeviceNumber(major: UInt32(truncatingIfNeeded: (dev - 1) >> 32),
                                                               minor: UInt32(truncatingIfNeeded: dev - 1)))
    }

    mutating func fiotMetadata() throws -> [String: String] {
        let n = try varint()
        guard n <= 1 << 20 else { throw fail("metadata count \(n) is implausible") }
        var m: [String: String] = [:]
        for _ in 0..<n {
            let k = try string()
            m[k] = try string()
        }
        return m
    }
}
