/// What `anonymize` does to a trace. See docs/compare-fit-anonymize.md.
public struct AnonymizeOptions: Sendable {
    public enum SampleUnit: String, Sendable { case block, stream }

    /// The secret (any bytes; 16 or more random ones).
    public var key: [UInt8]
    /// Extent size in bytes (a power of two); nil: the larger of 1 MiB and 64 × the
    /// largest I/O, rounded up to a power of two.
    public var extent: UInt64?
    /// Each record's time moves by up to ± this many ns (0: times kept).
    public var jitter: UInt64 = 0
    /// Keep this fraction of extents or streams (1: everything).
    public var sample: Double = 1
    public var sampleUnit: SampleUnit = .block

    public init(key: [UInt8], extent: UInt64? = nil, jitter: UInt64 = 0, sample: Double = 1, sampleUnit: SampleUnit = .block) {
        self.key = key
        self.extent = extent
        self.jitter = jitter
        self.sample = sample
        self.sampleUnit = sampleUnit
    }
}

/// The first pass of `anonymize`: per file the highest byte addressed and the largest
/// I/O, and the streams in order of first appearance. Memory: O(files + streams).
public struct AnonymizeScan: Sendable {
    public private(set) var maxEnd: [UInt64] = []
    public private(set) var maxLength: UInt64 = 0
    public private(set) var streamOrder: [UInt32] = []
    private var streamSeen: Set<UInt32> = []
    public private(set) var records: UInt64 = 0

    public init() {}

    public mutating func add(_ batch: UnsafeBufferPointer<TraceRecord>) {
        for r in batch {
            records &+= 1
            if let s = r.stream, !streamSeen.contains(s) {
                streamSeen.insert(s)
                streamOrder.append(s)
            }
            guard Anonymizer.addresses(r.op) else { continue }
            let f = Int(r.file)
            if f >= maxEnd.count { maxEnd.append(contentsOf: repeatElement(0, count: f + 1 - maxEnd.count)) }
            let (end, o) = r.offset.addingReportingOverflow(r.length)
            maxEnd[f] = max(maxEnd[f], o ? .max : end)
            if r.op.isData { maxLength = max(maxLength, r.length) }
        }
    }
}

/// The second pass: maps records one by one.
///
/// - File names become `anon-` and 16 hex digits of SipHash-2-4 of the path under the key
///   (the same path gives the same name in every trace anonymized with the same key).
/// - Offsets: each file's address space is cut into extents of `extent` bytes, and the
///   extents are shuffled by a keyed pseudo-random permutation; an offset keeps its place
///   inside its extent. So a block always maps to the same block (reuse distances and the
///   footprint are kept) and sequential runs stay sequential except where they cross an
///   extent boundary (counted in `brokenRuns`). An I/O that crosses a boundary is mapped
///   by its start (counted in `crossing`).
/// - Streams are renumbered 0, 1, ... in order of first appearance.
/// - Times move by a keyed uniform jitter in [-jitter, +jitter], kept in order.
/// - Sampling keeps a keyed pseudo-random fraction of extents (syncs and file events are
///   all kept) or of streams.
/// - Kept: ops, lengths, flags, latencies, results, depths, record order.
public struct Anonymizer {
    public let options: AnonymizeOptions
    public let extent: UInt64
    public let files: [TraceFile]
    public private(set) var crossing: UInt64 = 0
    public private(set) var brokenRuns: UInt64 = 0
    public private(set) var sequentialRuns: UInt64 = 0
    public private(set) var dropped: UInt64 = 0
    public private(set) var kept: UInt64 = 0
    let prf: SipHash24
    let extents: [UInt64]
    let perms: [KeyedPermutation]
    let fileTweaks: [UInt64]
    let streamMap: [UInt32: UInt32]
    let keptStreams: Set<UInt32>?
    let sampleLimit: UInt64
    var lastEndIn: [UInt64]
    var lastEndOut: [UInt64]
    var jitterRNG: Xoshiro256
    var lastInTime: UInt64 = 0
    var lastOutTime: UInt64 = 0
    var started = false
    // A small cache of mapped extents: (file << 48 | extent) -> new extent.
    var cacheKeys: [UInt64]
    var cacheValues: [UInt64]

    /// Ops whose offset and length address bytes of the file.
    static func addresses(_ op: TraceOp) -> Bool { op.isData || op == .fallocate || op == .syncFileRange }

    public init(options: AnonymizeOptions, files inFiles: [TraceFile], scan: AnonymizeScan) throws {
        self.options = options
        prf = SipHash24(keyMaterial: options.key)
        var e = options.extent ?? 0
        if e == 0 {
            e = 1 << 20
            while e < 64 &* scan.maxLength && e < 1 << 40 { e <<= 1 }
        }
        extent = e
        var outFiles: [TraceFile] = []
        var used: [String: Int] = [:]
        var tweaks: [UInt64] = []
        var counts: [UInt64] = []
        var ps: [KeyedPermutation] = []
        for (i, f) in inFiles.enumerated() {
            let h = prf.hash(Array("name\0".utf8) + Array(f.path.utf8))
            var name = "anon-" + hex16(h)
            if let n = used[name] {
                // Two paths with one 64-bit hash (about 1 in 2^64 per pair): tell them apart.
                used[name] = n + 1
                name += "-\(n + 1)"
            } else {
                used[name] = 1
            }
            let high = max(f.size ?? 0, i < scan.maxEnd.count ? scan.maxEnd[i] : 0)
            let n = max(1, high / e + (high % e == 0 ? 0 : 1))
            counts.append(n)
            let tweak = prf.hash(Array("extent\0".utf8) + Array(f.path.utf8))
            tweaks.append(tweak)
            ps.append(KeyedPermutation(count: n, prf: prf, tweak: tweak))
            let (size, o) = n.multipliedReportingOverflow(by: e)
            outFiles.append(TraceFile(path: name, size: o ? nil : size))
        }
        files = outFiles
        extents = counts
        perms = ps
        fileTweaks = tweaks
        var sm: [UInt32: UInt32] = [:]
        var ks: Set<UInt32>? = nil
        if options.sample < 1 && options.sampleUnit == .stream {
            ks = []
            for s in scan.streamOrder where Double(prf.hash("stream", UInt64(s)) >> 11) * 0x1p-53 < options.sample {
                ks!.insert(s)
            }
        }
        for s in scan.streamOrder where ks?.contains(s) ?? true { sm[s] = UInt32(sm.count) }
        streamMap = sm
        keptStreams = ks
        sampleLimit = options.sample >= 1 ? .max : UInt64(options.sample * 0x1p64)
        lastEndIn = [UInt64](repeating: .max, count: inFiles.count)
        lastEndOut = [UInt64](repeating: .max, count: inFiles.count)
        jitterRNG = Xoshiro256(seed: prf.hash("jitter"))
        cacheKeys = [UInt64](repeating: .max, count: 4096)
        cacheValues = [UInt64](repeating: 0, count: 4096)
    }

    /// The output's metadata: what survives of the input's (time unit, depths, stream
    /// lists renumbered) and what anonymize kept and destroyed.
    public func metadata(from input: [String: String]) -> [String: String] {
        var md: [String: String] = [:]
        for k in ["time.unit", "time.resolution_ns", "iodepth"] { if let v = input[k] { md[k] = v } }
        if let ids = input["streams"]?.split(separator: ","), let depths = input["iodepth.per-stream"]?.split(separator: ","),
           ids.count == depths.count {
            var pairs: [(UInt32, String)] = []
            for (i, d) in zip(ids, depths) {
                if let old = UInt32(String(i).trimmed), let new = streamMap[old] { pairs.append((new, String(d).trimmed)) }
            }
            pairs.sort { $0.0 < $1.0 }
            if !pairs.isEmpty {
                md["streams"] = pairs.map { String($0.0) }.joined(separator: ",")
                md["iodepth.per-stream"] = pairs.map { $0.1 }.joined(separator: ",")
            }
        }
        md["anonymize.tool"] = "fio-replay anonymize \(fioGenVersion)"
        md["anonymize.key-check"] = hex16(prf.hash("key-check"))
        md["anonymize.names"] = "each path replaced by anon- and 16 hex digits of SipHash-2-4(key, path): the same path gives the same name under the same key; not reversible without the key"
        md["anonymize.offsets"] = "each file's address space cut into \(extent)-byte extents shuffled by a keyed pseudo-random permutation (8-round Feistel over SipHash-2-4); offsets inside an extent kept, so a block always maps to the same block"
        md["anonymize.extent"] = String(extent)
        md["anonymize.kept"] = "ops, lengths, flags, latencies, results, depths, record order, per-file footprint and reuse, sequential runs inside extents, file count and sizes (rounded up to whole extents), stream structure"
        md["anonymize.destroyed"] = "paths and device numbers, host, command lines, job text and every other metadata key, the order of extents (absolute offsets), stream ids (renumbered 0.. in order of first appearance)"
            + (options.jitter > 0 ? ", exact times (jitter up to \(options.jitter) ns)" : "")
            + (options.sample < 1 ? ", \(fixed(100 * (1 - options.sample), 2)) % of the \(options.sampleUnit == .block ? "extents" : "streams") (sampled out)" : "")
        md["anonymize.times"] = options.jitter > 0 ? "jittered uniformly by up to +-\(options.jitter) ns, order kept" : "kept"
        md["anonymize.sample"] = options.sample < 1 ? "\(fixed(100 * options.sample, 2)) % by \(options.sampleUnit.rawValue)\(options.sampleUnit == .block ? " (extent)" : ""); syncs and file events all kept" : "none"
        md["anonymize.crossing"] = "\(crossing) I/Os crossed an extent boundary (mapped by their start, their tail lands in the next extent of the new order)"
        md["anonymize.sequential-broken"] = "\(brokenRuns) of \(sequentialRuns) sequential continuations broken at extent boundaries"
        md["anonymize.records"] = "\(kept) kept, \(dropped) sampled out"
        return md
    }

    @inline(__always)
    mutating func mapExtent(file f: Int, _ e: UInt64) -> UInt64 {
        let key = UInt64(f) << 48 ^ e
        let slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52)
        if cacheKeys[slot] == key { return cacheValues[slot] }
        let v = perms[f].apply(e % extents[f])
        cacheKeys[slot] = key
        cacheValues[slot] = v
        return v
    }

    /// Maps `batch` into `out` (replacing its contents), dropping sampled-out records.
    public mutating func map(_ batch: UnsafeBufferPointer<TraceRecord>, into out: inout [TraceRecord]) {
        out.removeAll(keepingCapacity: true)
        for var r in batch {
            let f = Int(r.file)
            if let s = r.stream {
                if let ks = keptStreams, !ks.contains(s) { dropped += 1; continue }
                r.stream = streamMap[s]
            }
            if Self.addresses(r.op) && f < extents.count {
                let e = r.offset / extent
                let within = r.offset % extent
                if sampleLimit != .max && options.sampleUnit == .block {
                    if prf.hash("sample", fileTweaks[f], e) > sampleLimit { dropped += 1; continue }
                }
                let ne = mapExtent(file: f, e)
                let mapped = ne &* extent &+ within
                if within &+ r.length > extent { crossing += 1 }
                if r.op.isData {
                    if lastEndIn[f] == r.offset {
                        sequentialRuns += 1
                        if lastEndOut[f] != mapped { brokenRuns += 1 }
                    }
                    lastEndIn[f] = r.offset &+ r.length
                    lastEndOut[f] = mapped &+ r.length
                }
                r.offset = mapped
            } else if r.op.isSync && f < extents.count {
                // fio's v3 sync lines carry the previous I/O's offset: map it like one.
                let e = r.offset / extent
                r.offset = e < extents[f] ? mapExtent(file: f, e) &* extent &+ r.offset % extent : 0
            } else if r.op == .truncate {
                // A size, not an address: rounded up to whole extents.
                let (up, o1) = r.offset.addingReportingOverflow(extent - 1)
                let (v, o2) = (up / extent).multipliedReportingOverflow(by: extent)
                r.offset = o1 || o2 ? r.offset : v
            }
            if options.jitter > 0 {
                let j = options.jitter
                let delta = jitterRNG.below(2 &* j &+ 1)
                var t = r.time &+ delta
                t = t >= j ? t - j : 0
                // Keep the order of records that were in order.
                if started && r.time >= lastInTime && t < lastOutTime { t = lastOutTime }
                lastInTime = r.time
                lastOutTime = t
                started = true
                r.time = t
            }
            kept += 1
            out.append(r)
        }
    }
}

func hex16(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
