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
/// Cost per item: an append and a take from an array, and a heap step over the threads
/// (the last thread's queue is found without a lookup: items come in runs per thread).
struct ThreadMerge<Element: TimeOrdered> {
    private struct Queue {
        var items: [Element] = []
        var head = 0
        var source: UInt32 = 0
    }
    private struct Head: Comparable {
        var absTime: UInt64
        var seq: UInt64
        var slot: Int
        static func < (a: Head, b: Head) -> Bool { (a.absTime, a.seq) < (b.absTime, b.seq) }
    }
    private var slots: [Queue] = []
    private var slotOf: [UInt32: Int] = [:]
    private var freeSlots: [Int] = []
    private var lastSource: UInt32 = 0
    private var lastSlot = -1
    private var heads = Heap<Head>()
    private var stragglers = Heap<Element>()
    /// Items held.
    private(set) var count = 0

    mutating func insert(_ e: Element, source: UInt32) {
        count += 1
        let s: Int
        if lastSlot >= 0 && lastSource == source {
            s = lastSlot
        } else if let known = slotOf[source] {
            s = known
        } else {
            if let f = freeSlots.popLast() { s = f } else { s = slots.count; slots.append(Queue()) }
            slots[s].source = source
            slotOf[source] = s
        }
        lastSource = source
        lastSlot = s
        if slots[s].head == slots[s].items.count {
            // Empty: it joins the merge.
            slots[s].items.removeAll(keepingCapacity: true)
            slots[s].head = 0
            slots[s].items.append(e)
            heads.insert(Head(absTime: e.absTime, seq: e.seq, slot: s))
        } else if let last = slots[s].items.last, last.absTime > e.absTime {
            stragglers.insert(e)
        } else {
            slots[s].items.append(e)
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
        let s = heads.removeMin().slot
        let e = slots[s].items[slots[s].head]
        slots[s].head += 1
        if slots[s].head == slots[s].items.count {
            // Empty: the slot is free for another thread (its array kept for reuse).
            slots[s].items.removeAll(keepingCapacity: slots[s].items.capacity <= 1 << 16)
            slots[s].head = 0
            slotOf[slots[s].source] = nil
            freeSlots.append(s)
            if lastSlot == s { lastSlot = -1 }
        } else {
            if slots[s].head >= 4096 && slots[s].head * 2 >= slots[s].items.count {
                slots[s].items.removeFirst(slots[s].head)
                slots[s].head = 0
            }
            let next = slots[s].items[slots[s].head]
            heads.insert(Head(absTime: next.absTime, seq: next.seq, slot: s))
        }
        return e
    }
}
