/// The bucket layout of the per-interval histograms of `IntervalSeries`: values below 8
/// are exact, larger ones fall in buckets 1/8 of an octave wide (12.5 % of the bucket's
/// lower bound), so a bucket's midpoint is within 6.25 % of any value in it. Values of
/// 2^40 (about 18 minutes in ns) and more share the last bucket; the exact maximum is
/// kept beside the counts. 312 buckets of 4 bytes: small enough to keep one histogram per
/// interval and op for a few hundred intervals, and mergeable by adding counts.
public enum BinHistogram {
    public static let buckets = 312

    @inline(__always)
    public static func bucket(_ v: UInt64) -> Int {
        if v < 8 { return Int(v) }
        let e = 63 - v.leadingZeroBitCount // 3...63
        if e > 40 { return buckets - 1 }
        return (e - 2) * 8 + Int((v >> UInt64(e - 3)) & 7)
    }

    /// The smallest value of bucket `b`.
    public static func lowerBound(_ b: Int) -> UInt64 {
        if b < 8 { return UInt64(b) }
        let e = b / 8 + 2, sub = UInt64(b % 8)
        return (8 + sub) << UInt64(e - 3)
    }

    /// The midpoint of bucket `b` (exact below 16).
    public static func midpoint(_ b: Int) -> UInt64 {
        if b < 8 { return UInt64(b) }
        let e = b / 8 + 2
        return lowerBound(b) + ((UInt64(1) << UInt64(e - 3)) - 1) / 2
    }

    /// The nearest-rank percentile `p` (0...100) of `counts` (one histogram of `buckets`
    /// counts holding `n` values between `minValue` and `maxValue`): the midpoint of the
    /// bucket that holds the value of rank ceil(p/100 × n), kept within [min, max].
    public static func percentile(_ p: Double, counts: UnsafeBufferPointer<UInt32>, n: UInt64,
                                  minValue: UInt64, maxValue: UInt64) -> UInt64 {
        guard n > 0 else { return 0 }
        if p >= 100 { return maxValue }
        let rank = max(1, UInt64((p / 100 * Double(n)).rounded(.up)))
        var seen: UInt64 = 0
        for b in 0..<buckets where counts[b] > 0 {
            seen += UInt64(counts[b])
            if seen >= rank { return min(max(midpoint(b), minValue), maxValue) }
        }
        return maxValue
    }
}

/// Percentiles of one interval's values (ns), as the time series report them.
public struct IntervalPercentiles: Sendable, Equatable {
    public var count: UInt64 = 0
    public var min: UInt64 = 0
    public var p50: UInt64 = 0
    public var p90: UInt64 = 0
    public var p99: UInt64 = 0
    public var max: UInt64 = 0
    public init(count: UInt64 = 0, min: UInt64 = 0, p50: UInt64 = 0, p90: UInt64 = 0, p99: UInt64 = 0, max: UInt64 = 0) {
        self.count = count; self.min = min; self.p50 = p50; self.p90 = p90; self.p99 = p99; self.max = max
    }
}
