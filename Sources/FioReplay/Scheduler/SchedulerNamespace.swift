import FioTrace
import Glibc

/// Replays a recording's namespace events (create, rename, unlink) in their place in the
/// record order, on the mapped paths, so that a replay onto an empty copy ends with the
/// files the recorded program left.
///
/// - A target stays open across them the way the program's descriptors did: an unlinked
///   file's descriptor keeps its (now nameless) file; a renamed file's descriptor becomes
///   the target of the new name, and the descriptor of the file the rename replaced goes
///   (after the I/O in flight on it ends).
/// - A create of a path that is missing (it was unlinked or renamed away) makes it again at
///   the size the trace needs, as a missing target is made at the start.
/// - A rename or unlink whose source is already gone is skipped: a replay with a thread per
///   stream gives every stream the trace's file events.
/// - Paths the trace names (not mapped) are renamed or removed only when this replay made
///   them, as writes are guarded; a read-only or diskless replay changes no name.
/// - Only a target that is one trace file's own regular file takes a name event: a replay
///   onto one target for every file (`--target`), onto a block device, or with several
///   trace files mapped to one path skips them (the target is not the recorded file).
extension SchedulerCore {
    mutating func replayNamespace(_ r: TraceRecord) {
        if skipMask & (1 << UInt32(r.op.rawValue)) != 0 {
            stats.skipped &+= 1
            return
        }
        if targets.readOnly || diskless { return } // no target is changed (or, diskless, opened)
        let f = Int(r.file)
        guard f < targets.fileTarget.count else {
            fail(ReplayError(.trace, "record \(current) names file \(f), which the trace never defined", record: current))
            return
        }
        let t = targets.fileTarget[f]
        guard ownsName(t), mayRename(t, r.op) else { return }
        let path = targets.targets[t].path
        switch r.op {
        case .create:
            var st = stat()
            guard stat(path, &st) != 0 else { return } // there already (made at the start)
            if targets.targets[t].fd >= 0 {
                // The target open now is the file an unlink or rename took away.
                settle()
                targets.close(t)
            }
            if openFile(f) { targets.targets[t].openCount = max(1, targets.targets[t].openCount) }
        case .unlink:
            if Glibc.unlink(path) != 0 && errno != ENOENT {
                let e = errno
                fail(ReplayError(.ioFailed, "record \(current): unlink \(path): \(ReplayError.errnoString(e))", record: current, errno: e))
            }
        case .rename:
            guard r.offset < UInt64(targets.fileTarget.count) else {
                fail(ReplayError(.trace, "record \(current): rename to file \(r.offset), which the trace never defined", record: current))
                return
            }
            let u = targets.fileTarget[Int(r.offset)]
            guard u != t, ownsName(u), mayRename(u, r.op) else { return }
            let to = targets.targets[u].path
            if Glibc.rename(path, to) != 0 {
                let e = errno
                if e == ENOENT { return }
                fail(ReplayError(.ioFailed, "record \(current): rename \(path) to \(to): \(ReplayError.errnoString(e))", record: current, errno: e))
                return
            }
            if targets.created.contains(path) { targets.created.insert(to) }
            if targets.targets[t].fd >= 0 || targets.targets[u].fd >= 0 {
                settle()
                if targets.targets[u].fd >= 0 { Glibc.close(targets.targets[u].fd) }
                let from = targets.targets[t]
                targets.targets[u].fd = from.fd
                // The new name's size: what the trace needs there (its writes after the
                // rename may reach past the renamed file's end), or the renamed file's.
                targets.targets[u].size = max(from.size, targets.targets[u].size)
                targets.targets[u].isBlockDevice = from.isBlockDevice
                targets.targets[u].openCount = from.fd >= 0 ? max(from.openCount, targets.targets[u].openCount) : 0
                targets.targets[t].fd = -1
                targets.targets[t].openCount = 0
                refreshFileCache(target: t)
                refreshFileCache(target: u)
            }
        default:
            break
        }
    }

    /// Whether target `t` stands for one trace file at a path of its own (not `--target`'s
    /// one target for all, not a path several trace files share) and is a regular file or
    /// missing (never a block device or a directory).
    private func ownsName(_ t: Int) -> Bool {
        if targets.fileTarget.lazy.filter({ $0 == t }).count != 1 { return false }
        if let all = targets.mapping.all, targets.targets[t].path == all { return false }
        var st = stat()
        if lstat(targets.targets[t].path, &st) != 0 { return errno == ENOENT }
        return (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Waits for the I/O in flight (a descriptor is about to change).
    private mutating func settle() {
        commitPending()
        while inflight > 0 && !stop { _ = reap(waitNs: 100_000_000) }
    }

    /// Whether target `t` may be renamed or removed: mapped by the user, made by this
    /// replay, or a replay in place. Otherwise the replay stops with the reason.
    private mutating func mayRename(_ t: Int, _ op: TraceOp) -> Bool {
        let target = targets.targets[t]
        if !targets.mapping.protectTracePaths || target.named || targets.created.contains(target.path)
            || targets.mapping.createdPaths.contains(target.path) {
            return true
        }
        fail(ReplayError(.refusedDestructive,
            "record \(current): refusing to \(op.fioName) \(target.path): a file at a path the trace names that this replay did not make",
            remedy: .replayInPlace, record: current))
        return false
    }
}
