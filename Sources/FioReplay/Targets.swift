import CFioLinux
import FioTrace
import Foundation
import Glibc

/// Where each trace file is replayed: one target for all files, a per-file map, or (the
/// default, as fio does) the path the trace names.
public struct TargetMapping: Sendable {
    /// Every trace file goes to this path when set.
    public var all: String?
    /// Original path -> new path (checked before `all`). Keys may also be file indexes ("0").
    public var map: [String: String]
    /// Protects the paths the trace names (for files neither `all` nor `map` sends elsewhere):
    /// a trace recorded on another machine, or long ago, names files that now hold someone's
    /// data. When set (`replay` without `--in-place`), an existing regular file there is not
    /// written, and missing ones are created only while their sizes add up to at most
    /// `createLimit`. Block devices keep their own checks (`BlockDeviceSafety`).
    public var protectTracePaths = false
    /// Bytes the files created at the trace's own paths may take together (sparse: this is
    /// their size, not the disk space they use at first).
    public var createLimit: UInt64 = 1 << 30
    /// Trace paths this replay created itself (`prepareTargets`): not someone's data.
    public var createdPaths: Set<String> = []
    public init(all: String? = nil, map: [String: String] = [:]) {
        self.all = all
        self.map = map
    }
    /// The target path for trace file `index`.
    public func path(for file: TraceFile, index: Int) -> String {
        if let p = map[file.path] ?? map[String(index)] ?? underMappedDirectory(file.path) { return p }
        return all ?? file.path
    }
    /// Whether trace file `index` goes to the path the trace names (no `all`, no `map` entry).
    public func usesTracePath(for file: TraceFile, index: Int) -> Bool {
        all == nil && map[file.path] == nil && map[String(index)] == nil && underMappedDirectory(file.path) == nil
    }
    /// `map` keys that name none of `files` (neither a path nor an index nor a directory
    /// holding one), sorted.
    public func unmatchedKeys(files: [TraceFile]) -> [String] {
        let paths = Set(files.map(\.path))
        return map.keys.filter { k in
            !paths.contains(k) && !(Int(k).map { $0 >= 0 && $0 < files.count } ?? false)
                && !files.contains { Self.isUnder($0.path, directory: k) }
        }.sorted()
    }
    /// A `map` key that is a directory prefix of `path` (`/var/lib/app` for
    /// `/var/lib/app/db/x`; the longest wins) sends `path` to the same place under its value.
    /// A recorded directory's path ends in `/`.
    func underMappedDirectory(_ path: String) -> String? {
        var best: (key: String, value: String)?
        for (k, v) in map where k.hasPrefix("/") && Self.isUnder(path, directory: k) {
            if best == nil || k.count > best!.key.count { best = (k, v) }
        }
        guard let best else { return nil }
        let base = best.key.hasSuffix("/") ? String(best.key.dropLast()) : best.key
        let rest = path.dropFirst(base.count) // starts with "/"
        let to = best.value.hasSuffix("/") ? String(best.value.dropLast()) : best.value
        return to + rest
    }
    static func isUnder(_ path: String, directory k: String) -> Bool {
        guard k.hasPrefix("/"), k != "/" else { return false }
        let base = k.hasSuffix("/") ? String(k.dropLast()) : k
        return path.count > base.count && path.hasPrefix(base + "/")
    }
}

/// Offset transformation applied to every I/O before it reaches the target.
public struct OffsetMapping: Sendable {
    /// Multiply offsets by this factor (1 = unchanged).
    public var scale: Double = 1
    /// Round offsets down to a multiple of this many bytes (0 or 1 = unchanged).
    public var align: UInt64 = 0
    /// Wrap I/Os that reach past the target's end back into it; when false such I/Os stop
    /// the replay with `.targetTooSmall`.
    public var wrap: Bool = false
    public init(scale: Double = 1, align: UInt64 = 0, wrap: Bool = false) {
        self.scale = scale
        self.align = align
        self.wrap = wrap
    }
}

/// An opened (or not yet opened) target.
struct Target {
    var path: String
    var fd: Int32 = -1
    /// The same file opened the other way round (O_DIRECT when `fd` is buffered, and the
    /// reverse), for records whose direct flag differs from the table's; -1 until one asks.
    var altFd: Int32 = -1
    /// Size in bytes; 0 when unknown (a file we could not size), which disables bounds checks.
    var size: UInt64 = 0
    var isBlockDevice = false
    /// Trace files currently open on it (open events minus close events, min 1 when lazily opened).
    var openCount = 0
    /// Named by the user (`--target`, `--map`) for at least one trace file; false when only
    /// the trace names it.
    var named = false
}

/// Opens targets as the trace names files, creating missing files at the size the trace
/// needs and refusing unsafe block devices.
struct TargetTable {
    var mapping: TargetMapping
    var direct: Bool
    var readOnly: Bool
    var allowDestructive: Bool
    /// Trace file index -> bytes the trace needs on it (from a pre-scan), when known.
    var requiredSizes: [UInt32: UInt64]
    var wrap: Bool
    var targets: [Target] = []
    /// Trace file index -> target index.
    var fileTarget: [Int] = []
    /// Notes for the user (one line each), e.g. "created /tmp/x (1 GiB)".
    var notes: [String] = []
    /// Targets this table created (a file closed and opened again by the trace stays ours).
    var created: Set<String> = []

    init(mapping: TargetMapping, direct: Bool, readOnly: Bool, allowDestructive: Bool,
         requiredSizes: [UInt32: UInt64], wrap: Bool) {
        self.mapping = mapping
        self.direct = direct
        self.readOnly = readOnly
        self.allowDestructive = allowDestructive
        self.requiredSizes = requiredSizes
        self.wrap = wrap
    }

    /// Maps trace files `fileTarget.count..<files.count` to targets (no opening yet).
    mutating func addFiles(_ files: [TraceFile]) {
        while fileTarget.count < files.count {
            let i = fileTarget.count
            let p = mapping.path(for: files[i], index: i)
            let named = !mapping.usesTracePath(for: files[i], index: i)
            if let t = targets.firstIndex(where: { $0.path == p }) {
                fileTarget.append(t)
                if named { targets[t].named = true }
            } else {
                targets.append(Target(path: p, named: named))
                fileTarget.append(targets.count - 1)
            }
        }
    }

    /// Bytes the trace needs on target `t` (max over the trace files mapped to it).
    func needed(_ t: Int, files: [TraceFile]) -> UInt64? {
        var n: UInt64? = nil
        // The larger of what the trace reaches (a pre-scan) and the size its file table
        // declares: a target made to the first must not be refused by the second next time.
        for (i, ti) in fileTarget.enumerated() where ti == t {
            let reached = requiredSizes[UInt32(i)]
            let declared = i < files.count ? files[i].size : nil
            if reached != nil || declared != nil { n = max(n ?? 0, reached ?? 0, declared ?? 0) }
        }
        return n
    }

    /// Opens directory target `t` read-only, creating it (and its parents) when missing and
    /// the replay may write.
    mutating func openDirectory(_ t: Int) throws {
        let path = targets[t].path
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            guard e == ENOENT, !readOnly else {
                throw ReplayError(.targetUnavailable, "cannot open directory target \(path): \(ReplayError.errnoString(e))", errno: e)
            }
            if mapping.protectTracePaths && !targets[t].named {
                throw ReplayError(.refusedDestructive, "refusing to create directory \(path) at the path the trace names", remedy: .createInPlace)
            }
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw ReplayError(.targetUnavailable, "cannot create directory target \(path): \(error.localizedDescription)")
            }
            notes.append("created directory \(path)")
        }
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw ReplayError(.targetUnavailable, "cannot open directory target \(path): \(ReplayError.errnoString(e))", errno: e)
        }
        targets[t].fd = fd
        targets[t].size = 0
    }

    /// Opens target `t` if it is not open. Throws a `ReplayError` a user can act on.
    mutating func open(_ t: Int, files: [TraceFile]) throws {
        if targets[t].fd >= 0 { return }
        let path = targets[t].path
        var st = stat()
        var created = false
        var flags: Int32 = readOnly ? O_RDONLY : O_RDWR
        if direct { flags |= cfio_o_direct() }
        let recordedDirectory = path.hasSuffix("/")
            || fileTarget.indices.contains { fileTarget[$0] == t && $0 < files.count && files[$0].path.hasSuffix("/") }
        if recordedDirectory {
            // A directory the trace recorded (its path ends in "/"): opened to be fsynced,
            // as databases do after creating a file in it; made when missing. (A directory
            // given as the target of a file is still refused below.)
            try openDirectory(t)
            return
        }
        if stat(path, &st) != 0 {
            let e = errno
            guard e == ENOENT else {
                throw ReplayError(.targetUnavailable, "cannot stat target \(path): \(ReplayError.errnoString(e))", errno: e)
            }
            if readOnly {
                throw ReplayError(.targetUnavailable, "target \(path) does not exist, and a replay that only reads does not create it", remedy: .createTarget, errno: e)
            }
            flags |= O_CREAT | O_EXCL
            created = true
            if mapping.protectTracePaths && !targets[t].named, let need = needed(t, files: files), need > mapping.createLimit {
                throw ReplayError(.refusedDestructive,
                    "refusing to create \(path) at the path the trace names: the trace needs \(byteSize(need)) there, more than \(byteSize(mapping.createLimit))",
                    remedy: .createInPlace)
            }
        }
        var fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT && created && targets[t].named {
            // A file the user mapped into a directory that does not exist yet (a recording
            // replayed onto an empty copy): make the directory.
            let parent = (path as NSString).deletingLastPathComponent
            if (try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)) != nil {
                fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
            } else {
                errno = ENOENT
            }
        }
        if fd < 0 {
            let e = errno
            var remedy: ReplayError.Remedy?
            var why = ""
            if (e == EACCES || e == EROFS) && !readOnly { remedy = .makeWritable; why = " (not writable)" }
            if e == EINVAL && direct { remedy = .dropDirect; why = " (the filesystem does not support O_DIRECT)" }
            throw ReplayError(.targetUnavailable, "cannot open target \(path): \(ReplayError.errnoString(e))\(why)", remedy: remedy, errno: e)
        }
        var fst = stat()
        fstat(fd, &fst)
        let isBlock = (fst.st_mode & S_IFMT) == S_IFBLK
        var size: UInt64 = 0
        if isBlock {
            let s = cfio_blkdev_size(fd)
            size = s > 0 ? UInt64(s) : 0
            if !readOnly && !allowDestructive {
                if let why = BlockDeviceSafety.reasonToRefuse(path: path, rdev: fst.st_rdev) {
                    Glibc.close(fd)
                    throw ReplayError(.refusedDestructive,
                        "refusing to write to \(path): \(why); pass --allow-destructive to overwrite it", remedy: .readOnly)
                }
            }
        } else if (fst.st_mode & S_IFMT) == S_IFREG {
            size = UInt64(fst.st_size)
            let need = needed(t, files: files)
            let guarded = mapping.protectTracePaths && !targets[t].named && !readOnly
            if guarded && !created && !self.created.contains(path) && !mapping.createdPaths.contains(path) && !CreatedMark.isSet(fd) {
                Glibc.close(fd)
                throw ReplayError(.refusedDestructive,
                    "refusing to write to \(path): it is an existing file at a path the trace names, and the replay would overwrite its data",
                    remedy: .replayInPlace)
            }
            if created {
                self.created.insert(path)
                CreatedMark.set(fd)
                let want = need ?? 0
                if want > 0 {
                    do { try sizeNewTarget(fd, path: path, bytes: want) } catch { Glibc.close(fd); throw error }
                    notes.append("created \(path) (\(want) bytes)")
                } else {
                    notes.append("created \(path) (empty: the trace does not say how large it must be)")
                }
                size = want
            } else if let need, need > size, !wrap {
                Glibc.close(fd)
                throw ReplayError(.targetTooSmall,
                    "target \(path) is \(size) bytes but the trace reaches byte \(need)", remedy: .fitTarget)
            }
        } else {
            Glibc.close(fd)
            throw ReplayError(.targetUnavailable, "target \(path) is neither a regular file nor a block device")
        }
        targets[t].fd = fd
        targets[t].size = size
        targets[t].isBlockDevice = isBlock
    }

    /// Opens target `t`'s second descriptor (see `Target.altFd`): the target is open, so
    /// it exists and has been checked; only the O_DIRECT flag differs.
    mutating func openAlternate(_ t: Int) throws {
        if targets[t].altFd >= 0 { return }
        var flags: Int32 = readOnly ? O_RDONLY : O_RDWR
        if !direct { flags |= cfio_o_direct() }
        let path = targets[t].path
        let fd = Glibc.open(path, flags | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            let way = direct ? "without O_DIRECT" : "with O_DIRECT, as the trace's direct flag asks"
            throw ReplayError(.targetUnavailable, "cannot open target \(path) \(way): \(ReplayError.errnoString(e))",
                              remedy: e == EINVAL && !direct ? .replayBuffered : nil, errno: e)
        }
        targets[t].altFd = fd
    }

    mutating func close(_ t: Int) {
        if targets[t].fd >= 0 { Glibc.close(targets[t].fd) }
        if targets[t].altFd >= 0 { Glibc.close(targets[t].altFd) }
        targets[t].altFd = -1
        targets[t].fd = -1
        targets[t].openCount = 0
    }

    mutating func closeAll() {
        for t in targets.indices { close(t) }
    }
}

/// The mark on files this tool created (a replay's new target, a file `run` laid out): an
/// extended attribute. A replay that finds a file at a path the trace names leaves it alone
/// unless it carries the mark (`--in-place` aside): the file is then a test file of an
/// earlier run or replay (`run --write-iolog` and a replay of the recording name the same
/// files), not someone's data. On filesystems without user extended attributes nothing is
/// marked, and such files need `--in-place` like any other.
public enum CreatedMark {
    static let name = "user.fio-replay.created"

    /// Marks the open file `fd` (best effort).
    public static func set(_ fd: Int32) {
        _ = cfio_fsetxattr(fd, name, "1", 1)
    }

    /// Whether the open file `fd` carries the mark.
    public static func isSet(_ fd: Int32) -> Bool {
        var b: UInt8 = 0
        return cfio_fgetxattr(fd, name, &b, 1) >= 0
    }
}

/// Bytes as messages give them: exact below 1 KiB, else with a binary unit ("1.5 GiB").
func byteSize(_ n: UInt64) -> String {
    if n < 1024 { return "\(n) bytes" }
    var v = Double(n), unit = 0
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    while v >= 1024 && unit < units.count - 1 { v /= 1024; unit += 1 }
    return (v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v)) + " " + units[unit]
}

/// Checks every target the trace's file table names before a replay starts, the way the
/// replay opens them (unsafe block devices, protected trace paths, targets that cannot be
/// opened; missing files are created at the size the trace needs), so that a refusal is one line before any
/// I/O instead of an error at the first record after a report. Also refuses `map` entries
/// that name no file of the trace, and files to create at the trace's own paths whose sizes
/// add up to more than `createLimit`. Returns notes for the user ("created ...").
public func prepareTargets(files: [TraceFile], options o: inout ReplayOptions) throws -> [String] {
    let unmatched = o.targets.unmatchedKeys(files: files)
    if let k = unmatched.first {
        let shown = files.prefix(8).enumerated().map { "\($0.offset) \"\($0.element.path)\"" }.joined(separator: ", ")
        let more = files.count > 8 ? ", ... (\(files.count) files)" : ""
        throw ReplayError(.invalidOption,
            "--map \(k)=\(o.targets.map[k] ?? ""): the trace has no file \"\(k)\"" + (unmatched.count > 1 ? " (nor \(unmatched.dropFirst().map { "\"\($0)\"" }.joined(separator: ", ")))" : "")
            + "; its files are " + (files.isEmpty ? "none" : shown + more) + " (name a file by its path or its index)")
    }
    // A target too small for the trace is not checked here (`wrap: true`): that is an error
    // of the run, reported with its statistics, as before.
    var table = TargetTable(mapping: o.targets, direct: o.direct, readOnly: o.readOnly, allowDestructive: o.allowDestructive,
                            requiredSizes: o.requiredSizes, wrap: true)
    // A trace that defines its files as it goes (not read yet): `all` is still every file's
    // target, so it is checked as the target of one file of unknown size.
    table.addFiles(files.isEmpty && o.targets.all != nil ? [TraceFile(path: "")] : files)
    if o.targets.protectTracePaths && !o.readOnly {
        var total: UInt64 = 0
        var list: [String] = []
        for t in table.targets.indices where !table.targets[t].named {
            var st = stat()
            guard stat(table.targets[t].path, &st) != 0 && errno == ENOENT else { continue }
            let n = table.needed(t, files: files) ?? 0
            total &+= n
            list.append("\(table.targets[t].path) \(byteSize(n))")
        }
        if total > o.targets.createLimit {
            let shown = list.prefix(4).joined(separator: ", ") + (list.count > 4 ? ", ..." : "")
            throw ReplayError(.refusedDestructive,
                "refusing to create \(list.count) file\(list.count == 1 ? "" : "s") at the paths the trace names, \(byteSize(total)) in all (\(shown)): more than \(byteSize(o.targets.createLimit))",
                remedy: .createInPlace)
        }
    }
    defer { table.closeAll() }
    for t in table.targets.indices { try table.open(t, files: files) }
    o.targets.createdPaths.formUnion(table.created)
    return table.notes
}

/// Checks that protect block devices holding data.
public enum BlockDeviceSafety {
    /// Why writing to the block device `path` (device number `rdev`) is unsafe, or nil: it or
    /// one of its partitions is mounted, it is held by device-mapper/md, or it starts with a
    /// filesystem, partition table, swap, LVM or LUKS signature.
    public static func reasonToRefuse(path: String, rdev: UInt) -> String? {
        let major = (rdev >> 8) & 0xfff | ((rdev >> 32) & ~0xfff)
        let minor = (rdev & 0xff) | ((rdev >> 12) & ~0xff)
        let dev = "\(major):\(minor)"
        var devs = [dev]
        // Partitions: /sys/dev/block/M:m/<name>/dev
        let sys = "/sys/dev/block/\(dev)"
        if let d = opendir(sys) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name.hasPrefix(".") { continue }
                if let v = readSmallFile("\(sys)/\(name)/dev"), access("\(sys)/\(name)/partition", F_OK) == 0 {
                    devs.append(v.trimmingWhitespace)
                }
            }
            closedir(d)
        }
        if let mi = readSmallFile("/proc/self/mountinfo") {
            for line in mi.split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count > 4, devs.contains(String(f[2])) {
                    return "it (or a partition on it) is mounted on \(f[4])"
                }
            }
        }
        if let d = opendir("\(sys)/holders") {
            var holders: [String] = []
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if !name.hasPrefix(".") { holders.append(name) }
            }
            closedir(d)
            if !holders.isEmpty { return "it is in use by \(holders.joined(separator: ", "))" }
        }
        if let sig = signature(path: path) { return "it holds a \(sig) signature" }
        return nil
    }

    /// The first filesystem/partition signature found at the start of `path`, or nil.
    public static func signature(path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { Glibc.close(fd) }
        let n = 68 * 1024
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 4096)
        defer { buf.deallocate() }
        memset(buf.baseAddress!, 0, n)
        let got = (try? SystemCall.preadFully(fd, buf.baseAddress!, n, 0)) ?? 0
        func bytes(_ at: Int, _ s: String) -> Bool {
            let u = Array(s.utf8)
            guard at + u.count <= got else { return false }
            for i in 0..<u.count where buf[at + i] != u[i] { return false }
            return true
        }
        func le16(_ at: Int) -> UInt16 { at + 2 <= got ? UInt16(buf[at]) | UInt16(buf[at + 1]) << 8 : 0 }
        func le32(_ at: Int) -> UInt32 { at + 4 <= got ? UInt32(le16(at)) | UInt32(le16(at + 2)) << 16 : 0 }
        if le16(1080) == 0xEF53 { return "ext2/3/4 filesystem" }
        if bytes(0, "XFSB") { return "XFS filesystem" }
        if bytes(65536 + 64, "_BHRfS_M") { return "btrfs filesystem" }
        if le32(1024) == 0xF2F52010 { return "F2FS filesystem" }
        if bytes(0, "LUKS") { return "LUKS" }
        if bytes(0, "hsqs") { return "squashfs filesystem" }
        if bytes(512, "EFI PART") || bytes(4096, "EFI PART") { return "GPT partition table" }
        if bytes(512, "LABELONE") || bytes(24, "LVM2") { return "LVM physical volume" }
        if bytes(4086, "SWAPSPACE2") || bytes(4086, "SWAP-SPACE") { return "swap" }
        if bytes(54, "FAT") || bytes(82, "FAT32") { return "FAT filesystem" }
        if bytes(3, "NTFS") { return "NTFS filesystem" }
        if got >= 512 && buf[510] == 0x55 && buf[511] == 0xAA { return "MBR partition table" }
        return nil
    }
}

func readSmallFile(_ path: String) -> String? {
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return nil }
    defer { Glibc.close(fd) }
    var out = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let r = (try? chunk.withUnsafeMutableBytes { (p) throws(Errno) in try SystemCall.read(fd, p.baseAddress!, p.count) }) ?? 0
        if r <= 0 { break }
        out.append(contentsOf: chunk[0..<r])
    }
    return String(decoding: out, as: UTF8.self)
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// Creates every regular-file target that does not exist yet, at the size the trace needs
/// (sparse, as a single replay does on first open), so that several streams replaying at
/// once find them in place instead of racing to create them. Returns what it created.
public func createMissingTargets(files: [TraceFile], mapping: TargetMapping,
                                 requiredSizes: [UInt32: UInt64]) throws -> [String] {
    var need: [String: UInt64] = [:]
    for (i, f) in files.enumerated() {
        let path = mapping.path(for: f, index: i)
        let size = requiredSizes[UInt32(i)] ?? f.size ?? 0
        need[path] = max(need[path] ?? 0, size)
    }
    var made: [String] = []
    for (path, size) in need.sorted(by: { $0.key < $1.key }) {
        var st = stat()
        if stat(path, &st) == 0 { continue }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let e = errno
            if e == EEXIST { continue }
            throw ReplayError(.targetUnavailable, "cannot create target \(path): \(ReplayError.errnoString(e))", errno: e)
        }
        defer { close(fd) }
        if size > 0 { try sizeNewTarget(fd, path: path, bytes: size) }
        made.append("created \(path) (\(size) bytes)")
    }
    return made
}

/// Gives a target just created at `path` its size (sparse); on failure removes it again.
func sizeNewTarget(_ fd: Int32, path: String, bytes: UInt64) throws {
    guard ftruncate(fd, off_t(bytes)) != 0 else { return }
    let e = errno
    unlink(path)
    throw ReplayError(.targetUnavailable, "cannot size new target \(path) to \(bytes) bytes: \(ReplayError.errnoString(e))", errno: e)
}
