#if canImport(Glibc)
import Glibc
#endif

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
///   offset = sector * 512, length = bytes, stream = CPU (or, with `streams: .pid`, the
///   pid of the Q or D event), file = the device's index in the file table (one file per
///   device, in order of first appearance).
/// - Process names from the capture's notify records go into `metadata["process.names"]`
///   (see `ProcessNames`).
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
    /// What each record's `stream` holds.
    public let streams: BlktraceStreamKey
    /// The device name the file names give (`sda` for `sda.blktrace.0`), if they agree.
    public let deviceName: String?
    private var core: BlktraceCore

    /// Opens the per-CPU files of one device (or one `blkparse -d` dump). Throws
    /// `.cannotOpen` for a missing file, `.badMagic` for a file that is not blktrace and
    /// `.unsupportedVersion` for another blktrace version; a file cut short throws
    /// `.truncated` from `nextBatch` when the reader gets there. Empty files (idle CPUs)
    /// are fine.
    public convenience init(paths: [String], events: BlktraceEventKind = .queue, streams: BlktraceStreamKey = .cpu) throws {
        try self.init(paths: paths, events: events, streams: streams, completionWindow: 10_000_000_000, maxPending: 65_536)
    }

    /// As `init(paths:events:)`, with the emission bounds spelled out (see the type's doc).
    public convenience init(paths: [String], events: BlktraceEventKind, streams: BlktraceStreamKey = .cpu,
                            completionWindow: UInt64, maxPending: Int) throws {
        guard !paths.isEmpty else { throw TraceError(.cannotOpen, "blktrace: no input files given") }
        var inputs: [TraceInput] = []
        for p in paths { inputs.append(try TraceInput(path: p)) }
        try self.init(inputs: inputs, events: events, streams: streams, deviceName: Self.deviceName(of: paths),
                      completionWindow: completionWindow, maxPending: maxPending)
    }

    /// Reads already opened streams (each positioned at its first record).
    public init(inputs: [TraceInput], events: BlktraceEventKind = .queue, streams: BlktraceStreamKey = .cpu,
                deviceName: String? = nil, completionWindow: UInt64 = 10_000_000_000, maxPending: Int = 65_536) throws {
        guard !inputs.isEmpty else { throw TraceError(.cannotOpen, "blktrace: no input files given") }
        self.paths = inputs.map(\.name)
        self.events = events
        self.streams = streams
        self.deviceName = deviceName
        let bigEndian = try BlktraceEvents.byteOrders(of: inputs)
        core = BlktraceCore(streams: inputs, bigEndian: bigEndian, dispatch: events == .dispatch, streamKey: streams,
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
        if streams == .pid { m["blktrace.streams"] = "pid" }
        let bigs = core.events.bigEndianFlags
        m["blktrace.byte_order"] = bigs.allSatisfy { !$0 } ? "little" : bigs.allSatisfy { $0 } ? "big" : "mixed"
        if core.started { m["blktrace.start_ns"] = String(core.startNs) }
        m["blktrace.events_read"] = String(core.events.eventsRead)
        m["blktrace.notify_skipped"] = String(core.events.notifySkipped)
        m["blktrace.pc_skipped"] = String(core.events.pcSkipped)
        m["blktrace.records"] = String(core.created)
        m["blktrace.completed"] = String(core.completedCount)
        m["blktrace.uncompleted"] = String(core.uncompleted)
        m["blktrace.unmatched_completions"] = String(core.unmatched)
        if core.requeued > 0 { m["blktrace.requeued"] = String(core.requeued) }
        if core.reordered > 0 { m["blktrace.reordered"] = String(core.reordered) }
        core.events.processNames.addMetadata(to: &m)
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
    public static func open(path: String, events: BlktraceEventKind = .queue, streams: BlktraceStreamKey = .cpu) throws -> BlktraceReader {
        var paths = [path]
        if path != "-" {
            if parseName(splitPath(path).1) != nil {
                paths = siblingFiles(of: path)
            } else if access(path, F_OK) != 0 && access(path + ".blktrace.0", F_OK) == 0 {
                paths = siblingFiles(of: path + ".blktrace.0")
            }
        }
        return try BlktraceReader(paths: paths, events: events, streams: streams)
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
