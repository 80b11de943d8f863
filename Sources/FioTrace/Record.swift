/// One I/O event of a trace: the unit every reader yields and every writer takes.
///
/// A small value type (no references), so traces of billions of records stream through
/// fixed-size batches without allocation per record.
public struct TraceRecord: Sendable, Equatable, Hashable {
    /// Intended issue time in nanoseconds since the trace's start.
    public var time: UInt64
    /// Byte offset in the file. For sync records read from a fio v3 iolog it is the
    /// previous I/O's offset, as fio writes it.
    public var offset: UInt64
    /// Length in bytes (64-bit; fio limits it to 32 bits, we do not).
    public var length: UInt64
    /// Completion latency in nanoseconds (issue to completion), when the trace has it.
    public var latency: UInt64?
    /// Completion result: bytes done, or a negative errno, when the trace has it.
    public var result: Int64?
    /// I/Os in flight at issue, counting this one (so an idle device gives 1).
    public var depth: UInt32?
    /// The thread, job or CPU the I/O came from, when known.
    public var stream: UInt32?
    /// Index into the trace's file table.
    public var file: UInt32
    public var op: TraceOp
    public var flags: TraceFlags

    public init(time: UInt64, op: TraceOp, file: UInt32, offset: UInt64 = 0, length: UInt64 = 0,
                latency: UInt64? = nil, result: Int64? = nil, depth: UInt32? = nil,
                stream: UInt32? = nil, flags: TraceFlags = []) {
        self.time = time
        self.offset = offset
        self.length = length
        self.latency = latency
        self.result = result
        self.depth = depth
        self.stream = stream
        self.file = file
        self.op = op
        self.flags = flags
    }
}

/// What a record does. Raw values are the on-disk codes of the native format; they
/// never change meaning (new ops take new codes).
public enum TraceOp: UInt8, Sendable, CaseIterable, Hashable {
    case read = 0
    case write = 1
    case trim = 2
    /// fsync(2).
    case sync = 3
    /// fdatasync(2).
    case datasync = 4
    /// sync_file_range(2) over offset/length.
    case syncFileRange = 5
    /// syncfs(2).
    case syncfs = 6
    /// fallocate(2) allocating offset/length (room for recorded programs).
    case fallocate = 7
    /// ftruncate(2) to `offset` bytes.
    case truncate = 11
    /// File events: the file enters the trace (fio `add`), is opened, is closed.
    case add = 8
    case open = 9
    case close = 10
    /// Namespace events, recorded programs only; fio's iolog has no words for them. The file
    /// appeared (renamed into the recorded paths from outside them; an open that made a file
    /// is an open record with the `created` flag), was renamed, or was unlinked.
    case create = 12
    /// The file is renamed to the path of file `offset` (a file index, not a byte offset).
    case rename = 13
    case unlink = 14

    /// The action word fio's iolog uses for this op.
    public var fioName: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .trim: "trim"
        case .sync: "sync"
        case .datasync: "datasync"
        case .syncFileRange: "sync_file_range"
        case .syncfs: "syncfs"
        case .fallocate: "fallocate"
        case .truncate: "truncate"
        case .add: "add"
        case .open: "open"
        case .close: "close"
        case .create: "create"
        case .rename: "rename"
        case .unlink: "unlink"
        }
    }

    /// Parses an iolog action word (also accepts `discard` for trim).
    public init?(fioName: some StringProtocol) {
        switch fioName {
        case "read": self = .read
        case "write": self = .write
        case "trim", "discard": self = .trim
        case "sync", "fsync": self = .sync
        case "datasync", "fdatasync": self = .datasync
        case "sync_file_range": self = .syncFileRange
        case "syncfs": self = .syncfs
        case "fallocate": self = .fallocate
        case "truncate", "ftruncate": self = .truncate
        case "add": self = .add
        case "open": self = .open
        case "close": self = .close
        case "create": self = .create
        case "rename": self = .rename
        case "unlink": self = .unlink
        default: return nil
        }
    }

    /// read, write or trim: the ops that move or discard data over offset/length.
    @inlinable public var isData: Bool { rawValue <= 2 }
    /// add, open, close, and the namespace events create, rename, unlink: replayed in
    /// order, not as I/O.
    @inlinable public var isFileEvent: Bool { rawValue >= 8 && rawValue <= 10 || rawValue >= 12 }
    /// create, rename, unlink: they change which files exist.
    @inlinable public var isNamespace: Bool { rawValue >= 12 }
    /// sync, datasync, sync_file_range, syncfs.
    @inlinable public var isSync: Bool { rawValue >= 3 && rawValue <= 6 }
}

/// Request flags carried by block traces and recorded runs.
public struct TraceFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Forced unit access: the write bypasses the device's volatile cache.
    public static let fua = TraceFlags(rawValue: 1 << 0)
    /// A cache flush is done before this request (REQ_PREFLUSH); a bare flush is a sync record.
    public static let preflush = TraceFlags(rawValue: 1 << 1)
    /// Issued with O_DIRECT.
    public static let direct = TraceFlags(rawValue: 1 << 2)
    /// Synchronous request (REQ_SYNC).
    public static let sync = TraceFlags(rawValue: 1 << 3)
    /// Filesystem metadata request (REQ_META).
    public static let meta = TraceFlags(rawValue: 1 << 4)
    /// On an open record: the open made the file (a recorded program's O_CREAT of a name
    /// that was not there). A replay makes it again if it is missing.
    public static let created = TraceFlags(rawValue: 1 << 5)

    public var names: [String] {
        var out: [String] = []
        if contains(.fua) { out.append("fua") }
        if contains(.preflush) { out.append("preflush") }
        if contains(.direct) { out.append("direct") }
        if contains(.sync) { out.append("sync") }
        if contains(.meta) { out.append("meta") }
        if contains(.created) { out.append("created") }
        return out
    }
}

/// A block device number, as `major:minor`.
public struct DeviceNumber: Sendable, Hashable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32
    public init(major: UInt32, minor: UInt32) { self.major = major; self.minor = minor }
    public var description: String { "\(major):\(minor)" }
}

/// One entry of a trace's file table.
public struct TraceFile: Sendable, Hashable {
    /// The path the trace names (may contain spaces; the native format keeps any bytes).
    public var path: String
    /// Size in bytes, when known.
    public var size: UInt64?
    /// Device number, when known (block traces).
    public var device: DeviceNumber?
    public init(path: String, size: UInt64? = nil, device: DeviceNumber? = nil) {
        self.path = path
        self.size = size
        self.device = device
    }
}

/// A file table built while reading a text format: paths get indexes in order of first
/// appearance. Lookup is a dictionary probe.
public struct FileTable: Sendable {
    public private(set) var files: [TraceFile] = []
    private var index: [String: UInt32] = [:]

    public init() {}

    /// The index of `path`, or nil when it has not been added.
    public func lookup(_ path: String) -> UInt32? { index[path] }

    /// The index of `path`, adding it at the end of the table when new.
    public mutating func id(for path: String) -> UInt32 {
        if let i = index[path] { return i }
        let i = UInt32(files.count)
        files.append(TraceFile(path: path))
        index[path] = i
        return i
    }
}
