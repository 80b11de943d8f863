#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// printf-style number formatting without Foundation (FioTrace does not import it).
/// `fixed(3.14159, 2)` is "3.14"; `printfFormat("%.3g", x)` takes one numeric argument.
@usableFromInline
func printfFormat(_ format: String, _ arg: CVarArg) -> String {
    var buf = [CChar](repeating: 0, count: 64)
    let n = withVaList([arg]) { vsnprintf(&buf, buf.count, format, $0) }
    if n >= buf.count {
        buf = [CChar](repeating: 0, count: Int(n) + 1)
        _ = withVaList([arg]) { vsnprintf(&buf, buf.count, format, $0) }
    }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `v` with `digits` digits after the point.
public func fixed(_ v: Double, _ digits: Int) -> String {
    if !v.isFinite { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
    return printfFormat("%.\(max(0, min(digits, 17)))f", v)
}
