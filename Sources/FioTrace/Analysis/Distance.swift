/// How far apart two distributions are, in the measures `compare` reports.
public struct DistributionDistance: Sendable, Equatable {
    /// Kolmogorov-Smirnov D: the largest gap between the two cumulative distributions
    /// (0 = identical, 1 = disjoint). Scale-free, so one threshold fits every metric.
    public var ks: Double
    /// Wasserstein-1 (earth mover's) distance in the values' unit: the area between the
    /// two cumulative distributions, i.e. how far, on average, the mass must move.
    public var wasserstein: Double
    /// `wasserstein` divided by the larger of the two means (0 when both are 0).
    public var relativeWasserstein: Double
    /// The two-sample KS critical value at the 5 % level for the two (effective) sample
    /// sizes: a D below it is what two samples of one distribution typically show.
    public var critical: Double

    public static let zero = DistributionDistance(ks: 0, wasserstein: 0, relativeWasserstein: 0, critical: 0)
}

public enum Distance {
    /// KS D and Wasserstein-1 between two weighted samples given as (value, weight) points
    /// in ascending value order (equal values may repeat). Empty inputs give D = 1 against
    /// a non-empty one and 0 against another empty one.
    public static func between(_ a: [(value: Double, weight: Double)], _ b: [(value: Double, weight: Double)],
                               effectiveCounts: (Double, Double)? = nil) -> DistributionDistance {
        let ta = a.reduce(0) { $0 + $1.weight }, tb = b.reduce(0) { $0 + $1.weight }
        if ta == 0 || tb == 0 {
            return ta == tb ? .zero : DistributionDistance(ks: 1, wasserstein: .infinity, relativeWasserstein: 1, critical: 0)
        }
        var i = 0, j = 0
        var fa = 0.0, fb = 0.0
        var d = 0.0, w = 0.0
        var prev: Double? = nil
        while i < a.count || j < b.count {
            let x = min(i < a.count ? a[i].value : .infinity, j < b.count ? b[j].value : .infinity)
            if let p = prev { w += abs(fa - fb) * (x - p) }
            while i < a.count && a[i].value == x { fa += a[i].weight / ta; i += 1 }
            while j < b.count && b[j].value == x { fb += b[j].weight / tb; j += 1 }
            d = max(d, abs(fa - fb))
            prev = x
        }
        let ma = a.reduce(0) { $0 + $1.value * $1.weight } / ta
        let mb = b.reduce(0) { $0 + $1.value * $1.weight } / tb
        let scale = max(abs(ma), abs(mb))
        let (na, nb) = effectiveCounts ?? (ta, tb)
        return DistributionDistance(ks: min(1, d), wasserstein: w, relativeWasserstein: scale > 0 ? w / scale : 0,
                                    critical: ksCritical(na, nb))
    }

    /// The distance between two histograms (identical bucketing, so equal data give 0).
    public static func between(_ a: LogHistogram, _ b: LogHistogram) -> DistributionDistance {
        var r = between(a.points, b.points, effectiveCounts: (a.effectiveCount, b.effectiveCount))
        // Use exact means for the relative figure (bucket midpoints shift them slightly).
        let scale = max(a.mean, b.mean)
        if r.wasserstein.isFinite { r.relativeWasserstein = scale > 0 ? r.wasserstein / scale : 0 }
        return r
    }

    /// The distance between two exact value -> count tables (block sizes).
    public static func between(_ a: [UInt64: UInt64], _ b: [UInt64: UInt64]) -> DistributionDistance {
        func pts(_ m: [UInt64: UInt64]) -> [(value: Double, weight: Double)] {
            m.keys.sorted().map { (Double($0), Double(m[$0]!)) }
        }
        return between(pts(a), pts(b))
    }

    /// c(α) × sqrt((n + m) / (n m)) with c(0.05) = 1.358: the two-sample KS critical value.
    public static func ksCritical(_ n: Double, _ m: Double) -> Double {
        guard n > 0, m > 0 else { return 1 }
        return min(1, 1.358 * ((n + m) / (n * m)).squareRoot())
    }
}
