import Foundation
import Glibc

/// fio's disk utilization (`disk_util` in JSON, "Disk stats" in the text, the last fields
/// of terse): for each block device that holds a job's file, the change of its
/// `/sys/block/DEV/stat` counters over the run, and the share of the run (ms) the device
/// was busy (`io_ticks`). A partition counts as its whole disk, as fio's sysfs walk does
/// (a `queue` directory one level up); files on a filesystem without a block device (tmpfs)
/// have none, and then the report has no disk_util, as fio's has none.
public struct DiskUtilStat: Equatable {
    public var name: String
    /// Completed I/Os, merges and ticks (ms) per direction (read, write); time in queue (ms).
    public var ios: (UInt64, UInt64) = (0, 0)
    public var merges: (UInt64, UInt64) = (0, 0)
    public var ticks: (UInt64, UInt64) = (0, 0)
    public var ioTicks: UInt64 = 0
    public var timeInQueue: UInt64 = 0
    /// Wall time the counters cover (ms).
    public var msec: UInt64 = 0

    public static func == (a: DiskUtilStat, b: DiskUtilStat) -> Bool {
        a.name == b.name && a.ios == b.ios && a.merges == b.merges && a.ticks == b.ticks
            && a.ioTicks == b.ioTicks && a.timeInQueue == b.timeInQueue && a.msec == b.msec
    }

    /// Busy share in percent, at most 100 (fio's formula).
    public var util: Double {
        guard msec > 0 else { return 0 }
        return min(100, Double(ioTicks) * 100 / Double(msec))
    }

    /// fio's text line, e.g. `  vda: ios=455/488, merge=0/0, ticks=42/49, in_queue=91, util=10.72%`.
    public var text: String {
        String(format: "  %@: ios=%llu/%llu, merge=%llu/%llu, ticks=%llu/%llu, in_queue=%llu, util=%3.2f%%\n",
               name, ios.0, ios.1, merges.0, merges.1, ticks.0, ticks.1, timeInQueue, util)
    }

    /// fio's terse fields (each preceded by ';').
    public var terse: String {
        String(format: ";%@;%llu;%llu;%llu;%llu;%llu;%llu;%llu;%3.2f%%",
               name, ios.0, ios.1, merges.0, merges.1, ticks.0, ticks.1, timeInQueue, util)
    }

    /// fio's JSON object.
    public var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("read_ios", .uint(ios.0)), ("write_ios", .uint(ios.1)),
            ("read_merges", .uint(merges.0)), ("write_merges", .uint(merges.1)),
            ("read_ticks", .uint(ticks.0)), ("write_ticks", .uint(ticks.1)),
            ("in_queue", .uint(timeInQueue)),
            ("util", .double(util)),
        ])
    }
}

/// Takes the devices' counters when a run starts and again when it ends.
public final class DiskUtilTracker {
    struct Device {
        let name: String
        let statPath: String
        let start: [UInt64]
    }
    private var devices: [Device] = []
    private var startNs: UInt64 = 0

    /// The devices holding `paths` (regular files: their filesystem's device; block devices:
    /// themselves), each once, in the order first named. Paths that do not exist yet are
    /// looked up by their directory.
    public init(paths: [String]) {
        var seen = Set<String>()
        for p in paths {
            guard let dir = Self.sysfsDir(for: p), !seen.contains(dir) else { continue }
            seen.insert(dir)
            let stat = dir + "/stat"
            guard let c = Self.counters(stat) else { continue }
            devices.append(Device(name: (dir as NSString).lastPathComponent, statPath: stat, start: c))
        }
        startNs = Self.nowNs()
    }

    /// Restarts the interval (after the files were laid out, as fio starts counting when the
    /// jobs start).
    public func restart() {
        devices = devices.compactMap { d in Self.counters(d.statPath).map { Device(name: d.name, statPath: d.statPath, start: $0) } }
        startNs = Self.nowNs()
    }

    /// The change since `init` (or `restart`), one entry per device.
    public func finish() -> [DiskUtilStat] {
        let ms = (Self.nowNs() &- startNs) / 1_000_000
        return devices.compactMap { d in
            guard let now = Self.counters(d.statPath) else { return nil }
            func delta(_ i: Int) -> UInt64 { now[i] >= d.start[i] ? now[i] - d.start[i] : 0 }
            var s = DiskUtilStat(name: d.name)
            s.ios = (delta(0), delta(4))
            s.merges = (delta(1), delta(5))
            s.ticks = (delta(3), delta(7))
            s.ioTicks = delta(9)
            s.timeInQueue = delta(10)
            s.msec = ms
            return s
        }
    }

    static func nowNs() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// The first eleven counters of a block device's stat file (reads, read merges, read
    /// sectors, read ticks, writes, ..., in flight, io_ticks, time in queue).
    static func counters(_ path: String) -> [UInt64]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).compactMap { UInt64($0) }
        return fields.count >= 11 ? Array(fields.prefix(11)) : nil
    }

    /// `/sys/dev/block/MAJ:MIN` resolved, moved up from a partition to its disk.
    static func sysfsDir(for path: String) -> String? {
        var st = stat()
        var p = path
        while stat(p, &st) != 0 {
            let parent = (p as NSString).deletingLastPathComponent
            if parent == p || parent.isEmpty { p = "."; guard stat(p, &st) == 0 else { return nil }; break }
            p = parent
        }
        let dev = (st.st_mode & S_IFMT) == S_IFBLK ? st.st_rdev : st.st_dev
        let major = (dev >> 8) & 0xfff | ((dev >> 32) & ~0xfff)
        let minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
        guard major != 0 else { return nil }
        guard let real = realpath("/sys/dev/block/\(major):\(minor)", nil) else { return nil }
        defer { free(real) }
        var dir = String(cString: real)
        let up = (dir as NSString).deletingLastPathComponent
        if access(up + "/queue", F_OK) == 0 && access(dir + "/queue", F_OK) != 0 { dir = up }
        guard access(dir + "/stat", R_OK) == 0 else { return nil }
        return dir
    }
}
