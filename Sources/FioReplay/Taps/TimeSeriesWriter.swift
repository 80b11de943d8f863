import FioTrace

/// Writes interval samples (`TimeSeriesRow`) as CSV on a background thread, so formatting
/// and file writes never run on a scheduler's thread: samplers hand rows over under a
/// short lock. Shared by the streams of a run (rows carry the job name). Memory: rows not
/// yet written, bounded by the writer's pace (it wakes for every 256 rows and at the end).
public final class TimeSeriesWriter: @unchecked Sendable {
    public let path: String
    private let shared: Shared
    private var thread: WorkerThread?

    /// What the writer thread shares with the samplers.
    final class Shared: @unchecked Sendable {
        let monitor = Monitor()
        let output: TraceOutput
        var pending: [TimeSeriesRow] = []
        var closing = false
        var failure: (any Error)?
        init(output: TraceOutput) {
            self.output = output
            pending.reserveCapacity(4096)
        }

        func run() {
            var batch: [TimeSeriesRow] = []
            batch.reserveCapacity(4096)
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
                    } catch {
                        failure = error
                    }
                }
                batch.removeAll(keepingCapacity: true)
                if last { return }
            }
        }
    }

    /// Creates (or truncates) `path` and writes the CSV header.
    public init(path: String) throws {
        self.path = path
        let output = try TraceOutput(path: path)
        output.append(TimeSeriesRow.csvHeader + "\n")
        let sh = Shared(output: output)
        shared = sh
        do {
            thread = try WorkerThread(name: "fio-timeseries") { sh.run() }
        } catch {
            throw ReplayError(.invalidOption, "cannot start the time-series writer: \(error)")
        }
    }

    /// Queues rows for writing (any thread). The queue's array keeps its capacity (the writer
    /// swaps in an emptied one), so this allocates only when more than 4096 rows wait.
    public func append(_ rows: [TimeSeriesRow]) {
        let sh = shared
        sh.monitor.lock()
        sh.pending.append(contentsOf: rows)
        if sh.pending.count >= 256 { sh.monitor.broadcast() }
        sh.monitor.unlock()
    }

    /// Writes every row handed over and flushes the file. Throws the first write error.
    public func finish() throws {
        stop()
        if let failure = shared.failure { throw failure }
        try shared.output.flush()
    }

    private func stop() {
        shared.monitor.withLock {
            shared.closing = true
            shared.monitor.broadcast()
        }
        thread.take()?.join()
    }

    /// Dropped without `finish`: the rows handed over are still written.
    deinit { stop() }
}
