#if canImport(Glibc)
import Glibc
#endif

/// The file each input is written to for readers that open a path (they stream through
/// `TraceInput`, which also undoes gzip and zstd). One per process, on tmpfs when there
/// is one; rewritten in place for every input and removed at exit.
enum ScratchFile {
    nonisolated(unsafe) private static var fd: Int32 = -1
    nonisolated(unsafe) private static var currentPath = ""

    /// Writes `bytes` as the whole content of the scratch file, whose name ends in
    /// `suffix` (readers that look at names see a plausible one). Returns its path.
    static func write(_ bytes: UnsafeRawBufferPointer, suffix: String) -> String {
        if fd < 0 {
            var st = stat()
            let dir = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0
                ? "/dev/shm" : (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
            currentPath = "\(dir)/fiotrace-fuzz-\(getpid())\(suffix)"
            fd = open(currentPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            if fd < 0 {
                fputs("fiotrace-fuzz: cannot create \(currentPath): \(String(cString: strerror(errno)))\n", stderr)
                exit(2)
            }
            atexit { ScratchFile.remove() }
        }
        if ftruncate(fd, 0) != 0 { fatal("truncate") }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(done))
            if n <= 0 { fatal("write") }
            done += n
        }
        return currentPath
    }

    static func remove() {
        if fd >= 0 { unlink(currentPath) }
    }

    private static func fatal(_ what: String) -> Never {
        fputs("fiotrace-fuzz: cannot \(what) \(currentPath): \(String(cString: strerror(errno)))\n", stderr)
        exit(2)
    }
}
