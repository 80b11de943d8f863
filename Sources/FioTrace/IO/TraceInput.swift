#if canImport(Glibc)
import Glibc
#endif
import CZlib
import CZstd

/// A buffered byte stream from a file or stdin (`-`), with gzip and zstd decompressed
/// transparently (detected by magic bytes, not by name). Memory: one read buffer, one
/// decompressed buffer, and the longest line seen.
public final class TraceInput {
    /// The name used in messages: the path, or `<stdin>`.
    public let name: String
    /// The compression found at the start of the file.
    public let compression: Compression
    public let fd: Int32
    private let ownsFD: Bool

    public enum Compression: String, Sendable { case none, gzip, zstd }

    // Decompressed window: bytes [start, end) are unread.
    private var buf: UnsafeMutableRawPointer
    private var cap: Int
    private var start = 0
    private var end = 0
    private var eof = false
    /// Decompressed bytes consumed before `start` (a byte offset in the logical stream).
    public private(set) var consumed: UInt64 = 0

    // Raw (compressed) input buffer for the decompressors.
    private var raw: UnsafeMutableRawPointer?
    private var rawStart = 0
    private var rawEnd = 0
    private var rawEOF = false
    private var zs: UnsafeMutablePointer<z_stream>?
    private var zd: OpaquePointer?
    private static let rawCap = 1 << 17

    /// Opens `path` (`-` is stdin) and sniffs its compression.
    public init(path: String, bufferSize: Int = 1 << 20) throws {
        if path == "-" {
            fd = 0
            ownsFD = false
            name = "<stdin>"
        } else {
            var st = stat()
            if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
                throw TraceError(.cannotOpen, "\(path): is a directory, not a trace file")
            }
            let f = open(path, O_RDONLY | O_CLOEXEC)
            if f < 0 {
                throw TraceError(.cannotOpen, "\(path): cannot open: \(String(cString: strerror(errno)))")
            }
            fd = f
            ownsFD = true
            name = path
        }
        cap = max(bufferSize, 4096)
        buf = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 64)
        // Sniff compression from the first raw bytes.
        let r = UnsafeMutableRawPointer.allocate(byteCount: Self.rawCap, alignment: 64)
        var n = 0
        var readError: Int32 = 0
        while n < 4 {
            do {
                let got = try SystemCall.read(fd, r + n, Self.rawCap - n)
                if got == 0 { break }
                n += got
            } catch {
                readError = error.rawValue
                break
            }
        }
        let b = r.assumingMemoryBound(to: UInt8.self)
        if n >= 2 && b[0] == 0x1f && b[1] == 0x8b {
            compression = .gzip
        } else if n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd {
            compression = .zstd
        } else {
            compression = .none
        }
        if readError != 0 {
            r.deallocate()
            buf.deallocate()
            if ownsFD { close(fd) }
            throw TraceError(.io, "\(name): read failed: \(String(cString: strerror(readError)))")
        }
        switch compression {
        case .none:
            // The sniffed bytes are the first plain bytes.
            if n > cap { cap = n; buf.deallocate(); buf = .allocate(byteCount: cap, alignment: 64) }
            buf.copyMemory(from: r, byteCount: n)
            end = n
            r.deallocate()
        case .gzip:
            raw = r; rawEnd = n
            let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            z.initialize(to: z_stream())
            // 15 + 32: zlib or gzip header, detected automatically.
            if inflateInit2_(z, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) != Z_OK {
                z.deallocate(); r.deallocate(); buf.deallocate()
                if ownsFD { close(fd) }
                throw TraceError(.decompression, "\(name): cannot initialise gzip decompression")
            }
            zs = z
        case .zstd:
            raw = r; rawEnd = n
            zd = ZSTD_createDStream()
            ZSTD_initDStream(zd)
        }
    }

    deinit {
        buf.deallocate()
        raw?.deallocate()
        if let z = zs { inflateEnd(z); z.deallocate() }
        if let d = zd { ZSTD_freeDStream(d) }
        if ownsFD { close(fd) }
    }

    func resetBuffer(consumed offset: UInt64) {
        start = 0
        end = 0
        eof = false
        consumed = offset
    }

    /// True when the stream is a plain regular file that supports pread and lseek.
    public var isSeekableFile: Bool {
        guard compression == .none else { return false }
        var st = stat()
        return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Unread buffered bytes.
    @inlinable public var available: Int { availableCount }
    @usableFromInline var availableCount: Int { end - start }

    /// Reads more into the buffer (growing it if full). Returns false at end of stream.
    @discardableResult
    public func fill() throws -> Bool {
        if eof { return false }
        if start > 0 {
            if end > start { memmove(buf, buf + start, end - start) }
            end -= start
            consumed += UInt64(start)
            start = 0
        }
        if end == cap {
            let ncap = cap * 2
            let nb = UnsafeMutableRawPointer.allocate(byteCount: ncap, alignment: 64)
            nb.copyMemory(from: buf, byteCount: end)
            buf.deallocate()
            buf = nb
            cap = ncap
        }
        let got = try produce(into: buf + end, count: cap - end)
        if got == 0 { eof = true; return false }
        end += got
        return true
    }

    /// Ensures at least `count` bytes are buffered; false if the stream ends first.
    public func ensure(_ count: Int) throws -> Bool {
        while end - start < count {
            if !(try fill()) { return end - start >= count }
        }
        return true
    }

    /// The unread buffered bytes (valid until the next fill/consume).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: buf + start, count: end - start) }

    /// Marks `count` buffered bytes as read.
    public func consume(_ count: Int) {
        precondition(count <= end - start)
        start += count
    }

    /// The logical offset of the next unread byte.
    public var position: UInt64 { consumed + UInt64(start) }

    /// Reads exactly `count` bytes into `dest`. Returns the number read (less only at EOF).
    public func read(into dest: UnsafeMutableRawPointer, count: Int) throws -> Int {
        var done = 0
        while done < count {
            if end == start {
                // Large reads of plain input go straight to the destination.
                if compression == .none && count - done >= cap / 2 && !eof {
                    let got = try rawRead(dest + done, count - done)
                    if got == 0 { eof = true; break }
                    consumed += UInt64(got)
                    done += got
                    continue
                }
                if !(try fill()) { break }
            }
            let n = min(count - done, end - start)
            (dest + done).copyMemory(from: buf + start, byteCount: n)
            start += n
            done += n
        }
        return done
    }

    /// The next line without its `\n` (and a trailing `\r`), valid until the next call;
    /// nil at end of stream. A last line without a newline is returned too.
    public func nextLine() throws -> UnsafeBufferPointer<UInt8>? {
        try nextLine(refill: true)
    }

    /// Like `nextLine()`, but with `refill: false` it returns nil instead of reading
    /// when no complete line is buffered (so a reader on a pipe can hand over what it has
    /// before blocking for more).
    public func nextLine(refill: Bool) throws -> UnsafeBufferPointer<UInt8>? {
        var scanFrom = start
        while true {
            let p = buf.assumingMemoryBound(to: UInt8.self)
            if let nl = memchr(p + scanFrom, 0x0a, end - scanFrom) {
                let nlIdx = UnsafeMutableRawPointer(nl) - buf
                var lineEnd = nlIdx
                if lineEnd > start && p[lineEnd - 1] == 0x0d { lineEnd -= 1 }
                let line = UnsafeBufferPointer(start: p + start, count: lineEnd - start)
                start = nlIdx + 1
                return line
            }
            let scanned = end - start
            if !refill && !eof { return nil }
            if !(try fill()) {
                if end > start {
                    let line = UnsafeBufferPointer(start: buf.assumingMemoryBound(to: UInt8.self) + start, count: end - start)
                    start = end
                    return line
                }
                return nil
            }
            scanFrom = start + scanned
        }
    }

    // MARK: - Producing decompressed bytes

    private func rawRead(_ dest: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        do {
            return try SystemCall.read(fd, dest, count)
        } catch {
            throw TraceError(.io, "\(name): read failed: \(error)")
        }
    }

    private func refillRaw() throws {
        guard let raw else { return }
        if rawStart > 0 {
            if rawEnd > rawStart { memmove(raw, raw + rawStart, rawEnd - rawStart) }
            rawEnd -= rawStart
            rawStart = 0
        }
        let got = try rawRead(raw + rawEnd, Self.rawCap - rawEnd)
        if got == 0 { rawEOF = true }
        rawEnd += got
    }

    private func produce(into dest: UnsafeMutableRawPointer, count: Int) throws -> Int {
        switch compression {
        case .none:
            return try rawRead(dest, count)
        case .gzip:
            return try inflateSome(into: dest, count: count)
        case .zstd:
            return try zstdSome(into: dest, count: count)
        }
    }

    private var gzipStreamEnded = false

    private func inflateSome(into dest: UnsafeMutableRawPointer, count: Int) throws -> Int {
        guard let z = zs, let raw else { return 0 }
        while true {
            if rawStart == rawEnd && !rawEOF { try refillRaw() }
            if rawStart == rawEnd && rawEOF {
                if gzipStreamEnded { return 0 }
                throw TraceError(.truncated, "\(name): gzip stream ends early (truncated file)")
            }
            if gzipStreamEnded {
                // Concatenated gzip members: start the next one.
                inflateReset(z)
                gzipStreamEnded = false
            }
            z.pointee.next_in = (raw + rawStart).assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_in = UInt32(rawEnd - rawStart)
            z.pointee.next_out = dest.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_out = UInt32(min(count, Int(UInt32.max)))
            let rc = inflate(z, Z_NO_FLUSH)
            let usedIn = (rawEnd - rawStart) - Int(z.pointee.avail_in)
            rawStart += usedIn
            let produced = min(count, Int(UInt32.max)) - Int(z.pointee.avail_out)
            if rc == Z_STREAM_END {
                gzipStreamEnded = true
            } else if rc != Z_OK && rc != Z_BUF_ERROR {
                let msg = z.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw TraceError(.decompression, "\(name): corrupt gzip data near compressed byte \(z.pointee.total_in): \(msg)")
            }
            if produced > 0 { return produced }
        }
    }

    private var zstdFrameDone = true

    private func zstdSome(into dest: UnsafeMutableRawPointer, count: Int) throws -> Int {
        guard let d = zd, let raw else { return 0 }
        while true {
            if rawStart == rawEnd && !rawEOF { try refillRaw() }
            if rawStart == rawEnd && rawEOF {
                if zstdFrameDone { return 0 }
                throw TraceError(.truncated, "\(name): zstd stream ends early (truncated file)")
            }
            var input = ZSTD_inBuffer(src: raw + rawStart, size: rawEnd - rawStart, pos: 0)
            var output = ZSTD_outBuffer(dst: dest, size: count, pos: 0)
            let rc = ZSTD_decompressStream(d, &output, &input)
            if ZSTD_isError(rc) != 0 {
                throw TraceError(.decompression, "\(name): corrupt zstd data: \(String(cString: ZSTD_getErrorName(rc)))")
            }
            rawStart += input.pos
            zstdFrameDone = (rc == 0)
            if output.pos > 0 { return output.pos }
        }
    }
}

extension TraceInput {
    /// Moves a plain regular file to byte `offset`, dropping what is buffered.
    public func reposition(to offset: UInt64) throws {
        guard compression == .none else { throw TraceError(.unsupported, "\(name): cannot seek in a compressed stream") }
        // An offset read from a corrupt file can pass off_t's range (2^63 - 1).
        guard offset <= UInt64(Int64.max) else {
            throw TraceError(.io, "\(name): cannot seek to byte \(offset): past the largest file offset (2^63 - 1)")
        }
        if lseek(fd, off_t(offset), SEEK_SET) < 0 {
            throw TraceError(.io, "\(name): seek failed: \(String(cString: strerror(errno)))")
        }
        resetBuffer(consumed: offset)
    }

    /// Reads `count` bytes at `offset` without moving the stream (pread).
    public func readAt(_ offset: UInt64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        try out.withUnsafeMutableBytes { p in
            do {
                done = try SystemCall.preadFully(fd, p.baseAddress!, count, offset)
            } catch {
                throw TraceError(.io, "\(name): read failed: \(error)")
            }
        }
        out.removeLast(count - done)
        return out
    }

    /// Size of a regular file, or nil.
    public var fileSize: UInt64? {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return UInt64(st.st_size)
    }
}
