/// Readers for the public block traces users download (design.md section 5), and a
/// plain CSV of our own that round-trips every record field.
///
/// | format | columns | units |
/// |---|---|---|
/// | msr | Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime | Windows filetime (100 ns ticks); bytes |
/// | alibaba | device_id,opcode,offset,length,timestamp | bytes; µs |
/// | tencent | Timestamp,Offset,Size,IOType,VolumeID | s (a 1 s clock); 512 B sectors; 0 read, 1 write |
/// | spc | ASU,LBA,Size,Opcode,Timestamp | LBA in sectors, size in bytes; s (decimal) |
/// | disksim | time devno blkno bcount flags | ms (decimal); sectors; flags bit 0 = read |
/// | mqsim | time dev lba size type | ns; sectors; 1 read, 0 write |
/// | blkreplay | start ; sector ; length ; op ; delay ; duration | s (decimal); sectors; R/W |
/// | csv | time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags | ours: ns and bytes, `-` when absent |
///
/// Each volume or device becomes a file in the file table. Times are rebased to the
/// first record; a record earlier than the first is an error (the trace is not sorted).
public enum PublicTraceFormat: String, CaseIterable, Sendable {
    case msr, alibaba, tencent, spc, disksim, mqsim, blkreplay, csv

    /// Resolution of the format's clock in ns (how exact replay timing can be).
    public var clockResolution: UInt64 {
        switch self {
        case .msr: 100
        case .alibaba: 1_000
        case .tencent: 1_000_000_000
        case .spc, .disksim, .blkreplay: 1 // decimal seconds/ms: as fine as the digits given
        case .mqsim, .csv: 1
        }
    }

    /// Guesses the format from the first data line (after comments and a header).
    public static func sniff(_ firstLine: String) -> PublicTraceFormat? {
        let line = firstLine.trimmingSpaces
        if line.hasPrefix("time_ns,file,op,") { return .csv }
        if line.contains(";") && line.split(separator: ";").count >= 4 { return .blkreplay }
        let c = line.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        if c.count == 7, ["read", "write"].contains(c[3].lowercased()), UInt64(c[0]) != nil { return .msr }
        if c.count == 5 {
            if ["r", "w"].contains(c[1].lowercased()), UInt64(c[0]) != nil { return .alibaba }
            if ["r", "w"].contains(c[3].lowercased()) { return .spc }
            if ["0", "1"].contains(c[3]), UInt64(c[0]) != nil { return .tencent }
        }
        let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if w.count == 5, w.allSatisfy({ Double($0) != nil }) {
            return w[0].contains(".") ? .disksim : .mqsim
        }
        return nil
    }
}

/// Streams records out of one of the public text formats (plain, `.gz` or `.zst`).
public final class PublicTraceReader: TraceSource {
    public let input: TraceInput
    public let format: PublicTraceFormat
    private var table = FileTable()
    public var files: [TraceFile] { table.files }
    private var lineNumber = 0
    private var base: Int64? = nil // raw time of the first record, ns
    private var lastTime: UInt64 = 0
    private var sawDataLine = false

    public var metadata: [String: String] {
        var m = ["source.format": format.rawValue, "source.file": input.name]
        if format == .tencent {
            m["time.coarse"] = "1 s clock: arrivals within a second share a timestamp; original timing cannot be replayed"
        }
        if let base { m["time.base"] = "\(base) (in the format's own time unit)" }
        m["time.resolution_ns"] = String(format.clockResolution)
        return m
    }

    public init(input: TraceInput, format: PublicTraceFormat) {
        self.input = input
        self.format = format
    }

    public convenience init(path: String, format: PublicTraceFormat? = nil) throws {
        let input = try TraceInput(path: path)
        guard let f = format ?? PublicTraceReader.detect(input) else {
            throw TraceError(.unknownFormat, "\(input.name): not a known public trace format; name one with --from (\(PublicTraceFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.init(input: input, format: f)
    }

    /// The format of a stream's first data line, without consuming it.
    public static func detect(_ input: TraceInput) -> PublicTraceFormat? {
        _ = try? input.ensure(4096)
        let head = String(decoding: input.bytes.prefix(4096), as: UTF8.self)
        var lines = head.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if head.count == 4096, !head.hasSuffix("\n"), lines.count > 1 { lines.removeLast() }
        for (i, l) in lines.prefix(3).enumerated() {
            let t = l.trimmingSpaces
            if t.isEmpty || t.hasPrefix("#") { continue }
            if let f = PublicTraceFormat.sniff(t) { return f }
            if i > 0 { return nil } // only the first line may be a header
        }
        return nil
    }

    public func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        while batch.count < maxCount {
            guard let raw = try input.nextLine(refill: batch.isEmpty) else { break }
            lineNumber += 1
            let line = String(decoding: raw, as: UTF8.self)
            let t = line.trimmingSpaces
            if t.isEmpty || t.hasPrefix("#") { continue }
            if let r = try parse(t, original: line) { batch.append(r) }
        }
        return !batch.isEmpty
    }

    private func fail(_ line: String, _ what: String) -> TraceError {
        TraceError(.malformedLine, "\(input.name):\(lineNumber): \(what): \"\(line.prefix(200))\"")
    }

    private func file(_ key: String) -> UInt32 { table.id(for: key) }

    /// Parses "12.345" (decimal, no exponent) scaled by 10^`scaleDigits` into an integer
    /// exactly: seconds with scale 9 give ns.
    func decimal(_ s: String, scaleDigits: Int) -> Int64? {
        var intPart = Substring(s), frac = Substring("")
        if let dot = s.firstIndex(of: ".") {
            intPart = s[..<dot]
            frac = s[s.index(after: dot)...]
        }
        guard !intPart.isEmpty || !frac.isEmpty, intPart.allSatisfy(\.isASCII), frac.allSatisfy({ $0.isNumber && $0.isASCII }),
              let i = intPart.isEmpty ? 0 : Int64(intPart) else { return nil }
        var f: Int64 = 0
        var digits = 0
        for ch in frac {
            if digits == scaleDigits { break }
            f = f * 10 + Int64(ch.asciiValue! - 48)
            digits += 1
        }
        for _ in digits..<scaleDigits { f *= 10 }
        var scale: Int64 = 1
        for _ in 0..<scaleDigits { scale *= 10 }
        let (m, o) = i.multipliedReportingOverflow(by: scale)
        guard !o else { return nil }
        return i < 0 ? m - f : m + f
    }

    private func number(_ s: String, _ line: String, _ what: String) throws -> UInt64 {
        guard let v = UInt64(s) else { throw fail(line, "\(what) \"\(s)\" is not a number") }
        return v
    }

    private func signed(_ s: String, _ line: String, _ what: String) throws -> Int64 {
        guard let v = Int64(s), v >= 0 else { throw fail(line, "\(what) \"\(s)\" is not a number") }
        return v
    }

    private func sectors(_ s: String, _ line: String, _ what: String) throws -> UInt64 {
        let v = try number(s, line, what)
        guard v <= UInt64.max / 512 else { throw fail(line, "\(what) too large") }
        return v * 512
    }

    private func parse(_ t: String, original line: String) throws -> TraceRecord? {
        var time: Int64   // in `unit`s of ns, rebased below before scaling (filetimes overflow ns)
        var unit: Int64 = 1
        var op: TraceOp
        var dev: String
        var offset: UInt64, length: UInt64
        var latency: UInt64? = nil
        var extra: TraceRecord? = nil
        func cols(_ sep: Character, _ n: Int) throws -> [String] {
            let c = t.split(separator: sep, omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
            guard c.count >= n else { throw fail(line, "expected \(n) \(sep == "," ? "comma-separated" : "\"\(sep)\"-separated") fields, found \(c.count)") }
            return c
        }
        func readWrite(_ s: String) throws -> TraceOp {
            switch s.lowercased() {
            case "r", "read": return .read
            case "w", "write": return .write
            default: throw fail(line, "operation \"\(s)\" is neither read nor write")
            }
        }
        // Only the first non-comment line may be a header (one that does not parse).
        let headerAllowed = !sawDataLine
        sawDataLine = true
        do {
            switch format {
            case .msr:
                let c = try cols(",", 7)
                time = try signed(c[0], line, "timestamp")
                unit = 100
                dev = "\(c[1])_\(c[2])"
                op = try readWrite(c[3])
                offset = try number(c[4], line, "offset")
                length = try number(c[5], line, "size")
                let (l, o) = try number(c[6], line, "response time").multipliedReportingOverflow(by: 100)
                guard !o else { throw fail(line, "response time too large") }
                latency = l
            case .alibaba:
                let c = try cols(",", 5)
                dev = c[0]
                op = try readWrite(c[1])
                offset = try number(c[2], line, "offset")
                length = try number(c[3], line, "length")
                time = try signed(c[4], line, "timestamp")
                unit = 1000
            case .tencent:
                let c = try cols(",", 5)
                time = try signed(c[0], line, "timestamp")
                unit = 1_000_000_000
                offset = try sectors(c[1], line, "offset")
                length = try sectors(c[2], line, "size")
                switch c[3] {
                case "0": op = .read
                case "1": op = .write
                default: throw fail(line, "IOType \"\(c[3])\" is neither 0 (read) nor 1 (write)")
                }
                dev = c[4]
            case .spc:
                let c = try cols(",", 5)
                dev = c[0]
                offset = try sectors(c[1], line, "LBA")
                length = try number(c[2], line, "size")
                op = try readWrite(c[3])
                guard let ns = decimal(c[4], scaleDigits: 9) else { throw fail(line, "timestamp \"\(c[4])\" is not a number of seconds") }
                time = ns
            case .disksim, .mqsim:
                let c = t.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard c.count >= 5 else { throw fail(line, "expected 5 whitespace-separated fields, found \(c.count)") }
                if format == .disksim {
                    guard let ns = decimal(c[0], scaleDigits: 6) else { throw fail(line, "time \"\(c[0])\" is not a number of ms") }
                    time = ns
                    let flags = try number(c[4], line, "flags")
                    op = flags & 1 == 1 ? .read : .write
                } else {
                    time = try signed(c[0], line, "time")
                    switch c[4] {
                    case "1": op = .read
                    case "0": op = .write
                    default: throw fail(line, "type \"\(c[4])\" is neither 1 (read) nor 0 (write)")
                    }
                }
                dev = c[1]
                offset = try sectors(c[2], line, "block number")
                length = try sectors(c[3], line, "block count")
            case .blkreplay:
                let c = try cols(";", 4)
                guard let ns = decimal(c[0], scaleDigits: 9) else { throw fail(line, "start \"\(c[0])\" is not a number of seconds") }
                time = ns
                offset = try sectors(c[1], line, "sector")
                length = try sectors(c[2], line, "length")
                op = try readWrite(c[3])
                if c.count >= 6, let d = decimal(c[5], scaleDigits: 9), d > 0 { latency = UInt64(d) }
                dev = "blkreplay"
            case .csv:
                if t.hasPrefix("time_ns,") { return nil }
                let c = try cols(",", 10)
                time = try signed(c[0], line, "time_ns")
                dev = c[1]
                guard let o = TraceOp(fioName: c[2]) else { throw fail(line, "unknown op \"\(c[2])\"") }
                op = o
                offset = try number(c[3], line, "offset")
                length = try number(c[4], line, "length")
                var r = TraceRecord(time: 0, op: op, file: 0, offset: offset, length: length)
                if c[5] != "-" { r.latency = try number(c[5], line, "latency_ns") }
                if c[6] != "-" { guard let v = Int64(c[6]) else { throw fail(line, "result is not a number") }; r.result = v }
                if c[7] != "-" { guard let v = UInt32(c[7]) else { throw fail(line, "depth is not a number") }; r.depth = v }
                if c[8] != "-" { guard let v = UInt32(c[8]) else { throw fail(line, "stream is not a number") }; r.stream = v }
                if c[9] != "-" { guard let v = UInt8(c[9]) else { throw fail(line, "flags is not a number") }; r.flags = TraceFlags(rawValue: v) }
                extra = r
            }
        } catch let e as TraceError where headerAllowed && e.kind == .malformedLine {
            return nil // a header line: the only line allowed not to parse
        }
        if format == .csv {
            // Our own CSV is already rebased: times are ns since the start.
            base = 0
        }
        if base == nil { base = time }
        let (rel, o1) = time.subtractingReportingOverflow(base!)
        guard !o1, rel >= 0 else {
            throw fail(line, "time is before the first record's (the trace is not sorted by time; sort it first)")
        }
        let (ns, o2) = rel.multipliedReportingOverflow(by: unit)
        guard !o2 else { throw fail(line, "time is too far from the first record's") }
        var r = extra ?? TraceRecord(time: 0, op: op, file: 0, offset: offset, length: length, latency: latency)
        r.time = UInt64(ns)
        r.file = file(dev)
        return r
    }
}

/// Writes records as our plain CSV (see `PublicTraceFormat.csv`): one header line, then
/// `time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags` with `-` for
/// absent fields. File paths containing commas or newlines are refused.
public final class CSVTraceWriter: TraceSink {
    public let out: TraceOutput
    private var names: [String] = []

    public convenience init(path: String) throws {
        try self.init(output: TraceOutput(path: path))
    }

    public init(output: TraceOutput) throws {
        out = output
        out.append("time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags\n")
    }

    public func define(file: TraceFile) throws {
        if file.path.contains(",") || file.path.contains("\n") || file.path.isEmpty {
            throw TraceError(.unsupported, "\(out.name): file name \"\(file.path)\" cannot be written to CSV (comma or newline)")
        }
        names.append(file.path)
    }

    public func write(_ records: UnsafeBufferPointer<TraceRecord>) throws {
        for r in records {
            guard Int(r.file) < names.count else {
                throw TraceError(.invalidSequence, "\(out.name): a record names file \(r.file) but only \(names.count) are defined")
            }
            out.append(decimal: r.time); out.append(0x2c)
            out.append(names[Int(r.file)]); out.append(0x2c)
            out.append(r.op.fioName); out.append(0x2c)
            out.append(decimal: r.offset); out.append(0x2c)
            out.append(decimal: r.length); out.append(0x2c)
            if let v = r.latency { out.append(decimal: v) } else { out.append(0x2d) }
            out.append(0x2c)
            if let v = r.result { out.append(decimal: v) } else { out.append(0x2d) }
            out.append(0x2c)
            if let v = r.depth { out.append(decimal: UInt64(v)) } else { out.append(0x2d) }
            out.append(0x2c)
            if let v = r.stream { out.append(decimal: UInt64(v)) } else { out.append(0x2d) }
            out.append(0x2c)
            if r.flags.isEmpty { out.append(0x2d) } else { out.append(decimal: UInt64(r.flags.rawValue)) }
            out.append(0x0a)
            try out.maybeFlush()
        }
    }

    public func finish(metadata: [String: String] = [:]) throws { try out.flush() }
}
