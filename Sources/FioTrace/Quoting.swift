/// Escapes for messages that quote input: a bad line's text, a file name from a trace.
///
/// A message is one line on a terminal or in a log. Raw input can carry bytes that break
/// that: CR returns to the start of the line and the rest overwrites it, LF, VT, FF and the
/// Unicode line and paragraph separators start new lines, ESC starts terminal control
/// sequences. These become visible escapes (`\r`, `\n`, `\v`, `\f`, `\u{1B}`); tabs and
/// every other character stay as they are.
extension StringProtocol {
    /// This text with line-breaking and terminal-control characters written as escapes.
    public var escapingControlCharacters: String {
        var needs = false
        for u in unicodeScalars where Self.mustEscape(u) {
            needs = true
            break
        }
        guard needs else { return String(self) }
        var out = ""
        out.reserveCapacity(utf8.count + 8)
        for u in unicodeScalars {
            guard Self.mustEscape(u) else {
                out.unicodeScalars.append(u)
                continue
            }
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\u{0B}": out += "\\v"
            case "\u{0C}": out += "\\f"
            default: out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }

    /// C0 controls but tab, DEL, C1 controls (NEL among them), and U+2028/U+2029.
    private static func mustEscape(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if v < 0x20 { return v != 0x09 }
        if v < 0x7F { return false }
        return v <= 0x9F || v == 0x2028 || v == 0x2029
    }
}
