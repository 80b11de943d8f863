import Foundation
import Testing
@testable import FioTrace

/// `record --via preload`: small C programs (compiled here with cc) whose I/O is known
/// exactly, recorded, and the recording checked call by call.
@Suite struct PreloadRecordTests {
    /// The capture issue's dd script, recorded with each back end: the same calls in the
    /// same order (strace is the ground truth: it sees every system call).
    @Test(arguments: ["preload", "strace"]) func ddScriptSameCallsEitherWay(via: String) throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let f = dir + "/f.dat"
        let script = ddCaptureScript(f) + "\necho abc >> \(f)\nexit 3\n"
        let r = try run("fio-replay", ["record", "--via", via, "-o", dir + "/t.fiot", "--paths", dir, "--", "sh", "-c", script])
        #expect(r.status == 3, "\(r.stderr)")
        let (all, files) = try readAllCLI(dir + "/t.fiot")
        #expect(files.map(\.path) == [f])
        #expect(all.map { "\($0.op.fioName) \($0.offset) \($0.length)" } == [
            "add 0 0", "open 0 0", "write 0 4096", "write 4096 4096", "sync 0 0", "close 0 0",
            "open 0 0", "write 4096 4096", "sync 0 0", "close 0 0",
            "open 0 0", "read 4096 4096", "close 0 0",
            "open 0 0", "write 8192 4", "close 0 0",
        ])
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.time <= $1.time })
        for rec in all where rec.op.isData {
            #expect(rec.latency != nil && rec.result == Int64(rec.length) && rec.depth == (via == "preload" ? 1 : nil))
        }
    }

    /// Two threads, each writing its own file: every write recorded on the right file at
    /// the right offset, one stream per file, and two streams when the threads overlapped
    /// (a stream is a lane threads that ran one after another share).
    @Test func twoThreadsTwoFiles() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #include <fcntl.h>
        #include <pthread.h>
        #include <stdio.h>
        #include <unistd.h>
        static const char *dir;
        static void *writer(void *arg) {
            char path[4096], buf[4096] = {0};
            snprintf(path, sizeof path, "%s/t%ld.dat", dir, (long)arg);
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            for (int i = 0; i < 300; i++) write(fd, buf, (size_t)(512 * (1 + (long)arg)));
            close(fd);
            return NULL;
        }
        int main(int argc, char **argv) {
            dir = argv[1];
            pthread_t a, b;
            pthread_create(&a, NULL, writer, (void *)0L);
            pthread_create(&b, NULL, writer, (void *)1L);
            pthread_join(a, NULL);
            pthread_join(b, NULL);
            return 0;
        }
        """, "threads", in: dir, ["-pthread"])
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", dir + "/t", "--", exe, dir])
        #expect(r.status == 0, "\(r.stderr)")
        let (all, files) = try readAllCLI(dir + "/t.fiot")
        #expect(Set(files.map(\.path)) == [dir + "/t0.dat", dir + "/t1.dat"])
        var streams: Set<UInt32> = []
        var spans: [ClosedRange<UInt64>] = []
        for (i, f) in files.enumerated() {
            let size = f.path.hasSuffix("t0.dat") ? 512 : 1024
            let writes = all.filter { $0.file == UInt32(i) && $0.op == .write }
            #expect(writes.map(\.offset) == (0..<300).map { UInt64($0 * size) }, "\(f.path)")
            #expect(writes.allSatisfy { $0.length == UInt64(size) })
            #expect(Set(writes.compactMap(\.stream)).count == 1)
            streams.formUnion(writes.compactMap(\.stream))
            #expect(files[i].size == UInt64(300 * size))
            if let a = writes.first, let b = writes.last { spans.append(a.time...(b.time + (b.latency ?? 0))) }
        }
        #expect(spans.count == 2)
        if spans.count == 2 && spans[0].overlaps(spans[1]) { #expect(streams.count == 2, "overlapping threads, separate streams") }
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.time <= $1.time }, "records leave in issue order")
    }

    /// A program that execs dd with an environment of its own (execle with none at all, as
    /// `env -i` does): the recorder's variables go with the exec, so dd is recorded (its
    /// three 4 KiB writes), not silently lost.
    @Test func execWithAFreshEnvironmentStaysRecorded() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #include <unistd.h>
        int main(int argc, char **argv) {
            char *env[] = {0};
            execle("/bin/dd", "dd", "if=/dev/zero", argv[1], "bs=4096", "count=3", "status=none", (char *)0, env);
            return 9;
        }
        """, "execfresh", in: dir)
        let f = dir + "/o.dat"
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", f, "--", exe, "of=" + f])
        #expect(r.status == 0, "\(r.stderr)")
        let (all, _) = try readAllCLI(dir + "/t.fiot")
        #expect(all.filter { $0.op == .write }.map { "\($0.offset) \($0.length)" } == ["0 4096", "4096 4096", "8192 4096"])
    }

    /// A program writing one file through an O_DIRECT descriptor and a buffered one, with
    /// each back end: the recording carries the direct flag on exactly the direct descriptor's I/O (the
    /// program's own split is the ground truth), and its replay says it honours the flag
    /// per record (the per-I/O check against strace: ReplayDefaultsTests).
    @Test(arguments: ["preload", "strace"]) func directDescriptorsCarryTheDirectFlag(via: String) throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            void *buf;
            if (posix_memalign(&buf, 4096, 4096)) return 2;
            memset(buf, 7, 4096);
            int d = open(argv[1], O_RDWR | O_CREAT | O_DIRECT, 0644);
            if (d < 0) return 3;
            int b = open(argv[1], O_RDWR);
            for (int i = 0; i < 8; i++) {
                if (pwrite(d, buf, 4096, (off_t)i * 8192) != 4096) return 4;
                if (pwrite(b, buf, 4096, (off_t)i * 8192 + 4096) != 4096) return 5;
            }
            if (pread(d, buf, 4096, 0) != 4096) return 6;
            close(d);
            close(b);
            return 0;
        }
        """, "directio", in: dir)
        let f = dir + "/d.dat"
        let r = try run("fio-replay", ["record", "--via", via, "-o", dir + "/t.fiot", "--paths", f, "--", exe, f])
        #expect(r.status == 0, "\(r.stderr)")
        let (all, _) = try readAllCLI(dir + "/t.fiot")
        let data = all.filter { $0.op.isData }
        #expect(data.count == 17)
        // The O_DIRECT descriptor did the writes at multiples of 8 KiB and the read.
        #expect(data.allSatisfy { $0.flags.contains(.direct) == ($0.offset % 8192 == 0) },
                "\(data.map { "\($0.op.fioName) \($0.offset) \($0.flags.contains(.direct))" })")
        let p = try run("fio-replay", ["replay", dir + "/t.fiot", "--map", "\(f)=\(dir)/copy.dat", "--engine", "psync",
                                       "--timing", "none", "--no-progress"])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(p.stderr.contains("direct per record (9 of the first 17 data records carry the direct flag)"), "\(p.stderr)")
    }

    /// fork: the parent and the child each write their own file after the fork, and both
    /// inherit a descriptor opened before it whose position the kernel shares; each process
    /// is a stream of its own.
    @Test func forkParentAndChildBothRecorded() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #include <fcntl.h>
        #include <stdio.h>
        #include <sys/wait.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            char p[4096], c[4096], buf[8192] = {0};
            snprintf(p, sizeof p, "%s/parent.dat", argv[1]);
            snprintf(c, sizeof c, "%s/child.dat", argv[1]);
            pid_t pid = fork();
            if (pid == 0) {
                int fd = open(c, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                for (int i = 0; i < 5; i++) write(fd, buf, 1000);
                fsync(fd);
                _exit(0);
            }
            int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            for (int i = 0; i < 3; i++) pwrite(fd, buf, 8192, 8192 * (2 - i));
            waitpid(pid, NULL, 0);
            close(fd);
            return 0;
        }
        """, "forker", in: dir)
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", dir + "/parent.dat", dir + "/child.dat", "--", exe, dir])
        #expect(r.status == 0, "\(r.stderr)")
        let (all, files) = try readAllCLI(dir + "/t.fiot")
        func calls(_ name: String) -> [String] {
            guard let i = files.firstIndex(where: { $0.path == dir + "/" + name }) else { return [] }
            return all.filter { $0.file == UInt32(i) && !$0.op.isFileEvent }.map { "\($0.op.fioName) \($0.offset) \($0.length)" }
        }
        #expect(calls("child.dat") == ["write 0 1000", "write 1000 1000", "write 2000 1000", "write 3000 1000", "write 4000 1000", "sync 0 0"])
        #expect(calls("parent.dat") == ["write 16384 8192", "write 8192 8192", "write 0 8192"])
        let childStreams = Set(all.filter { files[Int($0.file)].path.hasSuffix("child.dat") && $0.op.isData }.compactMap(\.stream))
        let parentStreams = Set(all.filter { files[Int($0.file)].path.hasSuffix("parent.dat") && $0.op.isData }.compactMap(\.stream))
        #expect(childStreams.count == 1 && parentStreams.count == 1 && childStreams != parentStreams)
        // Both files are closed in the recording (the child by _exit).
        #expect(all.filter { $0.op == .close }.count == 2)
    }

    /// dup shares the position of one open file description; lseek on either moves both.
    @Test func dupSharesThePosition() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #include <fcntl.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            char buf[4096] = {0};
            int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
            write(fd, buf, 4096);            /* 0 */
            int d = dup(fd);
            write(d, buf, 100);              /* 4096 */
            write(fd, buf, 200);             /* 4196 */
            lseek(d, 10, SEEK_SET);
            write(fd, buf, 300);             /* 10 */
            int e = fcntl(fd, F_DUPFD, 50);
            close(fd);
            write(e, buf, 400);              /* 310 */
            dup2(e, 7);
            read(7, buf, 1000);              /* 710: 4396 - 710 = 3686 bytes left */
            close(d); close(e); close(7);
            return 0;
        }
        """, "dupper", in: dir)
        let f = dir + "/f.dat"
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", f, "--", exe, f])
        #expect(r.status == 0, "\(r.stderr)")
        let (all, _) = try readAllCLI(dir + "/t.fiot")
        #expect(all.map { "\($0.op.fioName) \($0.offset) \($0.length)" } == [
            "add 0 0", "open 0 0", "write 0 4096", "write 4096 100", "write 4196 200", "write 10 300",
            "write 310 400", "read 710 1000", "close 0 0",
        ])
    }

    /// A program writing 4 KiB every 200 µs (a 200 µs sleep before each write), noting its
    /// own time before each write: the recorded inter-arrival times match its own at p50 and p90
    /// within 5 %.
    @Test func rateLimitedWriterKeepsItsSchedule() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #include <fcntl.h>
        #include <stdio.h>
        #include <time.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            static char buf[4096];
            static long long own[2000];
            int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
            struct timespec pause = {0, 200000};
            for (int i = 0; i < 2000; i++) {
                clock_nanosleep(CLOCK_MONOTONIC, 0, &pause, NULL);
                struct timespec t;
                clock_gettime(CLOCK_MONOTONIC, &t);
                own[i] = t.tv_sec * 1000000000LL + t.tv_nsec;
                write(fd, buf, sizeof buf);
            }
            close(fd);
            FILE *o = fopen(argv[2], "w");
            for (int i = 0; i < 2000; i++) fprintf(o, "%lld\\n", own[i]);
            fclose(o);
            return 0;
        }
        """, "paced", in: dir)
        let f = dir + "/f.dat"
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", f, "--", exe, f, dir + "/own.txt"])
        #expect(r.status == 0, "\(r.stderr)")
        let (all, _) = try readAllCLI(dir + "/t.fiot")
        let writes = all.filter { $0.op == .write }.map(\.time)
        #expect(writes.count == 2000)
        let own = try String(contentsOfFile: dir + "/own.txt", encoding: .utf8).split(separator: "\n").compactMap { UInt64($0) }
        #expect(own.count == 2000)
        func gaps(_ t: [UInt64]) -> [Double] { zip(t, t.dropFirst()).map { Double($1 - $0) }.sorted() }
        func pct(_ s: [Double], _ p: Double) -> Double { s[min(s.count - 1, Int(p * Double(s.count)))] }
        let rec = gaps(writes), mine = gaps(own)
        for p in [0.5, 0.9] {
            let a = pct(rec, p), b = pct(mine, p)
            #expect(abs(a - b) <= 0.05 * b, "p\(Int(p * 100)): recorded \(a) ns, the program's own \(b) ns")
        }
        // The program paced itself: no gap below its 200 µs pause.
        #expect(mine.first! >= 200_000 && rec.first! >= 190_000, "shortest gaps: own \(mine.first!) ns, recorded \(rec.first!) ns")
    }

    /// A static binary does not load the library: the recorder says so and points at
    /// --via strace, and strace then records its writes.
    @Test func staticBinaryIsReportedNotSilentlyEmpty() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #include <fcntl.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            char buf[512] = {0};
            int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
            for (int i = 0; i < 4; i++) write(fd, buf, sizeof buf);
            return close(fd);
        }
        """, "static", in: dir, ["-static"])
        let f = dir + "/f.dat"
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", f, "--", exe, f])
        #expect(r.status == 0)
        #expect(r.stderr.contains("did not load the recorder's library") && r.stderr.contains("--via strace"), "\(r.stderr)")
        let s = try run("fio-replay", ["record", "--via", "strace", "-o", dir + "/s.fiot", "--paths", f, "--", exe, f])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(try readAllCLI(dir + "/s.fiot").0.filter { $0.op == .write }.count == 4)
    }

    /// An io_uring program is named in a warning (its ring's I/O is invisible).
    @Test func ioUringUseIsReported() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #include <fcntl.h>
        #include <liburing.h>
        int main(int argc, char **argv) {
            static char buf[4096];
            struct io_uring ring;
            if (io_uring_queue_init(4, &ring, 0) != 0) return 2;
            int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            io_uring_prep_write(sqe, fd, buf, sizeof buf, 0);
            io_uring_submit(&ring);
            struct io_uring_cqe *cqe;
            io_uring_wait_cqe(&ring, &cqe);
            return cqe->res == 4096 ? 0 : 1;
        }
        """, "ring", in: dir, ["-luring"])
        let f = dir + "/f.dat"
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", f, "--", exe, f])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("io_uring"), "\(r.stderr)")
    }

    /// Debian's sqlite3, 2000 inserts in WAL mode with synchronous=FULL (every commit syncs
    /// the WAL; creating the WAL syncs the directory), recorded; the recording replayed with
    /// --map onto a copy of the database directory: the replay issues the recorded calls, in
    /// order, on the copy (the directory's syncs included), and the original is untouched.
    @Test func sqliteWalRecordedAndReplayedOntoACopy() throws {
        let dir = try sqliteWorkDir()
        defer { cleanup(dir) }
        let app = dir + "/app", copy = dir + "/copy"
        let r = try recordSqlite(in: dir, inserts: 2000)
        #expect(!r.stderr.contains("warning"), "\(r.stderr)")
        try FileManager.default.copyItem(atPath: app, toPath: copy)
        let before = try Data(contentsOf: URL(fileURLWithPath: app + "/db"))
        let rp = try run("fio-replay", ["replay", dir + "/rec.fiot", "--map", "\(app)=\(copy)", "--engine", "psync", "--timing", "none",
                                        "--no-progress", "--write-iolog", dir + "/replayed.fiot"])
        #expect(rp.status == 0, "\(rp.stderr)")
        func calls(_ path: String) throws -> [String] {
            let (all, files) = try readAllCLI(path)
            return all.filter { !$0.op.isFileEvent }.map { "\(files[Int($0.file)].path) \($0.op.fioName) \($0.offset) \($0.length)" }
        }
        let recorded = try calls(dir + "/rec.fiot"), replayed = try calls(dir + "/replayed.fiot")
        #expect(recorded.count > 6000, "2000 commits: a WAL write and sync each, at least")
        #expect(replayed == recorded)
        // Commits synced the WAL; creating it synced the directory (a path ending in "/").
        #expect(recorded.filter { $0.hasPrefix(app + "/db-wal ") && ($0.contains(" datasync ") || $0.contains(" sync ")) }.count >= 2000)
        #expect(recorded.contains { $0.hasPrefix(app + "/ ") && ($0.contains(" datasync ") || $0.contains(" sync ")) })
        // The replay wrote the copy (the replay made a WAL at the size the recording reached,
        // wrote it, and removed it at the end as sqlite did its own) and left the original
        // alone.
        let (recs, recFiles) = try readAllCLI(dir + "/rec.fiot")
        let wal = recFiles.firstIndex { $0.path == app + "/db-wal" }.map(UInt32.init)
        let walEnd = recs.filter { $0.op == .write && $0.file == wal }.map { $0.offset + $0.length }.max() ?? 0
        let (done, doneFiles) = try readAllCLI(dir + "/replayed.fiot")
        let copyWal = doneFiles.firstIndex { $0.path == app + "/db-wal" }.map(UInt32.init) // the replay names files as the trace does
        #expect(walEnd > 0 && done.filter { $0.op == .write && $0.file == copyWal && $0.result == Int64($0.length) }
            .map { $0.offset + $0.length }.max() == walEnd)
        #expect(recs.contains { $0.op == .unlink && $0.file == wal })
        #expect(!FileManager.default.fileExists(atPath: copy + "/db-wal"))
        #expect(!FileManager.default.fileExists(atPath: app + "/db-wal"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: app + "/db")) == before)
    }

    /// A directory fsync, recorded: replayed as an fsync of the mapped directory, which the
    /// replay makes when the copy lacks it (a recorded directory's path ends in "/").
    @Test func directoryFsyncIsReplayedOnTheMappedDirectory() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let exe = try compileC("""
        #include <fcntl.h>
        #include <stdio.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            char f[4096];
            snprintf(f, sizeof f, "%s/new.dat", argv[1]);
            int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            write(fd, "0123456789", 10);
            fsync(fd);
            close(fd);
            int d = open(argv[1], O_RDONLY | O_DIRECTORY);
            fsync(d);
            return close(d);
        }
        """, "dirsync", in: dir)
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let r = try run("fio-replay", ["record", "-o", dir + "/t.fiot", "--paths", dir + "/data", "--", exe, dir + "/data"])
        #expect(r.status == 0, "\(r.stderr)")
        let (all, files) = try readAllCLI(dir + "/t.fiot")
        #expect(files.map(\.path) == [dir + "/data/new.dat", dir + "/data/"])
        #expect(all.filter { !$0.op.isFileEvent }.map { "\($0.file) \($0.op.fioName) \($0.offset) \($0.length)" } == ["0 write 0 10", "0 sync 0 0", "1 sync 0 0"])
        // Onto a copy that does not exist yet: the directory is made, the file created in it.
        let rp = try run("fio-replay", ["replay", dir + "/t.fiot", "--map", "\(dir)/data=\(dir)/copy", "--engine", "psync", "--no-progress",
                                        "--write-iolog", dir + "/r.fiot"])
        #expect(rp.status == 0, "\(rp.stderr)")
        let (again, _) = try readAllCLI(dir + "/r.fiot")
        #expect(again.filter { !$0.op.isFileEvent }.map { "\($0.file) \($0.op.fioName) \($0.offset) \($0.length)" } == ["0 write 0 10", "0 sync 0 0", "1 sync 0 0"])
        #expect(again.filter { !$0.op.isFileEvent }.allSatisfy { $0.result == 0 || $0.result == 10 }, "every call succeeded")
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: dir + "/copy", isDirectory: &isDir) && isDir.boolValue)
        #expect((try FileManager.default.attributesOfItem(atPath: dir + "/copy/new.dat")[.size] as? UInt64) == 10)
    }
}

/// A directory for a sqlite3 workload, with its `app` directory made: on tmpfs when there
/// is one (thousands of syncs on a disk take seconds). The caller removes it.
func sqliteWorkDir() throws -> String {
    #expect(haveTool("sqlite3"), "sqlite3 must be installed (scripts/setup.sh installs it)")
    let shm = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : nil
    let dir = shm.map { $0 + "/fiotrace-sqlite-\(UUID().uuidString)" } ?? makeTempDir()
    try FileManager.default.createDirectory(atPath: dir + "/app", withIntermediateDirectories: true)
    return dir
}

/// Debian's sqlite3 making `DIR/app/db` in WAL mode with synchronous=FULL (every commit
/// syncs the WAL) and `inserts` rows, recorded by `fio-replay record` (its default back end)
/// into `DIR/rec.fiot`, limited to `DIR/app`.
func recordSqlite(in dir: String, inserts: Int) throws -> RunResult {
    var sql = "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\nCREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\n"
    for i in 0..<inserts { sql += "INSERT INTO t(b) VALUES('row \(i) with some text');\n" }
    try sql.write(toFile: dir + "/s.sql", atomically: true, encoding: .utf8)
    let app = dir + "/app"
    let r = try run("fio-replay", ["record", "-o", dir + "/rec.fiot", "--paths", app, "--", "sqlite3", app + "/db", ".read " + dir + "/s.sql"])
    #expect(r.status == 0, "\(r.stderr)")
    return r
}

/// Compiles the C `source` into `dir/name` with cc -O1 (extra flags after the source).
func compileC(_ source: String, _ name: String, in dir: String, _ flags: [String] = []) throws -> String {
    let c = dir + "/\(name).c", exe = dir + "/\(name)"
    try source.write(toFile: c, atomically: true, encoding: .utf8)
    let r = try run("cc", ["-O1", "-o", exe, c] + flags)
    #expect(r.status == 0, "cc: \(r.stderr)")
    return exe
}
