#if canImport(Glibc)
import Glibc
#endif

/// blktrace binary traces (design.md section 5): the per-CPU files `DEV.blktrace.N` that
/// `blktrace` writes, or the single merged file `blkparse -d` writes. Read only.
///
/// Record layout (`struct blk_io_trace` in blktrace_api.h, checked against the kernel's
/// and blktrace's copies of the header): a 48-byte header, then `pdu_len` payload bytes.
///
/// | offset | field | |
/// |---|---|---|
/// | 0 | magic u32 | `0x65617400 \| version`, version 7; the byte order of the file |
/// | 4 | sequence u32 | per CPU; 0 on notify records |
/// | 8 | time u64 | ns (per-CPU clock of the tracing host) |
/// | 16 | sector u64 | 512-byte units |
/// | 24 | bytes u32 | |
/// | 28 | action u32 | low 16 bits: event code (`__BLK_TA_*`, plus the `__BLK_TA_CGROUP` bit 8); high 16 bits: category mask (`BLK_TC_*`) |
/// | 32 | pid u32, 36 device u32 (`major << 20 \| minor`), 40 cpu u32, 44 error u16, 46 pdu_len u16 | |
///
/// Version 8 (`blk_io_trace2`, a 64-bit action, proposed for Linux in 2025) is refused
/// with `.unsupportedVersion`.
public enum BlktraceEventKind: Sendable, Hashable {
    /// Q events: when the I/O arrived at the block layer (what the application asked for).
    case queue
    /// D events: when the (possibly merged) request was issued to the driver.
    case dispatch
}

/// Event codes and category bits of blktrace (blktrace_api.h).
enum Blk {
    static let magic: UInt32 = 0x6561_7400
    static let version: UInt32 = 7
    static let headerSize = 48

    // Event codes (low 16 bits of the action word).
    static let queue: UInt32 = 1
    static let backmerge: UInt32 = 2
    static let frontmerge: UInt32 = 3
    static let getrq: UInt32 = 4
    static let sleeprq: UInt32 = 5
    static let requeue: UInt32 = 6
    static let issue: UInt32 = 7
    static let complete: UInt32 = 8
    static let plug: UInt32 = 9
    static let unplugIO: UInt32 = 10
    static let unplugTimer: UInt32 = 11
    static let insert: UInt32 = 12
    static let split: UInt32 = 13
    static let bounce: UInt32 = 14
    static let remap: UInt32 = 15
    static let abort: UInt32 = 16
    static let drvData: UInt32 = 17
    /// Set in the event code when a cgroup id precedes the payload (Linux >= 4.14).
    static let cgroupFlag: UInt32 = 1 << 8

    // Category bits (high 16 bits of the action word, shifted down).
    static let tcRead: UInt32 = 1 << 0
    static let tcWrite: UInt32 = 1 << 1
    static let tcFlush: UInt32 = 1 << 2
    static let tcSync: UInt32 = 1 << 3
    static let tcQueue: UInt32 = 1 << 4
    static let tcRequeue: UInt32 = 1 << 5
    static let tcIssue: UInt32 = 1 << 6
    static let tcComplete: UInt32 = 1 << 7
    static let tcFS: UInt32 = 1 << 8
    static let tcPC: UInt32 = 1 << 9
    static let tcNotify: UInt32 = 1 << 10
    static let tcAhead: UInt32 = 1 << 11
    static let tcMeta: UInt32 = 1 << 12
    static let tcDiscard: UInt32 = 1 << 13
    static let tcDrvData: UInt32 = 1 << 14
    static let tcFUA: UInt32 = 1 << 15
}

/// Streams the I/Os of a blktrace capture as trace records, one per Q (or D) event.
///
/// - Several inputs (the per-CPU files of one device) are merged by time, k-way and
///   streaming; one input may also be a `blkparse -d` dump (already merged, several
///   CPUs). The byte order is detected per file from its magic.
/// - Notify records (`BLK_TC_NOTIFY`: process names, the timestamp note, messages) and
///   passthrough requests (`BLK_TC_PC`) are skipped and not counted. Note that the
///   timestamp notify has event code 1, the same as Q: it is told apart only by its
///   category bit.
/// - Times are rebased so that the first record is at 0; the original time is in
///   `metadata["blktrace.start_ns"]`. Per-CPU clocks of one host can disagree by a few
///   ns; a record earlier than the one before it is given the earlier record's time
///   (counted in `blktrace.reordered`), so records never go back in time. A `blkparse -d`
///   dump holds times blkparse already rebased to its first event (of any kind), so there
///   `start_ns` is relative to that event, not the host's clock.
/// - op: DISCARD -> `.trim`; 0 bytes with FLUSH -> `.sync` with `.preflush` (a bare
///   flush); WRITE -> `.write` (a write that carries FLUSH stays a write, with
///   `.preflush`: fio turns it into a bare sync and loses the write); otherwise `.read`.
///   Flags: FUA -> `.fua`, FLUSH -> `.preflush`, SYNC -> `.sync`, META -> `.meta`.
///   offset = sector * 512, length = bytes, stream = CPU, file = the device's index in
///   the file table (one file per device, in order of first appearance).
///
/// Completions: a C event completes the pending records that lie within its range. It
/// is looked up by (device, direction, start sector) and walks the chain of records that
/// start where the previous one ended, so a request that merged several Qs completes all
/// of them; where the chain breaks (a lost Q) it probes the following sectors, at most
/// 2048 per C and within a global budget. When several pending records start at the
/// same sector, the oldest is taken. A record longer than the C (a bio split into several
/// requests) is completed by the C that reaches its end; the ones before it only shorten
/// what is left. `latency` is C time minus Q (or D) time, `result` the record's length or
/// `-errno` when the C carries an error. In dispatch mode a requeue (R) ends its D record
/// without a latency (the request is dispatched again, a new D). `depth` is the number of
/// records of the chosen kind in flight on the device at issue, counting the record
/// itself; it is left nil for records emitted before any C (or R) event was seen (a
/// capture without completions has no in-flight information).
///
/// Emission rule (bounded memory): records are handed out strictly in time order. The
/// oldest pending record is emitted as soon as it is completed, or when the merged
/// stream has moved more than `completionWindow` ns of trace time past it (default 10 s),
/// or when `maxPending` records (default 65,536) are waiting and another Q (or D) comes,
/// whichever comes first; at
/// the end of the inputs everything left is emitted. A record emitted uncompleted has no
/// latency, result or further share in the in-flight count; a C that arrives later for it
/// is counted in `blktrace.unmatched_completions`. Memory is therefore bounded by the
/// pending records (at most `maxPending`) plus one read buffer per input, never by the
/// trace's length; nothing is allocated per record.
public final class BlktraceReader: TraceSource {
    /// One file per device seen in a Q (or D) event, in order of first appearance.
    public private(set) var files: [TraceFile] = []
    public let paths: [String]
    public let events: BlktraceEventKind
    /// The device name the file names give (`sda` for `sda.blktrace.0`), if they agree.
    public let deviceName: String?
    private var core: BlktraceCore

    /// Opens the per-CPU files of one device (or one `blkparse -d` dump). Throws
    /// `.cannotOpen` for a missing file, `.badMagic` for a file that is not blktrace and
    /// `.unsupportedVersion` for another blktrace version; a file cut short throws
    /// `.truncated` from `nextBatch` when the reader gets there. Empty files (idle CPUs)
    /// are fine.
    public convenience init(paths: [String], events: BlktraceEventKind = .queue) throws {
        try self.init(paths: paths, events: events, completionWindow: 10_000_000_000, maxPending: 65_536)
    }

    /// As `init(paths:events:)`, with the emission bounds spelled out (see the type's doc).
    public convenience init(paths: [String], events: BlktraceEventKind, completionWindow: UInt64,
                            maxPending: Int) throws {
        guard !paths.isEmpty else { throw TraceError(.cannotOpen, "blktrace: no input files given") }
        var inputs: [TraceInput] = []
        for p in paths { inputs.append(try TraceInput(path: p)) }
        try self.init(inputs: inputs, events: events, deviceName: Self.deviceName(of: paths),
                      completionWindow: completionWindow, maxPending: maxPending)
    }

    /// Reads already opened streams (each positioned at its first record).
    public init(inputs: [TraceInput], events: BlktraceEventKind = .queue, deviceName: String? = nil,
                completionWindow: UInt64 = 10_000_000_000, maxPending: Int = 65_536) throws {
        guard !inputs.isEmpty else { throw TraceError(.cannotOpen, "blktrace: no input files given") }
        self.paths = inputs.map(\.name)
        self.events = events
        self.deviceName = deviceName
        var bigEndian: [Bool] = []
        for s in inputs {
            _ = try s.ensure(4)
            let b = s.bytes
            if b.count == 0 { bigEndian.append(false); continue } // an idle CPU's empty file
            guard b.count >= 4 else {
                throw TraceError(.truncated, "\(s.name): byte 0: file ends inside the first blktrace record header (\(b.count) of 48 bytes)", byteOffset: 0)
            }
            let raw = b.loadUnaligned(as: UInt32.self)
            let le = UInt32(littleEndian: raw), be = UInt32(bigEndian: raw)
            let big: Bool
            if le & 0xffff_ff00 == Blk.magic { big = false } else if be & 0xffff_ff00 == Blk.magic { big = true } else {
                throw TraceError(.badMagic, "\(s.name): byte 0: bad magic 0x\(hex(le)), not a blktrace file (expected 0x654174xx in either byte order)", byteOffset: 0)
            }
            let v = (big ? be : le) & 0xff
            guard v == Blk.version else {
                let more = v == 8 ? " (blk_io_trace2, the 64-bit action protocol)" : ""
                throw TraceError(.unsupportedVersion, "\(s.name): byte 0: blktrace version \(v)\(more) is not supported; this reader reads version 7", byteOffset: 0)
            }
            bigEndian.append(big)
        }
        core = BlktraceCore(streams: inputs, bigEndian: bigEndian, dispatch: events == .dispatch,
                            window: completionWindow, maxPending: max(1, maxPending))
    }

    deinit { core.deallocate() }

    public var metadata: [String: String] {
        var m: [String: String] = [
            "source.format": "blktrace",
            "source.file": paths.joined(separator: ","),
            "time.unit": "ns",
            "blktrace.events": events == .queue ? "Q" : "D",
            "blktrace.inputs": String(paths.count),
            "blktrace.completion_window_ns": String(core.window),
            "blktrace.max_pending": String(core.maxPending),
        ]
        let bigs = core.bigEndianFlags
        m["blktrace.byte_order"] = bigs.allSatisfy { !$0 } ? "little" : bigs.allSatisfy { $0 } ? "big" : "mixed"
        if core.started { m["blktrace.start_ns"] = String(core.startNs) }
        m["blktrace.events_read"] = String(core.eventsRead)
        m["blktrace.notify_skipped"] = String(core.notifySkipped)
        m["blktrace.pc_skipped"] = String(core.pcSkipped)
        m["blktrace.records"] = String(core.created)
        m["blktrace.completed"] = String(core.completedCount)
        m["blktrace.uncompleted"] = String(core.uncompleted)
        m["blktrace.unmatched_completions"] = String(core.unmatched)
        if core.requeued > 0 { m["blktrace.requeued"] = String(core.requeued) }
        if core.reordered > 0 { m["blktrace.reordered"] = String(core.reordered) }
        return m
    }

    public func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        defer { syncFiles() }
        try core.fill(&batch, maxCount: max(1, maxCount))
        return !batch.isEmpty
    }

    private func syncFiles() {
        while files.count < core.devices.count {
            let i = files.count
            let d = core.devices[i]
            let dev = DeviceNumber(major: d >> 20, minor: d & 0xfffff)
            let path = (i == 0 ? deviceName : nil) ?? dev.description
            files.append(TraceFile(path: path, device: dev))
        }
    }

    /// Opens a capture by one path: `x/sda.blktrace.N` brings in all the device's per-CPU
    /// files, `x/sda` (the name blkparse's `-i` takes) too when `x/sda.blktrace.0` exists;
    /// any other path (a `blkparse -d` dump, `-`) is read alone.
    public static func open(path: String, events: BlktraceEventKind = .queue) throws -> BlktraceReader {
        var paths = [path]
        if path != "-" {
            if parseName(splitPath(path).1) != nil {
                paths = siblingFiles(of: path)
            } else if access(path, F_OK) != 0 && access(path + ".blktrace.0", F_OK) == 0 {
                paths = siblingFiles(of: path + ".blktrace.0")
            }
        }
        return try BlktraceReader(paths: paths, events: events)
    }

    /// True when `bytes` start with a blktrace magic (`0x654174xx`) in either byte order.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        let raw = bytes.loadUnaligned(as: UInt32.self)
        return UInt32(littleEndian: raw) & 0xffff_ff00 == Blk.magic || UInt32(bigEndian: raw) & 0xffff_ff00 == Blk.magic
    }

    /// All per-CPU files of the device `path` belongs to: for `x/sda.blktrace.0` every
    /// `x/sda.blktrace.N`, sorted by N. A path not named like that comes back alone.
    public static func siblingFiles(of path: String) -> [String] {
        let (dir, base) = splitPath(path)
        guard let (prefix, _) = parseName(base) else { return [path] }
        guard let d = opendir(dir.isEmpty ? "." : dir) else { return [path] }
        defer { closedir(d) }
        var found: [(Int, String)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if let (p, n) = parseName(name), p == prefix {
                found.append((n, dir.isEmpty ? name : dir + "/" + name))
            }
        }
        if found.isEmpty { return [path] }
        found.sort { $0.0 < $1.0 }
        return found.map(\.1)
    }

    /// The device name shared by `DEV.blktrace.N` paths, or nil.
    static func deviceName(of paths: [String]) -> String? {
        var name: String?
        for p in paths {
            guard let (prefix, _) = parseName(splitPath(p).1), !prefix.isEmpty else { return nil }
            if let n = name, n != prefix { return nil }
            name = prefix
        }
        return name
    }

    static func splitPath(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// `sda.blktrace.12` -> ("sda", 12).
    static func parseName(_ name: String) -> (String, Int)? {
        let marker = Array(".blktrace.".utf8)
        let u = Array(name.utf8)
        guard u.count > marker.count else { return nil }
        var i = u.count - 1
        while i >= 0 && u[i] >= 0x30 && u[i] <= 0x39 { i -= 1 }
        let digits = u[(i + 1)...]
        guard !digits.isEmpty, digits.count <= 9, i + 1 >= marker.count else { return nil }
        guard Array(u[(i + 1 - marker.count)...i]) == marker else { return nil }
        var n = 0
        for c in digits { n = n * 10 + Int(c - 0x30) }
        return (String(decoding: u[..<(i + 1 - marker.count)], as: UTF8.self), n)
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}

// MARK: - The merging, joining core

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

/// One slot of the open-addressing table that finds pending records by start sector.
struct BlkSlot {
    var sector: UInt64
    var seq: UInt64
    /// (file << 2 | direction class) + 1; 0 marks an empty slot.
    var tag: UInt32
}

/// One input's read window and its next relevant event.
struct BlkCursor {
    var base: UnsafeRawPointer?
    var count = 0
    var pos = 0
    var big = false
    var time: UInt64 = 0
    var sector: UInt64 = 0
    var bytes: UInt32 = 0
    var action: UInt32 = 0
    var device: UInt32 = 0
    var cpu: UInt32 = 0
    var error: UInt16 = 0
}

@inline(__always) private func ld32(_ p: UnsafeRawPointer, _ o: Int, _ big: Bool) -> UInt32 {
    let v = p.loadUnaligned(fromByteOffset: o, as: UInt32.self)
    return big ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
}

@inline(__always) private func ld64(_ p: UnsafeRawPointer, _ o: Int, _ big: Bool) -> UInt64 {
    let v = p.loadUnaligned(fromByteOffset: o, as: UInt64.self)
    return big ? UInt64(bigEndian: v) : UInt64(littleEndian: v)
}

@inline(__always) private func ld16(_ p: UnsafeRawPointer, _ o: Int, _ big: Bool) -> UInt16 {
    let v = p.loadUnaligned(fromByteOffset: o, as: UInt16.self)
    return big ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
}

/// The state of a reader, kept in a struct (and raw buffers) so that the hot loop runs
/// without class-property exclusivity checks. Owned by exactly one `BlktraceReader`,
/// which calls `deallocate()`.
struct BlktraceCore {
    let streams: [TraceInput]
    let bigEndianFlags: [Bool]
    let dispatch: Bool
    let window: UInt64
    let maxPending: Int
    let mainCode: UInt32

    // Inputs and the merge heap (input indices ordered by their next event's time).
    let cursors: UnsafeMutablePointer<BlkCursor>
    let heap: UnsafeMutablePointer<Int>
    var heapCount = 0
    var primed = false
    var failure: TraceError?

    // Pending records: a ring in creation (= time) order, addressed by sequence number.
    var ring: UnsafeMutablePointer<BlkPending>
    var ringMask = 0
    var head: UInt64 = 0
    var tail: UInt64 = 0

    // Start-sector index of the pending, uncompleted records.
    var slots: UnsafeMutablePointer<BlkSlot>
    var slotMask = 0
    var slotShift: UInt64 = 0
    var slotCount = 0

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
    var eventsRead: UInt64 = 0
    var notifySkipped: UInt64 = 0
    var pcSkipped: UInt64 = 0
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

    init(streams: [TraceInput], bigEndian: [Bool], dispatch: Bool, window: UInt64, maxPending: Int) {
        self.streams = streams
        self.bigEndianFlags = bigEndian
        self.dispatch = dispatch
        self.window = window
        self.maxPending = maxPending
        self.mainCode = dispatch ? Blk.issue : Blk.queue
        cursors = .allocate(capacity: streams.count)
        for i in 0..<streams.count {
            var c = BlkCursor()
            c.big = bigEndian[i]
            (cursors + i).initialize(to: c)
        }
        heap = .allocate(capacity: streams.count)
        let ringCap = 256
        ring = .allocate(capacity: ringCap)
        ringMask = ringCap - 1
        let slotCap = 1024
        slots = .allocate(capacity: slotCap)
        slots.initialize(repeating: BlkSlot(sector: 0, seq: 0, tag: 0), count: slotCap)
        slotMask = slotCap - 1
        slotShift = UInt64(64 - 10)
    }

    func deallocate() {
        cursors.deinitialize(count: streams.count)
        cursors.deallocate()
        heap.deallocate()
        ring.deallocate()
        slots.deallocate()
    }

    var pendingCount: Int { Int(tail &- head) }

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

    /// Reads input `i` up to its next event that matters (Q or D, C, R), skipping the
    /// rest. False at the end of the input.
    mutating func advance(_ i: Int) throws -> Bool {
        let c = cursors + i
        let big = c.pointee.big
        let expected = Blk.magic | Blk.version
        let relevantMask: UInt32 = Blk.tcNotify | Blk.tcPC
        while true {
            var avail = c.pointee.count - c.pointee.pos
            if avail < Blk.headerSize {
                if !(try refill(i, need: Blk.headerSize)) { return false }
                avail = c.pointee.count
            }
            var p = c.pointee.base.unsafelyUnwrapped + c.pointee.pos
            let magic = ld32(p, 0, big)
            if magic != expected { try badMagic(i, magic) }
            let total = Blk.headerSize + Int(ld16(p, 46, big))
            if avail < total {
                if !(try refill(i, need: total)) {
                    throw TraceError(.truncated, "\(streams[i].name): unexpected end of input", byteOffset: streams[i].position)
                }
                p = c.pointee.base.unsafelyUnwrapped
            }
            let action = ld32(p, 28, big)
            c.pointee.pos += total
            eventsRead &+= 1
            let cat = action >> 16
            if cat & relevantMask != 0 {
                if cat & Blk.tcNotify != 0 { notifySkipped &+= 1 } else { pcSkipped &+= 1 }
                continue
            }
            let code = action & ~Blk.cgroupFlag & 0xffff
            if code == mainCode || code == Blk.complete || (dispatch && code == Blk.requeue) {
                c.pointee.time = ld64(p, 8, big)
                c.pointee.sector = ld64(p, 16, big)
                c.pointee.bytes = ld32(p, 24, big)
                c.pointee.action = action
                c.pointee.device = ld32(p, 36, big)
                c.pointee.cpu = ld32(p, 40, big)
                c.pointee.error = ld16(p, 44, big)
                return true
            }
        }
    }

    func badMagic(_ i: Int, _ magic: UInt32) throws -> Never {
        let s = streams[i]
        let at = s.position + UInt64(cursors[i].pos)
        if magic & 0xffff_ff00 == Blk.magic {
            throw TraceError(.badMagic, "\(s.name): byte \(at): record has blktrace version \(magic & 0xff), the file started with version \(Blk.version) (corrupt or mixed file)", byteOffset: at)
        }
        throw TraceError(.badMagic, "\(s.name): byte \(at): bad magic 0x\(hex(magic)) in a record header (corrupt file or lost record boundary)", byteOffset: at)
    }

    // MARK: Merge heap

    @inline(__always) func before(_ a: Int, _ b: Int) -> Bool {
        let ta = cursors[a].time, tb = cursors[b].time
        return ta < tb || (ta == tb && a < b)
    }

    mutating func siftDown(_ start: Int) {
        var i = start
        let n = heapCount
        let item = heap[i]
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var m = l
            if l + 1 < n && before(heap[l + 1], heap[l]) { m = l + 1 }
            if before(item, heap[m]) { break }
            heap[i] = heap[m]
            i = m
        }
        heap[i] = item
    }

    mutating func prime() throws {
        primed = true
        for i in 0..<streams.count {
            if try advance(i) {
                heap[heapCount] = i
                heapCount += 1
            }
        }
        if heapCount > 1 {
            var i = heapCount / 2 - 1
            while i >= 0 { siftDown(i); i -= 1 }
        }
    }

    // MARK: The loop

    mutating func fill(_ batch: inout [TraceRecord], maxCount: Int) throws {
        if let f = failure { throw f }
        do {
            if !primed { try prime() }
            while batch.count < maxCount {
                if head != tail {
                    let h = ring + Int(head & UInt64(ringMask))
                    if h.pointee.done || heapCount == 0
                        || (now > h.pointee.raw && now - h.pointee.raw > window)
                        || (pendingCount >= maxPending && nextIsNewRecord) {
                        emitHead(&batch)
                        continue
                    }
                } else if heapCount == 0 {
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
            removeSlot(sector: h.pointee.keySector, tag: h.pointee.tag, seq: head)
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
        cursors[heap[0]].action & ~Blk.cgroupFlag & 0xffff == mainCode
    }

    /// Takes the earliest event of all inputs and applies it.
    @inline(__always) mutating func step() throws {
        let i = heap[0]
        let c = cursors + i
        let time = c.pointee.time
        let code = c.pointee.action & ~Blk.cgroupFlag & 0xffff
        if time > now { now = time }
        if code == mainCode {
            newRecord(c.pointee)
        } else {
            finish(c.pointee, requeue: code == Blk.requeue)
        }
        if try advance(i) {
            if heapCount > 1 { siftDown(0) }
        } else {
            heapCount -= 1
            if heapCount > 0 {
                heap[0] = heap[heapCount]
                siftDown(0)
            }
        }
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
                             depth: inflight[file], stream: e.cpu, flags: flags),
            raw: e.time, keySector: e.sector, endSector: end, tag: tag, err: 0, done: false))
        insertSlot(sector: e.sector, tag: tag, seq: seq)
    }

    /// Applies a C (or, in dispatch mode, an R) event to the pending records it covers.
    mutating func finish(_ e: BlkCursor, requeue: Bool) {
        sawCompletion = true
        guard let file = fileIndex(e.device, create: false) else { unmatched &+= 1; return }
        let cat = e.action >> 16
        let tag = (UInt32(file) << 2 | Self.direction(cat, e.bytes)) + 1
        if e.bytes == 0 {
            if let pos = findOldest(sector: e.sector, tag: tag) {
                let seq = slots[pos].seq
                removeSlot(at: pos)
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
            var found = findOldest(sector: cursor, tag: tag)
            if found == nil {
                // The chain is broken (a Q of the request was lost, or completed apart):
                // look for the next record that starts inside the range, within budgets.
                var probes = 0
                var next = cursor &+ 1
                while next < end && probes < Self.scanPerCompletion && scanBudget > 0 {
                    probes += 1
                    scanBudget -= 1
                    if let p = findOldest(sector: next, tag: tag) { found = p; break }
                    next &+= 1
                }
                if found == nil { break }
                scanBudget += 4096
                cursor = next
            }
            let pos = found!
            let seq = slots[pos].seq
            let r = ring + Int(seq & UInt64(ringMask))
            removeSlot(at: pos)
            matched = true
            if r.pointee.endSector <= end {
                cursor = r.pointee.endSector
                complete(seq, e, requeue: requeue)
            } else {
                // The record reaches past this completion (a split bio): what is left of it
                // is found from `end` on.
                if e.error != 0 { r.pointee.err = e.error }
                r.pointee.keySector = end
                insertSlot(sector: end, tag: tag, seq: seq)
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

    // MARK: Sector index (linear probing, backward-shift deletion)

    @inline(__always) func home(_ sector: UInt64, _ tag: UInt32) -> Int {
        let h = (sector &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(tag) &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> slotShift)
    }

    mutating func insertSlot(sector: UInt64, tag: UInt32, seq: UInt64) {
        if (slotCount + 1) * 2 > slotMask + 1 { growSlots() }
        var i = home(sector, tag)
        while slots[i].tag != 0 { i = (i + 1) & slotMask }
        slots[i] = BlkSlot(sector: sector, seq: seq, tag: tag)
        slotCount += 1
    }

    /// The slot of the oldest pending record found under (sector, tag).
    @inline(__always) func findOldest(sector: UInt64, tag: UInt32) -> Int? {
        var i = home(sector, tag)
        var best = -1
        var bestSeq = UInt64.max
        while true {
            let s = slots[i]
            if s.tag == 0 { break }
            if s.tag == tag && s.sector == sector && s.seq < bestSeq { best = i; bestSeq = s.seq }
            i = (i + 1) & slotMask
        }
        return best < 0 ? nil : best
    }

    mutating func removeSlot(sector: UInt64, tag: UInt32, seq: UInt64) {
        var i = home(sector, tag)
        while slots[i].tag != 0 {
            if slots[i].seq == seq && slots[i].tag == tag && slots[i].sector == sector {
                removeSlot(at: i)
                return
            }
            i = (i + 1) & slotMask
        }
    }

    mutating func removeSlot(at pos: Int) {
        var i = pos
        var j = pos
        while true {
            j = (j + 1) & slotMask
            let s = slots[j]
            if s.tag == 0 { break }
            let k = home(s.sector, s.tag)
            // Slot j may stay if its home lies cyclically in (i, j].
            let stays = i <= j ? (i < k && k <= j) : (i < k || k <= j)
            if stays { continue }
            slots[i] = s
            i = j
        }
        slots[i].tag = 0
        slotCount -= 1
    }

    mutating func growSlots() {
        let oldCap = slotMask + 1
        let old = slots
        let newCap = oldCap * 2
        slots = .allocate(capacity: newCap)
        slots.initialize(repeating: BlkSlot(sector: 0, seq: 0, tag: 0), count: newCap)
        slotMask = newCap - 1
        slotShift -= 1
        for k in 0..<oldCap where old[k].tag != 0 {
            var i = home(old[k].sector, old[k].tag)
            while slots[i].tag != 0 { i = (i + 1) & slotMask }
            slots[i] = old[k]
        }
        old.deallocate()
    }
}
