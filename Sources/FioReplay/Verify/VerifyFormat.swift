import FioTrace
import Glibc

/// The layout of verifiable data. A write is cut into chunks: at every multiple of the
/// verify interval and at the write's own start and end, so every chunk lies inside one
/// interval and a partial interval still gets a header. Each chunk begins with a 64-byte
/// header; the rest of the chunk is a payload derived from a seed, so expected content is
/// never stored.
///
/// Header (little-endian):
/// ```
///  0  u32 magic "SVTF"        4 u8 version (1)      5 u8 algorithm (VerifyAlgorithm)
///  6  u16 chunk length (512-byte sectors)           8 u64 chunk offset (bytes)
/// 16  u64 write generation    24 u64 run id
/// 32  24 bytes: the algorithm's digest of the chunk after the header (zero-padded)
/// 56  u32 target (file index in the run)            60 u32 CRC-32C of bytes 0..<60
/// ```
/// Payload: every 512-byte sector of the chunk is a window of a 1 MiB random pool made from
/// the run id, picked and XORed with a key both derived from (run, generation, target,
/// sector offset): any sector is regenerated from those four numbers at memcpy speed, and
/// no two sectors share byte sequences. The first sector's first 64 bytes are the header. So any sector can be checked on its own, also when a later write overwrote the
/// sector that held its chunk's header. With `pattern`, sectors repeat `verify_pattern`
/// from their start (`%o` is the sector's offset) instead.
enum VerifyFormat {
    /// Tracking and checking unit (bytes).
    static let sector = 512
    static let headerSize = 64
    /// "SVTF" in the first four bytes.
    static let magic: UInt32 = 0x4654_5653
    static let version: UInt8 = 1
    /// Largest chunk (and verify interval), bytes.
    static let maxInterval = 1 << 20
}

/// A parsed chunk header.
struct VerifyHeader: Equatable {
    var algorithm: VerifyAlgorithm
    /// Chunk length in sectors.
    var sectors: Int
    /// Chunk offset in bytes.
    var offset: UInt64
    var generation: UInt64
    var run: UInt64
    var target: UInt32

    /// The header at `p` when it is one: magic, version and its own CRC all right.
    @inline(__always)
    static func parse(_ p: UnsafeRawPointer) -> VerifyHeader? {
        guard p.loadUnaligned(as: UInt32.self) == VerifyFormat.magic.littleEndian,
              p.load(fromByteOffset: 4, as: UInt8.self) == VerifyFormat.version,
              crc32c(p, 60) == UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 60, as: UInt32.self)),
              let algo = VerifyAlgorithm(rawValue: p.load(fromByteOffset: 5, as: UInt8.self)) else { return nil }
        let n = Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 6, as: UInt16.self)))
        guard n >= 1 && n <= VerifyFormat.maxInterval / VerifyFormat.sector else { return nil }
        return VerifyHeader(algorithm: algo, sectors: n,
                            offset: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                            generation: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                            run: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)),
                            target: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 56, as: UInt32.self)))
    }

    /// Writes the header (without the digest, which `seal` adds) at `p`.
    @inline(__always)
    func store(_ p: UnsafeMutableRawPointer) {
        p.storeBytes(of: VerifyFormat.magic.littleEndian, as: UInt32.self)
        p.storeBytes(of: VerifyFormat.version, toByteOffset: 4, as: UInt8.self)
        p.storeBytes(of: algorithm.rawValue, toByteOffset: 5, as: UInt8.self)
        p.storeBytes(of: UInt16(sectors).littleEndian, toByteOffset: 6, as: UInt16.self)
        p.storeBytes(of: offset.littleEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: generation.littleEndian, toByteOffset: 16, as: UInt64.self)
        p.storeBytes(of: run.littleEndian, toByteOffset: 24, as: UInt64.self)
        memset(p + 32, 0, 24)
        p.storeBytes(of: target.littleEndian, toByteOffset: 56, as: UInt32.self)
    }

    /// Fills the digest of the chunk's payload (`chunk` is the whole chunk) and the
    /// header's own CRC.
    @inline(__always)
    static func seal(_ chunk: UnsafeMutableRawPointer, length: Int, algorithm: VerifyAlgorithm) {
        algorithm.digest(chunk + VerifyFormat.headerSize, length - VerifyFormat.headerSize, into: chunk + 32)
        chunk.storeBytes(of: crc32c(chunk, 60).littleEndian, toByteOffset: 60, as: UInt32.self)
    }
}

/// The random bytes verify payloads are windows of: 1 MiB from the run id, plus one
/// sector's worth repeated at the end so any 8-byte-aligned window fits.
final class VerifyPool: @unchecked Sendable {
    static let size = 1 << 20
    let bytes: UnsafeMutableRawPointer
    init(run: UInt64) {
        bytes = UnsafeMutableRawPointer.allocate(byteCount: Self.size + VerifyFormat.sector, alignment: 64)
        var x = run ^ 0x5851_F42D_4C95_7F2D
        var i = 0
        while i < Self.size {
            x &+= 0xA076_1D64_78BD_642F
            let m = x.multipliedFullWidth(by: x ^ 0xE703_7ED1_A0B4_28DB)
            bytes.storeBytes(of: m.high ^ m.low, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        (bytes + Self.size).copyMemory(from: bytes, byteCount: VerifyFormat.sector)
    }
    deinit { bytes.deallocate() }
}

/// How verifiable data is made: the run's identity and settings.
struct VerifyContent {
    let run: UInt64
    let algorithm: VerifyAlgorithm
    /// Header spacing (bytes, a power of two, 512...1 MiB).
    let interval: Int
    /// The pattern (`pattern` only), expanded per sector with its offset markers.
    let pattern: DataPattern?
    let pool: VerifyPool

    init(run: UInt64, algorithm: VerifyAlgorithm, interval: Int, pattern: DataPattern?) {
        self.run = run
        self.algorithm = algorithm
        self.interval = interval
        self.pattern = pattern
        pool = VerifyPool(run: run)
    }

    /// The 512 bytes sector `offset` holds when written by `generation` on `target` (the
    /// header, when the sector starts a chunk, is laid over the first 64).
    @inline(__always)
    func payload(_ p: UnsafeMutableRawPointer, offset: UInt64, generation: UInt64, target: UInt32) {
        if algorithm == .pattern {
            fillPattern(p, offset: offset)
            return
        }
        let x = SplitMix64.mix(run ^ UInt64(target) << 48, generation, offset >> 9)
        let key = x | 1
        let src = (pool.bytes + Int(truncatingIfNeeded: (x >> 20) & UInt64(VerifyPool.size - 1)) & ~7)
        // 32 bytes a step (two AVX2 or four SSE2 XORs).
        let k = SIMD4<UInt64>(repeating: key)
        var i = 0
        while i < VerifyFormat.sector {
            p.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: SIMD4<UInt64>.self) ^ k, toByteOffset: i, as: SIMD4<UInt64>.self)
            i += 32
        }
    }

    /// `verify_pattern` repeated from the sector's start; `%o` is the sector's offset.
    private func fillPattern(_ p: UnsafeMutableRawPointer, offset: UInt64) {
        let pieces = pattern?.pieces ?? [.bytes([0xA5])]
        var at = 0
        while at < VerifyFormat.sector {
            for piece in pieces {
                switch piece {
                case .bytes(let b):
                    for byte in b where at < VerifyFormat.sector { p.storeBytes(of: byte, toByteOffset: at, as: UInt8.self); at += 1 }
                case .blockOffset:
                    var v = offset.littleEndian
                    withUnsafeBytes(of: &v) { vb in
                        for byte in vb where at < VerifyFormat.sector { p.storeBytes(of: byte, toByteOffset: at, as: UInt8.self); at += 1 }
                    }
                }
                if at >= VerifyFormat.sector { break }
            }
        }
    }

    /// Fills a write's buffer: `length` bytes (a multiple of 512) for `offset` (512-aligned).
    func fillWrite(_ buf: UnsafeMutableRawPointer, offset: UInt64, length: Int, generation: UInt64, target: UInt32) {
        var at = 0
        while at < length {
            // The chunk runs to the next interval boundary or the write's end.
            let abs = offset + UInt64(at)
            let toBoundary = interval - Int(abs % UInt64(interval))
            let n = min(toBoundary, length - at)
            let chunk = buf + at
            var s = 0
            while s < n {
                payload(chunk + s, offset: abs + UInt64(s), generation: generation, target: target)
                s += VerifyFormat.sector
            }
            VerifyHeader(algorithm: algorithm, sectors: n / VerifyFormat.sector, offset: abs, generation: generation,
                         run: run, target: target).store(chunk)
            VerifyHeader.seal(chunk, length: n, algorithm: algorithm)
            at += n
        }
    }
}
