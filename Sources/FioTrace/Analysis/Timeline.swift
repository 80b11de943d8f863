/// Data I/Os per time interval (IOPS over time) in at most `maxBuckets` buckets: the
/// width starts at 1 ms and doubles (merging neighbours) whenever the trace outgrows it,
/// so memory is fixed whatever the trace's duration.
public struct Timeline: Sendable, Equatable {
    public static let maxBuckets = 4096
    public static let initialWidth: UInt64 = 1_000_000
    /// Bucket width in ns (1 ms × a power of two).
    public private(set) var width: UInt64 = Timeline.initialWidth
    /// I/Os issued in [i × width, (i + 1) × width) ns since the trace's start.
    public private(set) var counts: [Double] = []

    public init() {}

    public mutating func add(time: UInt64) {
        var i = time / width
        while i >= UInt64(Self.maxBuckets) {
            widen()
            i = time / width
        }
        let k = Int(i)
        if k >= counts.count { counts.append(contentsOf: repeatElement(0, count: k + 1 - counts.count)) }
        counts[k] += 1
    }

    private mutating func widen() {
        var merged = [Double](repeating: 0, count: (counts.count + 1) / 2)
        for (i, c) in counts.enumerated() { merged[i / 2] += c }
        counts = merged
        width *= 2
    }

    /// The counts in buckets of `newWidth` (a multiple of `width` by a power of two).
    public func rebinned(to newWidth: UInt64) -> [Double] {
        guard newWidth > width else { return counts }
        let f = Int(newWidth / width)
        var out = [Double](repeating: 0, count: (counts.count + f - 1) / f)
        for (i, c) in counts.enumerated() { out[i / f] += c }
        return out
    }

    /// Adds another timeline (widening either to the coarser width).
    public mutating func add(_ other: Timeline) {
        var o = other
        while o.width < width { o.widen() }
        while width < o.width { widen() }
        if o.counts.count > counts.count { counts.append(contentsOf: repeatElement(0, count: o.counts.count - counts.count)) }
        for (i, c) in o.counts.enumerated() { counts[i] += c }
    }
}
