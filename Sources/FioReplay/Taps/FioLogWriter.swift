import FioTrace
import Glibc

/// One entry of a fio log (bandwidth, IOPS, latency): fio's columns, before formatting.
public struct FioLogSample {
    /// Which file (`FioLogWriter.register`).
    var file: UInt32
    /// 0 read, 1 write, 2 trim.
    var ddir: UInt8
    /// fio's time column (ms since the job's start, or Unix ms).
    var timeMs: UInt64
    /// Latency (ns), bandwidth (KiB/s) or IOPS.
    var value: UInt64
    /// Block size column (bytes; 0 in averaged entries).
    var bs: UInt64
    /// Offset column (bytes; written with log_offset only).
    var offset: UInt64
}

/// Writes the fio log files of a run (every stream's) on one background thread, so that
/// formatting and file writes never run on a scheduler's thread: taps hand over full
/// batches of samples (and the rare histogram entries) under a short lock and get an empty
/// batch back. Memory: at most `maxQueued` batches of `batchSize` samples wait; a tap that
/// would queue more waits for the writer (bounded, never growing with the run's length).
///
/// Each log goes to a hidden temporary file beside its final name while the run goes; at
/// `finish` it is renamed into place, or, for a job with per_job_logs=0, appended to the
/// file it shares with the other jobs of its name (fio appends there, also across runs),
/// in job order.
public final class FioLogWriter: @unchecked Sendable {
    /// Samples per batch a tap fills before handing it over.
    public static let batchSize = 4096
    /// Batches that may wait for the writer.
    static let maxQueued = 16

    struct LogFile {
        let path: String
        let temp: String
        let append: Bool
        let offset: Bool
        let prio: Bool
        let hist: Bool
        let output: TraceOutput
    }

    struct HistEntry {
        var file: UInt32
        var timeMs: UInt64
        var ddir: UInt8
        var bs: UInt64
        var counts: [UInt64]
    }

    final class Shared: @unchecked Sendable {
        let monitor = Monitor()
        var files: [LogFile] = []
        var queued: [[FioLogSample]] = []
        var hists: [HistEntry] = []
        var spare: [[FioLogSample]] = []
        var closing = false
        var failure: (any Error)?

        func run() {
            var batches: [[FioLogSample]] = []
            var histBatch: [HistEntry] = []
            while true {
                monitor.lock()
                while queued.isEmpty && hists.isEmpty && !closing { monitor.wait() }
                swap(&batches, &queued)
                swap(&histBatch, &hists)
                let last = closing
                monitor.broadcast() // a tap waiting for room
                monitor.unlock()
                if failure == nil {
                    do {
                        for b in batches { try write(b) }
                        for h in histBatch { try write(h) }
                    } catch {
                        failure = error
                    }
                }
                monitor.lock()
                for var b in batches where spare.count < FioLogWriter.maxQueued {
                    b.removeAll(keepingCapacity: true)
                    spare.append(b)
                }
                monitor.unlock()
                batches.removeAll(keepingCapacity: true)
                histBatch.removeAll(keepingCapacity: true)
                if last && queued.isEmpty && hists.isEmpty { return }
            }
        }

        /// fio's line: `time, value, ddir, bs[, offset], prio` (iolog.c's flush_samples),
        /// formatted into a scratch line and appended in one piece.
        func write(_ batch: [FioLogSample]) throws {
            let outs = files.map(\.output)
            let offs = files.map(\.offset), prios = files.map(\.prio)
            try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 160) { line in
                for s in batch {
                    let f = Int(s.file)
                    var n = 0
                    n = put(s.timeMs, line, n)
                    n = sep(line, n)
                    n = put(s.value, line, n)
                    n = sep(line, n)
                    n = put(UInt64(s.ddir), line, n)
                    n = sep(line, n)
                    n = put(s.bs, line, n)
                    if offs[f] {
                        n = sep(line, n)
                        n = put(s.offset, line, n)
                    }
                    n = sep(line, n)
                    if prios[f] {
                        for c in "0x0000".utf8 { line[n] = c; n += 1 }
                    } else {
                        line[n] = 0x30; n += 1
                    }
                    line[n] = 0x0A; n += 1
                    let o = outs[f]
                    o.append(contentsOf: UnsafeBufferPointer(rebasing: line[0..<n]))
                    try o.maybeFlush()
                }
            }
        }

        /// ", " at `n`; returns the next free index.
        @inline(__always)
        func sep(_ line: UnsafeMutableBufferPointer<UInt8>, _ n: Int) -> Int {
            line[n] = 0x2C
            line[n + 1] = 0x20
            return n + 2
        }

        /// `v` in decimal at `n` (at most 20 digits); returns the next free index.
        @inline(__always)
        func put(_ v: UInt64, _ line: UnsafeMutableBufferPointer<UInt8>, _ n: Int) -> Int {
            var digits = 1
            var x = v
            while x >= 10 { x /= 10; digits += 1 }
            x = v
            var i = n + digits - 1
            repeat {
                line[i] = UInt8(48 + x % 10)
                x /= 10
                i -= 1
            } while x > 0
            return n + digits
        }

        /// fio's histogram line: `time, ddir, bs, count, count, ...` (flush_hist_samples).
        func write(_ h: HistEntry) throws {
            let o = files[Int(h.file)].output
            o.append(decimal: h.timeMs)
            o.append(0x2C); o.append(0x20)
            o.append(decimal: UInt64(h.ddir))
            o.append(0x2C); o.append(0x20)
            o.append(decimal: h.bs)
            for c in h.counts {
                o.append(0x2C); o.append(0x20)
                o.append(decimal: c)
            }
            o.append(0x0A)
            try o.maybeFlush()
        }
    }

    private let shared = Shared()
    private var thread: WorkerThread?
    private var finished = false

    public init() throws {
        let sh = shared
        do {
            thread = try WorkerThread(name: "fio-logs") { sh.run() }
        } catch {
            throw ReplayError(.invalidOption, "cannot start the log writer: \(error)")
        }
    }

    /// Opens the temporary file for the log that will be called `path` (relative to the
    /// working directory, as fio writes them); returns its number for samples.
    public func register(path: String, settings: FioLogSettings, hist: Bool) throws -> UInt32 {
        try shared.monitor.withLock {
            let slash = path.lastIndex(of: "/")
            let dir = slash.map { String(path[...$0]) } ?? ""
            let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
            let temp = "\(dir).\(base).fio-replay-\(getpid())-\(shared.files.count).tmp"
            let out: TraceOutput
            do { out = try TraceOutput(path: temp, bufferSize: 256 << 10) } catch {
                throw ReplayError(.invalidOption, "cannot write the log \(path): \(error)")
            }
            shared.files.append(LogFile(path: path, temp: temp, append: !settings.perJobLogs, offset: settings.offset,
                                        prio: settings.prio, hist: hist, output: out))
            return UInt32(shared.files.count - 1)
        }
    }

    /// Hands a batch over and puts an empty one (with its capacity) in its place. Waits
    /// while `maxQueued` batches are waiting for the writer.
    func submit(_ batch: inout [FioLogSample]) {
        guard !batch.isEmpty else { return }
        let sh = shared
        sh.monitor.lock()
        while sh.queued.count >= Self.maxQueued && sh.failure == nil && !sh.closing { sh.monitor.wait() }
        var empty = sh.spare.popLast() ?? []
        if empty.capacity < Self.batchSize { empty.reserveCapacity(Self.batchSize) }
        swap(&batch, &empty)
        sh.queued.append(empty)
        sh.monitor.broadcast()
        sh.monitor.unlock()
    }

    /// Hands over one histogram entry (`counts`: fio's buckets, already coarsened).
    func submitHist(file: UInt32, timeMs: UInt64, ddir: UInt8, bs: UInt64, counts: [UInt64]) {
        let sh = shared
        sh.monitor.withLock {
            sh.hists.append(HistEntry(file: file, timeMs: timeMs, ddir: ddir, bs: bs, counts: counts))
            sh.monitor.broadcast()
        }
    }

    /// Writes everything handed over and puts every log in place. Throws the first write error
    /// (the temporary files are removed then).
    public func finish() throws {
        guard !finished else { return }
        finished = true
        stop()
        if let f = shared.failure { removeTemps(); throw f }
        do {
            for f in shared.files { try f.output.flush() }
            for f in shared.files {
                if f.append {
                    try appendFile(f.temp, to: f.path)
                    unlink(f.temp)
                } else if rename(f.temp, f.path) != 0 {
                    let e = errno
                    throw ReplayError(.ioFailed, "cannot put the log \(f.path) in place: \(ReplayError.errnoString(e))", errno: e)
                }
            }
        } catch {
            removeTemps()
            throw error
        }
    }

    /// The final paths of every log, in registration order.
    public var paths: [String] { shared.monitor.withLock { shared.files.map(\.path) } }

    private func stop() {
        shared.monitor.withLock {
            shared.closing = true
            shared.monitor.broadcast()
        }
        thread.take()?.join()
    }

    private func removeTemps() {
        for f in shared.files { unlink(f.temp) }
    }

    /// fio opens a shared log with "a": what is there stays, this job's lines follow.
    private func appendFile(_ from: String, to path: String) throws {
        let src = open(from, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else {
            let e = errno
            throw ReplayError(.ioFailed, "cannot read back the log \(from): \(ReplayError.errnoString(e))", errno: e)
        }
        defer { close(src) }
        let dst = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard dst >= 0 else {
            let e = errno
            throw ReplayError(.ioFailed, "cannot write the log \(path): \(ReplayError.errnoString(e))", errno: e)
        }
        defer { close(dst) }
        let n = 1 << 16
        let buf = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let r = read(src, buf, n)
            if r < 0 && errno == EINTR { continue }
            if r < 0 {
                let e = errno
                throw ReplayError(.ioFailed, "cannot read back the log \(from): \(ReplayError.errnoString(e))", errno: e)
            }
            if r == 0 { break }
            do { try SystemCall.writeAll(dst, buf, r) { _ in } } catch {
                throw ReplayError(.ioFailed, "cannot write the log \(path): \(error)")
            }
        }
    }

    /// Dropped without `finish` (an error before the run ended): no temporary file stays.
    deinit {
        if !finished {
            stop()
            for f in shared.files { try? f.output.flush() }
            removeTemps()
        }
    }
}
