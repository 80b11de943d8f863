import FioTrace

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
        // Completion times of the I/Os in flight, as a min-heap (bounded by the depth).
        var heap: [UInt64] = []
        func push(_ v: UInt64) {
            heap.append(v)
            var i = heap.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                if heap[p] <= heap[i] { break }
                heap.swapAt(p, i)
                i = p
            }
        }
        func pop() {
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && heap[l] < heap[m] { m = l }
                if r < heap.count && heap[r] < heap[m] { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
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
                    while let first = heap.first, first <= r.time { _ = first; pop() }
                    push(r.time &+ lat)
                    if UInt32(heap.count) > p.impliedDepth { p.impliedDepth = UInt32(heap.count) }
                }
                p.lastTime = r.time
            }
            p.records += UInt64(batch.count)
        }
        for (i, e) in ext.enumerated() where e > 0 { p.extents[UInt32(i)] = e }
        return p
    }
}
