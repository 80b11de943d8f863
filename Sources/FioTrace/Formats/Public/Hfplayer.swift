/// hfplayer's trace CSV (NetApp E-Series controller dumps, as hfplayer's `bin/*.csv`):
/// a header line `#DUMP_OFFSET.I,ELAPSED_USECS.D,ELAPSED_TICKS.I,CMD.S,INFLIGHT_IOS.I,
/// TS.I,SEQID.I,LUN_SSID.I,OP.I,PHASE.I,LBA.I,NBLKS.I,LATENCY_TICKS.I,HOST_ID.I,
/// HOST_LUN.I,LATENCY_USECS.D` names the columns (the suffix is the type; some dumps add
/// `ABS_SECS.D`), then one I/O per line.
///
/// What hfplayer replays and we read: time = `ELAPSED_USECS` (µs, decimal), offset =
/// `LBA` x 512, length = `NBLKS` x 512, op = `OP` (0 read, 1 write; hfplayer skips other
/// values, and so do we, counting them in `hfplayer.invalid_op_skipped`), file =
/// `LUN_SSID`. We also keep `INFLIGHT_IOS` (I/Os in flight when this one arrived, not
/// counting it: depth = INFLIGHT_IOS + 1, what hfplayer's load mode replays),
/// `LATENCY_USECS` as the latency and `HOST_ID` as the stream. A file without the
/// header is read with the 16 columns above.
struct HfplayerColumns {
    var time: Int
    var op: Int
    var lba: Int
    var blocks: Int
    var lun: Int?
    var inflight: Int?
    var latency: Int?
    var host: Int?
    var count: Int

    static let defaultNames = ["DUMP_OFFSET", "ELAPSED_USECS", "ELAPSED_TICKS", "CMD", "INFLIGHT_IOS", "TS", "SEQID",
                               "LUN_SSID", "OP", "PHASE", "LBA", "NBLKS", "LATENCY_TICKS", "HOST_ID", "HOST_LUN",
                               "LATENCY_USECS"]
    static let commands: Set<String> = ["RD", "WR", "RD_IN", "WR_IN", "RD_OUT", "WR_OUT"]

    /// Columns from names (without type suffixes); nil when a needed one is missing.
    init?(names: [String]) {
        func at(_ n: String) -> Int? { names.firstIndex(of: n) }
        guard let t = at("ELAPSED_USECS"), let o = at("OP"), let l = at("LBA"), let b = at("NBLKS") else { return nil }
        time = t; op = o; lba = l; blocks = b
        lun = at("LUN_SSID"); inflight = at("INFLIGHT_IOS"); latency = at("LATENCY_USECS"); host = at("HOST_ID")
        count = names.count
    }

    /// Columns from a header line (`#NAME.T,NAME.T,...`).
    init?(header: String) {
        var h = Substring(header.trimmingSpaces)
        while h.first == "#" { h = h.dropFirst() }
        let names = h.split(separator: ",", omittingEmptySubsequences: false).map { f -> String in
            let n = String(f).trimmingSpaces.uppercased()
            if let dot = n.lastIndex(of: ".") { return String(n[..<dot]) }
            return n
        }
        self.init(names: names)
    }

    static var defaultLayout: HfplayerColumns { HfplayerColumns(names: defaultNames)! }

    static func isHeader(_ t: String) -> Bool {
        t.hasPrefix("#") && t.contains("ELAPSED_USECS") && t.contains("LBA") && t.contains("NBLKS") && t.contains("OP")
    }

    /// A line of the default 16 columns (for files without the header).
    static func looksLikeDefaultData(_ c: [String]) -> Bool {
        c.count == 16 && UInt64(c[0]) != nil && commands.contains(c[3].uppercased()) && UInt64(c[8]) != nil && UInt64(c[10]) != nil
    }
}

extension PublicTraceReader {
    func parseHfplayer(_ t: String, _ line: String) throws -> PublicLine? {
        if HfplayerColumns.isHeader(t) {
            guard let cols = HfplayerColumns(header: t) else {
                throw fail(line, "hfplayer header lacks one of ELAPSED_USECS, OP, LBA, NBLKS")
            }
            if sawDataLine && hfplayer != nil { return nil } // a repeated header
            hfplayer = cols
            return nil
        }
        if t.hasPrefix("#") { return nil }
        sawDataLine = true
        let cols = hfplayer ?? HfplayerColumns.defaultLayout
        if hfplayer == nil { hfplayer = cols }
        let c = try columns(t, line, ",", cols.count)
        let opCode = try number(c[cols.op], line, "OP")
        guard opCode <= 1 else {
            invalidOp &+= 1
            return nil
        }
        var l = PublicLine(time: 0)
        guard let ns = decimal(c[cols.time], scaleDigits: 3), ns >= 0 else {
            throw fail(line, "ELAPSED_USECS \"\(c[cols.time])\" is not a number of µs")
        }
        l.time = ns
        l.op = opCode == 0 ? .read : .write
        l.offset = try sectors(c[cols.lba], line, "LBA")
        l.length = try sectors(c[cols.blocks], line, "NBLKS")
        l.file = cols.lun.map { c[$0] } ?? "lun"
        if let i = cols.inflight {
            let n = try number(c[i], line, "INFLIGHT_IOS")
            guard n < UInt64(UInt32.max) else { throw fail(line, "INFLIGHT_IOS too large") }
            l.depth = UInt32(n) + 1
        }
        if let i = cols.latency, !c[i].isEmpty { l.latency = try unsignedDecimal(c[i], line, "LATENCY_USECS", scaleDigits: 3) }
        if let i = cols.host {
            guard let h = UInt32(c[i]) else { throw fail(line, "HOST_ID \"\(c[i])\" is not a number") }
            l.stream = h
        }
        return l
    }
}
