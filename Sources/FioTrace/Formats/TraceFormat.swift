#if canImport(Glibc)
import Glibc
#endif

/// The trace formats we read and write, and opening any of them by path.
public enum TraceFormat: String, CaseIterable, Sendable {
    /// Our native, compressed, checksummed, seekable binary format.
    case fiot
    /// fio iolog version 2 (no timestamps; `wait` lines in ms).
    case iolog2
    /// fio iolog version 3 (µs timestamps).
    case iolog3
    /// blktrace binary, per-CPU files or a `blkparse -d` dump (read only).
    case blktrace
    /// btrecord's bunch files `DEV.replay.N` (what btreplay replays; read only).
    case btrecord
    /// Public text traces (read only; see `PublicTraceFormat` for columns and units).
    case msr, alibaba, tencent, spc, systor, disksim, mqsim, fiu, blkreplay, hfplayer
    /// Our plain CSV with every record field (read and write).
    case csv

    public var isWritable: Bool { [.fiot, .iolog2, .iolog3, .csv].contains(self) }

    /// Every format's name, comma separated: for help texts and messages.
    public static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
    /// The writable formats' names, comma separated.
    public static var writableNames: String { allCases.filter(\.isWritable).map(\.rawValue).joined(separator: ", ") }

    /// The public text format this names, if it is one.
    public var publicFormat: PublicTraceFormat? { PublicTraceFormat(rawValue: rawValue) }

    /// Accepts a few spellings users type (`v3`, `iolog`, `fio`).
    public init?(userName: String) {
        switch userName.lowercased() {
        case "fiot", "native": self = .fiot
        case "iolog2", "v2", "iolog-v2": self = .iolog2
        case "iolog3", "v3", "iolog", "iolog-v3", "fio": self = .iolog3
        case "blktrace", "blk": self = .blktrace
        case "snia", "iotta": self = .msr
        case "umass", "spc1": self = .spc
        case "btreplay", "replay": self = .btrecord
        case "systor17", "systor'17": self = .systor
        default:
            guard let f = TraceFormat(rawValue: userName.lowercased()) else { return nil }
            self = f
        }
    }

    /// The format a path's name suggests for writing (`.fiot`, `.iolog`/`.log` = v3,
    /// `.v2`/`.iolog2` = v2), ignoring a `.gz`/`.zst` suffix; nil when it says nothing.
    public static func guess(fromName path: String) -> TraceFormat? {
        var name = path.lowercased()
        for z in [".gz", ".zst"] where name.hasSuffix(z) { name.removeLast(z.count) }
        if name.hasSuffix(".fiot") { return .fiot }
        if name.hasSuffix(".v2") || name.hasSuffix(".iolog2") || name.hasSuffix(".iolog.v2") { return .iolog2 }
        if name.hasSuffix(".iolog") || name.hasSuffix(".log") || name.hasSuffix(".v3") || name.hasSuffix(".iolog3") { return .iolog3 }
        if name.contains(".blktrace.") || name.hasSuffix(".blktrace") { return .blktrace }
        if BtrecordReader.parseName(BlktraceReader.splitPath(name).1) != nil { return .btrecord }
        if name.hasSuffix(".csv") { return .csv }
        return nil
    }

    /// The format the first bytes of a (decompressed) stream show, or nil.
    public static func sniff(_ b: UnsafeRawBufferPointer) -> TraceFormat? {
        if b.count >= 8 && Array(b.prefix(8)) == FiotLayout.magic { return .fiot }
        let v2 = Array("fio version 2 iolog".utf8), v3 = Array("fio version 3 iolog".utf8)
        if b.count >= v2.count && Array(b.prefix(v2.count)) == v2 { return .iolog2 }
        if b.count >= v3.count && Array(b.prefix(v3.count)) == v3 { return .iolog3 }
        if BlktraceReader.sniff(b) { return .blktrace }
        if BtrecordReader.sniff(b) { return .btrecord }
        return nil
    }
}

/// How to open a trace.
public struct TraceOpenOptions: Sendable {
    /// Force a format instead of detecting it.
    public var format: TraceFormat?
    /// Native traces: report and skip bad blocks instead of stopping.
    public var skipBadBlocks = false
    /// blktrace: which events become records (Q = arrival, D = issue).
    public var blktraceDispatch = false
    /// blktrace: what a record's stream holds (the CPU, or the pid of its event).
    public var blktraceStreams: BlktraceStreamKey = .cpu
    public init(format: TraceFormat? = nil, skipBadBlocks: Bool = false, blktraceDispatch: Bool = false,
                blktraceStreams: BlktraceStreamKey = .cpu) {
        self.format = format
        self.skipBadBlocks = skipBadBlocks
        self.blktraceDispatch = blktraceDispatch
        self.blktraceStreams = blktraceStreams
    }
}

/// Detects the format of `path` (`-`: stdin) from its content (after transparent gzip or
/// zstd), falling back to its name, and opens a streaming reader.
public func openTraceSource(path: String, options: TraceOpenOptions = TraceOpenOptions()) throws -> any TraceSource {
    let events: BlktraceEventKind = options.blktraceDispatch ? .dispatch : .queue
    // blkparse-style device name: `x/sda` stands for `x/sda.blktrace.*`.
    if path != "-" && access(path, F_OK) != 0 && access(path + ".blktrace.0", F_OK) == 0 {
        return try BlktraceReader.open(path: path, events: events, streams: options.blktraceStreams)
    }
    let input = try TraceInput(path: path)
    _ = try input.ensure(48)
    if input.available == 0 {
        throw TraceError(.unknownFormat, "\(input.name): the file is empty, not a trace")
    }
    let detected = TraceFormat.sniff(input.bytes) ?? PublicTraceReader.detect(input).flatMap { TraceFormat(rawValue: $0.rawValue) }
    let format: TraceFormat
    if let forced = options.format {
        format = forced
    } else if let d = detected {
        format = d
    } else if let g = TraceFormat.guess(fromName: path), g != .blktrace, g != .btrecord, g != .csv {
        format = g
    } else {
        let shown = input.bytes.prefix(16).map { b in (32..<127).contains(b) ? String(UnicodeScalar(b)) : "." }.joined()
        throw TraceError(.unknownFormat, "\(input.name): unknown trace format (starts with \"\(shown)\")", remedy: .nameTheFormat)
    }
    switch format {
    case .fiot:
        return try FiotReader(input: input, skipBadBlocks: options.skipBadBlocks)
    case .iolog2, .iolog3:
        let r = try IologReader(input: input)
        if options.format != nil && r.version != (format == .iolog2 ? 2 : 3) {
            throw TraceError(.unknownFormat, "\(input.name): the format given is \(format.rawValue), but the file is a v\(r.version) iolog")
        }
        return r
    case .blktrace:
        // A named file brings in its per-CPU siblings; stdin is read as one (already sniffed) stream.
        if path == "-" { return try BlktraceReader(inputs: [input], events: events, streams: options.blktraceStreams) }
        return try BlktraceReader.open(path: path, events: events, streams: options.blktraceStreams)
    case .btrecord:
        // A named file brings in its per-CPU siblings; stdin is read as one stream.
        if path == "-" { return try BtrecordReader(inputs: [input]) }
        return try BtrecordReader.open(path: path)
    case .msr, .alibaba, .tencent, .spc, .systor, .disksim, .mqsim, .fiu, .blkreplay, .hfplayer, .csv:
        return PublicTraceReader(input: input, format: format.publicFormat!)
    }
}

/// Opens a sink for `path` in `format` (or the one its name suggests; `.fiot` otherwise).
/// `fileID`: a `.fiot`'s identity when the output must be reproducible (random when nil).
public func openTraceSink(path: String, format: TraceFormat? = nil, files: [TraceFile] = [],
                          metadata: [String: String] = [:], fileID: UInt64? = nil) throws -> any TraceSink {
    let f = format ?? TraceFormat.guess(fromName: path) ?? .fiot
    switch f {
    case .fiot:
        let w = try FiotWriter(path: path, files: [], metadata: metadata, options: .init(fileID: fileID))
        for file in files { try w.define(file: file) }
        return w
    case .iolog2, .iolog3:
        let w = try IologWriter(path: path, version: f == .iolog2 ? 2 : 3)
        for file in files { try w.define(file: file) }
        return w
    case .csv:
        let w = try CSVTraceWriter(path: path)
        for file in files { try w.define(file: file) }
        return w
    case .blktrace, .btrecord, .msr, .alibaba, .tencent, .spc, .systor, .disksim, .mqsim, .fiu, .blkreplay, .hfplayer:
        throw TraceError(.unsupported, "\(path): writing \(f.rawValue) is not supported; write \(TraceFormat.writableNames)")
    }
}
