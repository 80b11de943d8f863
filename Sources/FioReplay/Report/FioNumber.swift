/// fio's number formatting (its `num2str`), so the text report's sizes, bandwidths and IOPS
/// read exactly as fio 3.33 prints them: at most `maxlen` digits (fio's sig_figs, 4), then
/// a k/M/G (or Ki/Mi/Gi) prefix, with one rounding rule for the digits cut off.
enum FioNumber {
    enum Unit: String {
        case none = "", perSec = "/s", byte = "B", bytePerSec = "B/s"
    }

    /// fio's default significant figures.
    static let sigFigs = 4

    /// `num` (with `base` 1: plain units) shortened to `maxlen` digits. `pow2` picks
    /// 1024-steps and the Ki/Mi prefixes.
    static func format(_ value: UInt64, maxlen: Int = sigFigs, pow2: Bool, unit: Unit) -> String {
        let si = ["", "k", "M", "G", "T", "P", "E"]
        let iec = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
        let prefixes = pow2 ? iec : si
        let thousand: UInt64 = pow2 ? 1024 : 1000
        var num = value
        var post = 0
        var modulo: UInt64? = nil
        var carry = false
        while post < si.count {
            if String(num).count <= maxlen { break }
            let m = num % thousand
            modulo = m
            num /= thousand
            carry = m >= thousand / 2
            post += 1
        }
        if post >= si.count { post = 0 }
        guard let mod = modulo else { return "\(num)\(prefixes[post])\(unit.rawValue)" }
        let digits = String(num).count
        if maxlen - digits <= 1 {
            if carry { num += 1 }
            return "\(num)\(prefixes[post])\(unit.rawValue)"
        }
        // The remainder as a fraction with (maxlen - digits - 1) decimals, as "%.*f" rounds it.
        let decimals = maxlen - digits - 1
        var frac = String(format: "%.*f", decimals, Double(mod) / Double(thousand))
        if frac.hasPrefix("1") { num += 1 }
        frac.removeFirst(2)
        return "\(num).\(frac)\(prefixes[post])\(unit.rawValue)"
    }
}
