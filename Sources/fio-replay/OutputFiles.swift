import ArgumentParser
import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file a command reads or writes, with the option or argument that names it (for
/// messages).
struct NamedFile {
    /// How the user named it: "--write-iolog", "the trace", "--target".
    var role: String
    var path: String
}

/// What a path resolves to, for telling whether two names are one file: device and inode
/// when it exists (hard links and symlinks included), else the device and inode of its
/// directory plus its last name (two outputs not created yet).
struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64
    /// The last path component when the file does not exist yet; empty when it does.
    var name: String

    init?(_ path: String) {
        guard path != "-", !path.isEmpty else { return nil }
        var st = stat()
        if stat(path, &st) == 0 {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            name = ""
            return
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        guard stat(dir.isEmpty ? "." : dir, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        name = url.lastPathComponent
    }
}

/// Refuses to start when an output is also an input (or another output, or a character or
/// block device that is an input): writing it would destroy what the command reads, as
/// `replay T.fiot --write-iolog T.fiot` would truncate the trace it is replaying. Files are
/// compared by device and inode, not by name. Prints one line and exits 1.
func refuseOverlappingFiles(outputs: [NamedFile], inputs: [NamedFile]) throws {
    var seen: [FileIdentity: NamedFile] = [:]
    for f in inputs {
        if let id = FileIdentity(f.path), seen[id] == nil { seen[id] = f }
    }
    for f in outputs {
        guard let id = FileIdentity(f.path) else { continue }
        if isSharedDevice(f.path) { continue } // /dev/null, /dev/full, a terminal
        if let other = seen[id] {
            let what = other.role == f.role ? "is named twice" : "is \(other.role) \(quoted(other.path))"
            warn("fio-replay: error: \(f.role) \(quoted(f.path)) \(what) (the same file): writing it would destroy \(other.role == f.role ? "one of them" : "it"); name another file")
            throw ExitCode(1)
        }
        seen[id] = f
    }
}

/// `files` without repeats of one file (by identity, then by name): several trace files may
/// share one target.
func distinctFiles(_ files: [NamedFile]) -> [NamedFile] {
    var ids = Set<FileIdentity>(), names = Set<String>()
    return files.filter { f in
        guard names.insert(f.path).inserted else { return false }
        guard let id = FileIdentity(f.path) else { return true }
        return ids.insert(id).inserted
    }
}

/// Character devices (/dev/null, /dev/full, terminals) take any number of writers.
private func isSharedDevice(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
}

/// A path as messages quote it.
func quoted(_ path: String) -> String { "\"\(path)\"" }

/// Whether `path` is written where it is, not through another name: stdout (`-`) and
/// anything that exists and is not a regular file (a device, a FIFO).
private func writtenInPlace(_ path: String) -> Bool {
    var st = stat()
    return path == "-" || (stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG)
}

/// The file an output replaces: `path`, or the file its symlink names.
private func replacedFile(_ path: String) -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { dest in
        dest.hasPrefix("/") ? dest : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(dest).path
    } ?? path
}

/// Puts a finished output in place: renames `temp` over `final` (atomic within a directory).
private func putInPlace(_ temp: String, _ final: String) throws {
    if rename(temp, final) != 0 {
        let e = errno
        throw TraceError(.io, "\(final): cannot put the finished output in place (rename from \(temp)): \(String(cString: strerror(e)))")
    }
}

/// Writes an output through a temporary name in its directory, renamed over `path` when
/// `body` returns and removed when it throws: a command that fails leaves no partial file
/// that looks complete, and an existing file stays as it was until the new one is whole.
/// `body` gets the name to write. Written in place: stdout (`-`) and anything that is not a
/// regular file (a device, a FIFO).
///
/// Recordings (`--write-iolog`, a job's write_iolog=, `record -o`) and conversions of a
/// stream do not come here: they are written under their own name as they go, so that a
/// kill leaves every complete block under the name the user gave (a recording promises at
/// most about a second lost), which a temporary name would hide. The time series is written
/// as `NAME.partial` and renamed when the run ends (`inProgressName`).
func writeAtomically<T>(_ path: String, _ body: (String) throws -> T) throws -> T {
    if writtenInPlace(path) { return try body(path) }
    let final = replacedFile(path)
    let url = URL(fileURLWithPath: final)
    let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp").path
    let result: T
    do {
        result = try body(temp)
        try putInPlace(temp, final)
    } catch {
        unlink(temp)
        throw error
    }
    return result
}

/// What a time series adds to its name while it is written.
let partialSuffix = ".partial"

/// The name a time series is written under until the run ends: `NAME.partial` beside `NAME`
/// (beside the file a symlink at `NAME` names), or `NAME` itself for stdout, a device or a
/// FIFO. A killed run leaves it there, under a name next to the one asked for; an existing
/// file at `NAME` stays whole until the new one is finished.
func inProgressName(_ path: String) -> String {
    writtenInPlace(path) ? path : replacedFile(path) + partialSuffix
}

/// Renames a finished output from `inProgressName(path)` to `path`.
func finishOutput(_ path: String) throws {
    let temp = inProgressName(path)
    if temp != path { try putInPlace(temp, replacedFile(path)) }
}

/// Whether `path` is a regular file (following symlinks).
func isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}
