/// Turns `strace -f -ttt -T -y -s 0` output into file I/O records: the capture back end of
/// `fio-replay record`.
///
/// File positions are tracked per open file description, as the kernel does: `read` and
/// `write` use and advance it, `lseek` sets it, `dup`/`dup2`/`dup3`/`fcntl(F_DUPFD*)`
/// share it, a forked child inherits its parent's descriptors, and `O_APPEND` writes go to
/// the file's end (tracked from `initialSizes` plus what the trace wrote and truncated).
/// Each call becomes one record at its start time with its duration as latency and its
/// return value as result; a failed call keeps the requested length and a negative errno.
/// Calls the recorder cannot see the I/O of (io_uring, file-backed mmap) are counted in
/// `invisible` so the caller can warn. Memory: the open descriptors and the file table.
public final class StraceReader: TraceSource {
    public let input: TraceInput
    private var table = FileTable()
    public var files: [TraceFile] { table.files }
    /// Only files whose path starts with one of these are recorded (all when empty).
    public let pathPrefixes: [String]
    /// Calls whose I/O is not visible to the recorder, by name (io_uring_enter, mmap).
    public private(set) var invisible: [String: UInt64] = [:]
    /// Lines that were not system calls the recorder understands (signals, exits).
    public private(set) var skippedLines: UInt64 = 0
    /// Bytes written with O_APPEND per path, and paths truncated (O_TRUNC, ftruncate):
    /// a first pass over a capture gives these, so that a second pass can start each
    /// appended file at its size before the run (its size after, less what was appended).
    public private(set) var appendedBytes: [String: UInt64] = [:]
    public private(set) var truncatedPaths: Set<String> = []
    /// For a capture read while it is being written (`record` streams it): the size a file
    /// had before the run, asked for the first time a path's size matters when
    /// `initialSizes` does not have it (the caller can only guess it then, from the file's
    /// size now). nil: files not in `initialSizes` start empty.
    public var initialSize: ((String) -> UInt64?)?
    /// What `initialSize` answered, per path: `record` compares these with the sizes a full
    /// first pass gives, and converts again when they differ.
    public private(set) var assumedSizes: [String: UInt64] = [:]

    public var metadata: [String: String] {
        var m = [MetadataKey.sourceFormat: "strace", MetadataKey.sourceFile: input.name, MetadataKey.timeUnit: "us"]
        for (k, v) in invisible { m["strace.invisible.\(k)"] = String(v) }
        return m
    }

    /// An open file description.
    final class Description {
        var path: String
        var offset: UInt64 = 0
        let append: Bool
        /// Opened with O_DIRECT: its reads and writes carry the direct flag.
        let direct: Bool
        init(path: String, append: Bool, direct: Bool = false) {
            self.path = path
            self.append = append
            self.direct = direct
        }
    }

    private var fdTables: [Int: [Int: Description]] = [:]
    /// Each process's working directory, when known (from `AT_FDCWD</dir>`, which strace -y
    /// prints, or a chdir to an absolute path), for the relative paths of rename and unlink.
    private var cwd: [Int: String] = [:]
    /// Descriptors (over all processes) open on each path: the trace gets `open` when a
    /// path goes from none to one and `close` when its last descriptor closes, so that
    /// dup2-then-close (as dd does) never shows I/O on a closed file.
    private var openCount: [String: Int] = [:]

    private func setFD(_ pid: Int, _ fd: Int, _ d: Description?) {
        if let old = fdTables[pid]?[fd] { openCount[old.path, default: 1] -= 1 }
        fdTables[pid, default: [:]][fd] = d
        if let d { openCount[d.path, default: 0] += 1 }
    }
    private var pending: [Int: (String, Int64)] = [:] // pid -> text and start of an unfinished call
    private var sizes: [String: UInt64]
    private var opened: Set<UInt32> = []
    private var startMicros: Int64?
    private var lineNumber = 0
    private var done = false

    public init(input: TraceInput, pathPrefixes: [String] = [], initialSizes: [String: UInt64] = [:]) {
        self.input = input
        self.pathPrefixes = pathPrefixes
        self.sizes = initialSizes
    }

    public convenience init(path: String, pathPrefixes: [String] = [], initialSizes: [String: UInt64] = [:]) throws {
        try self.init(input: TraceInput(path: path), pathPrefixes: pathPrefixes, initialSizes: initialSizes)
    }

    public func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        while batch.count < maxCount && !done {
            guard let raw = try input.nextLine() else { done = true; break }
            lineNumber += 1
            try parse(String(decoding: raw, as: UTF8.self), into: &batch)
        }
        return !batch.isEmpty
    }

    private func fail(_ line: String, _ what: String) -> TraceError {
        TraceError(.malformedLine, "\(input.name):\(lineNumber): \(what): \"\(line.prefix(200))\"")
    }

    private func wanted(_ path: String) -> Bool {
        pathPrefixes.isEmpty || pathPrefixes.contains { path.hasPrefix($0) }
    }

    private func fileID(_ path: String) -> UInt32 { table.id(for: path) }

    // MARK: - Line parsing

    /// `PID SECONDS.MICROS name(args) = ret <duration>`, possibly split into
    /// `... <unfinished ...>` and `PID SECONDS.MICROS <... name resumed>rest`.
    private func parse(_ line: String, into batch: inout [TraceRecord]) throws {
        var rest = Substring(line)
        guard let sp = rest.firstIndex(of: " "), let pid = Int(rest[..<sp]) else {
            skippedLines += 1
            return
        }
        rest = rest[rest.index(after: sp)...].drop { $0 == " " }
        guard let sp2 = rest.firstIndex(of: " ") else { skippedLines += 1; return }
        let stamp = rest[..<sp2]
        guard var micros = Self.micros(stamp) else { throw fail(line, "timestamp \"\(stamp)\" is not seconds.microseconds (was strace run with -ttt?)") }
        var call = String(rest[rest.index(after: sp2)...])
        if call.hasSuffix("<unfinished ...>") {
            pending[pid] = (String(call.dropLast("<unfinished ...>".count)), micros)
            return
        }
        if call.hasPrefix("<... ") {
            guard let close = call.firstRange(of: " resumed>") else { skippedLines += 1; return }
            guard let (head, started) = pending.removeValue(forKey: pid) else { skippedLines += 1; return }
            call = head + call[close.upperBound...]
            micros = started // a call's time is when it was issued
        }
        if call.hasPrefix("+++ exited") || call.hasPrefix("+++ killed") {
            // The process is gone: so are its descriptors (closed by the kernel).
            if startMicros == nil { startMicros = micros }
            let time = try nanoseconds(since: startMicros!, micros, line)
            for (n, d) in table(pid).sorted(by: { $0.key < $1.key }) {
                setFD(pid, n, nil)
                if wanted(d.path) && (openCount[d.path] ?? 0) == 0 {
                    batch.append(TraceRecord(time: time, op: .close, file: fileID(d.path), stream: UInt32(truncatingIfNeeded: pid)))
                }
            }
            fdTables[pid] = nil
            skippedLines += 1
            return
        }
        // Exits, signals and "+++ exited with" lines.
        guard let paren = call.firstIndex(of: "("), !call.hasPrefix("+++"), !call.hasPrefix("---") else {
            skippedLines += 1
            return
        }
        let name = String(call[..<paren])
        // `) = ` must close this call's arguments: one before the `(` is not a call line.
        guard let eq = Self.lastRange(of: ") = ", in: call), eq.lowerBound > paren else { skippedLines += 1; return }
        let args = Self.splitArgs(call[call.index(after: paren)..<eq.lowerBound])
        let tail = call[eq.upperBound...]
        let (ret, retPath, errno) = Self.parseReturn(tail)
        let duration = Self.duration(tail)
        if startMicros == nil { startMicros = micros }
        let time = try nanoseconds(since: startMicros!, micros, line)
        try apply(name: name, pid: pid, args: args, ret: ret, retPath: retPath, errno: errno,
                  time: time, latency: duration, line: line, into: &batch)
    }

    private func table(_ pid: Int) -> [Int: Description] { fdTables[pid] ?? [:] }

    /// The size `path` has reached as the trace tells (from `initialSizes`, else from
    /// `initialSize` once, else 0).
    private func size(_ path: String) -> UInt64 {
        if let s = sizes[path] { return s }
        let s = initialSize?(path) ?? 0
        if initialSize != nil { assumedSizes[path] = s }
        sizes[path] = s
        return s
    }

    /// ns from the first call to `micros` (both non-negative µs; earlier counts as 0).
    private func nanoseconds(since start: Int64, _ micros: Int64, _ line: String) throws -> UInt64 {
        let (ns, over) = UInt64(max(0, micros - start)).multipliedReportingOverflow(by: 1000)
        if over { throw fail(line, "time is more than 584 years after the first call") }
        return ns
    }

    private func apply(name: String, pid: Int, args: [Substring], ret: Int64?, retPath: String?, errno: Int64?,
                       time: UInt64, latency: UInt64?, line: String, into batch: inout [TraceRecord]) throws {
        func fd(_ i: Int) -> (Int, String?)? {
            guard i < args.count else { return nil }
            let a = args[i]
            let lt = a.firstIndex(of: "<")
            guard let n = Int(lt.map { a[..<$0] } ?? a) else { return nil }
            var path: String? = nil
            if let lt, a.hasSuffix(">") { path = String(a[a.index(after: lt)..<a.index(before: a.endIndex)]) }
            return (n, path)
        }
        func num(_ i: Int) -> UInt64? { i < args.count ? UInt64(args[i]) : nil }
        /// `a + b` for a file position or size; past 2^64 bytes the line cannot be real.
        func sum(_ a: UInt64, _ b: UInt64) throws -> UInt64 {
            let (v, over) = a.addingReportingOverflow(b)
            if over { throw fail(line, "\(name): offset \(a) + length \(b) passes 2^64 bytes") }
            return v
        }
        func iov(_ i: Int) throws -> UInt64 {
            guard let t = Self.iovTotal(i < args.count ? args[i] : "") else {
                throw fail(line, "\(name): iov_len values add up past 2^64 bytes")
            }
            return t
        }
        func record(_ op: TraceOp, _ d: Description, offset: UInt64, length: UInt64) {
            guard wanted(d.path) else { return }
            let f = fileID(d.path)
            batch.append(TraceRecord(time: time, op: op, file: f, offset: offset, length: length, latency: latency,
                                     result: errno.map { -$0 } ?? ret, stream: UInt32(truncatingIfNeeded: pid),
                                     flags: d.direct && op.isData ? .direct : []))
        }
        func description(_ i: Int) -> Description? {
            guard let (n, path) = fd(i) else { return nil }
            if let d = table(pid)[n] { return d }
            // A descriptor opened before the trace started (or inherited): adopt it.
            guard let path, path.hasPrefix("/") else { return nil }
            let d = Description(path: path, append: false)
            setFD(pid, n, d)
            return d
        }
        let ok = errno == nil
        /// Argument `i` as an absolute path (relative to argument `dirArg`'s directory, or to
        /// the working directory), nil when it cannot be told (an escaped name, an unknown
        /// working directory).
        func pathArg(_ i: Int, dirArg: Int?) -> String? {
            guard i < args.count else { return nil }
            let a = args[i]
            guard a.count >= 2, a.first == "\"", a.last == "\"", !a.contains("\\") else { return nil }
            let p = String(a.dropFirst().dropLast())
            if p.hasPrefix("/") { return p }
            var base = cwd[pid]
            if let dirArg, dirArg < args.count, let lt = args[dirArg].firstIndex(of: "<"), args[dirArg].hasSuffix(">") {
                base = String(args[dirArg][args[dirArg].index(after: lt)..<args[dirArg].index(before: args[dirArg].endIndex)])
            }
            guard let base, base.hasPrefix("/") else { return nil }
            return (base.hasSuffix("/") ? base : base + "/") + p
        }
        if let first = args.first, first.hasPrefix("AT_FDCWD<"), first.hasSuffix(">") {
            cwd[pid] = String(first.dropFirst("AT_FDCWD<".count).dropLast())
        }
        func added(_ path: String) -> UInt32 {
            let f = fileID(path)
            if !opened.contains(f) {
                opened.insert(f)
                batch.append(TraceRecord(time: time, op: .add, file: f))
            }
            return f
        }
        switch name {
        case "chdir":
            if ok, let p = pathArg(0, dirArg: nil) { cwd[pid] = p }
        case "rename", "renameat", "renameat2":
            guard ok else { return }
            let at = name != "rename"
            guard let from = pathArg(at ? 1 : 0, dirArg: at ? 0 : nil), let to = pathArg(at ? 3 : 1, dirArg: at ? 2 : nil) else {
                skippedLines += 1
                return
            }
            if name == "renameat2" && args.count > 4 && args[4].contains("RENAME_EXCHANGE") { return }
            // Descriptors open on the file now name the new path, as the kernel's do.
            for (_, t) in fdTables { for (_, d) in t where d.path == from { d.path = to } }
            if let n = openCount.removeValue(forKey: from) { openCount[to, default: 0] += n }
            if let sz = sizes.removeValue(forKey: from) { sizes[to] = sz }
            switch (wanted(from), wanted(to)) {
            case (true, true):
                let a = added(from), b = added(to)
                batch.append(TraceRecord(time: time, op: .rename, file: a, offset: UInt64(b), latency: latency, result: 0,
                                         stream: UInt32(truncatingIfNeeded: pid)))
            case (true, false):
                batch.append(TraceRecord(time: time, op: .unlink, file: added(from), latency: latency, result: 0,
                                         stream: UInt32(truncatingIfNeeded: pid)))
            case (false, true):
                batch.append(TraceRecord(time: time, op: .create, file: added(to), latency: latency, result: 0,
                                         stream: UInt32(truncatingIfNeeded: pid)))
            case (false, false):
                break
            }
        case "unlink", "unlinkat":
            guard ok else { return }
            if name == "unlinkat" && args.count > 2 && args[2].contains("AT_REMOVEDIR") { return }
            guard let path = pathArg(name == "unlink" ? 0 : 1, dirArg: name == "unlink" ? nil : 0) else {
                skippedLines += 1
                return
            }
            guard wanted(path) else { return }
            batch.append(TraceRecord(time: time, op: .unlink, file: added(path), latency: latency, result: 0,
                                     stream: UInt32(truncatingIfNeeded: pid)))
        case "open", "openat", "creat", "openat2":
            guard ok, let r = ret, let path = retPath else { return }
            let flagsIndex = name == "open" ? 1 : 2
            guard name == "creat" || args.count > flagsIndex else {
                throw fail(line, "\(name) with \(args.count) arguments, expected a flags argument")
            }
            let flagsArg = name == "creat" ? "O_CREAT|O_WRONLY|O_TRUNC" : String(args[name == "open" ? 1 : 2])
            let d = Description(path: path, append: flagsArg.contains("O_APPEND"), direct: flagsArg.contains("O_DIRECT"))
            let wasOpen = (openCount[path] ?? 0) > 0
            setFD(pid, Int(r), d)
            if flagsArg.contains("O_TRUNC") {
                sizes[path] = 0
                truncatedPaths.insert(path)
            }
            guard wanted(path) else { return }
            let f = fileID(path)
            if !opened.contains(f) {
                opened.insert(f)
                batch.append(TraceRecord(time: time, op: .add, file: f))
            }
            if !wasOpen {
                // O_CREAT|O_EXCL made the file; a plain O_CREAT may have found it there, which
                // strace does not tell.
                let made = flagsArg.contains("O_CREAT") && flagsArg.contains("O_EXCL")
                batch.append(TraceRecord(time: time, op: .open, file: f, latency: latency, result: 0, stream: UInt32(truncatingIfNeeded: pid),
                                         flags: made ? .created : []))
            }
        case "close":
            guard let (n, _) = fd(0), let d = table(pid)[n] else { return }
            setFD(pid, n, nil)
            if wanted(d.path) && (openCount[d.path] ?? 0) == 0 {
                batch.append(TraceRecord(time: time, op: .close, file: fileID(d.path), latency: latency,
                                         result: errno.map { -$0 } ?? 0, stream: UInt32(truncatingIfNeeded: pid)))
            }
        case "dup", "dup2", "dup3", "fcntl", "fcntl64":
            if name.hasPrefix("fcntl") {
                guard args.count > 1, args[1].hasPrefix("F_DUPFD") else { return }
            }
            guard ok, let r = ret else { return }
            let replaced = table(pid)[Int(r)]
            // A descriptor the trace does not follow (a pipe) may still replace one it does.
            let d = description(0)
            guard d != nil || replaced != nil else { return }
            setFD(pid, Int(r), d)
            // dup2/dup3 onto an open descriptor closes it: the file's last one closes it.
            if let replaced, replaced !== d, wanted(replaced.path) && (openCount[replaced.path] ?? 0) == 0 {
                batch.append(TraceRecord(time: time, op: .close, file: fileID(replaced.path), latency: latency,
                                         result: 0, stream: UInt32(truncatingIfNeeded: pid)))
            }
        case "lseek", "_llseek":
            guard ok, let r = ret, let d = description(0) else { return }
            guard r >= 0 else { throw fail(line, "\(name) returned \(r), not a file offset") }
            d.offset = UInt64(r)
        case "read", "write", "readv", "writev":
            guard let d = description(0) else { return }
            let isWrite = name.hasPrefix("write")
            var requested: UInt64 = 0
            if name == "read" || name == "write" { requested = num(2) ?? 0 }
            else { requested = try iov(1) }
            let offset = isWrite && d.append ? size(d.path) : d.offset
            let done = ok ? UInt64(max(0, ret ?? 0)) : requested
            record(isWrite ? .write : .read, d, offset: offset, length: ok ? done : requested)
            if ok {
                d.offset = try sum(offset, done)
                if isWrite { sizes[d.path] = max(size(d.path), d.offset) }
                if isWrite && d.append { appendedBytes[d.path, default: 0] = try sum(appendedBytes[d.path] ?? 0, done) }
            }
        case "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2":
            guard let d = description(0) else { return }
            let isWrite = name.hasPrefix("pwrite")
            let vector = name.hasSuffix("v") || name.hasSuffix("v2")
            let requested = vector ? try iov(1) : (num(2) ?? 0)
            guard let off = num(3) else { throw fail(line, "\(name) without an offset") }
            let done = ok ? UInt64(max(0, ret ?? 0)) : requested
            record(isWrite ? .write : .read, d, offset: off, length: ok ? done : requested)
            if ok && isWrite { sizes[d.path] = max(size(d.path), try sum(off, done)) }
        case "fsync", "fdatasync":
            guard let d = description(0) else { return }
            record(name == "fsync" ? .sync : .datasync, d, offset: 0, length: 0)
        case "sync_file_range", "sync_file_range2":
            guard let d = description(0) else { return }
            record(.syncFileRange, d, offset: num(1) ?? 0, length: num(2) ?? 0)
        case "fallocate":
            guard let d = description(0) else { return }
            let punch = args.count > 1 && args[1].contains("PUNCH_HOLE")
            record(punch ? .trim : .fallocate, d, offset: num(2) ?? 0, length: num(3) ?? 0)
            if ok && !punch && !(args.count > 1 && args[1].contains("KEEP_SIZE")) {
                sizes[d.path] = max(size(d.path), try sum(num(2) ?? 0, num(3) ?? 0))
            }
        case "ftruncate", "ftruncate64":
            guard let d = description(0) else { return }
            let size = num(1) ?? 0
            record(.truncate, d, offset: size, length: 0)
            if ok {
                sizes[d.path] = size
                truncatedPaths.insert(d.path)
            }
        case "clone", "clone3", "fork", "vfork":
            // The parent's line carries the child's pid: the child starts with its descriptors.
            guard ok, let child = ret, child > 0 else { return }
            for (n, d) in table(pid) { setFD(Int(child), n, d) }
            if let c = cwd[pid] { cwd[Int(child)] = c }
        case "io_uring_setup", "io_uring_enter", "io_uring_register":
            invisible[name, default: 0] += 1
        case "mmap", "mmap2":
            // File-backed mappings (fd >= 0): their loads and stores are not system calls.
            if args.count > 4, let (n, path) = fd(4), n >= 0, path.map(wanted) ?? true {
                invisible["mmap", default: 0] += 1
            }
        default:
            skippedLines += 1
        }
    }

    // MARK: - Lexing helpers

    static func micros(_ s: Substring) -> Int64? {
        // Non-negative seconds (strace -ttt prints Unix time), small enough for µs in 63 bits.
        guard let dot = s.firstIndex(of: "."), let sec = Int64(s[..<dot]), sec >= 0,
              sec <= Int64.max / 1_000_000 - 1 else { return nil }
        let frac = s[s.index(after: dot)...]
        guard frac.count == 6, frac.allSatisfy({ $0.isASCII && $0.isNumber }), let us = Int64(frac) else { return nil }
        return sec * 1_000_000 + us
    }

    /// Splits call arguments at top-level commas (outside quotes, brackets and braces).
    static func splitArgs(_ s: Substring) -> [Substring] {
        var out: [Substring] = []
        var depth = 0
        var inQuote = false
        var escaped = false
        var start = s.startIndex
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if inQuote {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inQuote = false }
            } else {
                switch c {
                case "\"": inQuote = true
                case "[", "{", "(": depth += 1
                case "]", "}", ")": depth -= 1
                case "," where depth == 0:
                    out.append(trim(s[start..<i]))
                    start = s.index(after: i)
                default: break
                }
            }
            i = s.index(after: i)
        }
        let last = trim(s[start..<s.endIndex])
        if !last.isEmpty || !out.isEmpty { out.append(last) }
        return out
    }

    static func lastRange(of needle: String, in s: String) -> Range<String.Index>? {
        var found: Range<String.Index>? = nil
        var rest = s[...]
        while let r = rest.firstRange(of: needle) {
            found = r
            rest = s[r.upperBound...]
        }
        return found
    }

    static func trim(_ s: Substring) -> Substring {
        var t = s
        while t.first == " " { t = t.dropFirst() }
        while t.last == " " { t = t.dropLast() }
        return t
    }

    /// `4096`, `3</tmp/f>`, or `-1 ENOENT (No such file or directory)`, then ` <0.000010>`.
    static func parseReturn(_ tail: Substring) -> (Int64?, String?, Int64?) {
        let token = tail.prefix { $0 != " " }
        if token.hasPrefix("-1"), let sp = tail.firstIndex(of: " ") {
            let name = tail[tail.index(after: sp)...].prefix { $0 != " " }
            return (-1, nil, errnoNumbers[String(name)] ?? 5)
        }
        if let lt = token.firstIndex(of: "<"), token.hasSuffix(">") {
            return (Int64(token[..<lt]), String(token[token.index(after: lt)..<token.index(before: token.endIndex)]), nil)
        }
        if token.hasPrefix("0x") { return (Int64(token.dropFirst(2), radix: 16), nil, nil) }
        return (Int64(token), nil, nil)
    }

    /// The `<seconds>` duration at the end of the line, in ns.
    static func duration(_ tail: Substring) -> UInt64? {
        guard tail.hasSuffix(">"), let lt = tail.lastIndex(of: "<") else { return nil }
        let d = tail[tail.index(after: lt)..<tail.index(before: tail.endIndex)]
        guard let dot = d.firstIndex(of: "."), let s = UInt64(d[..<dot]), let us = UInt64(d[d.index(after: dot)...]) else { return nil }
        let digits = d.distance(from: d.index(after: dot), to: d.endIndex)
        // strace prints 6 digits; more than 9 would be finer than a ns, and a duration
        // past 2^64 ns (584 years) is not one strace measured: no duration then.
        guard digits <= 9, s <= UInt64.max / 1_000_000_000 else { return nil }
        var scale: UInt64 = 1_000_000_000
        for _ in 0..<digits { scale /= 10 }
        let (v, over) = (s * 1_000_000_000).addingReportingOverflow(us * scale)
        return over ? nil : v
    }

    /// Sum of `iov_len=N` in an iovec array argument; nil if it passes 2^64.
    static func iovTotal(_ s: Substring) -> UInt64? {
        var total: UInt64 = 0
        var rest = s
        while let r = rest.firstRange(of: "iov_len=") {
            let digits = rest[r.upperBound...].prefix { $0.isASCII && $0.isNumber }
            let (t, over) = total.addingReportingOverflow(UInt64(digits) ?? 0)
            if over { return nil }
            total = t
            rest = rest[r.upperBound...]
        }
        return total
    }

    static let errnoNumbers: [String: Int64] = [
        "EPERM": 1, "ENOENT": 2, "EINTR": 4, "EIO": 5, "ENXIO": 6, "E2BIG": 7, "EBADF": 9, "EAGAIN": 11,
        "ENOMEM": 12, "EACCES": 13, "EFAULT": 14, "EBUSY": 16, "EEXIST": 17, "EXDEV": 18, "ENODEV": 19,
        "ENOTDIR": 20, "EISDIR": 21, "EINVAL": 22, "ENFILE": 23, "EMFILE": 24, "ETXTBSY": 26, "EFBIG": 27,
        "ENOSPC": 28, "ESPIPE": 29, "EROFS": 30, "EPIPE": 32, "EDQUOT": 122, "EOPNOTSUPP": 95, "ENOSYS": 38,
        "ESTALE": 116, "ECANCELED": 125,
    ]
}
