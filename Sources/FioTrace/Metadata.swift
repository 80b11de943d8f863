#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The toolkit's version, recorded in every trace its tools write (`fio-gen.version` in a
/// generated trace, `tool.version` in a recording).
public let fioGenVersion = "0.1.0"

/// Keys of a trace's free-form metadata that the tools write and read
/// (docs/trace-format.md lists them). Values are text; numbers are decimal.
public enum MetadataKey {
    // Where the records came from.
    /// The input format the records were read from (`iolog3`, `strace`, `fio-gen`, ...).
    public static let sourceFormat = "source.format"
    /// The input file(s) the records were read from.
    public static let sourceFile = "source.file"
    /// The clock resolution of the input's times (`ns`, `us`, `ms`, or `none`).
    public static let timeUnit = "time.unit"
    /// Segments of a fio iolog that restarted its clock.
    public static let iologSegments = "iolog.segments"
    /// The trace a `convert` read.
    public static let convertedFrom = "converted.from"

    // Queue depth and streams (read by a replay).
    /// The in-flight cap a replay should use: the most I/Os the streams had in flight together.
    public static let iodepth = "iodepth"
    /// Each stream's in-flight cap, comma separated, in `streams` order.
    public static let iodepthPerStream = "iodepth.per-stream"
    /// The stream ids a multi-stream recording's records carry, comma separated.
    public static let streams = "streams"

    // Recordings (`run --write-iolog`, `replay --write-iolog`, `record`).
    /// Who made the recording (`fio-replay run --write-iolog`, `strace`, ...).
    public static let recorder = "recorder"
    /// The tool and its version (`fio-replay 0.1.0`).
    public static let toolVersion = "tool.version"
    /// The machine the recording was made on.
    public static let host = "host"
    /// The engine(s) that issued the I/O, comma separated.
    public static let ioengine = "ioengine"
    /// The file or device every trace file went to.
    public static let target = "target"
    /// Whether the recorded I/O went O_DIRECT: `1`, `0`, or one per stream, comma separated.
    public static let direct = "direct"
    /// A replay's timing mode (`original`, `none`, `closed`) and speed factor.
    public static let timing = "timing"
    public static let speed = "speed"
    /// A live run's timing mode per stream, comma separated.
    public static let timingPerStream = "timing.per-stream"
    /// The trace a replay read.
    public static let sourceTrace = "source.trace"
    /// A live run's jobs (`name.clone`), comma separated, in stream order.
    public static let jobs = "jobs"
    /// A replay's `--map` entries, one key each (`map.0`, `map.1`, ...).
    public static func map(_ index: Int) -> String { "map.\(index)" }
    /// `record`: the command line, its exit status and wall time (s), the paths recorded.
    public static let recordCommand = "record.command"
    public static let recordExitStatus = "record.exit_status"
    public static let recordWallSeconds = "record.wall_s"
    public static let recordPaths = "record.paths"

    // Generated traces (fio-gen, and the job a live run ran).
    public static let genVersion = "fio-gen.version"
    public static let genSeed = "fio-gen.seed"
    public static let genJobCount = "fio-gen.jobs"
    /// The job file text (or the flags rendered as one).
    public static let genJob = "fio-gen.job"
    /// Per job clone: `[name#clone] options...`, one line each.
    public static let genOptions = "fio-gen.options"
    public static let genIodepthPerJob = "fio-gen.iodepth.per-job"
    /// The timing model in words, and its parameters (ns, bytes/s).
    public static let genTiming = "fio-gen.timing"
    public static let genServiceTimeNs = "fio-gen.service-time-ns"
    public static let genServiceBW = "fio-gen.service-bw"
    public static let genRecords = "fio-gen.records"
}

/// The metadata of a recording, built in one place for every recorder (`run` and `replay`
/// with `--write-iolog`, `record`), so that each names its recorder, tool version and host
/// and spells the depth and stream keys a replay reads the same way.
public struct RecordingMetadata: Sendable {
    /// One stream of a multi-stream recording: the id its records carry and its in-flight cap.
    public struct Stream: Sendable, Equatable {
        public var id: UInt32
        public var iodepth: Int
        public init(id: UInt32, iodepth: Int) {
            self.id = id
            self.iodepth = iodepth
        }
    }

    public var recorder: String
    /// The engine(s) that issued the I/O (comma separated when streams differ).
    public var ioengine: String?
    /// The in-flight cap for a replay of the recording.
    public var iodepth: Int?
    /// Empty for a single-stream recording.
    public var streams: [Stream] = []
    public var target: String?
    /// The resolution of the recorded times: `ns` for our own clock, `us` for strace's.
    public var timeUnit = "ns"
    /// Keys particular to one recorder (they do not override the ones above).
    public var extra: [String: String] = [:]

    public init(recorder: String) { self.recorder = recorder }

    /// The key-value pairs to store.
    public var dictionary: [String: String] {
        var m = extra
        m[MetadataKey.recorder] = recorder
        m[MetadataKey.toolVersion] = "fio-replay \(fioGenVersion)"
        m[MetadataKey.host] = hostName()
        m[MetadataKey.timeUnit] = timeUnit
        if let ioengine { m[MetadataKey.ioengine] = ioengine }
        if let iodepth { m[MetadataKey.iodepth] = String(iodepth) }
        if !streams.isEmpty {
            m[MetadataKey.streams] = streams.map { String($0.id) }.joined(separator: ",")
            m[MetadataKey.iodepthPerStream] = streams.map { String($0.iodepth) }.joined(separator: ",")
        }
        if let target { m[MetadataKey.target] = target }
        return m
    }
}

/// This machine's host name (empty if the system gives none).
public func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    guard gethostname(&buf, buf.count - 1) == 0 else { return "" }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
