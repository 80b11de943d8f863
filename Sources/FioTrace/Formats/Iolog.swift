/// fio's text iolog, versions 2 and 3 (design.md section 5).
///
/// v2: `FILE add|open|close` and `FILE ACTION OFFSET LENGTH`; `FILE wait MS 0` moves the
/// clock to MS milliseconds after the start (fio's real behaviour: an absolute time).
/// v3: every line starts with a timestamp in microseconds since the log was set up.
/// File names may contain spaces: the action is found from the right of the line.

/// Streams records out of a fio iolog (plain, `.gz` or `.zst`).
public final class IologReader: TraceSource {
    public let input: TraceInput
    public let version: Int
    private var table = FileTable()
    public var files: [TraceFile] { table.files }
    public var metadata: [String: String] {
        var m = [MetadataKey.sourceFormat: "iolog\(version)", MetadataKey.sourceFile: input.name,
                 MetadataKey.timeUnit: version == 3 ? "us" : "ms"]
        if segments > 1 { m[MetadataKey.iologSegments] = String(segments) }
        return m
    }
    private var isOpen: [Bool] = []
    private var lineNumber = 1
    private var clock: UInt64 = 0 // v2: ns set by the last `wait`
    private var segmentBase: UInt64 = 0 // ns added to times of the current appended log
    private var maxTime: UInt64 = 0
    /// Logs found in the file (fio appends a new one on each run that names the same file).
    public private(set) var segments = 1
    private var done = false

    public convenience init(path: String) throws {
        try self.init(input: TraceInput(path: path))
    }

    deinit { spans.deallocate() }

    public init(input: TraceInput) throws {
        self.input = input
        spans.initialize(repeating: (0, 0), count: 16)
        guard let first = try input.nextLine() else {
            throw TraceError(.unknownFormat, "\(input.name):1: empty file, expected \"fio version 2 iolog\" or \"fio version 3 iolog\"")
        }
        let head = String(decoding: first, as: UTF8.self).trimmingSpaces
        switch head {
        case "fio version 2 iolog": version = 2
        case "fio version 3 iolog": version = 3
        default:
            if head.hasPrefix("fio version ") && head.hasSuffix(" iolog") {
                throw TraceError(.unsupportedVersion, "\(input.name):1: \(head): only fio iolog versions 2 and 3 are supported")
            }
            throw TraceError(.unknownFormat, "\(input.name):1: not a fio iolog (first line is \"\(head.prefix(60))\", expected \"fio version 2 iolog\" or \"fio version 3 iolog\")")
        }
    }

    public func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        while batch.count < maxCount, !done {
            // Hand over what we have rather than block on a pipe for more.
            guard let line = try input.nextLine(refill: batch.isEmpty) else {
                if batch.isEmpty { done = true }
                break
            }
            lineNumber += 1
            if let r = try parse(line) { batch.append(r) }
        }
        return !batch.isEmpty
    }

    private func fail(_ line: UnsafeBufferPointer<UInt8>, _ what: String) -> TraceError {
        let text = String(decoding: line.prefix(200), as: UTF8.self)
        return TraceError(.malformedLine, "\(input.name):\(lineNumber): \(what): \"\(text)\"")
    }

    /// Token boundaries of one line (start, end) for up to 16 tokens. A `let` pointer:
    /// a class `var` array would be checked for exclusive access on every token.
    private let spans = UnsafeMutablePointer<(Int, Int)>.allocate(capacity: 16)

    private func parse(_ line: UnsafeBufferPointer<UInt8>) throws -> TraceRecord? {
        var n = 0
        var i = 0
        let count = line.count
        while i < count {
            while i < count && (line[i] == 0x20 || line[i] == 0x09) { i += 1 }
            if i == count { break }
            let s = i
            while i < count && line[i] != 0x20 && line[i] != 0x09 { i += 1 }
            if n < 16 { spans[n] = (s, i) } else { spans[15].1 = i } // tokens past 16 join the file name's span
            n = min(n + 1, 16)
        }
        if n == 0 { return nil } // blank line
        var first = 0
        var time = clock
        if version == 3 {
            guard let ts = parseNumber(line, spans[0]) else {
                if line.starts(with: "fio version ".utf8) { return try newSegment(line) }
                throw fail(line, "timestamp is not a number")
            }
            guard ts <= (UInt64.max - segmentBase) / 1000 else { throw fail(line, "timestamp too large") }
            time = segmentBase &+ ts &* 1000
            if time > maxTime { maxTime = time }
            first = 1
        } else if line.starts(with: "fio version ".utf8) {
            return try newSegment(line)
        }
        guard n - first >= 2 else { throw fail(line, "expected a file name and an action") }
        // File event: FILE add|open|close (the last token).
        if let op = action(line, spans[n - 1]), op.isFileEvent || (op.isSync && n - first == 2) {
            let name = String(decoding: UnsafeBufferPointer(rebasing: line[spans[first].0..<spans[n - 2].1]), as: UTF8.self)
            return try fileEvent(op, name: name, time: time, line: line)
        }
        guard n - first >= 4 else { throw fail(line, "expected FILE ACTION OFFSET LENGTH") }
        let actionSpan = spans[n - 3]
        guard let off = parseNumber(line, spans[n - 2]) else { throw fail(line, "offset is not a number") }
        guard let len = parseNumber(line, spans[n - 1]) else { throw fail(line, "length is not a number") }
        let nameBytes = UnsafeBufferPointer(rebasing: line[spans[first].0..<spans[n - 4].1])
        let op = action(line, actionSpan)
        if op == nil && token(line, actionSpan) == "wait" {
            guard version == 2 else { throw fail(line, "`wait` is not allowed in a v3 iolog") }
            guard off <= UInt64.max / 1_000_000 else { throw fail(line, "wait time too large") }
            clock = segmentBase &+ off &* 1_000_000
            return nil
        }
        guard let op, !op.isFileEvent else {
            throw fail(line, "unknown action \"\(token(line, actionSpan))\"")
        }
        let idx = try lookup(nameBytes, line: line)
        guard isOpen[Int(idx)] else {
            throw fail(line, "\(op.fioName) on \"\(files[Int(idx)].path)\", which is not open (no `open` line before it)")
        }
        return TraceRecord(time: time, op: op, file: idx, offset: off, length: len)
    }

    /// fio's write_iolog appends to an existing file, so one file can hold several logs,
    /// each with its own header and a clock that starts again at 0. Each later log is
    /// placed after the previous one: its times are offset by the latest time so far.
    private func newSegment(_ line: UnsafeBufferPointer<UInt8>) throws -> TraceRecord? {
        let head = String(decoding: line, as: UTF8.self).trimmingSpaces
        guard head == "fio version \(version) iolog" else {
            throw fail(line, "a second header of another version inside a v\(version) iolog")
        }
        segments += 1
        segmentBase = version == 3 ? maxTime : clock
        return nil
    }

    private func fileEvent(_ op: TraceOp, name: String, time: UInt64, line: UnsafeBufferPointer<UInt8>) throws -> TraceRecord {
        if op == .add {
            let idx = table.id(for: name)
            if Int(idx) == isOpen.count { isOpen.append(false) }
            return TraceRecord(time: time, op: .add, file: idx)
        }
        guard let idx = table.lookup(name) else {
            throw fail(line, "\(op.fioName) of \"\(name)\", which was never added (no `add` line before it)")
        }
        switch op {
        case .open: isOpen[Int(idx)] = true
        case .close: isOpen[Int(idx)] = false
        default:
            guard isOpen[Int(idx)] else { throw fail(line, "\(op.fioName) on \"\(name)\", which is not open") }
        }
        return TraceRecord(time: time, op: op, file: idx)
    }

    private var lastName: [UInt8] = []
    private var lastIndex: UInt32 = 0

    private func lookup(_ name: UnsafeBufferPointer<UInt8>, line: UnsafeBufferPointer<UInt8>) throws -> UInt32 {
        // Fast path: the same file as the previous I/O line.
        if name.count == lastName.count && !lastName.isEmpty && lastName.withUnsafeBufferPointer({ memcmp($0.baseAddress!, name.baseAddress!, name.count) == 0 }) {
            return lastIndex
        }
        let s = String(decoding: name, as: UTF8.self)
        guard let idx = table.lookup(s) else {
            throw fail(line, "I/O on \"\(s)\", which was never added (no `add` line before it)")
        }
        lastName = Array(name)
        lastIndex = idx
        return idx
    }

    /// The op an action word names, compared as bytes (no String per line).
    @inline(__always) private func action(_ line: UnsafeBufferPointer<UInt8>, _ s: (Int, Int)) -> TraceOp? {
        let n = s.1 - s.0
        let p = line.baseAddress! + s.0
        @inline(__always) func eq(_ w: StaticString) -> Bool {
            w.utf8CodeUnitCount == n && memcmp(p, w.utf8Start, n) == 0
        }
        switch p[0] {
        case UInt8(ascii: "r"): return eq("read") ? .read : nil
        case UInt8(ascii: "w"): return eq("write") ? .write : nil
        case UInt8(ascii: "t"): return eq("trim") ? .trim : eq("truncate") ? .truncate : nil
        case UInt8(ascii: "s"): return eq("sync") ? .sync : eq("sync_file_range") ? .syncFileRange : eq("syncfs") ? .syncfs : nil
        case UInt8(ascii: "d"): return eq("datasync") ? .datasync : eq("discard") ? .trim : nil
        case UInt8(ascii: "f"): return eq("fsync") ? .sync : eq("fdatasync") ? .datasync : eq("fallocate") ? .fallocate : eq("ftruncate") ? .truncate : nil
        case UInt8(ascii: "a"): return eq("add") ? .add : nil
        case UInt8(ascii: "o"): return eq("open") ? .open : nil
        case UInt8(ascii: "c"): return eq("close") ? .close : nil
        default: return nil
        }
    }

    @inline(__always) private func token(_ line: UnsafeBufferPointer<UInt8>, _ s: (Int, Int)) -> Substring {
        Substring(String(decoding: UnsafeBufferPointer(rebasing: line[s.0..<s.1]), as: UTF8.self))
    }

    @inline(__always) private func parseNumber(_ line: UnsafeBufferPointer<UInt8>, _ s: (Int, Int)) -> UInt64? {
        if s.1 <= s.0 || s.1 - s.0 > 20 { return nil }
        var v: UInt64 = 0
        for k in s.0..<s.1 {
            let d = line[k] &- 48
            if d > 9 { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}

/// Writes records as a fio iolog. Sources without file events (block traces, the
/// generator) get `add` and `open` before a file's first I/O and `close` at the end, so
/// fio can replay the result. v3 timestamps are microseconds (ns truncated); v2 gets a
/// `wait` line whenever the millisecond clock moves.
public final class IologWriter: TraceSink {
    public let out: TraceOutput
    public let version: Int
    private var names: [[UInt8]] = []
    private var added: [Bool] = []
    private var open: [Bool] = []
    private var lastTime: UInt64 = 0
    private var waitedMS: UInt64 = 0
    /// Records written whose op fio's iolog parser cannot read (fallocate, truncate).
    public private(set) var nonFioRecords: UInt64 = 0
    /// Records whose latency, result, depth, stream or flags the text format dropped.
    public private(set) var droppedFields: UInt64 = 0
    /// create/rename/unlink records left out (and opens whose `created` flag was): fio's
    /// iolog has no words for them.
    public private(set) var skippedNamespaceRecords: UInt64 = 0

    public convenience init(path: String, version: Int = 3) throws {
        try self.init(output: TraceOutput(path: path), version: version)
    }

    public init(output: TraceOutput, version: Int = 3) throws {
        precondition(version == 2 || version == 3)
        out = output
        self.version = version
        out.append("fio version \(version) iolog\n")
    }

    public func define(file: TraceFile) throws {
        if file.path.isEmpty || file.path.contains("\n") {
            throw TraceError(.unsupported, "\(out.name): file name \"\(file.path)\" cannot be written to a text iolog")
        }
        names.append(Array(file.path.utf8))
        added.append(false)
        open.append(false)
    }

    @inline(__always) private func line(_ time: UInt64, _ file: Int, _ action: String) {
        if version == 3 {
            out.append(decimal: time / 1000)
            out.append(0x20)
        }
        names[file].withUnsafeBufferPointer { out.append(contentsOf: $0) }
        out.append(0x20)
        out.append(action)
    }

    private func ensureOpen(_ f: Int, time: UInt64) {
        if !added[f] {
            line(time, f, "add\n")
            added[f] = true
        }
        if !open[f] {
            line(time, f, "open\n")
            open[f] = true
        }
    }

    public func write(_ records: UnsafeBufferPointer<TraceRecord>) throws {
        for r in records {
            let f = Int(r.file)
            guard f < names.count else {
                throw TraceError(.invalidSequence, "\(out.name): a record names file \(r.file) but only \(names.count) are defined")
            }
            lastTime = max(lastTime, r.time)
            if r.latency != nil || r.result != nil || r.depth != nil || r.stream != nil || !r.flags.isEmpty {
                droppedFields += 1
            }
            switch r.op {
            case .add:
                line(r.time, f, "add\n")
                added[f] = true
            case .open:
                if r.flags.contains(.created) { skippedNamespaceRecords += 1 } // the open stays; that it made the file does not
                if !added[f] { line(r.time, f, "add\n"); added[f] = true }
                line(r.time, f, "open\n")
                open[f] = true
            case .close:
                if open[f] {
                    line(r.time, f, "close\n")
                    open[f] = false
                }
            case .create, .rename, .unlink:
                skippedNamespaceRecords += 1
            default:
                ensureOpen(f, time: r.time)
                if version == 2 {
                    // fio v2 has no timestamps: `wait` moves the clock to an absolute ms.
                    let ms = r.time / 1_000_000
                    if ms > waitedMS {
                        line(r.time, f, "wait ")
                        out.append(decimal: ms)
                        out.append(" 0\n")
                        waitedMS = ms
                    }
                }
                if r.op == .fallocate || r.op == .truncate { nonFioRecords += 1 }
                line(r.time, f, r.op.fioName)
                out.append(0x20)
                out.append(decimal: r.offset)
                out.append(0x20)
                out.append(decimal: r.length)
                out.append(0x0a)
            }
            try out.maybeFlush()
        }
    }

    /// Closes files still open (so fio sees a complete log) and flushes.
    public func finish(metadata: [String: String] = [:]) throws {
        for f in 0..<open.count where open[f] {
            line(lastTime, f, "close\n")
            open[f] = false
        }
        try out.flush()
    }
}
