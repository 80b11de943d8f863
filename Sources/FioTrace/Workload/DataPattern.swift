#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fill pattern as fio's `buffer_pattern` and `verify_pattern` spell it (fio's
/// lib/pattern.c), concatenated from left to right:
/// - `"text"`: the bytes between double quotes (no escapes; not empty);
/// - `0x...`: hex bytes in the order written (`0xdeadbeef` is de ad be ef; an odd count
///   makes the first digit a byte of its own: `0x123` is 01 23);
/// - a decimal number in Int32's range: its bytes little-endian, as few as it needs
///   (`66` is 42, `-1024` is 00 fc ff ff, `0` is one 00);
/// - `'path'`: the bytes of that file (cut at the size limit);
/// - `%o` (`verify_pattern` only): the block's offset, 8 bytes little-endian.
/// One copy is at most 512 bytes (fio's MAX_PATTERN_SIZE); the pattern repeats over the buffer.
public struct DataPattern: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        case bytes([UInt8])
        /// `%o`: the offset of the block being written, 8 bytes little-endian.
        case blockOffset
    }

    /// fio's MAX_PATTERN_SIZE, bytes.
    public static let maxBytes = 512

    /// The pieces in order; adjacent byte runs are merged.
    public private(set) var pieces: [Piece] = []
    /// Bytes one copy takes (a block offset counts 8).
    public private(set) var byteCount = 0

    public init(pieces: [Piece]) {
        for p in pieces { append(p) }
    }

    /// The bytes, when the pattern has no block offset in it.
    public var plainBytes: [UInt8]? {
        var out: [UInt8] = []
        for p in pieces {
            guard case .bytes(let b) = p else { return nil }
            out += b
        }
        return out
    }

    private mutating func append(_ p: Piece) {
        switch p {
        case .bytes(let b):
            if b.isEmpty { return }
            byteCount += b.count
            if case .bytes(let prev)? = pieces.last {
                pieces[pieces.count - 1] = .bytes(prev + b)
            } else {
                pieces.append(p)
            }
        case .blockOffset:
            byteCount += 8
            pieces.append(p)
        }
    }

    /// Parses fio's pattern syntax; `allowOffset` admits `%o`. Throws a `TraceError` whose
    /// message says what is wrong (the caller adds where).
    public static func parse(_ text: String, allowOffset: Bool) throws -> DataPattern {
        let s = Array(text.utf8)
        var p = DataPattern(pieces: [])
        var i = 0
        func fail(_ why: String) -> TraceError { TraceError(.malformedLine, why) }
        func room() -> Int { maxBytes - p.byteCount }
        if s.isEmpty { throw fail("an empty pattern") }
        while i < s.count {
            switch s[i] {
            case UInt8(ascii: "\""):
                guard let close = s[(i + 1)...].firstIndex(of: UInt8(ascii: "\"")) else {
                    throw fail("a string without its closing double quote (fio has no escapes inside quotes)")
                }
                let bytes = Array(s[(i + 1)..<close])
                if bytes.isEmpty { throw fail("an empty string (\"\")") }
                if bytes.count > room() { throw fail("longer than \(maxBytes) bytes, fio's limit") }
                p.append(.bytes(bytes))
                i = close + 1
            case UInt8(ascii: "'"):
                guard let close = s[(i + 1)...].firstIndex(of: UInt8(ascii: "'")) else {
                    throw fail("a file name without its closing '")
                }
                let path = String(decoding: s[(i + 1)..<close], as: UTF8.self)
                let bytes = try readPrefix(path, max: room())
                if bytes.isEmpty { throw fail("pattern file \(path) is empty") }
                p.append(.bytes(bytes))
                i = close + 1
            case UInt8(ascii: "%"):
                guard i + 1 < s.count, s[i + 1] == UInt8(ascii: "o") else {
                    throw fail("unknown format at \"\(String(decoding: s[i...].prefix(2), as: UTF8.self))\" (the one format is %o, the block offset)")
                }
                guard allowOffset else { throw fail("%o (the block offset) is only allowed in verify_pattern") }
                if 8 > room() { throw fail("longer than \(maxBytes) bytes, fio's limit") }
                p.append(.blockOffset)
                i += 2
            default:
                i = try parseNumber(s, at: i, into: &p, room: room())
            }
        }
        return p
    }

    /// A hex run (`0x...`) or a decimal number starting at `i`; returns where it ends.
    private static func parseNumber(_ s: [UInt8], at start: Int, into p: inout DataPattern, room: Int) throws -> Int {
        func fail(_ why: String) -> TraceError { TraceError(.malformedLine, why) }
        func isHex(_ c: UInt8) -> Bool {
            (48...57).contains(c) || (65...70).contains(c) || (97...102).contains(c)
        }
        func isX(_ c: UInt8) -> Bool { c == UInt8(ascii: "x") || c == UInt8(ascii: "X") }
        var i = start
        if s[i] == UInt8(ascii: "0"), i + 2 < s.count, isX(s[i + 1]), isHex(s[i + 2]) {
            var end = i + 2
            while end < s.count && isHex(s[end]) { end += 1 }
            // `0xff0x14` is two numbers: a trailing 0 that starts the next 0x is not a digit.
            if end < s.count && isX(s[end]) && s[end - 1] == UInt8(ascii: "0") { end -= 1 }
            var digits = Array(s[(i + 2)..<end])
            var bytes: [UInt8] = []
            if digits.count % 2 == 1 {
                bytes.append(hexValue(digits[0]))
                digits.removeFirst()
            }
            var k = 0
            while k < digits.count {
                bytes.append(hexValue(digits[k]) << 4 | hexValue(digits[k + 1]))
                k += 2
            }
            if bytes.count > room { throw fail("longer than \(maxBytes) bytes, fio's limit") }
            p.append(.bytes(bytes))
            return end
        }
        // Decimal, as strtol reads it: leading blanks, a sign, digits; it stops before a
        // later "0x" (so `-100xab` is -10 then 0xab).
        while i < s.count && (s[i] == 32 || s[i] == 9) { i += 1 }
        var limit = s.count
        var k = i
        while k + 1 < s.count {
            if s[k] == UInt8(ascii: "0") && isX(s[k + 1]) { limit = k; break }
            k += 1
        }
        var j = i
        var negative = false
        if j < limit && (s[j] == UInt8(ascii: "-") || s[j] == UInt8(ascii: "+")) {
            negative = s[j] == UInt8(ascii: "-")
            j += 1
        }
        let digitsStart = j
        var value: Int64 = 0
        while j < limit && (48...57).contains(s[j]) {
            value = min(value * 10 + Int64(s[j] - 48), Int64(UInt32.max)) // saturates: out of range either way
            j += 1
        }
        if j == digitsStart {
            let shown = String(decoding: s[start...].prefix(12), as: UTF8.self)
            throw fail("expected \"string\", 0xhex, a decimal number or %o at \"\(shown)\"")
        }
        if negative { value = -value }
        guard value >= Int64(Int32.min) && value <= Int64(Int32.max) else {
            throw fail("decimal \(String(decoding: s[i..<j], as: UTF8.self)) is outside -2147483648...2147483647 (use 0x for longer patterns)")
        }
        var v = UInt32(bitPattern: Int32(value))
        var bytes: [UInt8] = []
        if v == 0 { bytes = [0] }
        while v != 0 {
            bytes.append(UInt8(v & 0xff))
            v >>= 8
        }
        if bytes.count > room { throw fail("longer than \(maxBytes) bytes, fio's limit") }
        p.append(.bytes(bytes))
        return j
    }

    private static func hexValue(_ c: UInt8) -> UInt8 {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        default: c - 87
        }
    }

    private static func readPrefix(_ path: String, max: Int) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else {
            throw TraceError(.cannotOpen, "pattern file \(path): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var buf = [UInt8](repeating: 0, count: Swift.max(1, max))
        let n = fread(&buf, 1, max, f)
        if n < max && ferror(f) != 0 {
            throw TraceError(.io, "pattern file \(path): read error: \(String(cString: strerror(errno)))")
        }
        return Array(buf.prefix(n))
    }
}
