import FioTrace
import HeapModule

/// Merges the recordings of several shards into one trace in time order: a k-way merge over
/// the inputs' streams (one batch per input in memory, whatever their lengths).
///
/// - Time: each input's times count from its own start; a shard's recording carries the
///   wall-clock instant of its time 0 (`epochKey`), and every input is placed on that clock
///   (the earliest epoch is the merged trace's time 0). Without it on every input, all
///   start at 0 and the result says so.
/// - Files: one table; a path named by several inputs is one file (range shards of one
///   volume), other files stay apart.
/// - Streams: every (input, stream) pair becomes its own stream (records without a stream
///   take one per input), so the merged trace replays one thread per shard's stream.
public struct RecordingMerge {
    /// Metadata key of a recording: CLOCK_REALTIME ns of its time 0.
    public static let epochKey = "clock.epoch_realtime_ns"

    public struct Result {
        public var records: UInt64 = 0
        /// Records that came earlier than the one before them in their own input.
        public var outOfOrder: UInt64 = 0
        public var notes: [String] = []
    }

    struct Head: Comparable {
        var time: UInt64
        var input: Int
        static func < (a: Head, b: Head) -> Bool { a.time != b.time ? a.time < b.time : a.input < b.input }
    }

    /// Merges `sources` (named `names` in messages) into `sink` and finishes it.
    public static func merge(_ sources: [any TraceSource], names: [String], into sink: any TraceSink) throws -> Result {
        var inputs = sources
        var result = Result()
        let epochs = inputs.map { $0.metadata[epochKey].flatMap { UInt64($0) } }
        var shift = [UInt64](repeating: 0, count: inputs.count)
        if epochs.allSatisfy({ $0 != nil }), let base = epochs.compactMap({ $0 }).min() {
            shift = epochs.map { $0! - base }
        } else if inputs.count > 1 {
            let missing = zip(names, epochs).filter { $0.1 == nil }.map(\.0)
            result.notes.append("no wall-clock start in \(missing.joined(separator: ", ")) (not a recording of a replay with --shard or --start-at): every input starts at time 0")
        }
        var batches = [[TraceRecord]](repeating: [], count: inputs.count)
        var pos = [Int](repeating: 0, count: inputs.count)
        var last = [UInt64](repeating: 0, count: inputs.count)
        var fileMap = [[UInt32]](repeating: [], count: inputs.count)
        var merged: [String: UInt32] = [:]
        var table = 0
        var streamIds: [UInt64: UInt32] = [:]
        var streamList: [(id: UInt32, input: Int, stream: UInt32?)] = []
        var heap = Heap<Head>()

        func refill(_ k: Int) throws -> Bool {
            pos[k] = 0
            do {
                return try inputs[k].nextBatch(&batches[k], maxCount: 4096) && !batches[k].isEmpty
            } catch {
                throw MergeError("\(names[k]): \(error)")
            }
        }
        for k in inputs.indices where try refill(k) {
            heap.insert(Head(time: batches[k][0].time &+ shift[k], input: k))
        }
        var out: [TraceRecord] = []
        out.reserveCapacity(16384)
        while let h = heap.popMin() {
            let k = h.input
            var r = batches[k][pos[k]]
            if r.time < last[k] { result.outOfOrder += 1 }
            last[k] = r.time
            // Files: this input's index -> the merged table's (by path).
            let files = inputs[k].files
            while fileMap[k].count < files.count {
                let f = files[fileMap[k].count]
                if let m = merged[f.path] {
                    fileMap[k].append(m)
                } else {
                    try sink.define(file: f)
                    merged[f.path] = UInt32(table)
                    fileMap[k].append(UInt32(table))
                    table += 1
                }
            }
            guard Int(r.file) < fileMap[k].count else {
                throw MergeError("\(names[k]): a record names file \(r.file), which the trace never defined")
            }
            r.file = fileMap[k][Int(r.file)]
            if r.op == .rename {
                // The new name is a file index too.
                guard r.offset < UInt64(fileMap[k].count) else {
                    throw MergeError("\(names[k]): a rename names file \(r.offset), which the trace never defined")
                }
                r.offset = UInt64(fileMap[k][Int(r.offset)])
            }
            let key = UInt64(k) << 33 | (r.stream.map { UInt64($0) | 1 << 32 } ?? 0)
            if let id = streamIds[key] {
                r.stream = id
            } else {
                let id = UInt32(streamList.count)
                streamIds[key] = id
                streamList.append((id, k, r.stream))
                r.stream = id
            }
            r.time = r.time &+ shift[k]
            out.append(r)
            if out.count == out.capacity {
                try sink.write(out)
                result.records += UInt64(out.count)
                out.removeAll(keepingCapacity: true)
            }
            pos[k] += 1
            let more = try pos[k] < batches[k].count || refill(k)
            if more {
                heap.insert(Head(time: batches[k][pos[k]].time &+ shift[k], input: k))
            }
        }
        try sink.write(out)
        result.records += UInt64(out.count)
        // Files defined only in a table (no record names them) are kept too.
        for k in inputs.indices {
            for f in inputs[k].files where merged[f.path] == nil {
                try sink.define(file: f)
                merged[f.path] = UInt32(table)
                table += 1
            }
        }
        var meta: [String: String] = [
            "recorder": "fio-replay merge",
            "merge.inputs": names.joined(separator: ","),
            MetadataKey.timeUnit: inputs.first?.metadata[MetadataKey.timeUnit] ?? "ns",
        ]
        if let base = epochs.compactMap({ $0 }).min(), epochs.allSatisfy({ $0 != nil }) { meta[epochKey] = String(base) }
        if streamList.count > 1 {
            // Each merged stream keeps its input's in-flight cap (its own per-stream cap when
            // the input had several streams).
            func depth(_ s: (id: UInt32, input: Int, stream: UInt32?)) -> Int {
                let m = inputs[s.input].metadata
                let ids = (m[MetadataKey.streams] ?? "").split(separator: ",").map { String($0) }
                let depths = (m[MetadataKey.iodepthPerStream] ?? "").split(separator: ",").compactMap { Int($0) }
                if let st = s.stream, let i = ids.firstIndex(of: String(st)), i < depths.count { return depths[i] }
                return m[MetadataKey.iodepth].flatMap { Int($0) } ?? 1
            }
            meta[MetadataKey.streams] = streamList.map { String($0.id) }.joined(separator: ",")
            meta[MetadataKey.iodepthPerStream] = streamList.map { String(depth($0)) }.joined(separator: ",")
            meta[MetadataKey.iodepth] = String(streamList.reduce(0) { $0 + depth($1) })
        } else if let d = inputs.first?.metadata[MetadataKey.iodepth] {
            meta[MetadataKey.iodepth] = d
        }
        if result.outOfOrder > 0 {
            result.notes.append("\(result.outOfOrder) records came earlier than the record before them in their own input: the merge kept each input's order")
        }
        try sink.finish(metadata: meta)
        return result
    }
}
