import FioTrace

/// The reads of a verify pass: every extent the map knows an owner for, in offset order per
/// target, neighbours (and gaps of up to 4 KiB) joined into reads of at most `maxBytes`.
/// With `alignment` 4096 (O_DIRECT) reads are widened to 4 KiB boundaries; sectors no write
/// owns are read but not checked. Memory: one region's extents at a time.
struct VerifyReadSource: TraceSource {
    let map: WriterMap
    let files: [TraceFile]
    var metadata: [String: String] { [:] }
    let maxSectors: UInt64
    let alignSectors: UInt64
    private var target = 0
    private var regions: [UInt64] = []
    private var regionIndex = 0
    private var pending: (start: UInt64, end: UInt64)? = nil
    private var queue: [(UInt64, UInt64)] = []
    private var done = false

    init(map: WriterMap, targets: [String], maxBytes: Int, alignment: Int) {
        self.map = map
        files = targets.map { TraceFile(path: $0) }
        maxSectors = UInt64(max(512, maxBytes) / 512)
        alignSectors = UInt64(max(512, alignment) / 512)
        regions = map.regions(target: 0)
    }

    mutating func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        while batch.count < maxCount && !done {
            if regionIndex >= regions.count {
                if let p = pending { emit(p, into: &batch); pending = nil; continue }
                target += 1
                guard target < files.count else { done = true; break }
                regions = map.regions(target: target)
                regionIndex = 0
                continue
            }
            for (s, e, _) in map.extents(target: target, region: regions[regionIndex]) {
                add(s, e, into: &batch)
            }
            regionIndex += 1
        }
        return !batch.isEmpty
    }

    private mutating func add(_ s: UInt64, _ e: UInt64, into batch: inout [TraceRecord]) {
        var s = s
        while s < e {
            if var p = pending {
                if s <= p.end + 8 && e - p.start <= maxSectors {
                    p.end = e
                    pending = p
                    return
                }
                emit(p, into: &batch)
                pending = nil
            }
            let end = min(e, s + maxSectors)
            pending = (s, end)
            s = end
        }
    }

    private func emit(_ p: (start: UInt64, end: UInt64), into batch: inout [TraceRecord]) {
        let a = p.start / alignSectors * alignSectors
        let b = (p.end + alignSectors - 1) / alignSectors * alignSectors
        batch.append(TraceRecord(time: 0, op: .read, file: UInt32(target), offset: a * 512, length: (b - a) * 512))
    }
}

/// Reads back every extent whose last writer is known and checks it, at full queue depth
/// through the same engines and scheduler as a replay. The pass's own statistics (read
/// bandwidth and latency) come back as a replay result; the findings go to the verifier.
public struct VerifyPass {
    public var engine: EngineKind = .auto
    public var iodepth = 16
    public var direct = false
    /// Largest read (bytes).
    public var blockSize = 1 << 20
    /// Where each target of the state is read (default: the paths the run wrote).
    public var targets = TargetMapping()
    public var progress: ((ReplayProgress) -> Void)?
    public init() {}

    /// Runs the pass over `verifier`'s map. Targets are opened read-only.
    public func run(_ verifier: Verifier, afterCrash: Bool = false, note: (String) -> Void = { _ in }) throws -> ReplayResult {
        var o = ReplayOptions()
        o.timing = .none
        o.iodepth = iodepth
        o.direct = direct
        o.readOnly = true
        o.targets = targets
        o.blockSizeHint = blockSize
        o.verifier = verifier
        o.verifyPass = true
        o.verifyAfterCrash = afterCrash
        o.progress = progress
        let map = verifier.withMap { $0 }
        let names = verifier.targets
        let bs = blockSize, align = direct ? 4096 : 512
        verifier.notePass()
        return try Scheduler(options: o).run(engine: engine, note: note) {
            VerifyReadSource(map: map, targets: names, maxBytes: bs, alignment: align)
        }
    }
}

extension Verifier {
    /// A verifier over a saved state, to run the pass in another process.
    public convenience init(state: LoadedVerifyState, fatal: Bool = false) {
        var o = VerifyOptions()
        o.algorithm = state.content.algorithm
        o.interval = state.content.interval
        o.pattern = state.content.pattern
        o.run = state.content.run
        o.fatal = fatal
        self.init(content: state.content, options: o, map: state.map, targets: state.targets,
                  nextGeneration: state.nextGeneration)
        noteWrites(state.writes)
    }

    /// Starts writing the crash-safe state to `path` (before the run's first I/O).
    public func startState(path: String) throws {
        journal = try VerifyJournal(path: path, content: content)
        for (i, p) in targets.enumerated() { journal?.target(UInt32(i), path: p) }
    }

    /// Ends the state cleanly (after the run's last completion).
    public func finishState() throws {
        try journal?.finish()
        journal = nil
    }
}
