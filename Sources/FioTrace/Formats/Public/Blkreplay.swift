/// blkreplay loads as blkreplay ships them (Debian's blkreplay-examples: the natural
/// loads `*.load.gz`): a free-text preamble (copyright and license), a line of `#`, the
/// column header `start ; sector; length ; op ;  replay_delay=0 ; replay_duration=0`,
/// then one line per request: `start ; sector ; length ; op ; delay ; duration` (s,
/// 512-byte sectors, R/W, s, s). Some loads repeat the preamble and header before the
/// data.
///
/// blkreplay itself skips every line its `sscanf("%ld.%ld ; %lld ; %d ; %c")` rejects.
/// We skip the preamble (text lines before the first data line, counted in
/// `blkreplay.preamble_lines`), comments and column headers, but a line that looks like
/// data (a number, then `;`) and does not parse, or any unparsable line after the data
/// started, is an error. Differences from blkreplay's parse: the fraction is read as a
/// decimal (blkreplay takes the digits after the point as ns, so `0.5` would be 5 ns
/// to it; every shipped load has nine digits, where both agree), and times must not go
/// back (blkreplay shifts a load that restarts, such as a concatenation, forward).
enum BlkreplayLoad {
    /// True for `start ; sector; length ; op ; ...` (a load) or `orig_start ; sector; ...`
    /// (blkreplay's output).
    static func isColumnHeader(_ t: String) -> Bool {
        let c = t.split(separator: ";", omittingEmptySubsequences: false).map { $0.replacingSpacesLower() }
        return c.count >= 4 && (c[0] == "start" || c[0] == "orig_start") && c[1] == "sector" && c[2] == "length" && c[3] == "op"
    }

    /// True when the line starts like a request: a decimal number (with a sign: a
    /// negative time is data that is wrong, not preamble text), then `;`.
    static func looksLikeData(_ t: String) -> Bool {
        guard let semi = t.firstIndex(of: ";") else { return false }
        var first = t[..<semi].filter { $0 != " " && $0 != "\t" }
        if first.first == "-" || first.first == "+" { first.removeFirst() }
        return !first.isEmpty && first.allSatisfy { ($0.isNumber && $0.isASCII) || $0 == "." } && first.contains(where: \.isNumber)
    }
}

extension Substring {
    func replacingSpacesLower() -> String { String(filter { $0 != " " && $0 != "\t" }).lowercased() }
}

extension PublicTraceReader {
    func parseBlkreplay(_ t: String, _ line: String) throws -> PublicLine? {
        if t.hasPrefix("#") || BlkreplayLoad.isColumnHeader(t) { return nil }
        if !sawDataLine {
            if !BlkreplayLoad.looksLikeData(t) {
                preambleLines += 1
                return nil
            }
            sawDataLine = true
        }
        let c = try columns(t, line, ";", 4)
        var l = PublicLine(time: try time(c[0], line, "start", scaleDigits: 9, unit: "s"))
        l.offset = try sectors(c[1], line, "sector")
        l.length = try sectors(c[2], line, "length")
        (l.op, l.flags) = try blkreplayOp(c[3], line)
        if c.count >= 6, let d = decimal(c[5], scaleDigits: 9), d > 0 { l.latency = UInt64(d) }
        l.file = "blkreplay"
        return l
    }

    /// The op column: R or W (either case, as blkreplay reads its first letter), then
    /// blkparse's RWBS letters a conversion from blktrace may have kept (`RA`: read-ahead,
    /// which blkreplay replays as a read): A (ahead) is dropped; S, M and F become the
    /// sync, meta and FUA flags.
    func blkreplayOp(_ s: String, _ line: String) throws -> (TraceOp, TraceFlags) {
        let u = s.uppercased()
        guard let first = u.first, first == "R" || first == "W" else {
            throw fail(line, "operation \"\(s)\" is neither R nor W")
        }
        var flags: TraceFlags = []
        for ch in u.dropFirst() {
            switch ch {
            case "A": break
            case "S": flags.insert(.sync)
            case "M": flags.insert(.meta)
            case "F": flags.insert(.fua)
            default: throw fail(line, "operation \"\(s)\": unknown letter \"\(ch)\" after \(first) (known: A, S, M, F)")
            }
        }
        return (first == "R" ? .read : .write, flags)
    }
}
