#if canImport(Glibc)
import Glibc
#endif

/// A POSIX error number as a value (C: `errno`, `strerror`). Thrown by `SystemCall`.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The C errno value (positive).
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// The calling thread's `errno` now.
    public static var current: Errno { Errno(rawValue: errno) }

    public static let noSpace = Errno(rawValue: ENOSPC)

    /// The C library's message (`strerror`), e.g. "No space left on device".
    public var description: String { String(cString: strerror(rawValue)) }
}

/// The one place where read/write loops live: every call retries EINTR, the "fully"
/// variants loop over short transfers, and failures come back as a typed `Errno`.
/// Byte counts are bytes; offsets are bytes from the start of the file.
public enum SystemCall {
    /// Runs `body` (a C call returning -1 and setting errno on failure) until it does not
    /// fail with EINTR. Returns its result, or throws the errno it failed with.
    @inline(__always)
    public static func retryingEINTR<T: FixedWidthInteger>(_ body: () -> T) throws(Errno) -> T {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = errno
            if e != EINTR { throw Errno(rawValue: e) }
        }
    }

    /// One read(2): up to `count` bytes; 0 at end of file.
    @inline(__always)
    public static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws(Errno) -> Int {
        try retryingEINTR { Glibc.read(fd, buffer, count) }
    }

    /// One pread(2) at `offset`: up to `count` bytes; 0 at end of file.
    @inline(__always)
    public static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: UInt64) throws(Errno) -> Int {
        try retryingEINTR { Glibc.pread(fd, buffer, count, off_t(truncatingIfNeeded: offset)) }
    }

    /// One pwrite(2) at `offset`: the bytes written (possibly fewer than `count`).
    @inline(__always)
    public static func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: UInt64) throws(Errno) -> Int {
        try retryingEINTR { Glibc.pwrite(fd, buffer, count, off_t(truncatingIfNeeded: offset)) }
    }

    /// Reads `count` bytes at `offset` or up to end of file; returns the bytes read.
    public static func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: UInt64) throws(Errno) -> Int {
        var done = 0
        while done < count {
            let n = try pread(fd, buffer + done, count - done, offset + UInt64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all `count` bytes (write(2), looping over short writes). `progress` is told
    /// each chunk written, so a caller can say how far it got before a failure.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int,
                                progress: (Int) -> Void = { _ in }) throws(Errno) {
        var done = 0
        while done < count {
            let n = try retryingEINTR { Glibc.write(fd, buffer + done, count - done) }
            if n == 0 { throw Errno(rawValue: EIO) }
            done += n
            progress(n)
        }
    }

    /// Writes all `count` bytes at `offset` (pwrite(2), looping over short writes).
    public static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: UInt64) throws(Errno) {
        var done = 0
        while done < count {
            let n = try pwrite(fd, buffer + done, count - done, offset + UInt64(done))
            if n == 0 { throw Errno(rawValue: EIO) }
            done += n
        }
    }
}
