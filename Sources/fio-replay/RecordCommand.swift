import ArgumentParser
import FioTrace
import Foundation

struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Run a command and record the file I/O of it and its children (strace back end).",
        discussion: """
        Every read/write (positions tracked through lseek, O_APPEND and dup), pread/pwrite
        and their v-variants, fsync, fdatasync, sync_file_range, fallocate (punch hole as
        trim), ftruncate, open and close becomes a record with its start time, duration
        (latency) and result. The command's stdin/stdout/stderr are its own and its exit
        status is passed through. strace slows system calls down (about 3-5x for 64 KiB
        writes, much more for tiny ones), so recorded latencies include that overhead.
        io_uring submissions and file-backed mmap are not visible to strace: they are
        counted and reported as a warning.
        """)

    @Option(name: [.short, .customLong("output")], help: "The trace to write (.fiot by default; .iolog for fio v3; .csv).")
    var output: String

    @Option(name: .customLong("paths"), parsing: .upToNextOption, help: "Record only files under these path prefixes.")
    var paths: [String] = []

    @Option(name: .customLong("to"), help: "Output format (\(TraceFormat.writableNames)); from the name when omitted.")
    var toFormat: String?

    @Option(name: .customLong("keep-strace"), help: "Also keep strace's raw output at this path.")
    var keepStrace: String?

    @Argument(parsing: .captureForPassthrough, help: "The command to run, after --.")
    var command: [String] = []

    static let traced = "open,openat,openat2,creat,close,dup,dup2,dup3,fcntl,lseek,read,write,readv,writev," +
        "pread64,pwrite64,preadv,pwritev,preadv2,pwritev2,fsync,fdatasync,sync_file_range,fallocate," +
        "ftruncate,clone,clone3,fork,vfork,io_uring_setup,io_uring_enter,io_uring_register,mmap"

    func run() throws {
        var cmd = command
        if cmd.first == "--" { cmd.removeFirst() }
        guard !cmd.isEmpty else { throw ValidationError("name the command to record after --") }
        var status: Int32 = 0
        try reportingErrors {
            guard let strace = which("strace") else {
                throw TraceError(.cannotOpen, "strace is needed to record (apt-get install strace)")
            }
            var format: TraceFormat? = nil
            if let t = toFormat {
                guard let f = TraceFormat(userName: t), f.isWritable else {
                    throw TraceError(.unsupported, "cannot write format \"\(t)\" (writable: \(TraceFormat.writableNames))")
                }
                format = f
            }
            let raw = keepStrace ?? (NSTemporaryDirectory() + "fio-replay-record-\(getpid()).strace")
            defer { if keepStrace == nil { unlink(raw) } }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: strace)
            p.arguments = ["-f", "-qq", "-ttt", "-T", "-y", "-s", "0", "-e", "trace=\(Self.traced)", "-o", raw, "--"] + cmd
            let started = Date()
            try p.run()
            p.waitUntilExit()
            let wall = Date().timeIntervalSince(started)
            status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus

            // Pass 1: what O_APPEND added to each file, to place appends at the right offsets.
            let first = try StraceReader(path: raw, pathPrefixes: paths)
            var batch: [TraceRecord] = []
            while try first.nextBatch(&batch, maxCount: 65536) {}
            var initial: [String: UInt64] = [:]
            for (path, appended) in first.appendedBytes where !first.truncatedPaths.contains(path) {
                var st = stat()
                if stat(path, &st) == 0 { initial[path] = UInt64(max(0, Int64(st.st_size) - Int64(appended))) }
            }
            // Pass 2: the records.
            var reader: any TraceSource = try StraceReader(path: raw, pathPrefixes: paths, initialSizes: initial)
            var recording = RecordingMetadata(recorder: "strace")
            recording.timeUnit = "us" // strace's -ttt/-T resolution
            recording.extra = [MetadataKey.recordCommand: cmd.joined(separator: " "),
                               MetadataKey.recordExitStatus: String(status),
                               MetadataKey.recordWallSeconds: String(format: "%.6f", wall)]
            if !paths.isEmpty { recording.extra[MetadataKey.recordPaths] = paths.joined(separator: ":") }
            let meta = recording.dictionary
            let sink = try openTraceSink(path: output, format: format, metadata: meta)
            let n = try copyTrace(from: &reader, to: sink)
            var endMeta = reader.metadata
            endMeta.merge(meta) { $1 }
            try sink.finish(metadata: endMeta)
            if let s = reader as? StraceReader {
                if !s.invisible.isEmpty {
                    let what = s.invisible.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                    warn("fio-replay: warning: I/O the recorder cannot see was not recorded: \(what)")
                }
                warn("fio-replay: recorded \(n) records on \(s.files.count) files in \(String(format: "%.3f", wall)) s; command exited \(status)")
            }
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// The full path of an executable on PATH, or nil.
func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}
