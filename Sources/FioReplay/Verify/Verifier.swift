import FioTrace
import Foundation

/// What verify needs to know at the start of a run.
public struct VerifyOptions: Sendable {
    public var algorithm: VerifyAlgorithm = .crc32c
    /// Bytes between chunk headers (fio's `verify_interval`): a power of two, 512...1 MiB.
    public var interval = 512
    /// `verify_pattern` for `.pattern`.
    public var pattern: DataPattern?
    /// Stop the run at the first bad read (fio's `verify_fatal`).
    public var fatal = false
    /// Run id written into every header; random when nil.
    public var run: UInt64?
    public init() {}
}

/// The verify state of one run, shared by its streams: the write generations, the writes in
/// flight, the last-writer map, the journal, and the results. The streams' `VerifyTap`s
/// call it at submit and completion (under a lock when several streams share it).
///
/// Generations: every write gets the next number at submit. A write completes into the
/// map as the owner of its sectors; writes that overlap while in flight together own their
/// sectors as a range (either may be there). A failed write leaves its sectors to "what was
/// there, or this write". Reads are checked at completion unless a write to the same
/// sectors was in flight meanwhile (then either version is right: ambiguous).
public final class Verifier: @unchecked Sendable {
    let content: VerifyContent
    public let options: VerifyOptions
    /// The run id written into every header.
    public var run: UInt64 { content.run }
    private var map = WriterMap()
    private var nextGeneration: UInt64 = 1
    private var inflight: [InFlightWrite] = []
    private var freeSlots: [Int] = []
    private var active = 0
    private var targetPaths: [String] = []
    private var targetIDs: [String: UInt32] = [:]
    private let lock: NSLock?
    private var resultsStore: VerifyResults
    /// The crash-safe state being written (`--verify-state`), if any.
    var journal: VerifyJournal?
    /// A bad read was found (for `verify_fatal`).
    public private(set) var sawBad = false

    struct InFlightWrite {
        var target: UInt32
        var start: UInt64
        var end: UInt64
        var generation: UInt64
        var lo: UInt64
        var hi: UInt64
        var active: Bool
        var verifiable: Bool
    }

    public init(options: VerifyOptions, concurrent: Bool = false) {
        self.options = options
        var rng = SystemRandomNumberGenerator()
        content = VerifyContent(run: options.run ?? (rng.next() | 1), algorithm: options.algorithm,
                                interval: max(VerifyFormat.sector, min(VerifyFormat.maxInterval, options.interval)),
                                pattern: options.pattern)
        lock = concurrent ? NSLock() : nil
        resultsStore = VerifyResults(algorithm: options.algorithm, interval: content.interval)
        inflight.reserveCapacity(64)
    }

    /// A verifier over a map loaded from a saved state (for the read-back pass).
    init(content: VerifyContent, options: VerifyOptions, map: WriterMap, targets: [String], nextGeneration: UInt64) {
        self.content = content
        self.options = options
        self.map = map
        self.nextGeneration = nextGeneration
        targetPaths = targets
        for (i, p) in targets.enumerated() { targetIDs[p] = UInt32(i) }
        lock = nil
        resultsStore = VerifyResults(algorithm: content.algorithm, interval: content.interval)
    }

    @inline(__always) private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock?.lock()
        defer { lock?.unlock() }
        return try body()
    }

    /// The results so far (with the map's current size).
    public var results: VerifyResults {
        locked {
            var r = resultsStore
            r.mapBytes = map.memoryBytes
            r.mapExtents = map.extentCount
            return r
        }
    }
    public var targets: [String] { locked { targetPaths } }
    func withMap<T>(_ body: (WriterMap) throws -> T) rethrows -> T { try locked { try body(map) } }

    /// The verifier's id for the target at `path` (assigned on first sight).
    public func targetID(path: String) -> UInt32 {
        locked {
            if let id = targetIDs[path] { return id }
            let id = UInt32(targetPaths.count)
            targetPaths.append(path)
            targetIDs[path] = id
            journal?.target(id, path: path)
            return id
        }
    }

    // MARK: writes

    /// A write of `length` bytes at `offset` is about to be submitted: fills `buffer` with
    /// self-describing data (sector-aligned writes) and returns its in-flight index and
    /// generation.
    func beginWrite(target: UInt32, offset: UInt64, length: UInt64, buffer: UnsafeMutableRawPointer) -> (index: Int, generation: UInt64) {
        let aligned = offset % 512 == 0 && length % 512 == 0 && length > 0
        let (index, gen) = locked { () -> (Int, UInt64) in
            let gen = nextGeneration
            nextGeneration += 1
            let start = offset / 512, end = (offset + length + 511) / 512
            var w = InFlightWrite(target: target, start: start, end: end, generation: gen, lo: gen, hi: gen, active: true, verifiable: aligned)
            if active > 0 {
                for k in inflight.indices where inflight[k].active && inflight[k].target == target
                    && inflight[k].start < end && start < inflight[k].end {
                    w.lo = min(w.lo, inflight[k].generation)
                    inflight[k].hi = max(inflight[k].hi, gen)
                }
            }
            let index: Int
            if let f = freeSlots.popLast() { inflight[f] = w; index = f } else { inflight.append(w); index = inflight.count - 1 }
            active += 1
            journal?.intent(target: target, start: start, sectors: end - start, generation: gen)
            return (index, gen)
        }
        if aligned {
            content.fillWrite(buffer, offset: offset, length: Int(length), generation: gen, target: target)
        } else {
            // Not verifiable (its sectors go unchecked), but it still carries real data, never
            // what the slot's last read left.
            var at = 0
            let n = Int(length)
            withUnsafeTemporaryAllocation(byteCount: VerifyFormat.sector, alignment: 8) { tmp in
                while at < n {
                    content.payload(tmp.baseAddress!, offset: offset + UInt64(at), generation: gen, target: target)
                    (buffer + at).copyMemory(from: tmp.baseAddress!, byteCount: min(VerifyFormat.sector, n - at))
                    at += VerifyFormat.sector
                }
            }
        }
        return (index, gen)
    }

    /// The write at `index` completed with `result` (bytes, or -errno).
    func endWrite(index: Int, result: Int64, length: UInt64) {
        locked {
            let w = inflight[index]
            inflight[index].active = false
            freeSlots.append(index)
            active -= 1
            let ok = result >= 0 && UInt64(result) == length
            journal?.completion(generation: w.generation, ok: ok)
            resultsStore.writes += 1
            if !w.verifiable {
                resultsStore.writesUnaligned += 1
                map.set(target: Int(w.target), start: w.start, end: w.end, owner: nil)
                return
            }
            if ok {
                map.set(target: Int(w.target), start: w.start, end: w.end,
                        owner: w.lo == w.hi ? .generation(w.generation) : .range(lo: w.lo, hi: w.hi))
                return
            }
            // Failed: each sector holds what was there, or (part of) this write.
            resultsStore.writesFailed += 1
            Self.widen(&map, target: Int(w.target), start: w.start, end: w.end, with: w.generation)
        }
    }

    /// Owned extents of `start..<end` become "their owner, or generation g"; unowned ones
    /// stay unowned (what they held is unknown anyway).
    static func widen(_ map: inout WriterMap, target: Int, start: UInt64, end: UInt64, with g: UInt64) {
        var parts: [(UInt64, UInt64, WriterMap.Owner)] = []
        map.forEach(target: target, start: start, end: end) { s, e, o in parts.append((s, e, o)) }
        for (s, e, o) in parts {
            map.set(target: target, start: s, end: e, owner: .range(lo: min(o.lo, g), hi: max(o.hi, g)))
        }
    }

    /// The write at `index` never reached the device (the engine refused it).
    func cancelWrite(index: Int) {
        locked {
            inflight[index].active = false
            freeSlots.append(index)
            active -= 1
            journal?.completion(generation: inflight[index].generation, ok: false)
        }
    }

    /// A trim (punch hole or discard) of the range: what it reads back as is the device's
    /// business, so the range is no longer checked.
    func trimmed(target: UInt32, offset: UInt64, length: UInt64) {
        locked {
            let start = offset / 512, end = (offset + length + 511) / 512
            map.set(target: Int(target), start: start, end: end, owner: nil)
            journal?.trim(target: target, start: start, sectors: end - start)
        }
    }

    /// A sync of `target` was issued / completed (durability points for a crash verify).
    func syncIssued(target: UInt32) -> UInt64 { locked { journal?.syncIssued(target: target) ?? 0 } }
    func syncCompleted(target: UInt32, ticket: UInt64, ok: Bool) { locked { if ok { journal?.syncCompleted(target: target, ticket: ticket) } } }

    // MARK: reads

    /// Bit 63 of a read's tag: a write to its sectors was in flight when it was issued.
    static let racedBit: UInt64 = 1 << 63

    /// A read is about to be submitted: its tag (the generations issued before it, and
    /// whether it races a write in flight).
    func beginRead(target: UInt32, offset: UInt64, length: UInt64) -> UInt64 {
        locked {
            var tag = nextGeneration
            if active > 0 && overlapsInFlight(target: target, offset: offset, length: length) { tag |= Self.racedBit }
            return tag
        }
    }

    private func overlapsInFlight(target: UInt32, offset: UInt64, length: UInt64) -> Bool {
        let start = offset / 512, end = (offset + length + 511) / 512
        for w in inflight where w.active && w.target == target && w.start < end && start < w.end { return true }
        return false
    }

    /// A read completed with `result`: checks the whole sectors it returned. `owned` is the
    /// caller's scratch array (kept to avoid an allocation per read).
    func endRead(target: UInt32, offset: UInt64, length: UInt64, buffer: UnsafeRawPointer, result: Int64, tag: UInt64,
                 checker: SectorChecker, owned: inout [(UInt64, UInt64, WriterMap.Owner)], pass: Bool) {
        guard result > 0 else { return }
        let end = offset + UInt64(result)
        let first = (offset + 511) / 512, last = end / 512
        guard last > first else { return }
        let count = Int(last - first)
        var ambiguous: UInt64 = 0
        owned.removeAll(keepingCapacity: true)
        locked {
            if tag & Self.racedBit != 0 || (active > 0 && overlapsInFlight(target: target, offset: offset, length: UInt64(result))) {
                ambiguous = UInt64(count)
                return
            }
            let issuedBefore = tag & ~Self.racedBit
            map.forEach(target: Int(target), start: first, end: last) { s, e, o in
                // Written by a write issued after this read: it raced the read.
                if o.hi >= issuedBefore { ambiguous += e - s } else { owned.append((s, e, o)) }
            }
        }
        var counts = VerifyCounts()
        var bad: [VerifyBadRange] = []
        let name = locked { Int(target) < targetPaths.count ? targetPaths[Int(target)] : "target \(target)" }
        if ambiguous < UInt64(count) {
            checker.check(buffer + Int(first * 512 - offset), target: target, targetName: name, start: first, count: count - Int(ambiguous),
                          owned: owned, counts: &counts, bad: { bad.append($0) })
        }
        counts.sectorsAmbiguous = ambiguous
        counts.reads = 1
        locked {
            if pass { resultsStore.pass.merge(counts) } else { resultsStore.inline.merge(counts) }
            for r in bad { resultsStore.add(r, pass: pass) }
            if !bad.isEmpty { sawBad = true }
        }
    }

    /// The writes a loaded state recorded (for the report).
    func noteWrites(_ n: UInt64) { locked { resultsStore.writes = n } }

    /// Marks that the read-back pass ran.
    func notePass() { locked { resultsStore.passRan = true } }

    /// For a crash verify: how the saved state was read.
    public func noteCrashMode(_ s: String) { locked { resultsStore.crashMode = s } }
}
