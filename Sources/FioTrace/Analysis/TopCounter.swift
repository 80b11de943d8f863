/// The most frequent keys of a stream in `capacity` counters: Space-Saving (Metwally,
/// Agrawal and El Abbadi, ICDT 2005). Every key hit more than N / capacity times is
/// monitored, and each monitored key's `count` overestimates its true count by at most
/// its `error` (itself at most N / capacity). `fit` uses it for the hottest blocks, which
/// a spatial sample would keep or lose by chance. Memory: about 40 bytes per counter.
public struct TopCounter: Sendable {
    public let capacity: Int
    /// A min-heap on count.
    private var keys: [UInt64] = []
    private var counts: [UInt64] = []
    private var errors: [UInt64] = []
    private var position: [UInt64: Int] = [:]
    public private(set) var total: UInt64 = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public mutating func add(_ key: UInt64) {
        total &+= 1
        if let i = position[key] {
            counts[i] &+= 1
            siftDown(i)
        } else if keys.count < capacity {
            keys.append(key)
            counts.append(1)
            errors.append(0)
            position[key] = keys.count - 1
            siftUp(keys.count - 1)
        } else {
            // Replace the least counted key: the newcomer inherits its count as error.
            position[keys[0]] = nil
            errors[0] = counts[0]
            counts[0] &+= 1
            keys[0] = key
            position[key] = 0
            siftDown(0)
        }
    }

    /// Monitored keys with their count and maximal overestimate.
    public var entries: [(key: UInt64, count: UInt64, error: UInt64)] {
        (0..<keys.count).map { (keys[$0], counts[$0], errors[$0]) }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        keys.swapAt(a, b)
        counts.swapAt(a, b)
        errors.swapAt(a, b)
        position[keys[a]] = a
        position[keys[b]] = b
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let p = (i - 1) / 2
            if counts[p] <= counts[i] { return }
            swapAt(p, i)
            i = p
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < keys.count && counts[l] < counts[m] { m = l }
            if r < keys.count && counts[r] < counts[m] { m = r }
            if m == i { return }
            swapAt(i, m)
            i = m
        }
    }
}
