/// The public block traces users download (design.md section 5), and a plain CSV of our
/// own that round-trips every record field. Read by `PublicTraceReader`.
///
/// | format | columns | units |
/// |---|---|---|
/// | msr | Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime | Windows filetime (100 ns ticks); bytes |
/// | alibaba | device_id,opcode,offset,length,timestamp | bytes; µs |
/// | tencent | Timestamp,Offset,Size,IOType,VolumeID | s (a 1 s clock); 512 B sectors; 0 read, 1 write |
/// | spc | ASU,LBA,Size,Opcode,Timestamp | LBA in sectors, size in bytes; s (decimal) |
/// | systor | Timestamp,Response,IOType,LUN,Offset,Size | Unix s (decimal, µs-accurate); s; R/W (blank: unknown, skipped); bytes |
/// | disksim | time devno blkno bcount flags | ms (decimal); sectors; flags bit 0 = read |
/// | mqsim | time dev lba size type | ns; sectors; 1 read, 0 write |
/// | fiu | ts pid process lba size rw major minor hash | ns; sectors; R/W; MD5 hex of the content |
/// | blkreplay | start ; sector ; length ; op ; delay ; duration | s (decimal); sectors; R/W; after a free-text preamble |
/// | hfplayer | the columns its `#DUMP_OFFSET.I,ELAPSED_USECS.D,...` header names | µs (decimal); sectors; OP 0 read, 1 write |
/// | csv | time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags | ours: ns and bytes, `-` when absent |
///
/// Each volume, LUN or device becomes a file in the file table. Times are rebased to the
/// first record; a record earlier than the first is an error (the trace is not sorted).
public enum PublicTraceFormat: String, CaseIterable, Sendable {
    case msr, alibaba, tencent, spc, systor, disksim, mqsim, fiu, blkreplay, hfplayer, csv

    /// Resolution of the format's clock in ns (how exact replay timing can be).
    public var clockResolution: UInt64 {
        switch self {
        case .msr: 100
        case .alibaba, .systor: 1_000
        case .tencent: 1_000_000_000
        case .spc, .disksim, .blkreplay, .hfplayer: 1 // decimal seconds/ms/µs: as fine as the digits given
        case .mqsim, .fiu, .csv: 1
        }
    }

    /// Guesses the format from one data line (not a comment, header or preamble line).
    public static func sniff(_ firstLine: String) -> PublicTraceFormat? {
        let line = firstLine.trimmingSpaces
        if line.hasPrefix("time_ns,file,op,") { return .csv }
        if line.contains(";") && line.split(separator: ";").count >= 4 { return .blkreplay }
        let c = line.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        if c.count == 7, ["read", "write"].contains(c[3].lowercased()), UInt64(c[0]) != nil { return .msr }
        if c.count == 6, ["r", "w", ""].contains(c[2].lowercased()), c[0].contains("."), Double(c[0]) != nil,
           UInt64(c[3]) != nil, UInt64(c[4]) != nil, UInt64(c[5]) != nil { return .systor }
        if c.count == 5 {
            if ["r", "w"].contains(c[1].lowercased()), UInt64(c[0]) != nil { return .alibaba }
            if ["r", "w"].contains(c[3].lowercased()) { return .spc }
            if ["0", "1"].contains(c[3]), UInt64(c[0]) != nil { return .tencent }
        }
        if HfplayerColumns.looksLikeDefaultData(c) { return .hfplayer }
        let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if w.count == 5, w.allSatisfy({ Double($0) != nil }) {
            return w[0].contains(".") ? .disksim : .mqsim
        }
        if FIULine.looksLikeData(w) { return .fiu }
        return nil
    }

    /// Guesses the format from a header line a format writes before its data, if it is one.
    static func sniffHeader(_ line: String) -> PublicTraceFormat? {
        let t = line.trimmingSpaces
        if HfplayerColumns.isHeader(t) { return .hfplayer }
        if t.replacingSpaces() == "Timestamp,Response,IOType,LUN,Offset,Size" { return .systor }
        if BlkreplayLoad.isColumnHeader(t) { return .blkreplay }
        return nil
    }
}

extension String {
    /// The string without any space or tab.
    func replacingSpaces() -> String { String(filter { $0 != " " && $0 != "\t" }) }
}
