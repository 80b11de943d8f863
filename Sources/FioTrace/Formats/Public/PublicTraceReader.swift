/// One parsed data line of a public trace, before rebasing.
struct PublicLine {
    /// Time in `unit`s of ns (rebased to the first record before scaling: filetimes
    /// overflow ns).
    var time: Int64
    var unit: Int64 = 1
    var op: TraceOp = .read
    /// The file table key: volume, LUN or device.
    var file: String = ""
    var device: DeviceNumber? = nil
    var offset: UInt64 = 0
    var length: UInt64 = 0
    var latency: UInt64? = nil
    var depth: UInt32? = nil
    var stream: UInt32? = nil
    var flags: TraceFlags = []
    /// A complete record (our own CSV, which is not rebased).
    var full: TraceRecord? = nil
}

/// Streams records out of one of the public text formats (plain, `.gz` or `.zst`); see
/// `PublicTraceFormat` for the columns and units of each.
public final class PublicTraceReader: TraceSource {
    public let input: TraceInput
    public let format: PublicTraceFormat
    private var table = FileTable()
    private var devices: [UInt32: DeviceNumber] = [:]
    public var files: [TraceFile] {
        if devices.isEmpty { return table.files }
        var f = table.files
        for (i, d) in devices { f[Int(i)].device = d }
        return f
    }
    var lineNumber = 0
    private var base: Int64? = nil // raw time of the first record, in the format's unit
    private var records: UInt64 = 0
    /// True once a line that is not a comment has been seen (only the first may be a header).
    var sawDataLine = false
    /// blkreplay: lines of the free-text preamble skipped before the first data line.
    var preambleLines = 0
    /// hfplayer: the columns its header names (or the default layout).
    var hfplayer: HfplayerColumns? = nil
    /// SystOR '17: I/Os with a blank type (no response seen), skipped.
    var unknownType: UInt64 = 0
    /// hfplayer: lines whose OP is neither 0 nor 1, skipped (as hfplayer does).
    var invalidOp: UInt64 = 0
    /// Process names (FIU).
    var processes = ProcessNames()

    public var metadata: [String: String] {
        var m = ["source.format": format.rawValue, "source.file": input.name]
        if format == .tencent {
            m["time.coarse"] = "1 s clock: arrivals within a second share a timestamp; original timing cannot be replayed"
        }
        if let base { m["time.base"] = "\(base) (in the format's own time unit)" }
        m["time.resolution_ns"] = String(format.clockResolution)
        if preambleLines > 0 { m["blkreplay.preamble_lines"] = String(preambleLines) }
        if unknownType > 0 { m["systor.unknown_type_skipped"] = String(unknownType) }
        if invalidOp > 0 { m["hfplayer.invalid_op_skipped"] = String(invalidOp) }
        if format == .fiu { m["fiu.stream"] = "pid" }
        processes.addMetadata(to: &m)
        return m
    }

    public init(input: TraceInput, format: PublicTraceFormat) {
        self.input = input
        self.format = format
    }

    public convenience init(path: String, format: PublicTraceFormat? = nil) throws {
        let input = try TraceInput(path: path)
        guard let f = format ?? PublicTraceReader.detect(input) else {
            throw TraceError(.unknownFormat, "\(input.name): not a known public trace format; name the format (one of: \(PublicTraceFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.init(input: input, format: f)
    }

    /// Bytes of a stream's start that detection looks at (blkreplay's loads open with a
    /// license preamble of about 1.3 KB, some with two).
    static let detectWindow = 65_536

    /// The format of a stream's first lines, without consuming them: a header line a
    /// format writes (hfplayer's, SystOR's, blkreplay's column header, which may follow a
    /// free-text preamble), or else the first data line (after comments; only the first
    /// line may be an unknown header).
    public static func detect(_ input: TraceInput) -> PublicTraceFormat? {
        // A small window first, so that a slow pipe is not waited on for more.
        detect(input, window: 4096) ?? detect(input, window: detectWindow)
    }

    private static func detect(_ input: TraceInput, window size: Int) -> PublicTraceFormat? {
        _ = try? input.ensure(size)
        let window = input.bytes.prefix(size)
        let head = String(decoding: window, as: UTF8.self)
        var lines = head.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if window.count == size, !head.hasSuffix("\n"), lines.count > 1 { lines.removeLast() }
        for l in lines.prefix(2) {
            if let f = PublicTraceFormat.sniffHeader(l) { return f }
        }
        for (i, l) in lines.prefix(3).enumerated() {
            let t = l.trimmingSpaces
            if t.isEmpty || t.hasPrefix("#") { continue }
            if let f = PublicTraceFormat.sniff(t) { return f }
            if i > 0 { break } // only the first line may be a header
        }
        // A blkreplay load: free text, a `####` line, the column header, then data.
        for l in lines.prefix(400) where BlkreplayLoad.isColumnHeader(l.trimmingSpaces) { return .blkreplay }
        return nil
    }

    public func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        while batch.count < maxCount {
            guard let raw = try input.nextLine(refill: batch.isEmpty) else {
                if batch.isEmpty { try checkEnd() }
                break
            }
            lineNumber += 1
            let line = String(decoding: raw, as: UTF8.self)
            let t = line.trimmingSpaces
            if t.isEmpty { continue }
            if let l = try parseLine(t, original: line) { batch.append(try record(l, line)) }
        }
        return !batch.isEmpty
    }

    /// At the end of the input: a blkreplay preamble without any data is not a trace.
    private func checkEnd() throws {
        if format == .blkreplay && records == 0 && preambleLines > 0 {
            throw TraceError(.malformedLine, "\(input.name):\(lineNumber): no blkreplay data line after \(preambleLines) lines of preamble (expected \"start ; sector ; length ; op ; ...\")")
        }
    }

    /// Parses one non-empty line; nil for lines that are not records (comments, headers,
    /// a preamble, I/Os of unknown type).
    private func parseLine(_ t: String, original line: String) throws -> PublicLine? {
        switch format {
        case .blkreplay: return try parseBlkreplay(t, line)
        case .hfplayer: return try parseHfplayer(t, line)
        default: break
        }
        if t.hasPrefix("#") { return nil }
        // Only the first non-comment line may be a header (one that does not parse).
        let headerAllowed = !sawDataLine
        sawDataLine = true
        do {
            switch format {
            case .msr: return try parseMSR(t, line)
            case .alibaba: return try parseAlibaba(t, line)
            case .tencent: return try parseTencent(t, line)
            case .spc: return try parseSPC(t, line)
            case .systor: return try parseSystor(t, line)
            case .disksim, .mqsim: return try parseDiskSimOrMQSim(t, line)
            case .fiu: return try parseFIU(t, line)
            case .csv: return try parseCSV(t, line)
            case .blkreplay, .hfplayer: return nil // handled above
            }
        } catch let e as TraceError where headerAllowed && e.kind == .malformedLine {
            return nil // a header line: the only line allowed not to parse
        }
    }

    /// Rebases a parsed line into a record and registers its file.
    private func record(_ l: PublicLine, _ line: String) throws -> TraceRecord {
        records &+= 1
        var r = l.full ?? TraceRecord(time: 0, op: l.op, file: 0, offset: l.offset, length: l.length,
                                      latency: l.latency, depth: l.depth, stream: l.stream, flags: l.flags)
        if format == .csv {
            // Our own CSV is already rebased: times are ns since the start.
            r.file = table.id(for: l.file)
            return r
        }
        if base == nil { base = l.time }
        let (rel, o1) = l.time.subtractingReportingOverflow(base!)
        guard !o1, rel >= 0 else {
            throw fail(line, "time is before the first record's (the trace is not sorted by time; sort it first)")
        }
        let (ns, o2) = rel.multipliedReportingOverflow(by: l.unit)
        guard !o2 else { throw fail(line, "time is too far from the first record's") }
        guard !l.offset.addingReportingOverflow(l.length).overflow else {
            throw fail(line, "an I/O of \(l.length) bytes at offset \(l.offset) runs past byte 2^64 - 1")
        }
        r.time = UInt64(ns)
        r.file = table.id(for: l.file)
        if let d = l.device, devices[r.file] == nil { devices[r.file] = d }
        return r
    }

    // MARK: Field helpers (shared by the parsers)

    func fail(_ line: String, _ what: String) -> TraceError {
        TraceError(.malformedLine, "\(input.name):\(lineNumber): \(what): \"\(line.prefix(200))\"")
    }

    /// Splits on `sep`, trimming spaces; at least `n` fields or a line error.
    func columns(_ t: String, _ line: String, _ sep: Character, _ n: Int) throws -> [String] {
        let c = t.split(separator: sep, omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        guard c.count >= n else {
            throw fail(line, "expected \(n) \(sep == "," ? "comma-separated" : "\"\(sep)\"-separated") fields, found \(c.count)")
        }
        return c
    }

    func words(_ t: String) -> [String] {
        t.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    func readWrite(_ s: String, _ line: String) throws -> TraceOp {
        switch s.lowercased() {
        case "r", "read": return .read
        case "w", "write": return .write
        default: throw fail(line, "operation \"\(s)\" is neither read nor write")
        }
    }

    /// Parses "12.345" (decimal, no exponent) scaled by 10^`scaleDigits` into an integer
    /// exactly: seconds with scale 9 give ns. Digits past the scale are dropped.
    func decimal(_ s: String, scaleDigits: Int) -> Int64? {
        var intPart = Substring(s), frac = Substring("")
        if let dot = s.firstIndex(of: ".") {
            intPart = s[..<dot]
            frac = s[s.index(after: dot)...]
        }
        let negative = intPart.hasPrefix("-")
        if negative || intPart.hasPrefix("+") { intPart = intPart.dropFirst() }
        guard !intPart.isEmpty || !frac.isEmpty, intPart.allSatisfy({ $0.isNumber && $0.isASCII }),
              frac.allSatisfy({ $0.isNumber && $0.isASCII }),
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
        let (sum, o2) = m.addingReportingOverflow(f)
        guard !o2 else { return nil }
        return negative ? -sum : sum
    }

    /// A non-negative decimal in units of 10^-`scaleDigits` as UInt64, or a line error.
    func unsignedDecimal(_ s: String, _ line: String, _ what: String, scaleDigits: Int) throws -> UInt64 {
        UInt64(try time(s, line, what, scaleDigits: scaleDigits, unit: "s"))
    }

    /// A time: a non-negative decimal of `unit`s (s, ms) scaled to ns by 10^`scaleDigits`,
    /// or a line error saying whether it is not a number, negative, or past what 63 bits
    /// of ns hold (292 years).
    func time(_ s: String, _ line: String, _ what: String, scaleDigits: Int, unit: String) throws -> Int64 {
        if let v = decimal(s, scaleDigits: scaleDigits) {
            guard v >= 0 else { throw fail(line, "\(what) \"\(s)\" is negative") }
            return v
        }
        let digits = s.drop(while: { $0 == "-" || $0 == "+" })
        guard !digits.isEmpty, digits.allSatisfy({ ($0.isNumber && $0.isASCII) || $0 == "." }), digits.filter({ $0 == "." }).count <= 1 else {
            throw fail(line, "\(what) \"\(s)\" is not a number of \(unit)")
        }
        let maxWhole = Int64.max / Int64(pow10(scaleDigits))
        throw fail(line, "\(what) \"\(s)\" is \(s.hasPrefix("-") ? "negative" : "too large") (at most \(maxWhole).\(String(Int64.max % Int64(pow10(scaleDigits)))) \(unit))")
    }

    private func pow10(_ n: Int) -> UInt64 { (0..<n).reduce(1) { a, _ in a * 10 } }

    /// A latency in `unit` ns: at most 2^63 - 1 ns (292 years; what `info`'s histograms
    /// hold), or a line error naming the value.
    func latency(_ v: UInt64, unit: UInt64, _ line: String, _ what: String) throws -> UInt64 {
        let (ns, o) = v.multipliedReportingOverflow(by: unit)
        guard !o, ns <= UInt64(Int64.max) else {
            throw fail(line, "\(what) \(v) is too large (over 292 years)")
        }
        return ns
    }

    func number(_ s: String, _ line: String, _ what: String) throws -> UInt64 {
        guard let v = UInt64(s) else { throw fail(line, "\(what) \"\(s)\" is not a number") }
        return v
    }

    func signed(_ s: String, _ line: String, _ what: String) throws -> Int64 {
        guard let v = Int64(s), v >= 0 else { throw fail(line, "\(what) \"\(s)\" is not a number") }
        return v
    }

    func sectors(_ s: String, _ line: String, _ what: String) throws -> UInt64 {
        let v = try number(s, line, what)
        guard v <= UInt64.max / 512 else { throw fail(line, "\(what) too large") }
        return v * 512
    }
}
