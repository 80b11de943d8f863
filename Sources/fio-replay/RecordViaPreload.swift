import ArgumentParser
import FioReplay
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension RecordCommand {
    /// `record --via preload`: runs `cmd` with the preload library, reads its events from a
    /// unix socket as they come, and writes records in issue order as they leave
    /// the decoder's ordering window (memory: the window, not the recording). Returns the
    /// command's exit status.
    func recordViaPreload(_ cmd: [String], format: TraceFormat) throws -> Int32 {
        let lib = try PreloadLibrary.path()
        let channel = try EventSocket()
        var recording = RecordingMetadata(recorder: "preload")
        recording.timeUnit = "ns"
        recording.extra = [MetadataKey.recordCommand: cmd.joined(separator: " "), MetadataKey.sourceFormat: "preload"]
        if !paths.isEmpty { recording.extra[MetadataKey.recordPaths] = paths.joined(separator: ":") }
        let meta = recording.dictionary
        // Blocks of 16,384 records (not 65,536): they are encoded and compressed as the
        // command runs, on the recorder's low-priority writer thread, so that little is left
        // to do when it exits (the whole command's time).
        let sink: any TraceSink = format == .fiot && output != "-"
            ? try FiotWriter(path: output, metadata: meta, options: .init(blockRecords: 16384))
            : try openTraceSink(path: output, format: format, metadata: meta)
        let writer = RecordingWriter(sink: sink)
        installInterruptHandler()

        // The command itself is the first process (no /usr/bin/env in between), so that its
        // own library start is what tells whether it loaded the library.
        guard let exe = cmd[0].contains("/") ? cmd[0] : which(cmd[0]) else {
            writer.close()
            if output != "-" && isRegularFile(output) { unlink(output) }
            throw TraceError(.cannotOpen, "\(cmd[0]): command not found on PATH")
        }
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = [lib, env["LD_PRELOAD"]].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        env["FIOTRACE_RECORD_SOCKET"] = channel.path
        let started = Date()
        let child: SpawnedCommand
        do { child = try SpawnedCommand(exe, arguments: cmd, environment: env) } catch {
            writer.close()
            if output != "-" && isRegularFile(output) { unlink(output) }
            throw TraceError(.cannotOpen, "cannot run \(cmd[0]): \(error)")
        }
        let root = UInt32(bitPattern: child.pid)
        // The command runs at the priority it would have without the recorder; the recorder's
        // own threads (decoding here, compressing in the writer) yield to it: on a busy
        // machine they run when the command waits, and the command waits for them only when
        // its socket buffer is full (memory stays bounded; no event is dropped).
        yieldToRecordedCommand()

        // Records wait 50 ms for older events of other threads: a running thread sends its
        // buffer at least every 20 ms (and the recorder takes packets every 5 ms), so 50 ms
        // covers them, and what is left to order when the command exits is 50 ms of records,
        // not 250.
        let decoder = PreloadEventDecoder(pathPrefixes: paths, windowNs: 50_000_000)
        var out: [TraceRecord] = []
        out.reserveCapacity(4096)
        func pass(final: Bool) {
            decoder.drain(into: &out, final: final)
            if !out.isEmpty {
                let files = decoder.filesWithSizes
                out.withUnsafeBufferPointer { writer.append($0, files: files) }
                out.removeAll(keepingCapacity: true)
            }
        }
        while !child.exited {
            var got = false
            // Wakes at once when the command exits (its pidfd is polled with the sockets).
            channel.receive(waitMs: 50, alsoPoll: child.pidfd) { got = true; decoder.consume($0) }
            pass(final: false)
            forwardInterrupt(to: child.pid)
            // Take packets in batches: waking for each one costs the machine a context switch
            // per packet, which the recorded program pays for on a busy machine. A process's
            // socket buffer holds about 1 MB (18,000 events): 5 ms of them wait there
            // without blocking the sender.
            if got && !child.exited { child.sleep(ms: 5) }
        }
        let status = child.wait()
        // What is left (the last records, the last block) is the whole command's time now:
        // back to normal priority where the system allows it.
        restorePriority()
        // What the command's processes sent before they ended is queued: take all of it
        // (connections made since the last pass included).
        for _ in 0..<3 { channel.receive(waitMs: 0) { decoder.consume($0) } }
        decoder.closeAll()
        pass(final: true)
        let wall = child.exitedAt.map { $0.timeIntervalSince(started) } ?? Date().timeIntervalSince(started)

        var endMeta = meta
        endMeta[MetadataKey.recordExitStatus] = String(status)
        endMeta[MetadataKey.recordWallSeconds] = String(format: "%.6f", wall)
        endMeta["preload.processes"] = String(decoder.started.count)
        if decoder.eventsLost > 0 { endMeta["preload.events_lost"] = String(decoder.eventsLost) }
        try writer.finish(files: decoder.filesWithSizes, metadata: endMeta)

        for line in bypassWarnings(decoder, root: root, command: cmd[0]) { warn("fio-replay: warning: " + line) }
        if writer.skippedNamespaceRecords > 0 {
            warn("fio-replay: warning: \(writer.skippedNamespaceRecords) create/rename/unlink records left out: \(output) is in a format that cannot hold them (a .fiot can)")
        }
        warn("fio-replay: recorded \(writer.recorded) records on \(decoder.files.count) files in \(String(format: "%.3f", wall)) s; command exited \(status)")
        return status
    }

    /// What the library could not see, as warnings with a way out.
    func bypassWarnings(_ d: PreloadEventDecoder, root: UInt32, command: String) -> [String] {
        var lines: [String] = []
        if d.started[root] == nil {
            lines.append("\(command) did not load the recorder's library (a static binary such as a Go program, a setuid program, or one that clears LD_PRELOAD): its own I/O was not recorded; record it with --via strace")
        }
        if d.ioUringSeen > 0 {
            lines.append("the command used io_uring (\(d.ioUringSeen) ring\(d.ioUringSeen == 1 ? "" : "s")): I/O submitted through a ring is invisible to the library (and to strace), and is missing from the recording")
        }
        if let made = d.syscallsMade[root], made > d.callsSeen {
            let unseen = made - d.callsSeen
            if unseen > max(256, d.callsSeen / 8) {
                lines.append("\(unseen) of the command's \(made) read/write system calls bypassed libc's wrappers (stdio's buffered I/O, raw system calls or a static helper program); if they were file I/O, record with --via strace")
            }
        }
        if d.eventsLost > 0 {
            lines.append("\(d.eventsLost) events could not be sent to the recorder and are missing")
        }
        return lines
    }
}

/// Passes a SIGINT or SIGTERM the recorder caught on to the recorded command, once per
/// signal (a terminal's Ctrl-C reached it already).
func forwardInterrupt(to pid: Int32) {
    let sig = interruptSignal()
    guard sig != 0 else { return }
    clearInterruptSignal()
    if sig == SIGINT && isatty(0) == 1 && tcgetpgrp(0) == getpgrp() { return }
    kill(pid, sig)
}

/// The recorder's end of the preload library's channel: a unix SOCK_SEQPACKET socket bound
/// in a private directory (removed at the end); each recorded process connects once (its
/// forked children share the connection) and sends whole packets, one thread buffer each.
final class EventSocket {
    let path: String
    private let dir: String
    private let listener: Int32
    private var connections: [Int32] = []
    private var buffer = [UInt8](repeating: 0, count: 1 << 17)
    private var pollSet: [pollfd] = []

    init() throws {
        var template = Array((NSTemporaryDirectory() + "fio-replay-record-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TraceError(.cannotOpen, "cannot create a directory for the recorder's socket in \(NSTemporaryDirectory()): \(String(cString: strerror(errno)))")
        }
        dir = String(cString: made)
        path = dir + "/events"
        listener = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard listener >= 0 else { throw TraceError(.cannotOpen, "cannot create the recorder's socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw TraceError(.cannotOpen, "\(path): too long for a socket path; set TMPDIR to a shorter directory")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0, listen(listener, 512) == 0 else {
            throw TraceError(.cannotOpen, "\(path): cannot listen on the recorder's socket: \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        for c in connections { close(c) }
        close(listener)
        unlink(path)
        rmdir(dir)
    }

    /// Accepts new connections and hands every packet queued on any of them to `body`,
    /// waiting up to `waitMs` for the first; a connection its processes closed is dropped.
    /// `alsoPoll` (a pidfd) ends the wait too when it becomes readable.
    func receive(waitMs: Int32, alsoPoll: Int32 = -1, _ body: (UnsafeRawBufferPointer) -> Void) {
        pollSet.removeAll(keepingCapacity: true)
        pollSet.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
        for c in connections { pollSet.append(pollfd(fd: c, events: Int16(POLLIN), revents: 0)) }
        if alsoPoll >= 0 { pollSet.append(pollfd(fd: alsoPoll, events: Int16(POLLIN), revents: 0)) }
        guard poll(&pollSet, nfds_t(pollSet.count), waitMs) > 0 else { return }
        while true {
            let c = accept(listener, nil, nil)
            if c < 0 { break }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            _ = fcntl(c, F_SETFL, O_NONBLOCK)
            connections.append(c)
        }
        var gone: Set<Int32> = []
        for c in connections {
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    continue
                }
                if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { gone.insert(c) }
                if n < 0 && errno == EINTR { continue }
                break
            }
        }
        if !gone.isEmpty {
            for c in gone { close(c) }
            connections.removeAll { gone.contains($0) }
        }
    }
}
