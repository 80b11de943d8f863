import HeapModule

/// Something with a time and a sequence number, ordered by both.
protocol TimeOrdered: Comparable {
    var absTime: UInt64 { get }
    var seq: UInt64 { get }
}

/// Items from many threads, each thread's in its own time order, taken out oldest first
/// (by time, then sequence number). Each thread's items wait in a queue of their own and
/// leave by a merge of the queues' heads: a heap as small as the number of threads, not of
/// the items held. An item older than its thread's last (a signal handler's call inside
/// another call) waits in a heap of its own that joins the merge.
struct ThreadMerge<Element: TimeOrdered> {
    private struct Queue {
        var items: [Element] = []
        var head = 0
    }
    private struct Head: Comparable {
        var absTime: UInt64
        var seq: UInt64
        var source: UInt32
        static func < (a: Head, b: Head) -> Bool { (a.absTime, a.seq) < (b.absTime, b.seq) }
    }
    private var queues: [UInt32: Queue] = [:]
    private var heads = Heap<Head>()
    private var stragglers = Heap<Element>()
    private var spare: [[Element]] = []
    /// Items held.
    private(set) var count = 0

    mutating func insert(_ e: Element, source: UInt32) {
        count += 1
        if var q = queues.removeValue(forKey: source) { // no copy on write
            if let last = q.items.last, last.absTime > e.absTime {
                stragglers.insert(e)
            } else {
                q.items.append(e)
            }
            queues[source] = q
        } else {
            var q = Queue()
            q.items = spare.popLast() ?? []
            q.items.append(e)
            queues[source] = q
            heads.insert(Head(absTime: e.absTime, seq: e.seq, source: source))
        }
    }

    /// The time of the oldest item (nil when none).
    var oldestTime: UInt64? {
        switch (heads.min, stragglers.min) {
        case let (a?, b?): return min(a.absTime, b.absTime)
        case let (a?, nil): return a.absTime
        case let (nil, b?): return b.absTime
        default: return nil
        }
    }

    /// Takes the oldest item out (nil when none).
    mutating func popOldest() -> Element? {
        let fromStragglers: Bool
        switch (heads.min, stragglers.min) {
        case let (a?, b?): fromStragglers = (b.absTime, b.seq) < (a.absTime, a.seq)
        case (_?, nil): fromStragglers = false
        case (nil, _?): fromStragglers = true
        default: return nil
        }
        count -= 1
        if fromStragglers { return stragglers.removeMin() }
        let top = heads.removeMin()
        var q = queues.removeValue(forKey: top.source)!
        let e = q.items[q.head]
        q.head += 1
        if q.head == q.items.count {
            q.items.removeAll(keepingCapacity: true)
            if spare.count < 64 { spare.append(q.items) }
        } else {
            if q.head >= 4096 && q.head * 2 >= q.items.count {
                q.items.removeFirst(q.head)
                q.head = 0
            }
            let next = q.items[q.head]
            heads.insert(Head(absTime: next.absTime, seq: next.seq, source: top.source))
            queues[top.source] = q
        }
        return e
    }
}
