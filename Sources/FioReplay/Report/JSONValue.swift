import Foundation

/// An ordered JSON value printed the way fio prints it: integers bare, floats with six
/// decimals, objects with " : " and two-space indents, keys in insertion order.
public indirect enum JSONValue {
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case object([(String, JSONValue)])
    case array([JSONValue])
    case null

    public static func uint(_ v: UInt64) -> JSONValue { .int(Int64(clamping: v)) }

    /// Serialized text (no trailing newline).
    public func render(indent: Int = 0) -> String {
        var out = ""
        write(into: &out, indent: indent)
        return out
    }

    func write(into out: inout String, indent: Int) {
        switch self {
        case .int(let v): out += String(v)
        case .double(let d):
            if d.isFinite { out += String(format: "%.6f", d) } else { out += "0.000000" }
        case .string(let s): Self.quote(s, into: &out)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .object(let kv):
            if kv.isEmpty { out += "{}"; return }
            out += "{\n"
            let pad = String(repeating: " ", count: indent + 2)
            for (i, (k, v)) in kv.enumerated() {
                out += pad
                Self.quote(k, into: &out)
                out += " : "
                v.write(into: &out, indent: indent + 2)
                out += i == kv.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        case .array(let a):
            if a.isEmpty { out += "[]"; return }
            out += "[\n"
            let pad = String(repeating: " ", count: indent + 2)
            for (i, v) in a.enumerated() {
                out += pad
                v.write(into: &out, indent: indent + 2)
                out += i == a.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "]"
        }
    }

    /// Appends `s` as a JSON string literal. With `htmlSafe`, `<`, `>`, `&` and the JS line
    /// separators are escaped too, so the literal can sit inside an HTML `<script>` element.
    public static func quote(_ s: String, htmlSafe: Bool = false, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where htmlSafe && (u == "<" || u == ">" || u == "&" || u == "\u{2028}" || u == "\u{2029}"):
                out += String(format: "\\u%04x", u.value)
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
    }
}
