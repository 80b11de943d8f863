import HeapModule

/// Turns the binary events of `record --via preload`'s LD_PRELOAD library into records.
///
/// The library (Sources/fio-replay/Preload/preload.c) sends packets of back-to-back
/// events: a 56-byte header (t0, t1, off, len u64; res i64; pid, tid u32; fd i32; kind,
/// pathlen u16; host byte order) and, for opens and adoptions, the path padded to 8 bytes.
///
/// - Positions are tracked per open file description and process, as `StraceReader` does:
///   read/write use and advance them, lseek sets them, dup shares them. A descriptor the
///   library first sees without an open (inherited, or after exec or fork) arrives as an
///   adoption carrying the kernel's position, and an O_APPEND write arrives with where it
///   landed, so no file size has to be guessed.
/// - Threads send their events in buffers, so events of different threads arrive out of
///   time order: events wait until events `windowNs` newer have arrived (or at most
///   `maxHeld` are held), then are applied in issue-time order (one thread's open and
///   another's write on that descriptor meet in the order they happened), and records leave
///   in issue-time order, each with the per-file depth (calls on that file in flight at its
///   issue, itself included). Both wait in a queue per thread and leave by a merge of the
///   queues' heads (`ThreadMerge`).
/// - Streams are lanes, not thread ids: a thread takes the lowest lane no running thread
///   holds, and gives it back when it (or its process image) ends. Threads that ran one
///   after another (`sh -c "dd ...; dd ..."`) share a lane, so a replay with one thread per
///   stream keeps their order; threads that overlapped get lanes of their own.
/// - Memory: the open descriptors, the file table and the held records.
public final class PreloadEventDecoder {
    /// Bytes of one event header.
    public static let eventSize = 56
    /// How long records wait for older events from other threads (ns).
    public let windowNs: UInt64
    /// Records held at most before the oldest leaves regardless (bounds memory).
    public let maxHeld: Int

    /// Only files whose path starts with one of these are recorded (all when empty).
    public let pathPrefixes: [String]
    private var table = FileTable()
    public var files: [TraceFile] { table.files }

    /// Processes whose library started (pid -> parent pid).
    public private(set) var started: [UInt32: UInt32] = [:]
    /// read/write-family calls the library saw, over every process image that ended.
    public private(set) var callsSeen: UInt64 = 0
    /// read/write system calls each ended image made (with its reaped children), by pid: the
    /// root's is compared with `callsSeen` to find I/O that bypassed libc.
    public private(set) var syscallsMade: [UInt32: UInt64] = [:]
    /// io_uring instances open when a process image ended.
    public private(set) var ioUringSeen: Int64 = 0
    /// Events the library could not send (its socket failed).
    public private(set) var eventsLost: UInt64 = 0
    /// Events the decoder could not use (unknown kind, cut short).
    public private(set) var malformed: UInt64 = 0

    final class Description {
        var path: String { didSet { file = nil } }
        var offset: UInt64
        /// The path's index in the file table when it is recorded, -1 when `--paths` leaves
        /// it out; nil until first needed (computed once, not per call).
        var file: Int64?
        /// Opened with O_DIRECT: its reads and writes carry the direct flag, so a replay
        /// does them with O_DIRECT too (a change by fcntl(F_SETFL) is not seen).
        var direct: Bool
        init(path: String, offset: UInt64, direct: Bool = false) {
            self.path = path
            self.offset = offset
            self.direct = direct
        }
    }

    /// The file index of `d`'s path, or nil when it is not recorded.
    private func fileID(_ d: Description) -> UInt32? {
        if let f = d.file { return f < 0 ? nil : UInt32(f) }
        guard wanted(d.path) else { d.file = -1; return nil }
        let f = table.id(for: d.path)
        d.file = Int64(f)
        return f
    }

    private var lanes: [UInt32: UInt32] = [:]        // tid -> lane
    private var threadsOf: [UInt32: Set<UInt32>] = [:] // pid -> tids holding lanes
    private var freeLanes = Heap<UInt32>()
    private var nextLane: UInt32 = 1

    /// The lane of thread `tid` of process `pid`, taking the lowest free one for a new thread.
    private func lane(_ pid: UInt32, _ tid: UInt32) -> UInt32 {
        if let l = lanes[tid] { return l }
        let l: UInt32
        if let f = freeLanes.popMin() { l = f } else { l = nextLane; nextLane &+= 1 }
        lanes[tid] = l
        threadsOf[pid, default: []].insert(tid)
        return l
    }

    private func endThread(_ pid: UInt32, _ tid: UInt32) {
        guard let l = lanes.removeValue(forKey: tid) else { return }
        freeLanes.insert(l)
        threadsOf[pid]?.remove(tid)
    }

    private func endProcess(_ pid: UInt32) {
        for tid in threadsOf.removeValue(forKey: pid) ?? [] {
            if let l = lanes.removeValue(forKey: tid) { freeLanes.insert(l) }
        }
    }

    private var fdTables: [UInt32: [Int32: Description]] = [:]
    private var openCount: [String: Int] = [:]
    private var opened: Set<UInt32> = []
    /// Largest size each file reached (from opens and writes), for the file table.
    private var sizes: [UInt32: UInt64] = [:]

    struct Held: TimeOrdered {
        var absTime: UInt64
        var seq: UInt64
        var record: TraceRecord
        /// The process and thread (the record's stream until its lane is known at drain).
        var pid: UInt32 = 0
        /// 0: a record; 1: thread `record.stream` ended; 2: process `pid` ended.
        var marker: UInt8 = 0
        static func < (a: Held, b: Held) -> Bool { (a.absTime, a.seq) < (b.absTime, b.seq) }
        static func == (a: Held, b: Held) -> Bool { a.absTime == b.absTime && a.seq == b.seq }
    }
    private var held = ThreadMerge<Held>()
    /// Events not applied yet, by thread: they are applied in time order once events
    /// `windowNs` newer have arrived, so that one thread's open (or close) and another's
    /// I/O on that descriptor meet in the order they happened, whatever order their
    /// threads' buffers came in.
    private var pending = ThreadMerge<Event>()

    struct Event: TimeOrdered {
        var absTime: UInt64 // t0
        var seq: UInt64
        var t1: UInt64, off: UInt64, len: UInt64
        var res: Int64
        var pid: UInt32, tid: UInt32
        var fd: Int32
        var kind: UInt16
        var path: String
        static func < (a: Event, b: Event) -> Bool { (a.absTime, a.seq) < (b.absTime, b.seq) }
        static func == (a: Event, b: Event) -> Bool { a.absTime == b.absTime && a.seq == b.seq }
    }
    /// The thread whose event is being applied: the queue its records join.
    private var source: UInt32 = 0
    private var seq: UInt64 = 0
    private var newest: UInt64 = 0
    private var base: UInt64?
    /// Per file, completion times (absolute ns) of calls in flight: for depth.
    private var inFlight: [UInt32: Heap<UInt64>] = [:]

    public init(pathPrefixes: [String] = [], windowNs: UInt64 = 250_000_000, maxHeld: Int = 1 << 18) {
        self.pathPrefixes = pathPrefixes
        self.windowNs = windowNs
        self.maxHeld = maxHeld
    }

    /// The file table with the sizes files reached during the recording.
    public var filesWithSizes: [TraceFile] {
        var out = table.files
        for (i, s) in sizes where Int(i) < out.count { out[Int(i)].size = s }
        return out
    }

    private func wanted(_ path: String) -> Bool {
        pathPrefixes.isEmpty || pathPrefixes.contains { path.hasPrefix($0) }
    }

    // MARK: - Decoding

    /// Decodes one packet; a truncated or unknown event is counted in `malformed`.
    public func consume(_ bytes: UnsafeRawBufferPointer) {
        var at = 0
        while at + Self.eventSize <= bytes.count {
            func u64(_ o: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: at + o, as: UInt64.self) }
            let t0 = u64(0), t1 = u64(8), off = u64(16), len = u64(24)
            let res = Int64(bitPattern: u64(32))
            let pid = bytes.loadUnaligned(fromByteOffset: at + 40, as: UInt32.self)
            let tid = bytes.loadUnaligned(fromByteOffset: at + 44, as: UInt32.self)
            let fd = bytes.loadUnaligned(fromByteOffset: at + 48, as: Int32.self)
            let kind = bytes.loadUnaligned(fromByteOffset: at + 52, as: UInt16.self)
            let pathLength = Int(bytes.loadUnaligned(fromByteOffset: at + 54, as: UInt16.self))
            let padded = (pathLength + 7) & ~7
            guard at + Self.eventSize + padded <= bytes.count else { malformed += 1; return }
            var path = ""
            if pathLength > 0 {
                path = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(at + Self.eventSize)..<(at + Self.eventSize + pathLength)]), as: UTF8.self)
            }
            at += Self.eventSize + padded
            newest = max(newest, t1)
            pending.insert(Event(absTime: t0, seq: seq, t1: t1, off: off, len: len, res: res, pid: pid, tid: tid, fd: fd,
                                 kind: kind, path: path), source: tid)
            seq += 1
        }
        if at != bytes.count { malformed += 1 }
    }

    private func hold(_ r: TraceRecord, at t: UInt64, pid: UInt32 = 0, marker: UInt8 = 0) {
        held.insert(Held(absTime: t, seq: seq, record: r, pid: pid, marker: marker), source: source)
        seq += 1
    }

    private func setFD(_ pid: UInt32, _ fd: Int32, _ d: Description?, time: UInt64, latency: UInt64?, result: Int64?, tid: UInt32) {
        if let old = fdTables[pid]?[fd] {
            fdTables[pid]?[fd] = nil
            openCount[old.path, default: 1] -= 1
            if openCount[old.path] == 0 && wanted(old.path) {
                hold(TraceRecord(time: 0, op: .close, file: table.id(for: old.path), latency: latency, result: result, stream: tid), at: time, pid: pid)
            }
        }
        guard let d else { return }
        fdTables[pid, default: [:]][fd] = d
        openCount[d.path, default: 0] += 1
    }

    /// The file index of `path`, with its `add` record the first time.
    private func added(_ path: String, time: UInt64, pid: UInt32) -> UInt32 {
        let f = table.id(for: path)
        if !opened.contains(f) {
            opened.insert(f)
            hold(TraceRecord(time: 0, op: .add, file: f), at: time, pid: pid)
        }
        return f
    }

    /// A rename of `from` to `to` that succeeded: descriptors open on `from` (or, for a
    /// directory, on a path under it) now name the new path, as the kernel's do; the record
    /// is a rename, or an unlink or a create when `--paths` keeps only one side.
    private func renamed(_ from: String, _ to: String, time: UInt64, latency: UInt64, pid: UInt32, tid: UInt32) {
        let under = from.hasSuffix("/") ? from : from + "/"
        let toDir = to.hasSuffix("/") ? to : to + "/"
        for (_, t) in fdTables {
            for (_, d) in t {
                if d.path == from {
                    d.path = to
                } else if d.path.hasPrefix(under) {
                    d.path = toDir + d.path.dropFirst(under.count)
                }
            }
        }
        var moved: [String: Int] = [:]
        for (p, n) in openCount where n > 0 && (p == from || p.hasPrefix(under)) {
            moved[p == from ? to : toDir + p.dropFirst(under.count), default: 0] += n
            openCount[p] = nil
        }
        for (p, n) in moved { openCount[p, default: 0] += n }
        switch (wanted(from), wanted(to)) {
        case (true, true):
            let a = added(from, time: time, pid: pid), b = added(to, time: time, pid: pid)
            if let s = sizes[a] { sizes[b] = max(sizes[b] ?? 0, s) }
            hold(TraceRecord(time: 0, op: .rename, file: a, offset: UInt64(b), latency: latency, result: 0, stream: tid), at: time, pid: pid)
        case (true, false):
            hold(TraceRecord(time: 0, op: .unlink, file: added(from, time: time, pid: pid), latency: latency, result: 0, stream: tid), at: time, pid: pid)
        case (false, true):
            hold(TraceRecord(time: 0, op: .create, file: added(to, time: time, pid: pid), latency: latency, result: 0, stream: tid), at: time, pid: pid)
        case (false, false):
            break
        }
    }

    private func opens(_ pid: UInt32, _ fd: Int32, path: String, offset: UInt64, size: Int64,
                       time: UInt64, latency: UInt64?, tid: UInt32, created: Bool = false, direct: Bool = false) {
        // A descriptor number reused without a close seen (closed by a raw system call):
        // the old one is gone.
        setFD(pid, fd, nil, time: time, latency: nil, result: 0, tid: tid)
        let wasOpen = (openCount[path] ?? 0) > 0
        setFD(pid, fd, Description(path: path, offset: offset, direct: direct), time: time, latency: nil, result: nil, tid: tid)
        guard wanted(path) else { return }
        let f = added(path, time: time, pid: pid)
        if size > 0 { sizes[f] = max(sizes[f] ?? 0, UInt64(size)) }
        if !wasOpen {
            hold(TraceRecord(time: 0, op: .open, file: f, latency: latency, result: 0, stream: tid, flags: created ? .created : []),
                 at: time, pid: pid)
        } else if created {
            // Made again while a descriptor of the name it replaced is still open.
            hold(TraceRecord(time: 0, op: .create, file: f, latency: latency, result: 0, stream: tid), at: time, pid: pid)
        }
    }

    /// Closes every descriptor of `pid` (its image ended).
    private func dropProcess(_ pid: UInt32, time: UInt64) {
        guard let t = fdTables[pid] else { return }
        for (fd, _) in t.sorted(by: { $0.key < $1.key }) {
            setFD(pid, fd, nil, time: time, latency: nil, result: 0, tid: pid)
        }
        fdTables[pid] = nil
    }

    private func apply(kind: UInt16, t0: UInt64, t1: UInt64, off: UInt64, len: UInt64, res: Int64,
                       pid: UInt32, tid: UInt32, fd: Int32, path: String) {
        source = tid
        let latency = t1 >= t0 ? t1 - t0 : 0
        if kind == 19 { // a thread ended: its lane is free from then on
            hold(TraceRecord(time: 0, op: .close, file: 0, stream: tid), at: t0, pid: pid, marker: 1)
            return
        }
        func desc() -> Description? { fdTables[pid]?[fd] }
        func record(_ op: TraceOp, _ d: Description, offset: UInt64, length: UInt64) {
            guard let f = fileID(d) else { return }
            if op == .write && res > 0 {
                let (end, over) = offset.addingReportingOverflow(UInt64(res))
                if !over { sizes[f] = max(sizes[f] ?? 0, end) }
            }
            hold(TraceRecord(time: 0, op: op, file: f, offset: offset, length: length, latency: latency,
                             result: res, stream: tid, flags: d.direct && op.isData ? .direct : []), at: t0, pid: pid)
        }
        let done = res > 0 ? UInt64(res) : 0
        switch kind {
        case 1: // hello: a new image; an exec'd one (same pid) lost its close-on-exec descriptors
            dropProcess(pid, time: t0)
            started[pid] = UInt32(truncatingIfNeeded: off)
        case 2: // adopt
            opens(pid, fd, path: path, offset: off, size: res, time: t0, latency: nil, tid: tid)
        case 3: // open (len bit 1: it created the file; bit 2: O_DIRECT)
            opens(pid, fd, path: path, offset: 0, size: res, time: t0, latency: latency, tid: tid, created: len & 2 != 0,
                  direct: len & 4 != 0)
        case 20: // rename: path is "from\0to"
            guard res == 0, let nul = path.utf8.firstIndex(of: 0) else { return }
            let from = String(path[..<nul]), to = String(path[path.utf8.index(after: nul)...])
            guard from.hasPrefix("/"), to.hasPrefix("/") else { malformed += 1; return }
            renamed(from, to, time: t0, latency: latency, pid: pid, tid: tid)
        case 21: // unlink
            guard res == 0, path.hasPrefix("/"), wanted(path) else { return }
            hold(TraceRecord(time: 0, op: .unlink, file: added(path, time: t0, pid: pid), latency: latency, result: 0, stream: tid),
                 at: t0, pid: pid)
        case 4: // close
            guard desc() != nil else { return }
            setFD(pid, fd, nil, time: t0, latency: latency, result: res, tid: tid)
        case 5: // dup: res is the new descriptor
            guard let d = desc(), res >= 0, res <= Int64(Int32.max) else { return }
            setFD(pid, Int32(res), nil, time: t0, latency: nil, result: 0, tid: tid)
            setFD(pid, Int32(res), d, time: t0, latency: nil, result: nil, tid: tid)
        case 6: // lseek
            guard let d = desc(), res >= 0 else { return }
            d.offset = UInt64(res)
        case 7, 8: // read, write at the position
            guard let d = desc() else { return }
            let offset = d.offset
            record(kind == 7 ? .read : .write, d, offset: offset, length: res >= 0 ? done : len)
            let (next, over) = offset.addingReportingOverflow(done)
            d.offset = over ? offset : next
        case 9, 10: // pread, pwrite
            guard let d = desc() else { return }
            record(kind == 9 ? .read : .write, d, offset: off, length: res >= 0 ? done : len)
        case 18: // O_APPEND write, where it landed
            guard let d = desc() else { return }
            record(.write, d, offset: off, length: res >= 0 ? done : len)
            let (next, over) = off.addingReportingOverflow(done)
            if !over { d.offset = next }
        case 11, 12:
            guard let d = desc() else { return }
            record(kind == 11 ? .sync : .datasync, d, offset: 0, length: 0)
        case 13:
            guard let d = desc() else { return }
            record(.syncFileRange, d, offset: off, length: len)
        case 14, 15:
            guard let d = desc() else { return }
            let keep = len >> 63 == 1
            let n = len & ~(UInt64(1) << 63)
            record(kind == 15 ? .trim : .fallocate, d, offset: off, length: n)
            if kind == 14 && !keep && res == 0, let f = fileID(d) {
                let (end, over) = off.addingReportingOverflow(n)
                if !over { sizes[f] = max(sizes[f] ?? 0, end) }
            }
        case 16:
            guard let d = desc() else { return }
            record(.truncate, d, offset: off, length: 0)
        case 17: // bye
            callsSeen &+= off
            syscallsMade[pid] = len
            ioUringSeen += max(0, res)
            eventsLost &+= UInt64(UInt32(bitPattern: fd))
            dropProcess(pid, time: t0)
            hold(TraceRecord(time: 0, op: .close, file: 0), at: t0, pid: pid, marker: 2)
        default:
            malformed += 1
        }
    }

    // MARK: - Output in time order

    /// Applies the events that can no longer be preceded by a late one (all, when `final`;
    /// the oldest regardless while more than `maxHeld` wait), oldest first.
    private func applyPending(final: Bool, limit: UInt64) {
        while let t = pending.oldestTime, final || t <= limit || pending.count > maxHeld {
            let e = pending.popOldest()!
            apply(kind: e.kind, t0: e.absTime, t1: e.t1, off: e.off, len: e.len, res: e.res, pid: e.pid, tid: e.tid,
                  fd: e.fd, path: e.path)
        }
    }

    /// Moves the records that can no longer be preceded by a late event (or all of them,
    /// when `final`) into `out`, oldest first, with times from the first record and depths.
    public func drain(into out: inout [TraceRecord], final: Bool = false) {
        let limit = newest > windowNs ? newest - windowNs : 0
        applyPending(final: final, limit: limit)
        while let t = held.oldestTime, final || t <= limit || held.count > maxHeld {
            let h = held.popOldest()!
            switch h.marker {
            case 1: endThread(h.pid, h.record.stream ?? 0); continue
            case 2: endProcess(h.pid); continue
            default: break
            }
            var r = h.record
            // Lanes are given in issue order, so that "ran after" is decided by time.
            if h.marker == 0, let tid = r.stream { r.stream = lane(h.pid, tid) }
            let b = base ?? h.absTime
            base = b
            r.time = h.absTime > b ? h.absTime - b : 0
            if !r.op.isFileEvent {
                var q = inFlight.removeValue(forKey: r.file) ?? Heap<UInt64>() // no copy on write
                while let e = q.min, e <= h.absTime { _ = q.removeMin() }
                r.depth = UInt32(clamping: q.count + 1)
                q.insert(h.absTime &+ (r.latency ?? 0))
                inFlight[r.file] = q
            }
            out.append(r)
        }
    }

    /// Closes what is still open when the recording ends (processes killed before their
    /// library could say goodbye) at the newest time seen.
    public func closeAll() {
        applyPending(final: true, limit: 0)
        for pid in fdTables.keys.sorted() {
            source = pid
            dropProcess(pid, time: newest)
        }
    }
}
