import Glibc

/// The one error type of FioReplay. `description` is one line a user can act on: it names
/// the target, the record number (zero-based, counted over the whole trace) and the
/// operation where they apply, and says what to change.
public struct ReplayError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The target does not exist and cannot be created, or cannot be opened.
        case targetUnavailable
        /// The target is smaller than the trace needs and `wrap` is off.
        case targetTooSmall
        /// Writing to the target was refused for safety (mounted or holds a filesystem).
        case refusedDestructive
        /// The requested engine cannot run here (io_uring disabled, libaio missing).
        case engineUnavailable
        /// An I/O failed (errno in `errno`), e.g. EINVAL for misaligned O_DIRECT, ENOSPC, EIO.
        case ioFailed
        /// The trace could not be read.
        case trace
        /// Options that contradict each other or the trace.
        case invalidOption
        /// The run was interrupted by SIGINT/SIGTERM.
        case interrupted
        /// Verify found bad data and was asked to stop at the first (verify_fatal), or the
        /// verify state could not be read or written.
        case verifyFailed
    }

    /// What the user could change to get past the error. The library does not know the
    /// command line: each front end names its own option for it (`replay --wrap`, `run`'s
    /// job options).
    public enum Remedy: Sendable, Equatable {
        /// An I/O reaches past the target's end: wrap or scale offsets, or a larger target.
        case fitTarget
        /// O_DIRECT needs aligned offsets and lengths: align them or drop direct I/O.
        case alignForDirect
        /// The kernel's AIO context limit: a lower depth (or a higher fs.aio-max-nr).
        case lowerDepth
        /// A job names an engine we do not have: choose one.
        case chooseEngine
        /// A block device holds data (the message names `--allow-destructive`): only reading
        /// it is safe.
        case readOnly
        /// A target that reads only must exist (it is not created).
        case createTarget
        /// The target is not writable: fix its permissions, or only read it.
        case makeWritable
        /// The target's filesystem has no O_DIRECT: drop direct I/O.
        case dropDirect
        /// Records of the trace ask for O_DIRECT (their direct flag) on a filesystem
        /// without it: replay every I/O buffered.
        case replayBuffered
        /// An existing file at a path the trace names would be overwritten: say so, only
        /// read it, or choose other targets.
        case replayInPlace
        /// Files at the paths the trace names would be created, larger than the modest limit:
        /// say so, or choose other targets.
        case createInPlace
    }

    public var kind: Kind
    public var message: String
    public var remedy: Remedy?
    /// The record number the error applies to, when it applies to one.
    public var record: UInt64?
    /// The errno behind it, when there is one.
    public var errno: Int32?

    public init(_ kind: Kind, _ message: String, remedy: Remedy? = nil, record: UInt64? = nil, errno: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.remedy = remedy
        self.record = record
        self.errno = errno
    }

    /// The message with control characters (a file name from a trace may hold any) written
    /// as escapes: one line whatever it quotes.
    public var description: String { message.escapingControlCharacters }

    /// `strerror` as a Swift string.
    public static func errnoString(_ e: Int32) -> String {
        guard let s = strerror(e) else { return "errno \(e)" }
        return String(cString: s)
    }
}
