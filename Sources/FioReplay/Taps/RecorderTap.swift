import FioTrace

/// The `--write-iolog` tap: hands every issued I/O and its completion to a `ReplayRecorder`
/// (which may be shared by several streams). Issue number and issue time ride in the
/// slot's tap fields between submit and completion.
public struct RecorderTap: ReplayTap {
    public let recorder: ReplayRecorder
    /// Stamped as `stream` on every record (a live run's job index); nil: none.
    let stream: UInt32?
    /// Recorded file index per trace file index, when the caller set the recorder's file
    /// table itself (streams sharing one recorder); nil: the trace's own indexes.
    let fileMap: [UInt32]?
    /// Recorded times count from here: the recorder's clock (the first stream's start).
    private var epoch: UInt64 = 0
    /// Flags stamped on every data record: `.direct` when the stream's targets are open
    /// O_DIRECT, so that a replay of the recording can do the same.
    let flags: TraceFlags

    public init(recorder: ReplayRecorder, stream: UInt32?, fileMap: [UInt32]?, direct: Bool = false) {
        self.recorder = recorder
        self.stream = stream
        self.fileMap = fileMap
        flags = direct ? .direct : []
    }

    public mutating func start(at ns: UInt64) { epoch = recorder.startClock(at: ns) }

    @inline(__always)
    public mutating func willSubmit(_ slot: UnsafeMutablePointer<IOSlot>) {
        (slot.pointee.tapSeq, slot.pointee.tapNs) = recorder.issue(at: slot.pointee.startNs)
    }

    @inline(__always)
    public mutating func didComplete(_ slot: UnsafeMutablePointer<IOSlot>, now: UInt64) {
        let s = slot.pointee
        let f = s.file
        recorder.complete(s.tapSeq, TraceRecord(
            time: s.tapNs &- epoch, op: s.op,
            file: fileMap.map { Int(f) < $0.count ? $0[Int(f)] : f } ?? f,
            offset: s.offset, length: s.length, latency: now &- s.tapNs,
            result: s.result, depth: s.depth, stream: stream,
            flags: s.op == .read || s.op == .write || s.op == .trim ? flags : []))
    }

    public mutating func didCancel(_ slot: UnsafeMutablePointer<IOSlot>) { recorder.cancel(slot.pointee.tapSeq) }

    /// Passes a partial batch on to the recorder's writer at every tick (100 ms), so a killed
    /// recording loses at most about a second (the final tick leaves it to `finish`).
    public mutating func tick(now: UInt64, final: Bool) {
        if !final { recorder.tick(now: now) }
    }

    /// The recorder's file table follows the trace's, unless the caller set it (`fileMap`).
    public mutating func noteFiles(_ files: [TraceFile]) {
        if fileMap == nil { recorder.noteFiles(files) }
    }
}
