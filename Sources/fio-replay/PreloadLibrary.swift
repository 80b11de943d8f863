import FioTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The LD_PRELOAD library of `record --via preload`. Its C source travels inside this
/// binary (Preload/preload.c, embedded by SwiftPM) and is compiled with the machine's C
/// compiler the first time it is needed, into a cache directory, under a name that holds a
/// hash of the source: a rebuilt fio-replay with a changed library compiles it again, and
/// concurrent recorders each compile to a private name and rename (atomic).
enum PreloadLibrary {
    /// The path of the compiled library, compiling it first if needed.
    /// `FIOTRACE_PRELOAD_LIB` names a library to use instead.
    static func path() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let given = env["FIOTRACE_PRELOAD_LIB"], !given.isEmpty {
            guard access(given, R_OK) == 0 else {
                throw TraceError(.cannotOpen, "FIOTRACE_PRELOAD_LIB=\(given): cannot read it: \(String(cString: strerror(errno)))")
            }
            return given
        }
        let source = PackageResources.preload_c
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a 64
        for b in source { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        let dir = cacheDirectory(env)
        let lib = dir + "/libfiotrace-preload-" + String(hash, radix: 16) + ".so"
        if access(lib, R_OK) == 0 { return lib }
        try makeDirectory(dir)
        guard let cc = ["cc", "gcc", "clang"].lazy.compactMap({ which($0) }).first else {
            throw TraceError(.unsupported, "record --via preload compiles its small C library once and needs a C compiler (cc, gcc or clang) on PATH; install one (apt-get install gcc) or record with --via strace")
        }
        let tag = "\(getpid())-\(UInt64(Date().timeIntervalSince1970 * 1e6))"
        let src = dir + "/preload-\(tag).c", tmp = dir + "/preload-\(tag).so"
        defer { unlink(src); unlink(tmp) }
        guard FileManager.default.createFile(atPath: src, contents: Data(source)) else {
            throw TraceError(.cannotOpen, "\(src): cannot write the preload library's source")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cc)
        p.arguments = ["-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-pthread", "-o", tmp, src, "-ldl"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let first = text.split(separator: "\n").first.map(String.init) ?? "exit status \(p.terminationStatus)"
            throw TraceError(.unsupported, "compiling the preload library with \(cc) failed: \(first); record with --via strace")
        }
        guard rename(tmp, lib) == 0 else {
            throw TraceError(.cannotOpen, "\(lib): cannot store the compiled preload library: \(String(cString: strerror(errno)))")
        }
        return lib
    }

    /// `$XDG_CACHE_HOME/fiotrace`, else `~/.cache/fiotrace`, else a per-user directory in /tmp.
    static func cacheDirectory(_ env: [String: String]) -> String {
        if let x = env["XDG_CACHE_HOME"], x.hasPrefix("/") { return x + "/fiotrace" }
        if let h = env["HOME"], h.hasPrefix("/"), access(h, W_OK) == 0 { return h + "/.cache/fiotrace" }
        return "/tmp/fiotrace-cache-\(getuid())"
    }

    static func makeDirectory(_ dir: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw TraceError(.cannotOpen, "\(dir): cannot create the cache directory for the preload library: \(error.localizedDescription)")
        }
    }
}
