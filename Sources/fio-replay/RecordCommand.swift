import ArgumentParser
import FioReplay
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Run a command and record the file I/O of it and its children.",
        discussion: """
        Two back ends. `--via preload` (the default) runs the command with a small C library
        in LD_PRELOAD that wraps libc's file I/O calls in every process it starts (threads,
        fork and exec included) and times each call in ns, at a cost of about 0.1 µs per call;
        programs that bypass libc (static binaries, Go, io_uring, raw system calls) are
        detected and reported. `--via strace` sees every system call of any program, and
        slows each down a lot.
        Every read/write (positions tracked through lseek, O_APPEND and dup), pread/pwrite
        and their v-variants, fsync, fdatasync, sync_file_range, fallocate (punch hole as
        trim), ftruncate, open and close becomes a record with its start time, duration
        (latency) and result. The command's stdin/stdout/stderr are its own and its exit
        status is passed through. strace slows system calls down (about 3-5x for 64 KiB
        writes, much more for tiny ones), so recorded latencies include that overhead.
        io_uring submissions and file-backed mmap are not visible to strace: they are
        counted and reported as a warning.
        """)

    @Option(name: [.short, .customLong("output")], help: "The trace to write (.fiot by default; .iolog for fio v3; .csv). Written as the command runs: killed, it keeps every call up to about a second before the kill.")
    var output: String

    @Option(name: .customLong("paths"), parsing: .upToNextOption, help: "Record only files under these path prefixes.")
    var paths: [String] = []

    @Option(name: .customLong("to"), help: "Output format (\(TraceFormat.writableNames)); from the name when omitted.")
    var toFormat: String?

    @Option(name: .customLong("keep-strace"), help: "Also keep strace's raw output at this path (with --via strace).")
    var keepStrace: String?

    @Option(name: .customLong("via"), help: "How to see the command's I/O: preload (an LD_PRELOAD library; little overhead) or strace (any program; slow).")
    var via: String = "preload"

    @Argument(parsing: .captureForPassthrough, help: "The command to run, after --.")
    var command: [String] = []

    static let traced = "open,openat,openat2,creat,close,dup,dup2,dup3,fcntl,lseek,read,write,readv,writev," +
        "pread64,pwrite64,preadv,pwritev,preadv2,pwritev2,fsync,fdatasync,sync_file_range,fallocate," +
        "ftruncate,clone,clone3,fork,vfork,io_uring_setup,io_uring_enter,io_uring_register,mmap," +
        "rename,renameat,renameat2,unlink,unlinkat,chdir"

    func run() throws {
        var cmd = command
        if cmd.first == "--" { cmd.removeFirst() }
        guard !cmd.isEmpty else { throw ValidationError("name the command to record after --") }
        try refuseOverlappingFiles(outputs: [NamedFile(role: "-o", path: output)] + (keepStrace.map { [NamedFile(role: "--keep-strace", path: $0)] } ?? []),
                                   inputs: [])
        guard via == "preload" || via == "strace" else {
            throw ValidationError("--via \(via): not a back end (preload or strace)")
        }
        if via == "preload" && keepStrace != nil { throw ValidationError("--keep-strace needs --via strace") }
        var status: Int32 = 0
        try reportingErrors {
            var format: TraceFormat? = nil
            if let t = toFormat {
                guard let f = TraceFormat(userName: t), f.isWritable else {
                    throw TraceError(.unsupported, "cannot write format \"\(t)\" (writable: \(TraceFormat.writableNames))")
                }
                format = f
            }
            if via == "preload" {
                status = try recordViaPreload(cmd, format: format ?? TraceFormat.guess(fromName: output) ?? .fiot)
                return
            }
            guard let strace = which("strace") else {
                throw TraceError(.cannotOpen, "strace is needed to record (apt-get install strace)")
            }
            let raw = try StraceCapture(keep: keepStrace)
            let feed = try GrowingFileFeed(path: raw.readPath)
            var recording = RecordingMetadata(recorder: "strace")
            recording.timeUnit = "us" // strace's -ttt/-T resolution
            recording.extra = [MetadataKey.recordCommand: cmd.joined(separator: " ")]
            if !paths.isEmpty { recording.extra[MetadataKey.recordPaths] = paths.joined(separator: ":") }
            let meta = recording.dictionary
            // The recording is written as the command runs, so a kill loses at most about
            // the last second; a SIGINT or SIGTERM goes to the command, and the recording
            // ends cleanly when it exits.
            let f = format ?? TraceFormat.guess(fromName: output) ?? .fiot
            let writer = RecordingWriter(sink: try openTraceSink(path: output, format: f, metadata: meta))
            installInterruptHandler()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: strace)
            p.arguments = ["-f", "-qq", "-ttt", "-T", "-y", "-s", "0", "-e", "trace=\(Self.traced)", "-o", raw.straceOutput, "--"] + cmd
            p.terminationHandler = { _ in feed.finishWriting() }
            let started = Date()
            do { try p.run() } catch {
                writer.close()
                if output != "-" && isRegularFile(output) { unlink(output) }
                throw error
            }
            let stracePID = p.processIdentifier
            try feed.start { forwardInterrupt(toChildrenOf: stracePID) }

            // One pass as the capture grows. O_APPEND writes land at the file's end, which
            // the capture does not tell: the size a file had before the run is guessed from
            // its size when the trace first needs it, and checked after the run.
            let live = StraceReader(input: try TraceInput(path: feed.readPath), pathPrefixes: paths)
            feed.closeReadEnd()
            live.initialSize = { path in
                var st = stat()
                return stat(path, &st) == 0 ? UInt64(st.st_size) : nil
            }
            var one: [TraceRecord] = []
            var failure: Error?
            do {
                // One record at a time: a record read is handed on at once, never held while
                // the reader waits for the command's next call.
                while try live.nextBatch(&one, maxCount: 1) {
                    one.withUnsafeBufferPointer { writer.append($0, files: live.files) }
                }
            } catch {
                failure = error
            }
            p.waitUntilExit()
            feed.join()
            let wall = Date().timeIntervalSince(started)
            status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus

            // The sizes files had before the run: their size now, less what the run appended
            // (unless it truncated them).
            var initial: [String: UInt64] = [:]
            for (path, appended) in live.appendedBytes where !live.truncatedPaths.contains(path) {
                var st = stat()
                if stat(path, &st) == 0 { initial[path] = UInt64(max(0, Int64(st.st_size) - Int64(appended))) }
            }
            let guessedRight = live.appendedBytes.keys.allSatisfy { path in
                live.assumedSizes[path].map { $0 == (initial[path] ?? 0) } ?? true
            }
            var endMeta = live.metadata
            endMeta.merge(meta) { $1 }
            endMeta[MetadataKey.recordExitStatus] = String(status)
            endMeta[MetadataKey.recordWallSeconds] = String(format: "%.6f", wall)
            if let keepStrace { endMeta[MetadataKey.sourceFile] = keepStrace } else { endMeta[MetadataKey.sourceFile] = nil }
            try writer.finish(files: live.files, metadata: endMeta)
            if let failure { throw failure }
            var reader = live
            var n = writer.recorded
            if !guessedRight && output != "-" && isRegularFile(output) {
                // Convert the capture again, now that the sizes before the run are known,
                // into a file that replaces the one written as the command ran.
                let again = try StraceReader(path: raw.readPath, pathPrefixes: paths, initialSizes: initial)
                n = try writeAtomically(output) { path in
                    let sink = try openTraceSink(path: path, format: f, metadata: meta)
                    var source: any TraceSource = again
                    let count = try copyTrace(from: &source, to: sink)
                    try sink.finish(metadata: endMeta)
                    return count
                }
                reader = again
            } else if !guessedRight {
                warn("fio-replay: warning: O_APPEND writes are placed from the sizes files had when the recorder first saw them, which the run had already grown; write to a file for exact offsets")
            }
            if !reader.invisible.isEmpty {
                let what = reader.invisible.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                warn("fio-replay: warning: I/O the recorder cannot see was not recorded: \(what)")
            }
            warn("fio-replay: recorded \(n) records on \(reader.files.count) files in \(String(format: "%.3f", wall)) s; command exited \(status)")
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// Where strace writes its output: `--keep-strace`'s file, else a file with no name (gone
/// when the last process holding it ends, so a killed recorder leaves nothing behind).
final class StraceCapture {
    /// What strace's `-o` gets.
    let straceOutput: String
    /// Where the recorder reads it from (from the start each time it is opened).
    let readPath: String
    private var fd: Int32 = -1

    init(keep: String?) throws {
        if let keep {
            let f = open(keep, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard f >= 0 else { throw TraceError(.cannotOpen, "\(keep): cannot create: \(String(cString: strerror(errno)))") }
            close(f)
            straceOutput = keep
            readPath = keep
            return
        }
        let dir = NSTemporaryDirectory()
        // O_TMPFILE is __O_TMPFILE (0o20000000 on Linux's generic ABI: x86-64, arm64) with
        // O_DIRECTORY; Swift does not import the compound macro.
        let f = open(dir, 0o20000000 | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o600)
        if f >= 0 {
            fd = f
            straceOutput = "/proc/\(getpid())/fd/\(f)"
            readPath = "/proc/self/fd/\(f)"
            return
        }
        // No O_TMPFILE on this filesystem: a named file, removed at exit.
        let path = dir + "fio-replay-record-\(getpid()).strace"
        let g = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard g >= 0 else { throw TraceError(.cannotOpen, "\(path): cannot create: \(String(cString: strerror(errno)))") }
        close(g)
        straceOutput = path
        readPath = path
        named = path
    }

    private var named: String?

    deinit {
        if fd >= 0 { close(fd) }
        if let named { unlink(named) }
    }
}

/// Passes a SIGINT or SIGTERM the recorder caught on to the recorded command (strace's
/// child), once per signal: the command ends as it would have, and the recording after it.
/// A SIGINT from the terminal (Ctrl-C, while this is the foreground job) reached the command
/// already and is not sent twice.
func forwardInterrupt(toChildrenOf pid: Int32) {
    let sig = interruptSignal()
    guard sig != 0 else { return }
    clearInterruptSignal()
    if sig == SIGINT && isatty(0) == 1 && tcgetpgrp(0) == getpgrp() { return }
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return }
    for child in text.split(separator: " ").compactMap({ Int32($0) }) { kill(child, sig) }
}

/// The full path of an executable on PATH, or nil.
func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}
