/// A record waiting for its completion (one slot of the ring).
struct BlkPending {
    var rec: TraceRecord
    /// Original (not rebased) time of the Q or D.
    var raw: UInt64
    /// The sector the record is found under: its start, or past the part already completed.
    var keySector: UInt64
    var endSector: UInt64
    var tag: UInt32
    var err: UInt16
    var done: Bool
}

/// The joining half of a `BlktraceReader`: turns the merged events into records, matches
/// completions to them and hands them out in time order (the rules are in
/// `BlktraceReader`'s documentation). Kept in a struct (and raw buffers) so that the hot
/// loop runs without class-property exclusivity checks. Owned by exactly one
/// `BlktraceReader`, which calls `deallocate()`.
struct BlktraceCore {
    var events: BlktraceEvents
    let dispatch: Bool
    let streamKey: BlktraceStreamKey
    let window: UInt64
    let maxPending: Int
    let mainCode: UInt32
    var failure: TraceError?

    // Pending records: a ring in creation (= time) order, addressed by sequence number.
    var ring: UnsafeMutablePointer<BlkPending>
    var ringMask = 0
    var head: UInt64 = 0
    var tail: UInt64 = 0

    /// Start-sector index of the pending, uncompleted records.
    var index = BlkPendingIndex()

    // Devices (file table) and their in-flight counts.
    var devices: [UInt32] = []
    var inflight: [UInt32] = []
    var lastDevice: UInt32 = 0
    var lastFile = -1

    // Clock.
    var started = false
    var startNs: UInt64 = 0
    var lastTime: UInt64 = 0
    var now: UInt64 = 0

    // Counters (metadata).
    var created: UInt64 = 0
    var completedCount: UInt64 = 0
    var uncompleted: UInt64 = 0
    var unmatched: UInt64 = 0
    var requeued: UInt64 = 0
    var reordered: UInt64 = 0
    var sawCompletion = false
    /// Sector probes left for completions whose chain of records is broken: bounds the
    /// cost of captures whose completions match nothing (refilled by every probe hit).
    var scanBudget = 1 << 22
    static let scanPerCompletion = 2048

    init(streams: [TraceInput], bigEndian: [Bool], dispatch: Bool, streamKey: BlktraceStreamKey,
         window: UInt64, maxPending: Int) {
        let main = dispatch ? Blk.issue : Blk.queue
        var wanted: UInt32 = 1 << main | 1 << Blk.complete
        if dispatch { wanted |= 1 << Blk.requeue }
        events = BlktraceEvents(streams: streams, bigEndian: bigEndian, wanted: wanted, deliverNotify: false)
        self.dispatch = dispatch
        self.streamKey = streamKey
        self.window = window
        self.maxPending = maxPending
        self.mainCode = main
        let ringCap = 256
        ring = .allocate(capacity: ringCap)
        ringMask = ringCap - 1
    }

    func deallocate() {
        events.deallocate()
        ring.deallocate()
        index.deallocate()
    }

    var pendingCount: Int { Int(tail &- head) }

    // MARK: The loop

    mutating func fill(_ batch: inout [TraceRecord], maxCount: Int) throws {
        if let f = failure { throw f }
        do {
            if !events.primed { try events.prime() }
            while batch.count < maxCount {
                if head != tail {
                    let h = ring + Int(head & UInt64(ringMask))
                    if h.pointee.done || events.isEmpty
                        || (now > h.pointee.raw && now - h.pointee.raw > window)
                        || (pendingCount >= maxPending && nextIsNewRecord) {
                        emitHead(&batch)
                        continue
                    }
                } else if events.isEmpty {
                    break
                }
                try step()
            }
        } catch let e as TraceError {
            failure = e
            throw e
        }
    }

    @inline(__always) mutating func emitHead(_ batch: inout [TraceRecord]) {
        let h = ring + Int(head & UInt64(ringMask))
        if !h.pointee.done {
            index.remove(sector: h.pointee.keySector, tag: h.pointee.tag, seq: head)
            inflight[Int(h.pointee.rec.file)] -= 1
            uncompleted &+= 1
        }
        var r = h.pointee.rec
        if !sawCompletion { r.depth = nil }
        batch.append(r)
        head &+= 1
    }

    /// The earliest unread event is a Q (or D): it would add a pending record.
    @inline(__always) var nextIsNewRecord: Bool {
        Blk.code(events.head.pointee.action) == mainCode
    }

    /// Takes the earliest event of all inputs and applies it.
    @inline(__always) mutating func step() throws {
        let c = events.head
        let time = c.pointee.time
        let code = Blk.code(c.pointee.action)
        if time > now { now = time }
        if code == mainCode {
            newRecord(c.pointee)
        } else {
            finish(c.pointee, requeue: code == Blk.requeue)
        }
        try events.pop()
    }

    /// Direction class for matching: 0 zero-length (flush), 1 read, 2 write, 3 discard.
    @inline(__always) static func direction(_ cat: UInt32, _ bytes: UInt32) -> UInt32 {
        if bytes == 0 { return 0 }
        if cat & Blk.tcDiscard != 0 { return 3 }
        return cat & Blk.tcWrite != 0 ? 2 : 1
    }

    @inline(__always) mutating func fileIndex(_ device: UInt32, create: Bool) -> Int? {
        if lastFile >= 0 && device == lastDevice { return lastFile }
        var idx = -1
        for (k, d) in devices.enumerated() where d == device { idx = k; break }
        if idx < 0 {
            guard create else { return nil }
            idx = devices.count
            devices.append(device)
            inflight.append(0)
        }
        lastDevice = device
        lastFile = idx
        return idx
    }

    mutating func newRecord(_ e: BlkCursor) {
        if pendingCount > ringMask { growRing() }
        let file = fileIndex(e.device, create: true)!
        if !started { started = true; startNs = e.time }
        var t = e.time >= startNs ? e.time - startNs : 0
        if t < lastTime { t = lastTime; reordered &+= 1 }
        lastTime = t
        let cat = e.action >> 16
        var flags: TraceFlags = []
        if cat & Blk.tcFUA != 0 { flags.insert(.fua) }
        if cat & Blk.tcFlush != 0 { flags.insert(.preflush) }
        if cat & Blk.tcSync != 0 { flags.insert(.sync) }
        if cat & Blk.tcMeta != 0 { flags.insert(.meta) }
        let op: TraceOp
        if cat & Blk.tcDiscard != 0 { op = .trim }
        else if e.bytes == 0 && cat & Blk.tcFlush != 0 { op = .sync }
        else if cat & Blk.tcWrite != 0 { op = .write }
        else { op = .read }
        inflight[file] += 1
        let tag = (UInt32(file) << 2 | Self.direction(cat, e.bytes)) + 1
        let seq = tail
        tail &+= 1
        created &+= 1
        let end = e.sector &+ (UInt64(e.bytes) + 511) / 512
        (ring + Int(seq & UInt64(ringMask))).initialize(to: BlkPending(
            rec: TraceRecord(time: t, op: op, file: UInt32(file), offset: e.sector &* 512, length: UInt64(e.bytes),
                             depth: inflight[file], stream: streamKey == .cpu ? e.cpu : e.pid, flags: flags),
            raw: e.time, keySector: e.sector, endSector: end, tag: tag, err: 0, done: false))
        index.insert(sector: e.sector, tag: tag, seq: seq)
    }

    /// Applies a C (or, in dispatch mode, an R) event to the pending records it covers.
    mutating func finish(_ e: BlkCursor, requeue: Bool) {
        sawCompletion = true
        guard let file = fileIndex(e.device, create: false) else { unmatched &+= 1; return }
        let cat = e.action >> 16
        let tag = (UInt32(file) << 2 | Self.direction(cat, e.bytes)) + 1
        if e.bytes == 0 {
            if let pos = index.findOldest(sector: e.sector, tag: tag) {
                let seq = index.slots[pos].seq
                index.remove(at: pos)
                complete(seq, e, requeue: requeue)
            } else {
                unmatched &+= 1
            }
            return
        }
        let end = e.sector &+ (UInt64(e.bytes) + 511) / 512
        var cursor = e.sector
        var matched = false
        while cursor < end {
            var found = index.findOldest(sector: cursor, tag: tag)
            if found == nil {
                // The chain is broken (a Q of the request was lost, or completed apart):
                // look for the next record that starts inside the range, within budgets.
                var probes = 0
                var next = cursor &+ 1
                while next < end && probes < Self.scanPerCompletion && scanBudget > 0 {
                    probes += 1
                    scanBudget -= 1
                    if let p = index.findOldest(sector: next, tag: tag) { found = p; break }
                    next &+= 1
                }
                if found == nil { break }
                scanBudget += 4096
                cursor = next
            }
            let pos = found!
            let seq = index.slots[pos].seq
            let r = ring + Int(seq & UInt64(ringMask))
            index.remove(at: pos)
            matched = true
            if r.pointee.endSector <= end {
                cursor = r.pointee.endSector
                complete(seq, e, requeue: requeue)
            } else {
                // The record reaches past this completion (a split bio): what is left of it
                // is found from `end` on.
                if e.error != 0 { r.pointee.err = e.error }
                r.pointee.keySector = end
                index.insert(sector: end, tag: tag, seq: seq)
                break
            }
        }
        if !matched { unmatched &+= 1 }
    }

    @inline(__always) mutating func complete(_ seq: UInt64, _ e: BlkCursor, requeue: Bool) {
        let r = ring + Int(seq & UInt64(ringMask))
        r.pointee.done = true
        inflight[Int(r.pointee.rec.file)] -= 1
        if requeue {
            requeued &+= 1
            uncompleted &+= 1
            return
        }
        completedCount &+= 1
        r.pointee.rec.latency = e.time >= r.pointee.raw ? e.time - r.pointee.raw : 0
        let err = e.error != 0 ? e.error : r.pointee.err
        if err != 0 {
            // The kernel stores a negative errno (blk_status_to_errno) in the u16; older
            // kernels a positive one.
            let s = Int16(bitPattern: err)
            r.pointee.rec.result = s < 0 ? Int64(s) : -Int64(s)
        } else {
            r.pointee.rec.result = Int64(r.pointee.rec.length)
        }
    }

    mutating func growRing() {
        let oldCap = ringMask + 1
        let newCap = oldCap * 2
        let n = ring
        ring = .allocate(capacity: newCap)
        var s = head
        while s != tail {
            (ring + Int(s & UInt64(newCap - 1))).initialize(to: n[Int(s & UInt64(oldCap - 1))])
            s &+= 1
        }
        n.deallocate()
        ringMask = newCap - 1
    }
}
