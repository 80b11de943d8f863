import FioTrace

/// The records of one shard of a trace (`ShardPlan`), times unchanged, so that shards
/// started at one instant keep the trace's schedule between them.
///
/// - By volume: only the shard's files, renumbered in trace order (the file table holds only
///   them, so no target is opened or created for another shard's volume); their file events
///   and syncs come with them.
/// - By range: every file; data I/Os are cut at the range boundaries and the pieces this
///   shard owns are kept (an I/O across a boundary becomes one piece per owner: `splits`
///   counts the extra pieces). Syncs and file events go to every shard: each shard's writes
///   need their own flush.
public struct ShardFilterSource: TraceSource {
    public var base: any TraceSource
    public let plan: ShardPlan
    private var scratch: [TraceRecord] = []
    private var own: [TraceFile] = []
    /// Trace file index -> this shard's index (-1: another shard's).
    private var renumber: [Int32] = []
    /// Extra pieces made by cutting I/Os at range boundaries (this shard's pieces only).
    public private(set) var splits: UInt64 = 0

    public init(_ base: any TraceSource, plan: ShardPlan) {
        self.base = base
        self.plan = plan
        syncTable(plan.files)
    }

    public var files: [TraceFile] { own }
    public var metadata: [String: String] { base.metadata }

    private mutating func syncTable(_ known: [TraceFile]? = nil) {
        // The plan read the whole table; a source's own grows as its blocks define files.
        let table = (known?.count ?? 0) > base.files.count ? known! : base.files
        while renumber.count < table.count {
            let i = renumber.count
            if plan.owns(file: i) {
                renumber.append(Int32(own.count))
                own.append(table[i])
            } else {
                renumber.append(-1)
            }
        }
    }

    public mutating func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        let me = plan.spec.index
        let byRange = plan.spec.unit == .range
        while batch.isEmpty {
            guard try base.nextBatch(&scratch, maxCount: maxCount) else { return false }
            syncTable()
            for var r in scratch {
                let f = Int(r.file)
                guard f < renumber.count else {
                    // A file the trace never defined: passed on for the replay to report.
                    r.file = UInt32(own.count) &+ UInt32(truncatingIfNeeded: f)
                    batch.append(r)
                    continue
                }
                guard renumber[f] >= 0 else { continue }
                r.file = UInt32(renumber[f])
                guard byRange && r.op.isData && r.length > 0 else {
                    batch.append(r)
                    continue
                }
                // Cut at the boundaries; keep this shard's pieces.
                let b = plan.bounds[f]
                var off = r.offset
                let end = r.offset &+ r.length < r.offset ? UInt64.max : r.offset &+ r.length
                var k = plan.shardOf(file: f, offset: off)
                var pieces = 0
                while off < end {
                    let stop = min(end, b[k + 1])
                    if k == me {
                        var p = r
                        p.offset = off
                        p.length = stop - off
                        if p.length != r.length { p.result = nil }
                        batch.append(p)
                        pieces += 1
                    }
                    off = stop
                    k += 1
                    if k >= plan.spec.count { break }
                }
                if pieces > 1 { splits &+= UInt64(pieces - 1) }
                // The first piece of an I/O another shard starts counts as a split here.
                if pieces > 0 && plan.shardOf(file: f, offset: r.offset) != me { splits &+= 1 }
            }
        }
        return true
    }
}
