/// A stream of trace records from any format.
///
/// Readers hand out records in batches so that a trace of any length flows through a
/// buffer of fixed size: memory is bounded by the batch, never by the trace.
public protocol TraceSource {
    /// The file table known so far. It may grow while reading (an iolog `add`, a native
    /// block that defines new files), but every record handed out indexes a file that is
    /// already in it.
    var files: [TraceFile] { get }
    /// Metadata known so far (header metadata; a native trace adds its footer's at the end).
    var metadata: [String: String] { get }
    /// Replaces the contents of `batch` with up to `maxCount` next records, keeping the
    /// array's capacity. Returns false, with `batch` empty, at the end of the trace.
    mutating func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool
    /// Corrupt parts skipped so far (only readers asked to skip them have any), in order.
    var skipped: [TraceError] { get }
}

extension TraceSource {
    public var skipped: [TraceError] { [] }
}

/// What a non-blocking read of a source that decodes ahead on another thread found.
public enum BatchStatus: Sendable {
    /// `batch` holds the next records.
    case ready
    /// The trace has ended (`batch` is empty).
    case end
    /// Nothing decoded yet: poll again (the caller may do other work meanwhile).
    case pending
}

/// A source whose records are decoded on another thread. `pollBatch` never runs a decoder
/// on the caller's thread; with `waitNs` 0 it does not block at all, so a replay can go on
/// reaping completions while it waits for records.
public protocol PrefetchingSource: TraceSource {
    /// Takes the next decoded records, waiting at most `waitNs` for them.
    func pollBatch(_ batch: inout [TraceRecord], maxCount: Int, waitNs: UInt64) throws -> BatchStatus
}

/// A destination for trace records in any writable format. Sinks own an output file,
/// so they are reference types.
public protocol TraceSink: AnyObject {
    /// Appends `file` to the file table; its index is the table's previous count.
    func define(file: TraceFile) throws
    /// Appends records in order. Every record's file must be defined.
    func write(_ records: UnsafeBufferPointer<TraceRecord>) throws
    /// Adds metadata, writes what is buffered and the trailer, and closes the output.
    func finish(metadata: [String: String]) throws
    /// create/rename/unlink records the format cannot hold, left out (see `TraceOp.isNamespace`).
    var skippedNamespaceRecords: UInt64 { get }
}

extension TraceSink {
    public var skippedNamespaceRecords: UInt64 { 0 }

    /// Appends one record (convenience; batch writes are faster).
    public func write(_ record: TraceRecord) throws {
        var r = record
        try withUnsafePointer(to: &r) { try write(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    public func write(_ records: [TraceRecord]) throws {
        try records.withUnsafeBufferPointer { try write($0) }
    }
}

/// Copies a whole source into a sink, defining files as they appear. Memory: one batch.
/// Returns the number of records copied.
@discardableResult
public func copyTrace<S: TraceSource, K: TraceSink>(from source: inout S, to sink: K,
                                                     batchSize: Int = 65536) throws -> UInt64 {
    var batch: [TraceRecord] = []
    batch.reserveCapacity(batchSize)
    var defined = 0
    var count: UInt64 = 0
    while try source.nextBatch(&batch, maxCount: batchSize) {
        let files = source.files
        while defined < files.count {
            try sink.define(file: files[defined])
            defined += 1
        }
        try batch.withUnsafeBufferPointer { try sink.write($0) }
        count += UInt64(batch.count)
    }
    let files = source.files
    while defined < files.count {
        try sink.define(file: files[defined])
        defined += 1
    }
    return count
}

/// Record filters shared by `cat` and `convert`: a time window, a set of ops and files.
public struct TraceFilter: Sendable {
    /// Keep records with time >= `from` (ns since start).
    public var from: UInt64?
    /// Keep records with time < `to` (ns since start).
    public var to: UInt64?
    /// Keep only these ops (file events are always kept so files stay added/opened).
    public var ops: Set<TraceOp>?
    /// Keep only records on files whose path equals one of these, or whose index is one.
    public var files: [String]?

    public init(from: UInt64? = nil, to: UInt64? = nil, ops: Set<TraceOp>? = nil, files: [String]? = nil) {
        self.from = from
        self.to = to
        self.ops = ops
        self.files = files
    }

    public func accepts(_ r: TraceRecord, files table: [TraceFile]) -> Bool {
        if let names = files {
            let idx = Int(r.file)
            let path = idx < table.count ? table[idx].path : ""
            if !names.contains(where: { $0 == path || $0 == String(idx) }) { return false }
        }
        if r.op.isFileEvent { return true }
        if let from, r.time < from { return false }
        if let to, r.time >= to { return false }
        if let ops, !ops.contains(r.op) { return false }
        return true
    }
}
