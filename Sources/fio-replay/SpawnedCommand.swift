import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The command `record --via preload` runs, started with posix_spawn (no descriptor scan,
/// no run loop) and reaped by a thread of its own, which makes `pidfd` readable the moment
/// the command exits: the recorder polls it with its sockets, so the end of the command is
/// seen at once instead of at the next timeout.
final class SpawnedCommand: @unchecked Sendable {
    let pid: pid_t
    /// Readable once the command has exited (a pipe's read end the reaper writes to).
    let pidfd: Int32
    private let wake: Int32
    private let lock = NSLock()
    private var status: Int32?
    private var exitTime: Date?
    private var reaper: Thread?

    /// Starts `path` with `arguments` (argv[0] first) and `environment`, signals at their
    /// defaults and none blocked (the recorder's own handlers are not the command's).
    init(_ path: String, arguments: [String], environment: [String: String]) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SpawnFailure(description: "cannot make a pipe: \(String(cString: strerror(errno)))") }
        for f in fds { _ = fcntl(f, F_SETFD, FD_CLOEXEC) }
        pidfd = fds[0]
        wake = fds[1]

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for a in argv { free(a) }
            for e in envp { free(e) }
        }
        var child: pid_t = 0
        let r = posix_spawn(&child, path, nil, &attr, argv, envp)
        guard r == 0 else {
            close(fds[0]); close(fds[1])
            throw SpawnFailure(description: String(cString: strerror(r)))
        }
        pid = child
        let t = Thread { [self] in reap() }
        t.stackSize = 1 << 16
        reaper = t
        t.start()
    }

    deinit {
        close(pidfd)
        close(wake)
    }

    private func reap() {
        var st: Int32 = 0
        var r: pid_t
        repeat { r = waitpid(pid, &st, 0) } while r < 0 && errno == EINTR
        let code: Int32
        if r < 0 { code = 127 } else if st & 0x7f == 0 { code = (st >> 8) & 0xff } else { code = 128 + (st & 0x7f) }
        lock.lock()
        status = code
        exitTime = Date()
        lock.unlock()
        var one: UInt8 = 1
        _ = write(wake, &one, 1)
    }

    /// The command has exited (and been reaped).
    var exited: Bool { lock.lock(); defer { lock.unlock() }; return status != nil }

    /// When the reaper saw the command exit.
    var exitedAt: Date? { lock.lock(); defer { lock.unlock() }; return exitTime }

    /// Sleeps up to `ms`, less if the command exits meanwhile.
    func sleep(ms: Int32) {
        var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, ms)
    }

    /// Waits for the command to end; its exit status, or 128 + the signal that ended it.
    func wait() -> Int32 {
        while true {
            lock.lock()
            if let s = status { lock.unlock(); return s }
            lock.unlock()
            sleep(ms: 100)
        }
    }
}

/// Undoes `yieldToRecordedCommand` as far as allowed: SCHED_OTHER always, nice 0 when the
/// user may raise priority (root, or RLIMIT_NICE); otherwise the threads stay at nice 10.
func restorePriority() {
    guard let tids = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return }
    for t in tids.compactMap({ Int32($0) }) {
        var param = sched_param(sched_priority: 0)
        _ = sched_setscheduler(t, 0 /* SCHED_OTHER */, &param)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(t), 0)
    }
}

struct SpawnFailure: Error, CustomStringConvertible {
    let description: String
}

/// Lowers the priority of every thread of this process (nice 10, SCHED_BATCH: no wake-up
/// preemption). Called after the recorded command started, so the command keeps its own;
/// threads started later inherit it.
func yieldToRecordedCommand() {
    guard let tids = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return }
    for t in tids.compactMap({ Int32($0) }) {
        var param = sched_param(sched_priority: 0)
        _ = sched_setscheduler(t, 3 /* SCHED_BATCH, not imported */, &param)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(t), 10)
    }
}
