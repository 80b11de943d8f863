#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// fio's value syntax, the one parser for sizes and durations of job files and of both
/// command lines: sizes with k/m/g/t/p suffixes (kb_base=1024: `k` is 1024 and `ki`
/// is 1000, fio's compatibility inversion), times with ns/us/ms/s/m/h/d, ranges `a-b` or
/// `a:b`, per-direction lists `read,write,trim`, splits `bs/perc:bs/perc`.
///
/// What a bare number (no unit) means is the caller's: our command lines read it as
/// seconds, and so do fio's `runtime`, `ramp_time` and `startdelay`; fio's `thinktime` reads
/// it as microseconds.
public enum FioValue {
    /// `defaultUnit` for a bare number of seconds.
    public static let seconds: UInt64 = 1_000_000_000
    /// `defaultUnit` for a bare number of microseconds.
    public static let microseconds: UInt64 = 1_000

    /// What `size` accepts, for messages.
    public static let sizeExamples = "4096, 4k, 1m, 2g, 0x1000 (k = 1024 as in fio)"
    /// What `time` accepts, for messages.
    public static let durationExamples = "1.5s, 200ms, 300us, 1000ns, 2m, 1h"

    /// Parses a size or count. `kbBase` 1024 (fio's default) or 1000.
    public static func size(_ text: String, kbBase: UInt64 = 1024) -> UInt64? {
        var s = Substring(text.trimmed)
        if s.isEmpty { return nil }
        if s.lowercased().hasPrefix("0x") {
            return UInt64(s.dropFirst(2), radix: 16)
        }
        var numEnd = s.startIndex
        while numEnd < s.endIndex, s[numEnd].isNumber || s[numEnd] == "." { numEnd = s.index(after: numEnd) }
        let num = s[s.startIndex..<numEnd]
        guard !num.isEmpty, let value = Double(num) else { return nil }
        s = s[numEnd...]
        var suffix = s.lowercased()
        if suffix.hasSuffix("b") { suffix.removeLast() }
        let other: UInt64 = kbBase == 1000 ? 1024 : 1000
        let mult: UInt64
        switch suffix {
        case "": mult = 1
        case "k": mult = kbBase
        case "ki": mult = other
        case "m": mult = kbBase * kbBase
        case "mi": mult = other * other
        case "g": mult = kbBase * kbBase * kbBase
        case "gi": mult = other * other * other
        case "t": mult = kbBase * kbBase * kbBase * kbBase
        case "ti": mult = other * other * other * other
        case "p": mult = kbBase * kbBase * kbBase * kbBase * kbBase
        case "pi": mult = other * other * other * other * other
        default: return nil
        }
        if num.contains(".") {
            let v = value * Double(mult)
            guard v >= 0, v < 1.8e19 else { return nil }
            return UInt64(v)
        }
        guard let iv = UInt64(num) else { return nil }
        let (r, o) = iv.multipliedReportingOverflow(by: mult)
        return o ? nil : r
    }

    /// Parses a time into nanoseconds; a bare number is in `defaultUnit` nanoseconds
    /// (1_000_000_000 for seconds, 1_000 for microseconds).
    public static func time(_ text: String, defaultUnit: UInt64) -> UInt64? {
        let s = text.trimmed.lowercased()
        if s.isEmpty { return nil }
        var numEnd = s.startIndex
        while numEnd < s.endIndex, s[numEnd].isNumber || s[numEnd] == "." { numEnd = s.index(after: numEnd) }
        guard let value = Double(s[s.startIndex..<numEnd]) else { return nil }
        let unit: Double
        switch s[numEnd...] {
        case "": unit = Double(defaultUnit)
        case "ns", "nsec": unit = 1
        case "us", "usec", "µs": unit = 1e3
        case "ms", "msec": unit = 1e6
        case "s", "sec": unit = 1e9
        case "m", "min": unit = 60e9
        case "h": unit = 3600e9
        case "d": unit = 86400e9
        default: return nil
        }
        let v = value * unit
        guard v >= 0, v < 1.8e19 else { return nil }
        return UInt64(v.rounded())
    }

    /// `a-b` or `a:b` (swapped when a > b); a single value is `a...a`.
    public static func range(_ text: String, _ one: (String) -> UInt64?) -> ClosedRange<UInt64>? {
        let t = text.trimmed
        for sep in [":", "-"] where t.contains(sep) {
            let parts = t.split(separator: Character(sep), maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let a = one(String(parts[0])), let b = one(String(parts[1])) else { return nil }
            return min(a, b)...max(a, b)
        }
        guard let a = one(t) else { return nil }
        return a...a
    }

    /// fio's `int[,int][,int]`: one value for all directions; `a,b` gives writes and trims
    /// b; an empty field keeps the default.
    public static func perDirection<T>(_ text: String, default def: T,
                                       _ one: (String) -> T?) -> PerDirection<T>? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmed }
        func val(_ s: String) -> T?? { s.isEmpty ? .some(def) : one(s).map { .some($0) } ?? .none }
        switch parts.count {
        case 1:
            guard let v = val(parts[0]), let v else { return nil }
            return PerDirection(v)
        case 2:
            guard let r = val(parts[0]), let r, let w = val(parts[1]), let w else { return nil }
            return PerDirection(read: r, write: w, trim: w)
        case 3:
            guard let r = val(parts[0]), let r, let w = val(parts[1]), let w,
                  let t = val(parts[2]), let t else { return nil }
            return PerDirection(read: r, write: w, trim: t)
        default:
            return nil
        }
    }

    public static func bool(_ text: String?) -> Bool? {
        guard let t = text?.trimmed.lowercased() else { return true }
        switch t {
        case "1", "true", "yes", "on", "": return true
        case "0", "false", "no", "off": return false
        default:
            if let v = Int(t) { return v != 0 }
            return nil
        }
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s.removeLast() }
        return String(s)
    }
}
