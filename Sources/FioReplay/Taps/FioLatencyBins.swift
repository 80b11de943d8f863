/// fio's latency histogram buckets (stat.h's `FIO_IO_U_PLAT_*`), the columns of its
/// `write_hist_log` files: 29 groups of 64 buckets (1856 in all) over nanoseconds. Values
/// below 128 ns get a bucket each; above, each power of two is split into 64 equal buckets,
/// so a bucket is at most 1/64 (1.6 %) of its values wide. fio's tools
/// (fio-histo-log-pctiles.py, fiologparser_hist.py) assume exactly this layout.
public enum FioLatencyBins {
    /// Bits per group (fio's FIO_IO_U_PLAT_BITS).
    public static let bits = 6
    /// Buckets per group (64).
    public static let perGroup = 1 << bits
    /// Groups (fio's FIO_IO_U_PLAT_GROUP_NR).
    public static let groups = 29
    /// Buckets in all (1856).
    public static let count = groups * perGroup

    /// The bucket of a latency of `ns` nanoseconds (fio's plat_val_to_idx): the last bucket
    /// takes everything beyond the range (about 17 s and up).
    @inline(__always)
    public static func index(_ ns: UInt64) -> Int {
        let msb = ns == 0 ? 0 : 63 - ns.leadingZeroBitCount
        if msb <= bits { return Int(ns) }
        let errorBits = msb - bits
        let base = (errorBits + 1) << bits
        let offset = Int((ns >> UInt64(errorBits)) & UInt64(perGroup - 1))
        return min(base + offset, count - 1)
    }

    /// The lowest latency (ns) bucket `i` holds.
    public static func lowerBound(_ i: Int) -> UInt64 {
        if i < 2 * perGroup { return UInt64(i) }
        let errorBits = i / perGroup - 1
        let k = UInt64(i % perGroup)
        return (UInt64(perGroup) + k) << UInt64(errorBits)
    }
}
