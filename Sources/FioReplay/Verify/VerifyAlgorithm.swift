import CChecksum
import Glibc

/// How a verify chunk's payload is checked: a checksum from a maintained library, or a
/// pattern compared byte by byte. The raw value is stored in every header.
public enum VerifyAlgorithm: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// CRC-32C (ISA-L), 4 bytes.
    case crc32c = 1
    /// XXH3 64-bit (libxxhash), 8 bytes.
    case xxh3 = 2
    /// MD5 (libcrypto), 16 bytes.
    case md5 = 3
    /// SHA-1 (libcrypto), 20 bytes.
    case sha1 = 4
    /// SHA-256 (libcrypto), its first 24 bytes (the header's checksum field).
    case sha256 = 5
    /// No checksum: the payload is `verify_pattern` (with the offset mixed in) and is
    /// compared byte by byte.
    case pattern = 6

    public var description: String {
        switch self {
        case .crc32c: "crc32c"
        case .xxh3: "xxh3"
        case .md5: "md5"
        case .sha1: "sha1"
        case .sha256: "sha256"
        case .pattern: "pattern"
        }
    }

    /// Our names and fio's `verify=` spellings: fio's crc32c-intel is crc32c; its xxhash
    /// (XXH32) and xxh64 become xxh3, the fastest of the family.
    public init?(name: String) {
        switch name.lowercased() {
        case "crc32c", "crc32c-intel": self = .crc32c
        case "xxh3", "xxhash", "xxh64", "xxh3_64": self = .xxh3
        case "md5": self = .md5
        case "sha1": self = .sha1
        case "sha256": self = .sha256
        case "pattern": self = .pattern
        default: return nil
        }
    }

    public static var names: String { allCases.map(\.description).joined(separator: ", ") }

    /// Bytes of digest kept in the header (at most 24).
    public var digestLength: Int {
        switch self {
        case .crc32c: 4
        case .xxh3: 8
        case .md5: 16
        case .sha1: 20
        case .sha256: 24
        case .pattern: 0
        }
    }

    /// Writes the digest of `count` bytes at `p` to `out` (`digestLength` bytes).
    @inline(__always)
    func digest(_ p: UnsafeRawPointer, _ count: Int, into out: UnsafeMutableRawPointer) {
        switch self {
        case .crc32c:
            out.storeBytes(of: cck_crc32c(p, count, 0).littleEndian, as: UInt32.self)
        case .xxh3:
            out.storeBytes(of: cck_xxh3(p, count).littleEndian, as: UInt64.self)
        case .md5:
            cck_md5(p, count, out.assumingMemoryBound(to: UInt8.self))
        case .sha1:
            cck_sha1(p, count, out.assumingMemoryBound(to: UInt8.self))
        case .sha256:
            var full = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            withUnsafeMutableBytes(of: &full) { f in
                cck_sha256(p, count, f.baseAddress!.assumingMemoryBound(to: UInt8.self))
                out.copyMemory(from: f.baseAddress!, byteCount: 24)
            }
        case .pattern:
            break
        }
    }

    /// Whether the digest of `count` bytes at `p` equals the `digestLength` bytes at `stored`.
    @inline(__always)
    func matches(_ p: UnsafeRawPointer, _ count: Int, stored: UnsafeRawPointer) -> Bool {
        switch self {
        case .crc32c:
            return cck_crc32c(p, count, 0).littleEndian == stored.loadUnaligned(as: UInt32.self)
        case .xxh3:
            return cck_xxh3(p, count).littleEndian == stored.loadUnaligned(as: UInt64.self)
        case .pattern:
            return true
        default:
            var tmp = (UInt64(0), UInt64(0), UInt64(0))
            return withUnsafeMutableBytes(of: &tmp) { t in
                digest(p, count, into: t.baseAddress!)
                return memcmp(t.baseAddress!, stored, digestLength) == 0
            }
        }
    }
}

/// CRC-32C for the format's own integrity checks (headers, state records).
@inline(__always)
func crc32c(_ p: UnsafeRawPointer, _ count: Int, _ seed: UInt32 = 0) -> UInt32 { cck_crc32c(p, count, seed) }
