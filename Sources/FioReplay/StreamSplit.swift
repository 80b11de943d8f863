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

/// Stream ids and in-flight caps of a trace whose records carry streams: from a `run`
/// recording's metadata ("iodepth.per-stream", stream i = job i), else from a pre-scan.
public func traceStreams(metadata: [String: String], prescan: TracePrescan?) -> [(id: UInt32, depth: Int?)] {
    if let s = metadata["iodepth.per-stream"] {
        let depths = s.split(separator: ",").compactMap { Int(String($0).trimmingWhitespace) }
        if depths.count > 1 { return depths.enumerated().map { (UInt32($0.offset), $0.element) } }
    }
    guard let p = prescan, p.streamDepth.count > 1 else { return [] }
    return p.streamDepth.keys.sorted().map { ($0, p.streamDepth[$0].map { $0 > 0 ? Int($0) : nil } ?? nil) }
}
