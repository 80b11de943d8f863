#if canImport(Glibc)
import Glibc
#endif

/// A buffered byte sink to a file or stdout (`-`). Writes retry EINTR and short writes;
/// failures (ENOSPC, EIO) become a `TraceError` naming the file. Memory: one buffer.
public final class TraceOutput {
    public let name: String
    public let fd: Int32
    private let ownsFD: Bool
    private var buffer: [UInt8] = []
    private let flushAt: Int
    /// Bytes handed to the kernel so far.
    public private(set) var written: UInt64 = 0

    /// Creates (truncating) `path`, or writes to stdout for `-`.
    public init(path: String, bufferSize: Int = 1 << 20) throws {
        if path == "-" {
            fd = 1
            ownsFD = false
            name = "<stdout>"
        } else {
            let f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if f < 0 {
                throw TraceError(.cannotOpen, "\(path): cannot create: \(String(cString: strerror(errno)))")
            }
            fd = f
            ownsFD = true
            name = path
        }
        flushAt = bufferSize
        buffer.reserveCapacity(bufferSize)
    }

    deinit {
        try? flush()
        if ownsFD { close(fd) }
    }

    /// Appends bytes; they reach the file at the next flush (or when the buffer fills).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushAt { try flush() }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ s: String) throws {
        var s = s
        try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Appends into the buffer directly (for text formatters).
    @inline(__always) public func append(_ byte: UInt8) { buffer.append(byte) }
    @inline(__always) public func append(contentsOf p: UnsafeBufferPointer<UInt8>) { buffer.append(contentsOf: p) }
    @inline(__always) public func append(decimal v: UInt64) {
        if v < 10 { buffer.append(UInt8(48 + v)); return }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes: enough for 20 digits
        withUnsafeMutableBytes(of: &tmp) { t in
            var i = 24
            var x = v
            while x > 0 {
                i -= 1
                t[i] = UInt8(48 + x % 10)
                x /= 10
            }
            buffer.append(contentsOf: t[i..<24])
        }
    }
    @inline(__always) public func append(decimal v: Int64) {
        if v < 0 { buffer.append(UInt8(ascii: "-")); append(decimal: v.magnitude) } else { append(decimal: UInt64(v)) }
    }
    public func append(_ s: String) {
        var s = s
        s.withUTF8 { buffer.append(contentsOf: $0) }
    }
    /// Flushes if the buffer is past its size.
    @inline(__always) public func maybeFlush() throws {
        if buffer.count >= flushAt { try flush() }
    }

    /// Hands everything buffered to the kernel.
    public func flush() throws {
        if buffer.isEmpty { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes `bytes` straight to the file (after what is buffered), in full.
    public func writeNow(_ bytes: UnsafeRawBufferPointer) throws {
        try flush()
        try writeAll(bytes)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        do {
            try SystemCall.writeAll(fd, base, bytes.count) { written += UInt64($0) }
        } catch {
            let why = error == .noSpace ? "no space left on device" : error.description
            throw TraceError(.io, "\(name): write failed after \(written) bytes: \(why)")
        }
    }

    /// Flushes and fsyncs (regular files only).
    public func sync() throws {
        try flush()
        if ownsFD && fsync(fd) != 0 && errno != EINVAL {
            throw TraceError(.io, "\(name): fsync failed: \(String(cString: strerror(errno)))")
        }
    }
}
