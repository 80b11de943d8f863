import FioTrace
import HeapModule

/// What one cheap pass over a trace tells the replay before it starts: the bytes needed per
/// file, the deepest recorded in-flight count, whether it writes, its duration. Memory: one
/// batch plus one entry per file.
public struct TracePrescan: Sendable {
    /// Trace file index -> end of the furthest I/O (bytes).
    public var extents: [UInt32: UInt64] = [:]
    /// Largest recorded depth (0 when the trace has none).
    public var maxDepth: UInt32 = 0
    /// Largest in-flight count the recorded latencies imply (I/Os whose issue..completion
    /// intervals overlap); 0 when the trace has no latencies.
    public var impliedDepth: UInt32 = 0
    /// The depth a replay should default to: recorded, else implied, else nil.
    public var suggestedDepth: Int? {
        if maxDepth > 0 { return Int(maxDepth) }
        if impliedDepth > 0 { return Int(impliedDepth) }
        return nil
    }
    /// Largest data length (bytes).
    public var maxLength: UInt64 = 0
    public var hasWrites = false
    public var hasLatencies = false
    public var records: UInt64 = 0
    /// Per stream id the trace's records carry: its largest recorded depth (0 without).
    public var streamDepth: [UInt32: UInt32] = [:]
    /// Data records without a stream.
    public var unstreamed: UInt64 = 0
    /// Time of the last record (ns since trace start).
    public var lastTime: UInt64 = 0

    public init() {}

    /// Scans `source` to its end.
    public static func scan(_ source: inout any TraceSource, batchSize: Int = 4096) throws -> TracePrescan {
        var p = TracePrescan()
        var batch: [TraceRecord] = []
        batch.reserveCapacity(batchSize)
        var ext: [UInt64] = []
        // Completion times of the I/Os in flight (bounded by the depth).
        var inFlight = Heap<UInt64>()
        while try source.nextBatch(&batch, maxCount: batchSize) {
            for r in batch {
                if r.op.isData {
                    let f = Int(r.file)
                    if f >= ext.count { ext += [UInt64](repeating: 0, count: f + 1 - ext.count) }
                    let end = r.offset &+ r.length
                    if end > ext[f] { ext[f] = end }
                    if r.length > p.maxLength { p.maxLength = r.length }
                    if r.op == .write { p.hasWrites = true }
                }
                if let d = r.depth, d > p.maxDepth { p.maxDepth = d }
                if r.stream == nil && !r.op.isFileEvent { p.unstreamed += 1 }
                if let st = r.stream, !r.op.isFileEvent {
                    let d = r.depth ?? 0
                    if let old = p.streamDepth[st] { if d > old { p.streamDepth[st] = d } } else { p.streamDepth[st] = d }
                }
                if let lat = r.latency, !r.op.isFileEvent {
                    p.hasLatencies = true
                    while let first = inFlight.min, first <= r.time { _ = inFlight.removeMin() }
                    inFlight.insert(r.time &+ lat)
                    if UInt32(inFlight.count) > p.impliedDepth { p.impliedDepth = UInt32(inFlight.count) }
                }
                p.lastTime = r.time
            }
            p.records += UInt64(batch.count)
        }
        for (i, e) in ext.enumerated() where e > 0 { p.extents[UInt32(i)] = e }
        return p
    }
}
