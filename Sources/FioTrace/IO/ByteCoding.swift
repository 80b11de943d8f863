/// Little-endian and LEB128 coding helpers for the binary formats.

/// An append-only byte buffer. Reused between blocks, so it allocates only when a block
/// is larger than any before it.
public struct ByteBuffer {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public var count: Int { bytes.count }
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    @inline(__always) public mutating func u8(_ v: UInt8) { bytes.append(v) }

    @inline(__always) public mutating func le<T: FixedWidthInteger>(_ v: T) {
        var x = v.littleEndian
        withUnsafeBytes(of: &x) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128.
    @inline(__always) public mutating func varint(_ v: UInt64) {
        var x = v
        while x >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: x) | 0x80)
            x >>= 7
        }
        bytes.append(UInt8(x))
    }

    /// ZigZag then LEB128.
    @inline(__always) public mutating func svarint(_ v: Int64) { varint(zigzag(v)) }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { p in
            varint(UInt64(p.count))
            bytes.append(contentsOf: p)
        }
    }

    public mutating func append(_ p: UnsafeRawBufferPointer) { bytes.append(contentsOf: p) }
    public mutating func append(_ a: [UInt8]) { bytes.append(contentsOf: a) }

    /// Grows the buffer by `count` zero bytes and lets `body` fill them.
    public mutating func appendUninitialized(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
        let old = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: count))
        bytes.withUnsafeMutableBytes { body(UnsafeMutableRawBufferPointer(rebasing: $0[old..<(old + count)])) }
    }

    public mutating func truncate(to n: Int) {
        if n < bytes.count { bytes.removeLast(bytes.count - n) }
    }
}

@inline(__always) public func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
@inline(__always) public func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

/// A bounds-checked cursor over bytes. Every read that would pass the end throws the
/// error made by `fail`, so a corrupt length can never read outside the buffer.
public struct ByteCursor {
    public let base: UnsafeRawBufferPointer
    public var index: Int = 0
    let fail: (String) -> TraceError

    public init(_ base: UnsafeRawBufferPointer, fail: @escaping (String) -> TraceError) {
        self.base = base
        self.fail = fail
    }

    public var remaining: Int { base.count - index }
    public var atEnd: Bool { index >= base.count }

    @inline(__always) public mutating func u8() throws -> UInt8 {
        guard index < base.count else { throw fail("unexpected end of data") }
        defer { index += 1 }
        return base[index]
    }

    @inline(__always) public mutating func le<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        guard index + n <= base.count else { throw fail("unexpected end of data") }
        defer { index += n }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: index, as: T.self))
    }

    @inline(__always) public mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < base.count else { throw fail("unexpected end of data in a varint") }
            let b = base[index]
            index += 1
            if shift == 63 && b > 1 { throw fail("varint overflows 64 bits") }
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw fail("varint longer than 10 bytes") }
        }
    }

    public mutating func svarint() throws -> Int64 { unzigzag(try varint()) }

    public mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= base.count - index else { throw fail("length \(n) runs past the end of data") }
        defer { index += n }
        return UnsafeRawBufferPointer(rebasing: base[index..<(index + n)])
    }

    public mutating func string(limit: Int = 1 << 20) throws -> String {
        let n = try varint()
        guard n <= UInt64(limit) else { throw fail("string length \(n) is implausible") }
        let b = try bytes(Int(n))
        return String(decoding: b, as: UTF8.self)
    }
}
