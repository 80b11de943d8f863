import CFioLinux
import FioTrace
import Glibc

/// Streams a file that another process is still writing (strace's output while `record`
/// runs) into a pipe, so that a reader of the pipe sees one stream that ends only when the
/// writer has finished: `tail -f` that stops. The copy runs on its own thread, which looks
/// for new bytes every `pollNs` and then calls `onPoll` (the caller forwards signals there).
///
/// The pipe holds what the reader has not taken yet; when it is full the copying thread
/// waits, never the process writing the file. Memory: one 256 KiB buffer.
public final class GrowingFileFeed: @unchecked Sendable {
    /// Where the reader opens the stream (`/proc/self/fd/N` of the pipe's read end).
    public let readPath: String
    /// How often the copying thread looks for new bytes at the end of the file (ns).
    public static let pollNs: UInt64 = 20_000_000
    private let source: Int32
    private var pipeRead: Int32
    private let pipeWrite: Int32
    private let monitor = Monitor()
    private var writerFinished = false
    private var thread: WorkerThread?

    /// Opens `path` (it must exist; the writer may truncate it before it starts) and the pipe.
    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TraceError(.cannotOpen, "\(path): cannot open: \(String(cString: strerror(errno)))") }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            let e = errno
            close(fd)
            throw TraceError(.io, "cannot make a pipe: \(String(cString: strerror(e)))")
        }
        // Close-on-exec: the command being recorded must not hold the write end (the stream
        // would never end). No other thread starts a process while this runs.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        source = fd
        pipeRead = fds[0]
        pipeWrite = fds[1]
        readPath = "/proc/self/fd/\(fds[0])"
        // A larger pipe lets the copier run ahead of a reader that pauses (1 MiB; the
        // kernel's limit for users is at least that).
        _ = fcntl(pipeWrite, 1031 /* F_SETPIPE_SZ, Linux: F_LINUX_SPECIFIC_BASE + 7 */, Int32(1 << 20))
    }

    deinit {
        monitor.withLock { writerFinished = true; monitor.broadcast() }
        thread.take()?.join()
        close(source)
        closeReadEnd()
    }

    /// Closes this object's read end once the reader has opened `readPath` (its own
    /// descriptor): when the reader then goes away, the copying thread stops instead of
    /// waiting on a full pipe.
    public func closeReadEnd() {
        if pipeRead >= 0 { close(pipeRead) }
        pipeRead = -1
    }

    /// Starts copying. `onPoll` runs on the copying thread each time it has caught up.
    public func start(onPoll: @escaping @Sendable () -> Void) throws {
        thread = try WorkerThread(name: "fio-record-feed") { [self] in copyLoop(onPoll) }
    }

    /// The writing process has ended: the rest of the file is copied, then the stream ends.
    public func finishWriting() {
        monitor.withLock {
            writerFinished = true
            monitor.broadcast()
        }
    }

    /// Waits for the copying thread to end (after `finishWriting`, or once the reader
    /// closed the stream).
    public func join() { thread.take()?.join() }

    private func copyLoop(_ onPoll: () -> Void) {
        // A reader that went away makes write() fail with EPIPE instead of killing the
        // process with SIGPIPE (blocked for this thread only; children do not inherit it).
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let cap = 256 << 10
        let buf = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 16)
        defer {
            buf.deallocate()
            close(pipeWrite)
        }
        while true {
            // Read the flag before reading: bytes written before the writer ended are in the
            // file by then, so an empty read after it means the end.
            let done = monitor.withLock { writerFinished }
            let n: Int
            do { n = try SystemCall.read(source, buf, cap) } catch { return }
            if n > 0 {
                do { try SystemCall.writeAll(pipeWrite, buf, n) } catch { return } // the reader is gone
                continue
            }
            if done { return }
            onPoll()
            monitor.lock()
            if !writerFinished { _ = monitor.wait(untilNs: monotonicNs() &+ Self.pollNs) }
            monitor.unlock()
        }
    }
}

/// Forgets the SIGINT/SIGTERM caught so far (`interruptSignal()` reads 0 until the next),
/// so that each signal is acted on once.
public func clearInterruptSignal() { cfio_clear_interrupted() }
