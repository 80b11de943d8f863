/// Line parsers of the column formats (see `PublicTraceFormat` for columns and units).
/// Each returns the parsed line, nil for a line that is not an I/O, or throws a
/// `.malformedLine` error naming the line.
extension PublicTraceReader {
    func parseMSR(_ t: String, _ line: String) throws -> PublicLine {
        let c = try columns(t, line, ",", 7)
        var l = PublicLine(time: try signed(c[0], line, "timestamp"), unit: 100)
        l.file = "\(c[1])_\(c[2])"
        l.op = try readWrite(c[3], line)
        l.offset = try number(c[4], line, "offset")
        l.length = try number(c[5], line, "size")
        l.latency = try latency(try number(c[6], line, "response time"), unit: 100, line, "response time (100 ns units)")
        return l
    }

    func parseAlibaba(_ t: String, _ line: String) throws -> PublicLine {
        let c = try columns(t, line, ",", 5)
        var l = PublicLine(time: 0, unit: 1000)
        l.file = c[0]
        l.op = try readWrite(c[1], line)
        l.offset = try number(c[2], line, "offset")
        l.length = try number(c[3], line, "length")
        l.time = try signed(c[4], line, "timestamp")
        return l
    }

    func parseTencent(_ t: String, _ line: String) throws -> PublicLine {
        let c = try columns(t, line, ",", 5)
        var l = PublicLine(time: try signed(c[0], line, "timestamp"), unit: 1_000_000_000)
        l.offset = try sectors(c[1], line, "offset")
        l.length = try sectors(c[2], line, "size")
        switch c[3] {
        case "0": l.op = .read
        case "1": l.op = .write
        default: throw fail(line, "IOType \"\(c[3])\" is neither 0 (read) nor 1 (write)")
        }
        l.file = c[4]
        return l
    }

    func parseSPC(_ t: String, _ line: String) throws -> PublicLine {
        let c = try columns(t, line, ",", 5)
        guard let ns = decimal(c[4], scaleDigits: 9) else { throw fail(line, "timestamp \"\(c[4])\" is not a number of seconds") }
        var l = PublicLine(time: ns)
        l.file = c[0]
        l.offset = try sectors(c[1], line, "LBA")
        l.length = try number(c[2], line, "size")
        l.op = try readWrite(c[3], line)
        return l
    }

    /// SystOR '17: `Timestamp,Response,IOType,LUN,Offset,Size`. A blank IOType means the
    /// capture saw no response (its README): the I/O is skipped and counted.
    func parseSystor(_ t: String, _ line: String) throws -> PublicLine? {
        let c = try columns(t, line, ",", 6)
        var l = PublicLine(time: try time(c[0], line, "timestamp", scaleDigits: 9, unit: "s"))
        if c[2].isEmpty {
            _ = try number(c[4], line, "offset")
            unknownType &+= 1
            return nil
        }
        l.op = try readWrite(c[2], line)
        if !c[1].isEmpty { l.latency = try unsignedDecimal(c[1], line, "response time", scaleDigits: 9) }
        l.file = c[3]
        _ = try number(c[3], line, "LUN")
        l.offset = try number(c[4], line, "offset")
        l.length = try number(c[5], line, "size")
        return l
    }

    func parseDiskSimOrMQSim(_ t: String, _ line: String) throws -> PublicLine {
        let c = words(t)
        guard c.count >= 5 else { throw fail(line, "expected 5 whitespace-separated fields, found \(c.count)") }
        var l = PublicLine(time: 0)
        if format == .disksim {
            l.time = try time(c[0], line, "time", scaleDigits: 6, unit: "ms")
            l.op = try number(c[4], line, "flags") & 1 == 1 ? .read : .write
        } else {
            l.time = try signed(c[0], line, "time")
            switch c[4] {
            case "1": l.op = .read
            case "0": l.op = .write
            default: throw fail(line, "type \"\(c[4])\" is neither 1 (read) nor 0 (write)")
            }
        }
        l.file = c[1]
        l.offset = try sectors(c[2], line, "block number")
        l.length = try sectors(c[3], line, "block count")
        return l
    }

    /// FIU (SRCMap, I/O deduplication): `ts pid process lba size rw major minor hash`.
    /// The process name may contain spaces; the pid becomes the record's stream and the
    /// name goes into the process table; the device (major:minor) is the file.
    func parseFIU(_ t: String, _ line: String) throws -> PublicLine {
        let w = words(t)
        guard let f = FIULine(w) else {
            if w.count < 9 { throw fail(line, "expected 9 whitespace-separated fields (ts pid process lba size rw major minor hash), found \(w.count)") }
            throw fail(line, "not an FIU line (ts pid process lba size R|W major minor hash)")
        }
        var l = PublicLine(time: try signed(w[0], line, "timestamp"))
        guard let pid = UInt32(w[1]) else { throw fail(line, "pid \"\(w[1])\" is not a number") }
        l.stream = pid
        processes.note(pid: pid, name: f.process)
        l.offset = try sectors(w[f.rw - 2], line, "lba")
        l.length = try sectors(w[f.rw - 1], line, "size")
        l.op = try readWrite(w[f.rw], line)
        guard let major = UInt32(w[f.rw + 1]), let minor = UInt32(w[f.rw + 2]) else {
            throw fail(line, "device \"\(w[f.rw + 1]) \(w[f.rw + 2])\" is not a major and minor number")
        }
        l.device = DeviceNumber(major: major, minor: minor)
        l.file = "\(major):\(minor)"
        return l
    }

    /// Our own CSV (every record field; times already rebased).
    func parseCSV(_ t: String, _ line: String) throws -> PublicLine? {
        if t.hasPrefix("time_ns,") { return nil }
        let c = try columns(t, line, ",", 10)
        guard let op = TraceOp(fioName: c[2]) else { throw fail(line, "unknown op \"\(c[2])\"") }
        var r = TraceRecord(time: try number(c[0], line, "time_ns"), op: op, file: 0,
                            offset: try number(c[3], line, "offset"), length: try number(c[4], line, "length"))
        if c[5] != "-" { r.latency = try number(c[5], line, "latency_ns") }
        if c[6] != "-" { guard let v = Int64(c[6]) else { throw fail(line, "result is not a number") }; r.result = v }
        if c[7] != "-" { guard let v = UInt32(c[7]) else { throw fail(line, "depth is not a number") }; r.depth = v }
        if c[8] != "-" { guard let v = UInt32(c[8]) else { throw fail(line, "stream is not a number") }; r.stream = v }
        if c[9] != "-" { guard let v = UInt8(c[9]) else { throw fail(line, "flags is not a number") }; r.flags = TraceFlags(rawValue: v) }
        var l = PublicLine(time: 0)
        l.file = c[1]
        l.full = r
        return l
    }
}

/// The shape of an FIU line: where its R/W field is, and the process name before it.
struct FIULine {
    /// Index of the R/W field (lba and size come before it; major, minor, hashes after).
    let rw: Int
    let process: String

    /// nil unless `w` reads as ts pid NAME... lba size R|W major minor HASH...
    init?(_ w: [String]) {
        guard w.count >= 9, UInt64(w[0]) != nil, UInt32(w[1]) != nil else { return nil }
        var found = -1
        var i = w.count - 4 // at least one hash
        while i >= 5 {
            let op = w[i]
            if (op == "R" || op == "W" || op == "r" || op == "w"), UInt64(w[i - 1]) != nil, UInt64(w[i - 2]) != nil,
               UInt32(w[i + 1]) != nil, UInt32(w[i + 2]) != nil,
               w[(i + 3)...].allSatisfy({ h in !h.isEmpty && h.allSatisfy(\.isHexDigit) }) {
                found = i
                break
            }
            i -= 1
        }
        guard found >= 5 else { return nil }
        rw = found
        process = w[2..<(found - 2)].joined(separator: " ")
    }

    static func looksLikeData(_ w: [Substring]) -> Bool { FIULine(w.map(String.init)) != nil }
}
