import Foundation
import Testing
@testable import FioTrace

/// `record --via preload`: files created, renamed and unlinked are recorded in order (strace
/// is the ground truth for the calls), and a replay onto an empty directory ends with the
/// files the program left; a thread still writing when another calls exit() keeps every
/// write it made.
@Suite struct PreloadNamespaceTests {
    /// Names and sizes of the regular files in `dir`, sorted.
    func listing(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { name in
            let a = try FileManager.default.attributesOfItem(atPath: dir + "/" + name)
            return "\(name) \(a[.size] as? UInt64 ?? 0)"
        }
    }

    /// The namespace changes strace saw, in order, with paths relative to `dir`: an open
    /// with O_CREAT of a name not there before is a create (the names present are followed
    /// from an empty directory through the creates, renames and unlinks strace shows).
    func straceTruth(_ text: String, dir: String) -> [String] {
        var present = Set<String>()
        var out: [String] = []
        func rel(_ p: String) -> String {
            let abs = p.hasPrefix("/") ? p : dir + "/" + p
            return abs.hasPrefix(dir + "/") ? String(abs.dropFirst(dir.count + 1)) : abs
        }
        func quoted(_ line: Substring) -> [String] {
            line.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        }
        for line in text.split(separator: "\n") {
            // `PID call(args) = result` (strace pads short calls with spaces before the `=`).
            guard let eq = line.range(of: " = ", options: .backwards) else { continue }
            let ret = line[eq.upperBound...]
            guard let first = ret.first, first.isNumber else { continue }
            let call = line.prefix { $0 != "(" }.split(separator: " ").last ?? ""
            let names = quoted(line[..<eq.lowerBound])
            switch call {
            case "open", "openat", "creat":
                guard call == "creat" || line.contains("O_CREAT"), let n = names.first else { continue }
                let p = rel(n)
                if !present.contains(p) { present.insert(p); out.append("create \(p)") }
            case "rename", "renameat", "renameat2":
                guard names.count == 2 else { continue }
                let a = rel(names[0]), b = rel(names[1])
                present.remove(a); present.insert(b)
                out.append("rename \(a) \(b)")
            case "unlink", "unlinkat":
                guard let n = names.first else { continue }
                present.remove(rel(n))
                out.append("unlink \(rel(n))")
            default:
                continue
            }
        }
        return out
    }

    /// A program that saves atomically (write a temporary, rename it over the real name),
    /// keeps a log it removes, renames by a relative path after chdir, reopens a file with
    /// O_CREAT that exists, and removes a file with remove().
    static let namesProgram = """
    #include <fcntl.h>
    #include <stdio.h>
    #include <string.h>
    #include <unistd.h>
    int main(int argc, char **argv) {
        char a[4096], b[4096], c[4096], e[4096], block[4096];
        memset(block, 'x', sizeof block);
        snprintf(a, sizeof a, "%s/a.tmp", argv[1]);
        snprintf(b, sizeof b, "%s/a.dat", argv[1]);
        snprintf(c, sizeof c, "%s/b.log", argv[1]);
        snprintf(e, sizeof e, "%s/e.dat", argv[1]);
        int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (int i = 0; i < 3; i++) write(fd, block, sizeof block);
        fsync(fd);
        close(fd);
        if (rename(a, b) != 0) return 1;
        fd = open(c, O_WRONLY | O_CREAT | O_EXCL, 0644);
        write(fd, block, 100);
        close(fd);
        if (unlink(c) != 0) return 2;
        if (chdir(argv[1]) != 0) return 3;
        fd = creat("c.dat", 0644);
        write(fd, block, 10);
        close(fd);
        if (renameat(AT_FDCWD, "c.dat", AT_FDCWD, "d.dat") != 0) return 4;
        fd = open("d.dat", O_WRONLY | O_CREAT | O_APPEND, 0644);
        write(fd, block, 5);
        close(fd);
        fd = open(e, O_WRONLY | O_CREAT, 0644);
        write(fd, block, 7);
        close(fd);
        return remove(e) == 0 ? 0 : 5;
    }
    """

    @Test func createsRenamesUnlinksRecordedInOrderAndReplayedOntoAnEmptyCopy() throws {
        #expect(haveTool("strace"), "strace must be installed (scripts/setup.sh installs it)")
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC(Self.namesProgram, "names", in: dir, ["-pthread"])
        let data = dir + "/data", truth = dir + "/truth", copy = dir + "/copy"
        for d in [data, truth] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", data, "--", exe, data])
        #expect(r.status == 0, "\(r.stderr)")
        // Ground truth: the same program under strace, in a directory of its own.
        let s = try run("strace", ["-f", "-qq", "-o", dir + "/st.txt", "-e", "trace=open,openat,creat,rename,renameat,renameat2,unlink,unlinkat", exe, truth])
        #expect(s.status == 0, "\(s.stderr)")
        let expected = straceTruth(try String(contentsOfFile: dir + "/st.txt", encoding: .utf8), dir: truth)
        #expect(expected.count == 8, "\(expected)")

        let (all, files) = try readAllCLI(dir + "/t.fiot")
        func rel(_ f: UInt32) -> String { String(files[Int(f)].path.dropFirst(data.count + 1)) }
        let recorded = all.filter { $0.op.isNamespace || $0.flags.contains(.created) }.map { r in
            r.op == .rename ? "rename \(rel(r.file)) \(rel(UInt32(r.offset)))"
                : r.op == .open ? "create \(rel(r.file))" : "\(r.op.fioName) \(rel(r.file))"
        }
        #expect(recorded == expected)
        #expect(try listing(data) == ["a.dat 12288", "d.dat 15"])
        // Writes after the rename are on the new name, at the offsets they landed.
        #expect(all.filter { $0.op == .write }.map { "\(rel($0.file)) \($0.offset) \($0.length)" }
            == ["a.tmp 0 4096", "a.tmp 4096 4096", "a.tmp 8192 4096", "b.log 0 100", "c.dat 0 10", "d.dat 10 5", "e.dat 0 7"])

        // Replayed onto a directory that does not exist: the same files at the same sizes.
        let rp = try run("fio-replay", ["replay", dir + "/t.fiot", "--map", "\(data)=\(copy)", "--engine", "psync", "--no-progress"])
        #expect(rp.status == 0, "\(rp.stderr)")
        #expect(try listing(copy) == listing(data))
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy + "/a.dat")).count == 12288)

        // A format without namespace events says what it left out.
        let cv = try run("fio-replay", ["convert", dir + "/t.fiot", dir + "/t.iolog"])
        #expect(cv.status == 0, "\(cv.stderr)")
        #expect(cv.stderr.contains("8 create/rename/unlink records left out"), "\(cv.stderr)")
    }

    /// Replayed onto one target for every file (`--target`), the recording's unlinks and
    /// renames do not touch the target: it is not the recorded file.
    @Test func oneTargetForAllKeepsItsName() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC(Self.namesProgram, "names", in: dir, ["-pthread"])
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", data, "--", exe, data])
        #expect(r.status == 0, "\(r.stderr)")
        let target = dir + "/one.img"
        #expect(FileManager.default.createFile(atPath: target, contents: Data(count: 1 << 16)))
        let rp = try run("fio-replay", ["replay", dir + "/t.fiot", "--target", target, "--engine", "psync", "--no-progress"])
        #expect(rp.status == 0, "\(rp.stderr)")
        #expect(try listing(dir).contains("one.img 65536"))
    }

    /// The strace back end sees the same renames and unlinks (strace does not tell whether an
    /// O_CREAT open made its file, so creates are only those with O_EXCL), and its recording
    /// replayed onto an empty directory leaves the same files.
    @Test func straceBackEndRecordsRenamesAndUnlinks() throws {
        #expect(haveTool("strace"), "strace must be installed (scripts/setup.sh installs it)")
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC(Self.namesProgram, "names", in: dir, ["-pthread"])
        let data = dir + "/data", copy = dir + "/copy"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let r = try run("fio-replay", ["record", "--via", "strace", "--keep-strace", dir + "/raw.txt", "-o", dir + "/t.fiot", "--paths", data, "--", exe, data])
        #expect(r.status == 0, "\(r.stderr)")
        let truth = straceTruth(try String(contentsOfFile: dir + "/raw.txt", encoding: .utf8)
            .split(separator: "\n").map { line in
                // strace -ttt -T -y: drop the timestamp and the duration, keep "PID call(...) = N".
                let f = line.split(separator: " ", maxSplits: 2)
                return f.count == 3 ? "\(f[0]) \(f[2])" : String(line)
            }.joined(separator: "\n"), dir: data).filter { !$0.hasPrefix("create ") }
        #expect(truth == ["rename a.tmp a.dat", "unlink b.log", "rename c.dat d.dat", "unlink e.dat"])
        let (all, files) = try readAllCLI(dir + "/t.fiot")
        func rel(_ f: UInt32) -> String { String(files[Int(f)].path.dropFirst(data.count + 1)) }
        #expect(all.filter(\.op.isNamespace).map { r in
            r.op == .rename ? "rename \(rel(r.file)) \(rel(UInt32(r.offset)))" : "\(r.op.fioName) \(rel(r.file))"
        } == truth)
        #expect(all.filter { $0.flags.contains(.created) }.map { rel($0.file) } == ["b.log"], "O_EXCL")
        let rp = try run("fio-replay", ["replay", dir + "/t.fiot", "--map", "\(data)=\(copy)", "--engine", "psync", "--no-progress"])
        #expect(rp.status == 0, "\(rp.stderr)")
        #expect(try listing(copy) == listing(data))
    }

    /// sqlite3 in WAL mode (its WAL and shared-memory files are made, and removed when the
    /// database closes), recorded and replayed onto an empty directory: the directory ends
    /// as sqlite left its own.
    @Test func sqliteReplayedOntoAnEmptyDirectoryLeavesItsFiles() throws {
        let dir = try sqliteWorkDir()
        defer { cleanup(dir) }
        let app = dir + "/app", copy = dir + "/empty"
        _ = try recordSqlite(in: dir, inserts: 300)
        let (all, files) = try readAllCLI(dir + "/rec.fiot")
        let names = all.filter { $0.op.isNamespace || $0.flags.contains(.created) }
            .map { "\($0.op == .open ? "create" : $0.op.fioName) \(files[Int($0.file)].path.dropFirst(app.count + 1))" }
        #expect(names.contains("create db") && names.contains("create db-wal") && names.contains("unlink db-wal"), "\(names)")
        let rp = try run("fio-replay", ["replay", dir + "/rec.fiot", "--map", "\(app)=\(copy)", "--engine", "psync", "--timing", "none", "--no-progress"])
        #expect(rp.status == 0, "\(rp.stderr)")
        #expect(try listing(copy).map { $0.split(separator: " ")[0] } == listing(app).map { $0.split(separator: " ")[0] })
        #expect(try listing(copy) == listing(app))
    }

    /// A second thread writes and then waits; the main thread calls exit() without joining
    /// it. The library sends that thread's buffered events at the exit: every write the
    /// program counted is in the recording.
    @Test func threadRunningAtExitKeepsItsWrites() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #include <fcntl.h>
        #include <pthread.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>
        static volatile int done;
        static int count;
        static int fd;
        static void *writer(void *arg) {
            (void)arg;
            char buf[512] = {0};
            for (int i = 0; i < 1000; i++) if (write(fd, buf, sizeof buf) == (ssize_t)sizeof buf) count++;
            __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
            for (;;) pause();
        }
        int main(int argc, char **argv) {
            fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
            pthread_t t;
            pthread_create(&t, NULL, writer, NULL);
            while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) usleep(1000);
            printf("%d\\n", count);
            fflush(stdout);
            exit(0);
        }
        """, "exitthread", in: dir, ["-pthread"])
        let f = dir + "/f.dat"
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", f, "--", exe, f])
        #expect(r.status == 0, "\(r.stderr)")
        let counted = Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(counted == 1000)
        let (all, _) = try readAllCLI(dir + "/t.fiot")
        let writes = all.filter { $0.op == .write }
        #expect(writes.count == counted)
        #expect(writes.map(\.offset) == (0..<1000).map { UInt64($0 * 512) })
        #expect(!r.stderr.contains("bypassed"), "\(r.stderr)")
    }
}
