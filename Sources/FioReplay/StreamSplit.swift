import FioTrace

/// One stream of a multi-stream trace (records whose `stream` is `id`; file events pass
/// through so every stream sees the files added, opened and closed). A replay runs one
/// scheduler per stream on its own thread, each over its own pass of the trace, so memory
/// stays one batch per stream.
public struct StreamFilterSource: TraceSource {
    public var base: any TraceSource
    public let id: UInt32
    private var scratch: [TraceRecord] = []

    public init(_ base: any TraceSource, stream id: UInt32) {
        self.base = base
        self.id = id
    }

    public var files: [TraceFile] { base.files }
    public var metadata: [String: String] { base.metadata }

    public mutating func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        while batch.isEmpty {
            guard try base.nextBatch(&scratch, maxCount: maxCount) else { return false }
            for r in scratch where r.stream == id || r.op.isFileEvent { batch.append(r) }
        }
        return true
    }
}

/// Stream ids and in-flight caps of a trace whose records carry streams: from a recording's
/// metadata ("streams" ids and "iodepth.per-stream" caps, in the same order; a `run`
/// recording without "streams" numbers them 0...), else from a pre-scan. Empty when there
/// is one stream, or when some records carry no stream (they would belong to none).
public func traceStreams(metadata: [String: String], prescan: TracePrescan?) -> [(id: UInt32, depth: Int?)] {
    func list(_ key: String) -> [Int] {
        (metadata[key] ?? "").split(separator: ",").compactMap { Int(String($0).trimmingWhitespace) }
    }
    let depths = list("iodepth.per-stream")
    if depths.count > 1 {
        let ids = list("streams")
        if ids.count == depths.count { return zip(ids, depths).map { (UInt32($0), $1) } }
        if ids.isEmpty { return depths.enumerated().map { (UInt32($0.offset), $0.element) } }
    }
    guard let p = prescan, p.streamDepth.count > 1, p.unstreamed == 0 else { return [] }
    return p.streamDepth.keys.sorted().map { ($0, p.streamDepth[$0].map { $0 > 0 ? Int($0) : nil } ?? nil) }
}
