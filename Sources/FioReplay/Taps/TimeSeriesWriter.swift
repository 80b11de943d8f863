import FioTrace

/// Writes interval samples (`TimeSeriesRow`) as CSV on a background thread, so formatting
/// and file writes never run on a scheduler's thread: samplers hand rows over under a
/// short lock. Shared by the streams of a run (rows carry the job name). Memory: rows not
/// yet written, bounded by the writer's pace (it wakes for every 256 rows and at the end).
public final class TimeSeriesWriter: @unchecked Sendable {
    public let path: String
    private let output: TraceOutput
    private let monitor = Monitor()
    private var pending: [TimeSeriesRow] = []
    private var closing = false
    private var failure: (any Error)?
    private var thread: WorkerThread?
    /// Rows written so far.
    public private(set) var written: UInt64 = 0

    /// Creates (or truncates) `path` and writes the CSV header.
    public init(path: String) throws {
        self.path = path
        output = try TraceOutput(path: path)
        output.append(TimeSeriesRow.csvHeader + "\n")
        do {
            thread = try WorkerThread(name: "fio-timeseries") { [unowned self] in self.run() }
        } catch {
            throw ReplayError(.invalidOption, "cannot start the time-series writer: \(error)")
        }
    }

    /// Queues rows for writing (any thread).
    public func append(_ rows: [TimeSeriesRow]) {
        monitor.lock()
        pending.append(contentsOf: rows)
        if pending.count >= 256 { monitor.broadcast() }
        monitor.unlock()
    }

    private func run() {
        var batch: [TimeSeriesRow] = []
        while true {
            monitor.lock()
            while pending.count < 256 && !closing { monitor.wait() }
            swap(&batch, &pending)
            let last = closing
            monitor.unlock()
            if failure == nil {
                do {
                    for r in batch {
                        output.append(r.csvLine)
                        output.append("\n")
                        try output.maybeFlush()
                    }
                    written += UInt64(batch.count)
                } catch {
                    failure = error
                }
            }
            batch.removeAll(keepingCapacity: true)
            if last { return }
        }
    }

    /// Writes every row handed over and closes the file. Throws the first write error.
    public func finish() throws {
        monitor.withLock {
            closing = true
            monitor.broadcast()
        }
        thread.take()?.join()
        if let failure { throw failure }
        try output.flush()
    }
}
