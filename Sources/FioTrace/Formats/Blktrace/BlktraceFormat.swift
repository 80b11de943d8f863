/// blktrace binary traces (design.md section 5): the per-CPU files `DEV.blktrace.N` that
/// `blktrace` writes, or the single merged file `blkparse -d` writes.
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
/// Notify records (category `BLK_TC_NOTIFY`) carry no I/O: code 0 names a process (the
/// payload is its command name, after an 8-byte cgroup id when the cgroup bit is set),
/// code 1 is the capture's wall-clock note, code 2 a message.
///
/// Version 8 (`blk_io_trace2`, a 64-bit action, proposed for Linux in 2025) is refused
/// with `.unsupportedVersion`.
public enum BlktraceEventKind: Sendable, Hashable {
    /// Q events: when the I/O arrived at the block layer (what the application asked for).
    case queue
    /// D events: when the (possibly merged) request was issued to the driver.
    case dispatch
}

/// What a blktrace record's `stream` holds.
public enum BlktraceStreamKey: String, Sendable, Hashable, CaseIterable {
    /// The CPU the event was traced on (the per-CPU file it came from).
    case cpu
    /// The process id of the event (the names are in the metadata's `process.names`).
    case pid
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

    // Notify codes (event code of a record whose category has BLK_TC_NOTIFY).
    static let notifyProcess: UInt32 = 0
    static let notifyTimestamp: UInt32 = 1
    static let notifyMessage: UInt32 = 2

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

    /// The event code of an action word, without the cgroup bit.
    @inline(__always) static func code(_ action: UInt32) -> UInt32 { action & ~cgroupFlag & 0xffff }
}

@inline(__always) func blkLoad32(_ p: UnsafeRawPointer, _ o: Int, _ big: Bool) -> UInt32 {
    let v = p.loadUnaligned(fromByteOffset: o, as: UInt32.self)
    return big ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
}

@inline(__always) func blkLoad64(_ p: UnsafeRawPointer, _ o: Int, _ big: Bool) -> UInt64 {
    let v = p.loadUnaligned(fromByteOffset: o, as: UInt64.self)
    return big ? UInt64(bigEndian: v) : UInt64(littleEndian: v)
}

@inline(__always) func blkLoad16(_ p: UnsafeRawPointer, _ o: Int, _ big: Bool) -> UInt16 {
    let v = p.loadUnaligned(fromByteOffset: o, as: UInt16.self)
    return big ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
}

/// Eight hex digits, for magic numbers in messages.
func hex8(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
