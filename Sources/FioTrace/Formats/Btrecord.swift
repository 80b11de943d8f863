#if canImport(Glibc)
import Glibc
#endif
import HeapModule

/// btrecord's bunch files (blktrace's `btreplay/btrecord.h`): what `btrecord` makes
/// from a blktrace capture and `btreplay` replays, one file per CPU, `DEV.replay.N`.
/// Read only.
///
/// Layout, in the recording host's byte order (we accept either; the version tells):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | version: `0x010000` (1.0.0; btreplay refuses any other) |
/// | 8 | 8 | genesis: the time of the file's first Q, ns (the tracing host's clock) |
/// | 16 | 8 | nbunches |
/// | 24 | 8 | total_pkts |
///
/// then bunches to the end of the file: `npkts` u64 (1...512), `time_stamp` u64 (ns,
/// same clock), then `npkts` packets of 24 bytes: `sector` u64 (512 B), `nbytes` u64,
/// `rw` u32 (1 read, 0 write), 4 bytes of padding. A bunch holds the Q events of up to
/// 8 (btrecord's `-M`) I/Os within 10 ms (`-m`); btreplay issues them together when its
/// clock reaches `time_stamp - genesis`, with `genesis` the smallest of all files'.
///
/// btrecord writes the header's two counts before it flushes the last bunch, so they
/// leave that bunch out (and btreplay, which reads bunches to the end of the file but
/// skips a file whose header says 0 bunches, drops the only bunch of a file that has
/// one). We read every bunch to the end of the file; the header's counts are kept in
/// the metadata beside what was read.
///
/// Records: time = the bunch's `time_stamp` - the smallest genesis (every I/O of a bunch
/// shares it, as btreplay issues them), offset = sector x 512, length = nbytes, op =
/// read or write (a 0-byte write, a flush, becomes `.sync`), stream = the CPU of the
/// file (N in its name, else its position), file = the device (its name from the file
/// names). Files are merged by bunch time, streaming (memory: one read window per file).
public final class BtrecordReader: TraceSource {
    public let paths: [String]
    /// The device name the file names give (`sda` for `sda.replay.0`), if they agree.
    public let deviceName: String?
    public private(set) var files: [TraceFile] = []
    private let inputs: [TraceInput]
    private var cursors: [Cursor]
    private var heap = Heap<BlkMergeKey>()
    private var primed = false
    private var base: UInt64 = 0
    private var bunches: UInt64 = 0
    private var packets: UInt64 = 0
    private var failure: TraceError?

    /// One file's state: its byte order, header and the bunch being read.
    private struct Cursor {
        var big = false
        var cpu: UInt32 = 0
        var genesis: UInt64 = 0
        var headerBunches: UInt64 = 0
        var headerPackets: UInt64 = 0
        var time: UInt64 = 0
        var left = 0
        var next = 0
    }

    static let version: UInt64 = 0x01_0000
    static let headerSize = 32
    static let bunchHeaderSize = 16
    static let packetSize = 24
    static let maxPackets: UInt64 = 512

    /// Opens the per-CPU files (each positioned at its start). Throws `.badMagic` for a
    /// file that is not a btrecord file, `.truncated` for one cut short.
    public init(inputs: [TraceInput], deviceName: String? = nil) throws {
        guard !inputs.isEmpty else { throw TraceError(.cannotOpen, "btrecord: no input files given") }
        self.inputs = inputs
        self.paths = inputs.map(\.name)
        self.deviceName = deviceName
        cursors = []
        for (k, s) in inputs.enumerated() {
            _ = try s.ensure(Self.headerSize)
            let b = s.bytes
            guard b.count >= Self.headerSize else {
                throw TraceError(.truncated, "\(s.name): byte 0: file ends inside the 32-byte btrecord header (\(b.count) bytes)", byteOffset: 0)
            }
            let raw = b.loadUnaligned(as: UInt64.self)
            var c = Cursor()
            if UInt64(littleEndian: raw) == Self.version { c.big = false } else if UInt64(bigEndian: raw) == Self.version { c.big = true } else {
                throw TraceError(.badMagic, "\(s.name): byte 0: version 0x\(String(UInt64(littleEndian: raw), radix: 16)) is not btrecord's 0x10000 (1.0.0): not a btrecord file", byteOffset: 0)
            }
            let p = UnsafeRawPointer(b.baseAddress!)
            c.genesis = Self.load64(p, 8, c.big)
            c.headerBunches = Self.load64(p, 16, c.big)
            c.headerPackets = Self.load64(p, 24, c.big)
            c.cpu = UInt32(Self.parseName(BlktraceReader.splitPath(s.name).1)?.1 ?? k)
            s.consume(Self.headerSize)
            cursors.append(c)
        }
    }

    public convenience init(paths: [String]) throws {
        var inputs: [TraceInput] = []
        for p in paths { inputs.append(try TraceInput(path: p)) }
        try self.init(inputs: inputs, deviceName: Self.deviceName(of: paths))
    }

    /// Opens a recording by one path: `x/sda.replay.N` brings in all of the device's
    /// per-CPU files (with the same `.gz`/`.zst` suffix); any other path is read alone.
    public static func open(path: String) throws -> BtrecordReader {
        try BtrecordReader(paths: siblingFiles(of: path))
    }

    public var metadata: [String: String] {
        var m: [String: String] = [
            "source.format": "btrecord",
            "source.file": paths.joined(separator: ","),
            "time.unit": "ns",
            "btrecord.inputs": String(inputs.count),
            "btrecord.bunches_read": String(bunches),
            "btrecord.packets_read": String(packets),
            "btrecord.header_bunches": String(cursors.reduce(0) { $0 + $1.headerBunches }),
            "btrecord.header_packets": String(cursors.reduce(0) { $0 + $1.headerPackets }),
        ]
        if primed { m["btrecord.genesis_ns"] = String(base) }
        let bigs = cursors.map(\.big)
        m["btrecord.byte_order"] = bigs.allSatisfy { !$0 } ? "little" : bigs.allSatisfy { $0 } ? "big" : "mixed"
        return m
    }

    public func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        if let f = failure { throw f }
        do {
            if !primed { try prime() }
            while batch.count < max(1, maxCount), let top = heap.min {
                let i = top.input
                let c = cursors[i]
                if c.left == 0 {
                    inputs[i].consume(c.next)
                    cursors[i].next = 0
                    if try readBunch(i) {
                        _ = heap.replaceMin(with: BlkMergeKey(time: cursors[i].time, input: i))
                    } else {
                        _ = heap.removeMin()
                    }
                    continue
                }
                try emit(i, into: &batch, maxCount: max(1, maxCount))
            }
        } catch let e as TraceError {
            failure = e
            throw e
        }
        return !batch.isEmpty
    }

    /// Hands out packets of input `i`'s current bunch.
    private func emit(_ i: Int, into batch: inout [TraceRecord], maxCount: Int) throws {
        let s = inputs[i]
        let big = cursors[i].big
        let t = cursors[i].time - base
        let p = UnsafeRawPointer(s.bytes.baseAddress!)
        while cursors[i].left > 0 && batch.count < maxCount {
            let at = cursors[i].next
            let sector = Self.load64(p, at, big)
            let nbytes = Self.load64(p, at + 8, big)
            let rw = Self.load32(p, at + 16, big)
            guard rw <= 1 else {
                throw TraceError(.corruptBlock, "\(s.name): byte \(s.position + UInt64(at)): packet direction \(rw) is neither 1 (read) nor 0 (write) (corrupt file)", byteOffset: s.position + UInt64(at))
            }
            guard sector <= UInt64.max / 512 else {
                throw TraceError(.corruptBlock, "\(s.name): byte \(s.position + UInt64(at)): sector \(sector) is too large (corrupt file)", byteOffset: s.position + UInt64(at))
            }
            let op: TraceOp = rw == 1 ? .read : (nbytes == 0 ? .sync : .write)
            batch.append(TraceRecord(time: t, op: op, file: 0, offset: sector * 512, length: nbytes, stream: cursors[i].cpu))
            cursors[i].next = at + Self.packetSize
            cursors[i].left -= 1
            packets &+= 1
        }
    }

    /// Reads every input's first bunch, sets the time base and builds the heap.
    private func prime() throws {
        primed = true
        var genesis = UInt64.max
        for i in 0..<inputs.count where try readBunch(i) {
            genesis = min(genesis, cursors[i].genesis)
            heap.insert(BlkMergeKey(time: cursors[i].time, input: i))
        }
        base = genesis == UInt64.max ? 0 : genesis
        for k in heap.unordered where cursors[k.input].time < base {
            let s = inputs[k.input]
            throw TraceError(.corruptBlock, "\(s.name): byte \(s.position): first bunch at \(cursors[k.input].time) ns is before the recording's genesis \(base) ns (corrupt file)", byteOffset: s.position)
        }
        if !heap.isEmpty {
            files = [TraceFile(path: deviceName ?? "btrecord")]
        }
    }

    /// Reads input `i`'s next bunch header and makes its packets readable in place.
    /// False at a clean end of the file.
    private func readBunch(_ i: Int) throws -> Bool {
        let s = inputs[i]
        if !(try s.ensure(Self.bunchHeaderSize)) {
            if s.available == 0 { return false }
            throw TraceError(.truncated, "\(s.name): byte \(s.position): file ends inside a bunch header (\(s.available) of 16 bytes)", byteOffset: s.position)
        }
        let big = cursors[i].big
        let p = UnsafeRawPointer(s.bytes.baseAddress!)
        let n = Self.load64(p, 0, big)
        let time = Self.load64(p, 8, big)
        guard n >= 1 && n <= Self.maxPackets else {
            throw TraceError(.corruptBlock, "\(s.name): byte \(s.position): bunch of \(n) packets (btrecord writes 1 to 512; corrupt file)", byteOffset: s.position)
        }
        if time < cursors[i].time {
            throw TraceError(.corruptBlock, "\(s.name): byte \(s.position): bunch time \(time) ns goes back from \(cursors[i].time) ns (corrupt file)", byteOffset: s.position)
        }
        if primed && time < base {
            throw TraceError(.corruptBlock, "\(s.name): byte \(s.position): bunch at \(time) ns is before the recording's genesis \(base) ns (corrupt file)", byteOffset: s.position)
        }
        let need = Self.bunchHeaderSize + Int(n) * Self.packetSize
        if !(try s.ensure(need)) {
            throw TraceError(.truncated, "\(s.name): byte \(s.position): file ends inside a bunch of \(n) packets (\(need) bytes, \(s.available) left)", byteOffset: s.position)
        }
        cursors[i].time = time
        cursors[i].left = Int(n)
        cursors[i].next = Self.bunchHeaderSize
        bunches &+= 1
        return true
    }

    @inline(__always) static func load64(_ p: UnsafeRawPointer, _ o: Int, _ big: Bool) -> UInt64 {
        let v = p.loadUnaligned(fromByteOffset: o, as: UInt64.self)
        return big ? UInt64(bigEndian: v) : UInt64(littleEndian: v)
    }

    @inline(__always) static func load32(_ p: UnsafeRawPointer, _ o: Int, _ big: Bool) -> UInt32 {
        let v = p.loadUnaligned(fromByteOffset: o, as: UInt32.self)
        return big ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }

    // MARK: Detection and file names

    /// True when `bytes` start like a btrecord file: version 1.0.0 in either byte order,
    /// then an empty file's zero counts or a first bunch of 1 to 512 packets that starts
    /// at or after the genesis.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= headerSize else { return false }
        let p = UnsafeRawPointer(bytes.baseAddress!)
        let big: Bool
        if load64(p, 0, false) == version { big = false } else if load64(p, 0, true) == version { big = true } else { return false }
        if bytes.count == headerSize { return load64(p, 16, big) == 0 && load64(p, 24, big) == 0 }
        guard bytes.count >= headerSize + bunchHeaderSize else { return false }
        let n = load64(p, 32, big)
        return n >= 1 && n <= maxPackets && load64(p, 40, big) >= load64(p, 8, big)
    }

    /// `sda.replay.3` (or `sda.replay.3.gz`, `.zst`) -> ("sda", 3, suffix).
    static func parseName(_ name: String) -> (String, Int, String)? {
        var base = name
        var suffix = ""
        for z in [".gz", ".zst"] where base.hasSuffix(z) { base.removeLast(z.count); suffix = z }
        guard let dot = base.lastIndex(of: "."), let n = Int(base[base.index(after: dot)...]), n >= 0 else { return nil }
        let stem = base[..<dot]
        guard stem.hasSuffix(".replay") else { return nil }
        let prefix = String(stem.dropLast(".replay".count))
        guard !prefix.isEmpty else { return nil }
        return (prefix, n, suffix)
    }

    /// All per-CPU files of the device `path` belongs to, sorted by CPU; a path not
    /// named `DEV.replay.N` comes back alone.
    public static func siblingFiles(of path: String) -> [String] {
        let (dir, base) = BlktraceReader.splitPath(path)
        guard let (prefix, _, suffix) = parseName(base) else { return [path] }
        guard let d = opendir(dir.isEmpty ? "." : dir) else { return [path] }
        defer { closedir(d) }
        var found: [(Int, String)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if let (p, n, s) = parseName(name), p == prefix, s == suffix {
                found.append((n, dir.isEmpty ? name : dir + "/" + name))
            }
        }
        if found.isEmpty { return [path] }
        found.sort { $0.0 < $1.0 }
        return found.map(\.1)
    }

    static func deviceName(of paths: [String]) -> String? {
        var name: String?
        for p in paths {
            guard let (prefix, _, _) = parseName(BlktraceReader.splitPath(p).1) else { return nil }
            if let n = name, n != prefix { return nil }
            name = prefix
        }
        return name
    }
}
