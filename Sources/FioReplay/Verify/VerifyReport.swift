/// What a bad range of sectors shows.
public enum VerifyClass: String, CaseIterable, Sendable, Comparable {
    /// The right write's header, but the payload does not match it (bit flips, garbage).
    case corrupted
    /// An older write's intact data where a newer one completed: a lost write (also data
    /// from an earlier run).
    case stale
    /// A header that names another offset or another target: data written elsewhere.
    case misdirected
    /// Zeros where a write completed: never written, or discarded.
    case unwritten
    /// One write's sectors hold data of two generations: part of it reached the disk.
    case torn

    public static func < (a: VerifyClass, b: VerifyClass) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One bad range: whole sectors of one target with one verdict.
public struct VerifyBadRange: Sendable, Equatable {
    /// The target's path.
    public var target: String
    /// Byte offset and length (multiples of 512).
    public var offset: UInt64
    public var length: UInt64
    public var kind: VerifyClass
    /// The generation(s) expected here (one, or a range when several writes may have won).
    public var expectedLow: UInt64
    public var expectedHigh: UInt64
    /// What the first sector's header says, when it has a valid one.
    public var foundGeneration: UInt64?
    public var foundOffset: UInt64?
    /// The target index the found header names (another target: misdirected).
    public var foundTarget: UInt32?
    /// Why, in words.
    public var detail: String
}

/// The tally of a verify: sectors checked and what they held. Sectors are 512 bytes.
public struct VerifyCounts: Sendable, Equatable {
    /// Sectors whose last writer is known and were read back.
    public var sectorsChecked: UInt64 = 0
    /// ... of which held exactly the expected data.
    public var sectorsGood: UInt64 = 0
    /// ... held an older write that the circumstances allow: a write in flight or not yet
    /// made durable at a crash, a failed write, or overlapping writes in flight together
    /// (blkreplay's "mismatch": counted apart, not an error).
    public var sectorsAllowedOlder: UInt64 = 0
    /// Read sectors no known write owns (never written by this run): not checked.
    public var sectorsUnowned: UInt64 = 0
    /// Read sectors racing a write in flight to them: either version is right, not checked.
    public var sectorsAmbiguous: UInt64 = 0
    /// Bad sectors per class.
    public var bad: [VerifyClass: UInt64] = [:]
    /// Bad ranges found (all of them, also beyond those kept in detail).
    public var badRanges: UInt64 = 0
    /// Reads checked (inline verify: the trace's reads; pass: the pass's reads).
    public var reads: UInt64 = 0

    public init() {}

    public var badSectors: UInt64 { bad.values.reduce(0, +) }

    public mutating func merge(_ o: VerifyCounts) {
        sectorsChecked += o.sectorsChecked
        sectorsGood += o.sectorsGood
        sectorsAllowedOlder += o.sectorsAllowedOlder
        sectorsUnowned += o.sectorsUnowned
        sectorsAmbiguous += o.sectorsAmbiguous
        for (k, v) in o.bad { bad[k, default: 0] += v }
        badRanges += o.badRanges
        reads += o.reads
    }
}

/// Everything a verify found: counts and the bad ranges in detail (the first
/// `VerifyResults.maxRanges`; the counts cover all).
public struct VerifyResults: Sendable {
    public var algorithm: VerifyAlgorithm
    public var interval: Int
    /// Inline checks of the trace's own reads, and the read-back pass.
    public var inline = VerifyCounts()
    public var pass = VerifyCounts()
    public var ranges: [VerifyBadRange] = []
    /// The pass ran (`inline` alone otherwise).
    public var passRan = false
    /// Writes verifiable data was written for, and those that failed or were unaligned
    /// (not checked).
    public var writes: UInt64 = 0
    public var writesFailed: UInt64 = 0
    public var writesUnaligned: UInt64 = 0
    /// How a crash was taken into account ("" for a live verify).
    public var crashMode = ""
    /// The last-writer map when the results were taken: bytes it holds and its extents.
    public var mapBytes = 0
    public var mapExtents = 0

    public static let maxRanges = 10_000

    public init(algorithm: VerifyAlgorithm, interval: Int) {
        self.algorithm = algorithm
        self.interval = interval
    }

    public var badSectors: UInt64 { inline.badSectors + pass.badSectors }
    public var isClean: Bool { badSectors == 0 }

    mutating func add(_ r: VerifyBadRange, pass inPass: Bool) {
        if inPass { pass.badRanges += 1 } else { inline.badRanges += 1 }
        if ranges.count < Self.maxRanges { ranges.append(r) }
    }
}

extension VerifyResults {
    /// The `verify` object of a job in fio-shaped JSON.
    public var json: JSONValue {
        func counts(_ c: VerifyCounts) -> JSONValue {
            .object([
                ("reads", .uint(c.reads)),
                ("checked_bytes", .uint(c.sectorsChecked * 512)),
                ("good_bytes", .uint(c.sectorsGood * 512)),
                ("allowed_older_bytes", .uint(c.sectorsAllowedOlder * 512)),
                ("ambiguous_bytes", .uint(c.sectorsAmbiguous * 512)),
                ("unowned_bytes", .uint(c.sectorsUnowned * 512)),
                ("bad_bytes", .uint(c.badSectors * 512)),
                ("bad_ranges", .uint(c.badRanges)),
                ("bad", .object(VerifyClass.allCases.map { ($0.rawValue, .uint((c.bad[$0] ?? 0) * 512)) })),
            ])
        }
        var kv: [(String, JSONValue)] = [
            ("algorithm", .string(algorithm.description)),
            ("interval", .int(Int64(interval))),
            ("writes", .uint(writes)),
            ("writes_failed", .uint(writesFailed)),
            ("writes_unaligned", .uint(writesUnaligned)),
            ("inline", counts(inline)),
        ]
        if passRan { kv.append(("pass", counts(pass))) }
        kv.append(("map_bytes", .int(Int64(mapBytes))))
        kv.append(("map_extents", .int(Int64(mapExtents))))
        if !crashMode.isEmpty { kv.append(("crash", .string(crashMode))) }
        kv.append(("ok", .bool(isClean)))
        kv.append(("bad_extents", .array(ranges.map { r in
            var o: [(String, JSONValue)] = [
                ("file", .string(r.target)), ("offset", .uint(r.offset)), ("length", .uint(r.length)),
                ("class", .string(r.kind.rawValue)),
                ("expected_generation", r.expectedLow == r.expectedHigh ? .uint(r.expectedHigh) : .string("\(r.expectedLow)-\(r.expectedHigh)")),
                ("expected_offset", .uint(r.offset)),
            ]
            if let g = r.foundGeneration { o.append(("found_generation", .uint(g))) }
            if let f = r.foundOffset { o.append(("found_offset", .uint(f))) }
            if let t = r.foundTarget { o.append(("found_target", .uint(UInt64(t)))) }
            o.append(("detail", .string(r.detail)))
            return .object(o)
        })))
        return .object(kv)
    }

    /// The text report's verify section (fio-style indented lines).
    public var text: String {
        var out = "  verify (\(algorithm), \(interval) B interval): "
        func line(_ name: String, _ c: VerifyCounts) -> String {
            var s = "\(name): \(c.reads) reads, \(c.sectorsChecked * 512) bytes checked, \(c.sectorsGood * 512) good"
            if c.sectorsAllowedOlder > 0 { s += ", \(c.sectorsAllowedOlder * 512) older but allowed" }
            if c.sectorsAmbiguous > 0 { s += ", \(c.sectorsAmbiguous * 512) ambiguous (raced a write)" }
            if c.sectorsUnowned > 0 { s += ", \(c.sectorsUnowned * 512) never written (not checked)" }
            let bad = VerifyClass.allCases.compactMap { k in c.bad[k].map { "\(k.rawValue) \($0 * 512)" } }
            s += bad.isEmpty ? ", nothing bad" : ", BAD bytes: " + bad.joined(separator: ", ")
            return s
        }
        out += isClean ? "OK\n" : "\(badSectors * 512) BAD BYTES in \(inline.badRanges + pass.badRanges) ranges\n"
        out += "    writes: \(writes) verifiable, \(writesFailed) failed, \(writesUnaligned) not sector-aligned (unchecked)\n"
        if !crashMode.isEmpty { out += "    after a crash: \(crashMode)\n" }
        if inline.reads > 0 || !passRan { out += "    " + line("inline", inline) + "\n" }
        if passRan { out += "    " + line("pass", pass) + "\n" }
        for r in ranges.prefix(50) {
            var s = "    bad: \(r.target) offset \(r.offset) length \(r.length): \(r.kind.rawValue)"
            s += ", expected generation " + (r.expectedLow == r.expectedHigh ? "\(r.expectedHigh)" : "\(r.expectedLow)-\(r.expectedHigh)")
            if let g = r.foundGeneration { s += ", found generation \(g)" }
            if let f = r.foundOffset, f != r.offset { s += " from offset \(f)" }
            s += " (\(r.detail))"
            out += s + "\n"
        }
        if ranges.count > 50 { out += "    ... \(ranges.count - 50) more bad ranges (see --output-format json)\n" }
        return out
    }
}
