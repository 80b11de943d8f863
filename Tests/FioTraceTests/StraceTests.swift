import Foundation
import Testing
@testable import FioTrace

@Suite struct StraceTests {
    /// Hand-written strace output covering the cases the recorder must get right.
    @Test func parsesCallsPositionsAndErrors() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let text = """
        100 1000.000000 openat(AT_FDCWD</d>, "/d/f", O_RDWR|O_CREAT, 0644) = 3</d/f> <0.000010>
        100 1000.000100 write(3</d/f>, ""..., 4096) = 4096 <0.000020>
        100 1000.000200 read(3</d/f>,  <unfinished ...>
        101 1000.000210 fsync(5</d/g>) = 0 <0.000001>
        100 1000.000300 <... read resumed>""..., 4096) = -1 EIO (Input/output error) <0.000050>
        100 1000.000400 lseek(3</d/f>, 100, SEEK_SET) = 100 <0.000001>
        100 1000.000500 writev(3</d/f>, [{iov_base=""..., iov_len=10}, {iov_base=""..., iov_len=20}], 2) = 30 <0.000003>
        100 1000.000600 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 200 <0.000100>
        200 1000.000700 pread64(3</d/f>, ""..., 512, 8192) = 512 <0.000004>
        200 1000.000800 read(3</d/f>, ""..., 10) = 10 <0.000004>
        100 1000.000900 fallocate(3</d/f>, FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE, 0, 4096) = 0 <0.000004>
        100 1000.001000 ftruncate(3</d/f>, 65536) = 0 <0.000004>
        100 1000.001100 sync_file_range(3</d/f>, 0, 4096, SYNC_FILE_RANGE_WRITE) = 0 <0.000004>
        100 1000.001200 io_uring_enter(7, 1, 0, 0, NULL, 8) = 1 <0.000004>
        100 1000.001300 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</d/f>, 0) = 0x7f0000000000 <0.000004>
        --- SIGCHLD {si_signo=SIGCHLD} ---
        200 1000.001400 +++ exited with 0 +++
        100 1000.001500 close(3</d/f>) = 0 <0.000002>
        """
        try (text + "\n").write(toFile: dir + "/s.txt", atomically: true, encoding: .utf8)
        let r = try StraceReader(path: dir + "/s.txt", pathPrefixes: ["/d/f"])
        var all: [TraceRecord] = []
        var batch: [TraceRecord] = []
        while try r.nextBatch(&batch, maxCount: 100) { all += batch }
        let got = all.map { "\($0.time / 1000) \($0.op.fioName) \($0.offset) \($0.length) \($0.result.map(String.init) ?? "-") \($0.stream.map(String.init) ?? "-")" }
        #expect(got == [
            "0 add 0 0 - -",
            "0 open 0 0 0 100",
            "100 write 0 4096 4096 100",
            "200 read 4096 4096 -5 100",      // failed: requested length, -EIO; position unchanged
            "500 write 100 30 30 100",         // after lseek(100); writev sums iov_len
            "700 read 8192 512 512 200",       // the child inherited fd 3
            "800 read 130 10 10 200",          // shared description: position 100 + 30
            "900 trim 0 4096 0 100",           // punch hole
            "1000 truncate 65536 0 0 100",
            "1100 sync_file_range 0 4096 0 100",
            "1500 close 0 0 0 100",
        ])
        #expect(all[2].latency == 20_000)
        #expect(r.invisible["io_uring_enter"] == 1 && r.invisible["mmap"] == 1)
        #expect(r.files.map(\.path) == ["/d/f"])
    }
}
