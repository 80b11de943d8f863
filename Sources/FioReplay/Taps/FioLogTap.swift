import FioTrace
import Glibc

/// The tap behind fio's per-job logs (`write_bw_log`, `write_lat_log`, `write_iops_log`,
/// `write_hist_log` in `run`; `--write-bw-log` ... in `replay`): forms fio's entries from
/// every completion, as fio 3.33 does (stat.c), and hands them to a `FioLogWriter`.
///
/// - Every I/O (log_avg_msec=0): lat (issue to completion), clat (submit to completion) and
///   slat (issue to submit, async engines only, stamped at submit) in ns; bandwidth
///   bytes*10^6/clat (fio's per-I/O figure); IOPS 1. Block size and offset are the I/O's.
/// - Averaged (log_avg_msec=N): per direction, the latency logs write the mean (rounded) or
///   the maximum of the samples of a window when a sample arrives N ms or more after the
///   window began (windows start on multiples of N), and what is left at the end; the
///   bandwidth (KiB/s) and IOPS logs write the rate over each whole N ms (bwavgtime /
///   iopsavgtime when set), for directions that moved data in it. Block size and offset
///   are 0.
/// - Histograms (log_hist_msec=N): per direction, when a completion comes N ms or more
///   after the previous entry, fio's 1856 clat buckets (`FioLatencyBins`, coarsened by
///   log_hist_coarseness) counted since it.
///
/// Times are ms since the stream's start (its ramp's end when it has one: I/Os of the ramp
/// are not logged, as in fio), truncated. Sync ops are not logged (fio logs data
/// directions only). Memory: a few fixed arrays; nothing grows with the run.
public struct FioLogTap: ReplayTap {
    let writer: FioLogWriter
    let settings: FioLogSettings
    /// File number per `FioLogKind` (`UInt32.max`: not written).
    let files: [UInt32]
    private var batch: [FioLogSample] = []
    private var epochNs: UInt64 = 0
    /// ms added to every time (log_unix_epoch).
    private var epochOffsetMs: UInt64 = 0
    private var active = false
    private let rampNs: UInt64
    private let avgMsec: UInt64

    /// Averaged latency windows: per kind (lat, slat, clat) and direction.
    struct Window {
        var n: UInt64 = 0
        var sum: Double = 0
        var max: UInt64 = 0
        var lastMs: UInt64 = 0
    }
    private var windows = [Window](repeating: Window(), count: 9)

    /// Averaged bandwidth/IOPS: the end of the current window (ns) per log, and the bytes
    /// and I/Os per direction since its start.
    private var bwWindowNs: UInt64 = 0
    private var iopsWindowNs: UInt64 = 0
    private var bwBoundary: UInt64 = .max
    private var iopsBoundary: UInt64 = .max
    private var bwBytes: (UInt64, UInt64, UInt64) = (0, 0, 0)
    private var iopsCount: (UInt64, UInt64, UInt64) = (0, 0, 0)

    /// Histogram windows: counts per bucket per direction, and the last entry's time (ms).
    private var histCounts: [UInt64] = []
    private var histLast: [UInt64] = [0, 0, 0]
    private var histSeen: [Bool] = [false, false, false]

    /// `files`: the writer's number for each kind the settings ask for (`register`).
    public init(writer: FioLogWriter, settings: FioLogSettings, files: [FioLogKind: UInt32], rampNs: UInt64) {
        self.writer = writer
        self.settings = settings
        self.files = FioLogKind.allCases.map { files[$0] ?? .max }
        self.rampNs = rampNs
        avgMsec = settings.avgMsec
        bwWindowNs = settings.bwWindowMsec * 1_000_000
        iopsWindowNs = settings.iopsWindowMsec * 1_000_000
        batch.reserveCapacity(FioLogWriter.batchSize)
        if files[.hist] != nil && settings.histMsec > 0 {
            histCounts = [UInt64](repeating: 0, count: 3 * FioLatencyBins.count)
        }
    }

    /// Registers the files `settings` asks for, for job number `jobNumber` (1-based, fio's
    /// thread_number), with `writer`; returns the tap for the stream.
    public static func make(writer: FioLogWriter, settings: FioLogSettings, jobNumber: Int, rampNs: UInt64) throws -> FioLogTap {
        var ids: [FioLogKind: UInt32] = [:]
        for k in FioLogKind.allCases {
            if let name = settings.fileName(k, jobNumber: jobNumber) {
                ids[k] = try writer.register(path: name, settings: settings, hist: k == .hist)
            }
        }
        return FioLogTap(writer: writer, settings: settings, files: ids, rampNs: rampNs)
    }

    public mutating func start(at ns: UInt64) {
        if rampNs == 0 { begin(at: ns) }
    }

    /// The ramp is over: the logs start (fio resets the job's epoch there).
    public mutating func restart(at ns: UInt64) {
        begin(at: ns)
    }

    private mutating func begin(at ns: UInt64) {
        epochNs = ns
        active = true
        if settings.unixEpoch {
            var t = timespec()
            clock_gettime(CLOCK_REALTIME, &t)
            epochOffsetMs = UInt64(t.tv_sec) * 1000 + UInt64(t.tv_nsec) / 1_000_000
        }
        for i in windows.indices { windows[i] = Window() }
        bwBoundary = bwWindowNs > 0 && files[FioLogKind.bw.rawValue] != .max ? ns + bwWindowNs : .max
        iopsBoundary = iopsWindowNs > 0 && files[FioLogKind.iops.rawValue] != .max ? ns + iopsWindowNs : .max
        bwBytes = (0, 0, 0)
        iopsCount = (0, 0, 0)
        histSeen = [false, false, false]
        if !histCounts.isEmpty {
            histCounts.withUnsafeMutableBufferPointer { p in _ = p.initialize(repeating: 0) }
        }
    }

    @inline(__always) public mutating func willSubmit(_ slot: UnsafeMutablePointer<IOSlot>) {}

    @inline(__always)
    private func ms(_ ns: UInt64) -> UInt64 { (ns &- epochNs) / 1_000_000 + epochOffsetMs }

    @inline(__always)
    private mutating func add(_ kind: FioLogKind, time: UInt64, value: UInt64, ddir: UInt8, bs: UInt64, offset: UInt64) {
        let f = files[kind.rawValue]
        guard f != .max else { return }
        batch.append(FioLogSample(file: f, ddir: ddir, timeMs: time, value: value, bs: bs, offset: offset))
        if batch.count >= FioLogWriter.batchSize { writer.submit(&batch) }
    }

    /// One latency sample of `kind` (lat, slat, clat) at `time` ms.
    @inline(__always)
    private mutating func latency(_ kind: FioLogKind, time: UInt64, value: UInt64, ddir: UInt8, bs: UInt64, offset: UInt64) {
        guard files[kind.rawValue] != .max else { return }
        if avgMsec == 0 {
            add(kind, time: time, value: value, ddir: ddir, bs: bs, offset: offset)
            return
        }
        let w = kind.rawValue * 3 + Int(ddir)
        windows[w].n &+= 1
        windows[w].sum += Double(value)
        if value > windows[w].max { windows[w].max = value }
        let last = windows[w].lastMs
        guard time >= last, time - last >= avgMsec else { return }
        emitWindow(kind, w, time: time, ddir: ddir)
        windows[w].lastMs = time - time % avgMsec
    }

    private mutating func emitWindow(_ kind: FioLogKind, _ w: Int, time: UInt64, ddir: UInt8) {
        let win = windows[w]
        guard win.n > 0 else { return }
        let v = settings.maxValue ? win.max : UInt64(win.sum / Double(win.n) + 0.5)
        add(kind, time: time, value: v, ddir: ddir, bs: 0, offset: 0)
        windows[w].n = 0
        windows[w].sum = 0
        windows[w].max = 0
    }

    @inline(__always)
    public mutating func didComplete(_ slot: UnsafeMutablePointer<IOSlot>, now: UInt64) {
        guard active else { return }
        if now >= bwBoundary || now >= iopsBoundary { closeRateWindows(upTo: now) }
        let s = slot.pointee
        let ddir: UInt8
        switch s.op {
        case .read: ddir = 0
        case .write: ddir = 1
        case .trim: ddir = 2
        default: return
        }
        guard s.result >= 0 else { return }
        let bytes = UInt64(s.result)
        let t = ms(now)
        let clat = now &- s.submitNs
        latency(.lat, time: t, value: now &- s.startNs, ddir: ddir, bs: bytes, offset: s.offset)
        let slat = s.submitNs &- s.startNs
        if slat != 0 && s.submitNs >= epochNs {
            latency(.slat, time: ms(s.submitNs), value: slat, ddir: ddir, bs: s.length, offset: s.offset)
        }
        latency(.clat, time: t, value: clat, ddir: ddir, bs: bytes, offset: s.offset)
        if !histCounts.isEmpty { histogram(clat, time: t, ddir: ddir, bs: bytes) }
        if bwWindowNs == 0 {
            add(.bw, time: t, value: clat > 0 ? bytes &* 1_000_000 / clat : 0, ddir: ddir, bs: bytes, offset: s.offset)
        } else {
            switch ddir {
            case 0: bwBytes.0 &+= bytes
            case 1: bwBytes.1 &+= bytes
            default: bwBytes.2 &+= bytes
            }
        }
        if iopsWindowNs == 0 {
            add(.iops, time: t, value: 1, ddir: ddir, bs: bytes, offset: s.offset)
        } else {
            switch ddir {
            case 0: iopsCount.0 &+= 1
            case 1: iopsCount.1 &+= 1
            default: iopsCount.2 &+= 1
            }
        }
    }

    private mutating func histogram(_ clat: UInt64, time: UInt64, ddir: UInt8, bs: UInt64) {
        let d = Int(ddir)
        let base = d * FioLatencyBins.count
        histCounts[base + FioLatencyBins.index(clat)] &+= 1
        if !histSeen[d] { histSeen[d] = true; histLast[d] = time }
        let window = time &- histLast[d]
        guard time >= histLast[d], window >= settings.histMsec else { return }
        let stride = 1 << settings.histCoarseness
        var out = [UInt64](repeating: 0, count: FioLatencyBins.count / stride)
        for i in 0..<out.count {
            var sum: UInt64 = 0
            for k in 0..<stride { sum &+= histCounts[base + i * stride + k] }
            out[i] = sum
        }
        for i in 0..<FioLatencyBins.count { histCounts[base + i] = 0 }
        writer.submitHist(file: files[FioLogKind.hist.rawValue], timeMs: time, ddir: ddir, bs: bs, counts: out)
        histLast[d] = time - (window - settings.histMsec)
    }

    /// Writes the bandwidth and IOPS of every whole window that ended at or before `now`.
    private mutating func closeRateWindows(upTo now: UInt64) {
        while bwBoundary <= now {
            let t = ms(bwBoundary)
            let spent = bwWindowNs / 1_000_000
            let b = [bwBytes.0, bwBytes.1, bwBytes.2]
            for d in 0..<3 where b[d] > 0 {
                add(.bw, time: t, value: b[d] &* 1000 / spent / 1024, ddir: UInt8(d), bs: 0, offset: 0)
            }
            bwBytes = (0, 0, 0)
            bwBoundary &+= bwWindowNs
        }
        while iopsBoundary <= now {
            let t = ms(iopsBoundary)
            let spent = iopsWindowNs / 1_000_000
            let n = [iopsCount.0, iopsCount.1, iopsCount.2]
            for d in 0..<3 where n[d] > 0 {
                add(.iops, time: t, value: n[d] &* 1000 / spent, ddir: UInt8(d), bs: 0, offset: 0)
            }
            iopsCount = (0, 0, 0)
            iopsBoundary &+= iopsWindowNs
        }
    }

    public mutating func didCancel(_ slot: UnsafeMutablePointer<IOSlot>) {}

    public mutating func tick(now: UInt64, final: Bool) {
        guard active else {
            if final { writer.submit(&batch) }
            return
        }
        if now >= bwBoundary || now >= iopsBoundary { closeRateWindows(upTo: now) }
        if final && avgMsec > 0 {
            // fio's finalize_logs: what the latency windows hold, at the end time.
            let t = ms(now)
            for kind in [FioLogKind.clat, .slat, .lat] {
                for d in 0..<3 { emitWindow(kind, kind.rawValue * 3 + d, time: t, ddir: UInt8(d)) }
            }
        }
        // Every tick (100 ms) hands the partial batch over, so nothing waits long.
        writer.submit(&batch)
    }
}
