import HeapModule

/// One input's read window and its current event (the earliest unread one that matters).
struct BlkCursor {
    var base: UnsafeRawPointer?
    var count = 0
    var pos = 0
    var big = false
    var time: UInt64 = 0
    var sector: UInt64 = 0
    var bytes: UInt32 = 0
    var action: UInt32 = 0
    var pid: UInt32 = 0
    var device: UInt32 = 0
    var cpu: UInt32 = 0
    var error: UInt16 = 0
    /// The event's payload (valid until this input is advanced).
    var pdu: UnsafeRawPointer?
    var pduLength = 0
}

/// An input in the merge heap, ordered by its current event's time (ties: input order).
struct BlkMergeKey: Comparable {
    var time: UInt64
    var input: Int
    @inline(__always) static func < (a: BlkMergeKey, b: BlkMergeKey) -> Bool {
        a.time < b.time || (a.time == b.time && a.input < b.input)
    }
}

/// The events of several blktrace inputs (the per-CPU files of one device, or a
/// `blkparse -d` dump), merged by time, k-way and streaming: each input keeps one read
/// window and a cursor on its next event that matters; a heap of the inputs' next times
/// picks the earliest. Events are read in place from the windows (no copy, nothing
/// allocated per event).
///
/// Which events matter is set at creation: a bit set of event codes (`wanted`, bit n for
/// code n, the cgroup bit ignored), and whether notify records are handed out too.
/// Records of other codes, and passthrough requests (`BLK_TC_PC`), are read and skipped.
/// Process-name notify records are always read into `processNames`, whether or not they
/// are handed out.
///
/// Owned by exactly one reader, which calls `deallocate()`.
struct BlktraceEvents {
    let streams: [TraceInput]
    let bigEndianFlags: [Bool]
    let wanted: UInt32
    let deliverNotify: Bool
    let cursors: UnsafeMutablePointer<BlkCursor>
    /// The input with the earliest event, and the heap of the other inputs' next events.
    var current = BlkMergeKey(time: 0, input: 0)
    var hasCurrent = false
    var heap = Heap<BlkMergeKey>()
    var primed = false

    // Counters (metadata).
    var eventsRead: UInt64 = 0
    var notifySkipped: UInt64 = 0
    var pcSkipped: UInt64 = 0

    /// Process names from the capture's notify records.
    var processNames = ProcessNames()
    private var lastNameBytes: [UInt32: [UInt8]] = [:]

    init(streams: [TraceInput], bigEndian: [Bool], wanted: UInt32, deliverNotify: Bool) {
        self.streams = streams
        self.bigEndianFlags = bigEndian
        self.wanted = wanted
        self.deliverNotify = deliverNotify
        cursors = .allocate(capacity: streams.count)
        for i in 0..<streams.count {
            var c = BlkCursor()
            c.big = bigEndian[i]
            (cursors + i).initialize(to: c)
        }
        heap.reserveCapacity(streams.count)
    }

    func deallocate() {
        cursors.deinitialize(count: streams.count)
        cursors.deallocate()
    }

    /// Checks the first record header of each input: returns its byte order (true: big
    /// endian; an empty input, an idle CPU's file, counts as little endian). Throws
    /// `.badMagic`, `.unsupportedVersion` or `.truncated`.
    static func byteOrders(of inputs: [TraceInput]) throws -> [Bool] {
        var bigEndian: [Bool] = []
        for s in inputs {
            _ = try s.ensure(4)
            let b = s.bytes
            if b.count == 0 { bigEndian.append(false); continue }
            guard b.count >= 4 else {
                throw TraceError(.truncated, "\(s.name): byte 0: file ends inside the first blktrace record header (\(b.count) of 48 bytes)", byteOffset: 0)
            }
            let raw = b.loadUnaligned(as: UInt32.self)
            let le = UInt32(littleEndian: raw), be = UInt32(bigEndian: raw)
            let big: Bool
            if le & 0xffff_ff00 == Blk.magic { big = false } else if be & 0xffff_ff00 == Blk.magic { big = true } else {
                throw TraceError(.badMagic, "\(s.name): byte 0: bad magic 0x\(hex8(le)), not a blktrace file (expected 0x654174xx in either byte order)", byteOffset: 0)
            }
            let v = (big ? be : le) & 0xff
            guard v == Blk.version else {
                let more = v == 8 ? " (blk_io_trace2, the 64-bit action protocol)" : ""
                throw TraceError(.unsupportedVersion, "\(s.name): byte 0: blktrace version \(v)\(more) is not supported; this reader reads version 7", byteOffset: 0)
            }
            bigEndian.append(big)
        }
        return bigEndian
    }

    // MARK: Merging

    /// Reads every input's first event; the earliest becomes `current`, the others go
    /// into the heap.
    mutating func prime() throws {
        primed = true
        for i in 0..<streams.count where try advance(i) {
            heap.insert(BlkMergeKey(time: cursors[i].time, input: i))
        }
        if let first = heap.popMin() {
            current = first
            hasCurrent = true
        }
    }

    /// True when every input is exhausted.
    @inline(__always) var isEmpty: Bool { !hasCurrent }

    /// The input holding the earliest event. Not valid when `isEmpty`.
    @inline(__always) var headInput: Int { current.input }

    /// The earliest event. Not valid when `isEmpty`.
    @inline(__always) var head: UnsafeMutablePointer<BlkCursor> { cursors + current.input }

    /// Moves past the earliest event: its input reads on to its next event. The input
    /// being read is kept out of the heap while it stays the earliest (events come in
    /// runs per CPU), so most events cost one comparison, not a heap update.
    @inline(__always) mutating func pop() throws {
        let i = current.input
        if try advance(i) {
            let next = BlkMergeKey(time: cursors[i].time, input: i)
            if let other = heap.min, other < next {
                current = heap.replaceMin(with: next)
            } else {
                current = next
            }
        } else if let other = heap.popMin() {
            current = other
        } else {
            hasCurrent = false
        }
    }

    // MARK: Reading

    /// Moves input `i`'s window on so that at least `need` bytes are readable. False at a
    /// clean end of the input; throws `.truncated` when it ends inside a record.
    mutating func refill(_ i: Int, need: Int) throws -> Bool {
        let c = cursors + i
        let s = streams[i]
        s.consume(c.pointee.pos)
        c.pointee.pos = 0
        let ok = try s.ensure(need)
        let b = s.bytes
        c.pointee.base = b.baseAddress.map { UnsafeRawPointer($0) }
        c.pointee.count = b.count
        if ok { return true }
        if b.count == 0 { return false }
        if need == Blk.headerSize {
            throw TraceError(.truncated, "\(s.name): byte \(s.position): file ends inside a blktrace record header (\(b.count) of 48 bytes)", byteOffset: s.position)
        }
        throw TraceError(.truncated, "\(s.name): byte \(s.position): file ends inside a blktrace record (48-byte header + \(need - 48) payload bytes, only \(b.count) bytes left)", byteOffset: s.position)
    }

    /// Reads input `i` up to its next event that matters, skipping the rest. False at the
    /// end of the input.
    mutating func advance(_ i: Int) throws -> Bool {
        let c = cursors + i
        let big = c.pointee.big
        let expected = Blk.magic | Blk.version
        let skipMask: UInt32 = Blk.tcNotify | Blk.tcPC
        while true {
            var avail = c.pointee.count - c.pointee.pos
            if avail < Blk.headerSize {
                if !(try refill(i, need: Blk.headerSize)) { return false }
                avail = c.pointee.count
            }
            var p = c.pointee.base.unsafelyUnwrapped + c.pointee.pos
            let magic = blkLoad32(p, 0, big)
            if magic != expected { try badMagic(i, magic) }
            let pduLength = Int(blkLoad16(p, 46, big))
            let total = Blk.headerSize + pduLength
            if avail < total {
                if !(try refill(i, need: total)) {
                    throw TraceError(.truncated, "\(streams[i].name): unexpected end of input", byteOffset: streams[i].position)
                }
                p = c.pointee.base.unsafelyUnwrapped
            }
            let action = blkLoad32(p, 28, big)
            c.pointee.pos += total
            eventsRead &+= 1
            let cat = action >> 16
            let code = Blk.code(action)
            if cat & skipMask != 0 {
                if cat & Blk.tcNotify != 0 {
                    notifySkipped &+= 1
                    if code == Blk.notifyProcess { noteProcess(p, big: big, pduLength: pduLength, cgroup: action & Blk.cgroupFlag != 0) }
                    if !deliverNotify { continue }
                } else {
                    pcSkipped &+= 1
                    continue
                }
            } else if code >= 32 || wanted & (1 << code) == 0 {
                continue
            }
            c.pointee.time = blkLoad64(p, 8, big)
            c.pointee.sector = blkLoad64(p, 16, big)
            c.pointee.bytes = blkLoad32(p, 24, big)
            c.pointee.action = action
            c.pointee.pid = blkLoad32(p, 32, big)
            c.pointee.device = blkLoad32(p, 36, big)
            c.pointee.cpu = blkLoad32(p, 40, big)
            c.pointee.error = blkLoad16(p, 44, big)
            c.pointee.pdu = p + Blk.headerSize
            c.pointee.pduLength = pduLength
            return true
        }
    }

    /// Records a process-name notify record (`pid` -> the NUL-terminated command name).
    /// The kernel repeats them (per CPU, on every trace start): a repeat of the pid's
    /// last name costs a byte comparison, not a string.
    mutating func noteProcess(_ p: UnsafeRawPointer, big: Bool, pduLength: Int, cgroup: Bool) {
        let skip = cgroup ? 8 : 0
        guard pduLength > skip else { return }
        let raw = UnsafeRawBufferPointer(start: p + Blk.headerSize + skip, count: pduLength - skip)
        let name = raw[..<(raw.firstIndex(of: 0) ?? raw.count)]
        let pid = blkLoad32(p, 32, big)
        if let last = lastNameBytes[pid], last.elementsEqual(name) { return }
        if lastNameBytes.count < ProcessNames.limit { lastNameBytes[pid] = Array(name) }
        processNames.note(pid: pid, name: String(decoding: name, as: UTF8.self))
    }

    func badMagic(_ i: Int, _ magic: UInt32) throws -> Never {
        let s = streams[i]
        let at = s.position + UInt64(cursors[i].pos)
        if magic & 0xffff_ff00 == Blk.magic {
            throw TraceError(.badMagic, "\(s.name): byte \(at): record has blktrace version \(magic & 0xff), the file started with version \(Blk.version) (corrupt or mixed file)", byteOffset: at)
        }
        throw TraceError(.badMagic, "\(s.name): byte \(at): bad magic 0x\(hex8(magic)) in a record header (corrupt file or lost record boundary)", byteOffset: at)
    }
}
