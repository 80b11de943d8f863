import FioTrace

/// A consumer of every I/O the scheduler issues, with fio's two hook points: at submit
/// (fio's `populate_verify_io_u` at prep: the buffer may be filled, over the write payload) and at completion (the
/// result, latency, depth and buffer are there to see). The recorder, the interval sampler,
/// write payloads and verify are taps. The scheduler is generic over its tap, so `NoTap`
/// compiles to nothing: an unused tap costs nothing.
///
/// All calls come from the scheduler's thread. Times are monotonic ns.
public protocol ReplayTap {
    /// The schedule starts at `ns` (after setup, before the first I/O).
    mutating func start(at ns: UInt64)
    /// Just before `slot` goes to the engine: its op, offset, length, target, `startNs` (the
    /// issue time), `dueNs` and `depth` are set. May write the buffer and the tap fields.
    mutating func willSubmit(_ slot: UnsafeMutablePointer<IOSlot>)
    /// `slot` completed at `now`: `result` holds bytes done or -errno, the buffer what a
    /// read returned.
    mutating func didComplete(_ slot: UnsafeMutablePointer<IOSlot>, now: UInt64)
    /// `slot` went through `willSubmit` but will never complete: the engine refused it, or
    /// the run ended with it outstanding (a broken engine, a drain that gave up).
    mutating func didCancel(_ slot: UnsafeMutablePointer<IOSlot>)
    /// About every 100 ms on the scheduler's thread, and once at the end with `final`.
    mutating func tick(now: UInt64, final: Bool)
    /// The ramp (fio's ramp_time) ended at `ns`: the statistics started over.
    mutating func restart(at ns: UInt64)
    /// The trace's file table grew (files are only ever appended); rare, never per I/O.
    mutating func noteFiles(_ files: [TraceFile])
    /// Target `index` (`IOSlot.target`) was opened at `path`.
    mutating func noteTarget(_ index: Int, path: String)
    /// The tap asks the run to stop (checked at the periodic tick).
    var wantsStop: Bool { get }
}

extension ReplayTap {
    public mutating func restart(at ns: UInt64) {}
    public mutating func noteFiles(_ files: [TraceFile]) {}
    public mutating func noteTarget(_ index: Int, path: String) {}
    public var wantsStop: Bool { false }
}

/// No tap: every hook is empty and inlined away.
public struct NoTap: ReplayTap {
    public init() {}
    @inline(__always) public mutating func start(at ns: UInt64) {}
    @inline(__always) public mutating func willSubmit(_ slot: UnsafeMutablePointer<IOSlot>) {}
    @inline(__always) public mutating func didComplete(_ slot: UnsafeMutablePointer<IOSlot>, now: UInt64) {}
    @inline(__always) public mutating func didCancel(_ slot: UnsafeMutablePointer<IOSlot>) {}
    @inline(__always) public mutating func tick(now: UInt64, final: Bool) {}
}

/// The taps a run uses, each optional: the recorder (`--write-iolog`), the interval sampler
/// (`--write-timeseries`) and the verifier. One branch per absent tap per hook. (Write
/// payloads are filled by the scheduler itself, before the taps: every write needs one.)
public struct TapSet: ReplayTap {
    public var recorder: RecorderTap?
    public var sampler: IntervalSampler?
    public var verifier: VerifyTap?
    /// fio's log files (`write_bw_log`, `--write-lat-log`, ...).
    public var fioLogs: FioLogTap?

    public init(recorder: RecorderTap? = nil, sampler: IntervalSampler? = nil, verifier: VerifyTap? = nil) {
        self.recorder = recorder
        self.sampler = sampler
        self.verifier = verifier
    }

    /// True when no tap is set (the scheduler then runs with `NoTap`).
    public var isEmpty: Bool { recorder == nil && sampler == nil && verifier == nil && fioLogs == nil }

    @inline(__always)
    public mutating func start(at ns: UInt64) {
        recorder?.start(at: ns)
        sampler?.start(at: ns)
        fioLogs?.start(at: ns)
    }

    public mutating func restart(at ns: UInt64) {
        fioLogs?.restart(at: ns)
    }

    @inline(__always)
    public mutating func willSubmit(_ slot: UnsafeMutablePointer<IOSlot>) {
        verifier?.willSubmit(slot)
        recorder?.willSubmit(slot)
        sampler?.willSubmit(slot)
    }

    @inline(__always)
    public mutating func didComplete(_ slot: UnsafeMutablePointer<IOSlot>, now: UInt64) {
        verifier?.didComplete(slot, now: now)
        recorder?.didComplete(slot, now: now)
        sampler?.didComplete(slot, now: now)
        fioLogs?.didComplete(slot, now: now)
    }

    @inline(__always)
    public mutating func didCancel(_ slot: UnsafeMutablePointer<IOSlot>) {
        verifier?.didCancel(slot)
        recorder?.didCancel(slot)
        sampler?.didCancel(slot)
    }

    public mutating func tick(now: UInt64, final: Bool) {
        recorder?.tick(now: now, final: final)
        sampler?.tick(now: now, final: final)
        fioLogs?.tick(now: now, final: final)
    }

    public mutating func noteFiles(_ files: [TraceFile]) {
        recorder?.noteFiles(files)
    }

    public mutating func noteTarget(_ index: Int, path: String) {
        verifier?.noteTarget(index, path: path)
    }

    public var wantsStop: Bool { verifier?.wantsStop ?? false }
}
