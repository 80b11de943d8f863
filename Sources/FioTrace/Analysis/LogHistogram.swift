/// A weighted histogram of non-negative integers for comparing distributions: values below
/// 64 are exact, larger ones fall in buckets 1/32 of an octave wide (at most 3.1 % of the
/// value, so a bucket's midpoint is within 1.6 % of any value in it).
///
/// Weights are `Double` so that sampled measurements (a reuse distance seen at sampling
/// rate R stands for 1/R accesses) and plain counts share one type; integer counts stay
/// exact up to 2^53. Two histograms bucket identically, so the distance between two
/// traces' histograms compares like with like. Memory: at most 1,920 buckets (15 KiB),
/// allocated up to the largest bucket used.
public struct LogHistogram: Sendable, Equatable {
    /// Weight per bucket, indexed by `index(of:)`.
    public private(set) var weights: [Double] = []
    /// Sum of all weights.
    public private(set) var total: Double = 0
    /// Sum of squared weights (for the effective sample size of a weighted sample).
    public private(set) var squaredWeights: Double = 0
    /// Sum of value × weight with exact values (so `mean` is exact).
    public private(set) var weightedSum: Double = 0
    /// Sum of value² × weight with exact values (for `standardDeviation`).
    public private(set) var weightedSquares: Double = 0
    public private(set) var minValue = UInt64.max
    public private(set) var maxValue: UInt64 = 0

    public init() {}

    /// The bucket of `v`.
    @inline(__always)
    public static func index(of v: UInt64) -> Int {
        if v < 64 { return Int(v) }
        let e = 63 - v.leadingZeroBitCount // 6...63
        let mantissa = Int((v >> UInt64(e - 5)) & 31)
        return 64 + (e - 6) * 32 + mantissa
    }

    /// The smallest value of bucket `i`.
    public static func lowerBound(_ i: Int) -> UInt64 {
        if i < 64 { return UInt64(i) }
        let e = (i - 64) / 32 + 6
        let m = UInt64((i - 64) % 32)
        return (32 + m) << UInt64(e - 5)
    }

    /// The largest value of bucket `i`.
    public static func upperBound(_ i: Int) -> UInt64 {
        if i < 64 { return UInt64(i) }
        let e = (i - 64) / 32 + 6
        return lowerBound(i) &+ ((1 << UInt64(e - 5)) - 1)
    }

    /// The value that stands for bucket `i` (its midpoint; exact below 64).
    public static func representative(_ i: Int) -> Double {
        let lo = lowerBound(i), hi = upperBound(i)
        return (Double(lo) + Double(hi)) / 2
    }

    @inline(__always)
    public mutating func record(_ v: UInt64, weight: Double = 1) {
        let i = Self.index(of: v)
        if i >= weights.count { weights.append(contentsOf: repeatElement(0, count: i + 1 - weights.count)) }
        weights[i] += weight
        total += weight
        squaredWeights += weight * weight
        let dv = Double(v)
        weightedSum += dv * weight
        weightedSquares += dv * dv * weight
        if v < minValue { minValue = v }
        if v > maxValue { maxValue = v }
    }

    /// Adds every bucket of `other`.
    public mutating func add(_ other: LogHistogram) {
        if other.weights.count > weights.count {
            weights.append(contentsOf: repeatElement(0, count: other.weights.count - weights.count))
        }
        for (i, w) in other.weights.enumerated() where w != 0 { weights[i] += w }
        total += other.total
        squaredWeights += other.squaredWeights
        weightedSum += other.weightedSum
        weightedSquares += other.weightedSquares
        minValue = Swift.min(minValue, other.minValue)
        maxValue = Swift.max(maxValue, other.maxValue)
    }

    public var isEmpty: Bool { total == 0 }

    /// The exact mean of the recorded values (0 when empty).
    public var mean: Double { total > 0 ? weightedSum / total : 0 }

    /// Standard deviation of the recorded values (exact, population form).
    public var standardDeviation: Double {
        guard total > 0 else { return 0 }
        let m = mean
        return max(0, weightedSquares / total - m * m).squareRoot()
    }

    /// Kish's effective sample size: the number of equally weighted samples that would
    /// carry the same information (the count itself for unweighted data).
    public var effectiveCount: Double { squaredWeights > 0 ? total * total / squaredWeights : 0 }

    /// The bucket midpoint at or below which `p` percent of the weight lies.
    public func percentile(_ p: Double) -> Double {
        guard total > 0 else { return 0 }
        let target = total * p / 100
        var acc = 0.0
        for (i, w) in weights.enumerated() where w > 0 {
            acc += w
            if acc >= target { return min(Self.representative(i), Double(maxValue)) }
        }
        return Double(maxValue)
    }

    /// (bucket value, weight) for every non-empty bucket, in value order.
    public var points: [(value: Double, weight: Double)] {
        var out: [(Double, Double)] = []
        for (i, w) in weights.enumerated() where w > 0 { out.append((Self.representative(i), w)) }
        return out
    }

    /// The fraction of the weight at values <= `v` (buckets below v's bucket, plus v's own
    /// bucket in proportion to how far v lies into it).
    public func cdf(_ v: Double) -> Double {
        guard total > 0 else { return 0 }
        var acc = 0.0
        for (i, w) in weights.enumerated() where w > 0 {
            let lo = Double(Self.lowerBound(i)), hi = Double(Self.upperBound(i))
            if v >= hi { acc += w } else if v >= lo { acc += w * (v - lo + 1) / (hi - lo + 1) } else { break }
        }
        return min(1, acc / total)
    }
}
