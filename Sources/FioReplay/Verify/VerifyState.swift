import CFioLinux
import FioTrace
import Glibc

/// The verify state file (`--verify-state`): a journal of what the run did, enough to
/// rebuild the last-writer map in another process, also after the run was killed or the
/// machine lost power.
///
/// Framing: records of `[u32 CRC-32C of the rest][u16 length][u8 kind][u8 0][body]`,
/// little-endian, appended in the order the run did things. The first is the header (magic
/// "FIOVSTA1", run id, algorithm, interval, pattern). Then: `target` (id, path), `intent`
/// (a write about to be submitted: target, generation, first sector, sectors), `done`
/// (generation, ok), `trim` (target, first sector, sectors), `sync` issued and `synced`
/// (target, ticket), and `end` when the run finished cleanly. A record that fails its CRC
/// (the tail of a run killed mid-record) ends the journal.
///
/// Crash safety: records go into a shared memory mapping of the file, so they are in the
/// page cache as soon as they are written (no system call per record) and survive the
/// process being killed at any instant; an intent is written before its write is submitted.
/// For a power cut, what reached stable storage is what the kernel flushed: an fsync in the
/// trace schedules a flush, and the end of the run forces one. A lost tail only loses
/// detections (writes the journal does not know are allowed), never adds false reports.
///
/// Size: about 56 bytes per write (intent 36 + done 16, with framing). Memory while writing:
/// none beyond the mapping's address space.
final class VerifyJournal: @unchecked Sendable {
    static let magic: [UInt8] = Array("FIOVSTA1".utf8)
    enum Kind: UInt8 {
        case header = 1, target = 2, intent = 3, done = 4, trim = 5, sync = 6, synced = 7, end = 8
    }
    /// The mapping grows by this much (bytes) at a time.
    static let chunk = 64 << 20

    let path: String
    private let fd: Int32
    private var map: UnsafeMutableRawPointer?
    private var mapped = 0
    /// Bytes written so far.
    private(set) var used = 0
    private var nextTicket: UInt64 = 1
    /// The first write error (the journal stops; the run goes on and says so at the end).
    private(set) var failure: String?

    /// Creates (truncating) the state file and writes its header.
    init(path: String, content: VerifyContent) throws {
        self.path = path
        let f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard f >= 0 else {
            let e = errno
            throw ReplayError(.verifyFailed, "cannot create verify state \(path): \(ReplayError.errnoString(e))", errno: e)
        }
        fd = f
        try grow(to: Self.chunk)
        var body: [UInt8] = Self.magic
        body += le(content.run) + [content.algorithm.rawValue, 0, 0, 0] + le(UInt32(content.interval))
        let pattern = encodePattern(content.pattern)
        body += le(UInt32(pattern.count)) + pattern
        append(.header, body)
        if let failure { throw ReplayError(.verifyFailed, failure) }
    }

    deinit {
        if let map { munmap(map, mapped) }
        close(fd)
    }

    private func grow(to size: Int) throws {
        if let map { munmap(map, mapped) }
        map = nil
        guard ftruncate(fd, off_t(size)) == 0 else {
            let e = errno
            throw ReplayError(.verifyFailed, "cannot extend verify state \(path) to \(size) bytes: \(ReplayError.errnoString(e))", errno: e)
        }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            let e = errno
            throw ReplayError(.verifyFailed, "cannot map verify state \(path): \(ReplayError.errnoString(e))", errno: e)
        }
        map = p
        mapped = size
    }

    /// Appends one record (length = 8 + body).
    private func append(_ kind: Kind, _ body: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        let len = 8 + body.count
        if used + len > mapped {
            do { try grow(to: mapped + max(Self.chunk, len)) } catch { failure = "\(error)"; return }
        }
        guard let base = map else { return }
        let r = base + used
        r.storeBytes(of: UInt16(len).littleEndian, toByteOffset: 4, as: UInt16.self)
        r.storeBytes(of: kind.rawValue, toByteOffset: 6, as: UInt8.self)
        r.storeBytes(of: UInt8(0), toByteOffset: 7, as: UInt8.self)
        if body.count > 0 { (r + 8).copyMemory(from: body.baseAddress!, byteCount: body.count) }
        // The CRC last: a record is valid only once it is complete.
        r.storeBytes(of: crc32c(r + 4, len - 4).littleEndian, as: UInt32.self)
        used += len
    }

    private func append(_ kind: Kind, _ body: [UInt8]) {
        body.withUnsafeBytes { append(kind, $0) }
    }

    /// Appends a record whose body `fill` writes (at most 32 bytes) without allocating.
    @inline(__always)
    private func append(_ kind: Kind, bytes count: Int, _ fill: (UnsafeMutableRawPointer) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { b in
            fill(b.baseAddress!)
            append(kind, UnsafeRawBufferPointer(start: b.baseAddress!, count: count))
        }
    }

    func target(_ id: UInt32, path: String) {
        append(.target, le(id) + Array(path.utf8))
    }

    /// Body: target u32 @0, generation u64 @4, first sector u64 @12, sectors u64 @20.
    func intent(target: UInt32, start: UInt64, sectors: UInt64, generation: UInt64) {
        append(.intent, bytes: 28) { b in
            b.storeBytes(of: target.littleEndian, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: generation.littleEndian, toByteOffset: 4, as: UInt64.self)
            b.storeBytes(of: start.littleEndian, toByteOffset: 12, as: UInt64.self)
            b.storeBytes(of: sectors.littleEndian, toByteOffset: 20, as: UInt64.self)
        }
    }

    /// Body: generation u64 @0, ok u32 @8.
    func completion(generation: UInt64, ok: Bool) {
        append(.done, bytes: 12) { b in
            b.storeBytes(of: generation.littleEndian, toByteOffset: 0, as: UInt64.self)
            b.storeBytes(of: UInt32(ok ? 1 : 0).littleEndian, toByteOffset: 8, as: UInt32.self)
        }
    }

    /// Body: target u32 @0, first sector u64 @4, sectors u64 @12.
    func trim(target: UInt32, start: UInt64, sectors: UInt64) {
        append(.trim, bytes: 20) { b in
            b.storeBytes(of: target.littleEndian, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: start.littleEndian, toByteOffset: 4, as: UInt64.self)
            b.storeBytes(of: sectors.littleEndian, toByteOffset: 12, as: UInt64.self)
        }
    }

    /// A sync of `target` was issued; returns its ticket. Body: target u32 @0, ticket u64 @4.
    func syncIssued(target: UInt32) -> UInt64 {
        let t = nextTicket
        nextTicket += 1
        append(.sync, bytes: 12) { b in
            b.storeBytes(of: target.littleEndian, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: t.littleEndian, toByteOffset: 4, as: UInt64.self)
        }
        return t
    }

    /// The sync with `ticket` completed: the writes completed before it was issued are durable.
    func syncCompleted(target: UInt32, ticket: UInt64) {
        append(.synced, bytes: 12) { b in
            b.storeBytes(of: target.littleEndian, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: ticket.littleEndian, toByteOffset: 4, as: UInt64.self)
        }
        if let map { msync(map, used, MS_ASYNC) }
    }

    /// The run ended cleanly: writes the end record, trims the file to what was used and
    /// makes it durable. Throws when the journal could not be written.
    func finish() throws {
        append(.end, [])
        if let f = failure { throw ReplayError(.verifyFailed, "verify state \(path): \(f)") }
        if let map { msync(map, used, MS_SYNC); munmap(map, mapped) }
        map = nil
        mapped = 0
        if ftruncate(fd, off_t(used)) != 0 || fsync(fd) != 0 {
            let e = errno
            throw ReplayError(.verifyFailed, "cannot finish verify state \(path): \(ReplayError.errnoString(e))", errno: e)
        }
    }
}

func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.littleEndian) { Array($0) }
}

/// A pattern as bytes: per piece a kind byte (0 bytes, 1 offset), u16 length, bytes.
func encodePattern(_ p: DataPattern?) -> [UInt8] {
    guard let p else { return [] }
    var out: [UInt8] = []
    for piece in p.pieces {
        switch piece {
        case .bytes(let b): out += [0] + le(UInt16(b.count)) + b
        case .blockOffset: out += [1, 0, 0]
        }
    }
    return out
}

func decodePattern(_ b: ArraySlice<UInt8>) -> DataPattern? {
    guard !b.isEmpty else { return nil }
    var pieces: [DataPattern.Piece] = []
    var i = b.startIndex
    while i + 3 <= b.endIndex {
        let kind = b[i]
        let n = Int(b[i + 1]) | Int(b[i + 2]) << 8
        i += 3
        if kind == 1 { pieces.append(.blockOffset); continue }
        guard i + n <= b.endIndex else { return nil }
        pieces.append(.bytes(Array(b[i..<(i + n)])))
        i += n
    }
    return DataPattern(pieces: pieces)
}

/// How to read a state whose run did not finish.
public enum CrashModel: String, Sendable, CaseIterable {
    /// The process was killed; the machine kept running: every completed write is there.
    case kill
    /// The machine lost power: only writes made durable by a completed fsync of their file
    /// (issued after they completed) must be there; later ones may hold old or new data.
    case power
}

/// A state file read back: the map to verify against, the run's settings and targets.
public struct LoadedVerifyState {
    public let path: String
    let content: VerifyContent
    let map: WriterMap
    public let targets: [String]
    /// Whether the run ended cleanly (an end record).
    public let clean: Bool
    /// Records read, and why reading stopped early ("" at a clean end).
    public let records: Int
    public let stoppedBecause: String
    let nextGeneration: UInt64
    /// Writes the journal recorded, and those in flight when it ended.
    public let writes: UInt64
    public let inFlightAtEnd: Int
    /// Completed writes not yet made durable when it ended (power model).
    public let undurableAtEnd: Int

    /// Reads `path` and rebuilds the map: for a run that did not finish, with `crash`'s
    /// semantics. Memory: the map, plus (power model) the writes completed since the last
    /// sync of their file.
    public static func load(path: String, crash: CrashModel) throws -> LoadedVerifyState {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw ReplayError(.verifyFailed, "cannot open verify state \(path): \(ReplayError.errnoString(e))", errno: e)
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let size = Int(st.st_size)
        guard size >= 8, let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw ReplayError(.verifyFailed, "\(path): not a verify state (empty or unreadable)")
        }
        defer { munmap(m, size) }
        let base = UnsafeRawPointer(m)
        var at = 0
        var records = 0
        var stopped = ""
        func next() -> (Int, VerifyJournal.Kind, UnsafeRawBufferPointer)? {
            guard at + 8 <= size else { if stopped.isEmpty { stopped = "the file ends" }; return nil }
            let r = base + at
            let len = Int(UInt16(littleEndian: r.loadUnaligned(fromByteOffset: 4, as: UInt16.self)))
            guard len >= 8, at + len <= size else {
                stopped = len == 0 ? "no further records (the run did not finish)" : "record \(records) at byte \(at) is cut short"
                return nil
            }
            guard crc32c(r + 4, len - 4) == UInt32(littleEndian: r.loadUnaligned(as: UInt32.self)),
                  let kind = VerifyJournal.Kind(rawValue: r.load(fromByteOffset: 6, as: UInt8.self)) else {
                stopped = "record \(records) at byte \(at) is damaged (checksum mismatch): the journal ends there"
                return nil
            }
            at += len
            records += 1
            return (at - len, kind, UnsafeRawBufferPointer(start: r + 8, count: len - 8))
        }
        guard let (_, k0, h) = next(), k0 == .header, h.count >= 28, Array(h[0..<8]) == VerifyJournal.magic,
              let algo = VerifyAlgorithm(rawValue: h[16]) else {
            throw ReplayError(.verifyFailed, "\(path): not a verify state (no valid header record)")
        }
        let run = h.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        let interval = Int(h.loadUnaligned(fromByteOffset: 20, as: UInt32.self).littleEndian)
        let plen = Int(h.loadUnaligned(fromByteOffset: 24, as: UInt32.self).littleEndian)
        let pattern = h.count >= 28 + plen ? decodePattern(Array(h)[28..<(28 + plen)]) : nil
        let content = VerifyContent(run: run, algorithm: algo, interval: interval, pattern: pattern)

        var map = WriterMap()
        var targets: [String] = []
        struct Write { var target: UInt32; var start: UInt64; var end: UInt64; var lo: UInt64; var hi: UInt64 }
        var inflight: [UInt64: Write] = [:]
        var maxGen: UInt64 = 0
        var writes: UInt64 = 0
        var clean = false
        // Power model: the durable map, and per target the writes completed since they were
        // last made durable (in completion order), with how many there were at each sync issue.
        let power = crash == .power
        var durable = WriterMap()
        var volatile: [UInt32: [(start: UInt64, end: UInt64, owner: WriterMap.Owner)]] = [:]
        var syncMarks: [UInt64: (target: UInt32, count: Int)] = [:]

        func u32(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt32 { b.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian }
        func u64(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt64 { b.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian }

        while let (_, kind, b) = next() {
            switch kind {
            case .header:
                break
            case .target where b.count >= 4:
                let id = Int(u32(b, 0))
                while targets.count <= id { targets.append("") }
                targets[id] = String(decoding: b[4...], as: UTF8.self)
            case .intent where b.count >= 28:
                let t = u32(b, 0), g = u64(b, 4), s = u64(b, 12), n = u64(b, 20)
                var w = Write(target: t, start: s, end: s + n, lo: g, hi: g)
                // The live rule: writes in flight together over the same sectors may win in
                // either order.
                for (k, o) in inflight where o.target == t && o.start < w.end && w.start < o.end {
                    w.lo = min(w.lo, k)
                    inflight[k]!.hi = max(o.hi, g)
                }
                inflight[g] = w
                maxGen = max(maxGen, g)
                writes += 1
            case .done where b.count >= 12:
                let g = u64(b, 0), ok = u32(b, 8) != 0
                guard let w = inflight.removeValue(forKey: g) else { continue }
                if ok {
                    let owner: WriterMap.Owner = w.lo == w.hi ? .generation(g) : .range(lo: w.lo, hi: w.hi)
                    map.set(target: Int(w.target), start: w.start, end: w.end, owner: owner)
                    if power { volatile[w.target, default: []].append((w.start, w.end, owner)) }
                } else {
                    Verifier.widen(&map, target: Int(w.target), start: w.start, end: w.end, with: g)
                    if power { Verifier.widen(&durable, target: Int(w.target), start: w.start, end: w.end, with: g) }
                }
            case .trim where b.count >= 20:
                let t = u32(b, 0), s = u64(b, 4), n = u64(b, 12)
                map.set(target: Int(t), start: s, end: s + n, owner: nil)
                if power { durable.set(target: Int(t), start: s, end: s + n, owner: nil) }
            case .sync where b.count >= 12:
                if power { syncMarks[u64(b, 4)] = (u32(b, 0), volatile[u32(b, 0)]?.count ?? 0) }
            case .synced where b.count >= 12:
                guard power, let mark = syncMarks.removeValue(forKey: u64(b, 4)), mark.count > 0,
                      var list = volatile[mark.target] else { continue }
                // Writes completed before the sync was issued are durable now, in order.
                let n = min(mark.count, list.count)
                for v in list[0..<n] { durable.set(target: Int(mark.target), start: v.start, end: v.end, owner: v.owner) }
                list.removeFirst(n)
                volatile[mark.target] = list
                for (k, m) in syncMarks where m.target == mark.target { syncMarks[k] = (m.target, max(0, m.count - n)) }
            case .end:
                clean = true
            default:
                break
            }
        }
        if clean { stopped = "" }
        var undurable = 0
        var result = map
        if !clean {
            if power {
                // After a power cut: the durable owner, or any newer write since, may be there.
                result = durable
                for (t, list) in volatile {
                    undurable += list.count
                    for v in list {
                        Verifier.widen(&result, target: Int(t), start: v.start, end: v.end, with: v.owner.hi)
                    }
                }
            }
            // Writes in flight at the end: old or new data.
            for (g, w) in inflight { Verifier.widen(&result, target: Int(w.target), start: w.start, end: w.end, with: g) }
        }
        return LoadedVerifyState(path: path, content: content, map: result, targets: targets, clean: clean,
                                 records: records, stoppedBecause: stopped, nextGeneration: maxGen + 1, writes: writes,
                                 inFlightAtEnd: clean ? 0 : inflight.count, undurableAtEnd: undurable)
    }
}
