import Foundation
import Testing
@testable import FioTrace

/// strace lines the fuzzer built that trapped the reader (an index past the arguments,
/// offsets and times past 64 bits). Each must end in a one-line error naming the file,
/// the line and the problem; the good lines before it still come out.
@Suite struct StraceBadInputTests {
    static let open = "100 1000.000000 openat(AT_FDCWD</d>, \"/d/f\", O_RDWR|O_CREAT, 0644) = 3</d/f> <0.000010>"

    func read(_ lines: [String]) throws -> (records: [TraceRecord], error: TraceError?) {
        let dir = makeTempDir("strace-bad"); defer { cleanup(dir) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/s.txt", atomically: true, encoding: .utf8)
        let r = try StraceReader(path: dir + "/s.txt")
        var all: [TraceRecord] = []
        var batch: [TraceRecord] = []
        do {
            while try r.nextBatch(&batch, maxCount: 100) { all += batch }
        } catch let e as TraceError {
            all += batch
            return (all, e)
        }
        return (all, nil)
    }

    @Test("malformed calls and 64-bit overflows are errors naming the line, not traps")
    func badLines() throws {
        let cases: [(String, String)] = [
            // openat with no flags argument (found by the fuzzer: an index past the end).
            ("100 1000.000100 openat(AT_FDCWD</d>) = 4</d/g> <0.000010>", "openat with 1 arguments"),
            // A write whose returned length carries the position past 2^64.
            ("100 1000.000100 lseek(3</d/f>, 18446744073709551000, SEEK_SET) = 9223372036854775807 <0.000001>\n"
             + "100 1000.000200 write(3</d/f>, \"\"..., 18446744073709551615) = 9223372036854775807 <0.000001>\n"
             + "100 1000.000300 write(3</d/f>, \"\"..., 18446744073709551615) = 9223372036854775807 <0.000001>",
             "offset 18446744073709551614 + length 9223372036854775807 passes 2^64 bytes"),
            ("100 1000.000100 pwrite64(3</d/f>, \"\"..., 4096, 18446744073709551615) = 4096 <0.000001>", "passes 2^64 bytes"),
            ("100 1000.000100 fallocate(3</d/f>, 0, 18446744073709551615, 4096) = 0 <0.000001>", "passes 2^64 bytes"),
            ("100 1000.000100 writev(3</d/f>, [{iov_base=\"\"..., iov_len=18446744073709551615}, {iov_base=\"\"..., iov_len=2}], 2) = -1 EIO (Input/output error) <0.000003>",
             "iov_len values add up past 2^64 bytes"),
            ("100 1000.000100 lseek(3</d/f>, 0, SEEK_SET) = -7 <0.000001>", "lseek returned -7, not a file offset"),
            // Times: seconds too large for µs in 64 bits, negative, or 600 years on.
            ("100 99999999999999999.000000 fsync(3</d/f>) = 0 <0.000001>", "timestamp"),
            ("100 -5.000000 fsync(3</d/f>) = 0 <0.000001>", "timestamp"),
            ("100 +1000.+00001 fsync(3</d/f>) = 0 <0.000001>", "timestamp"),
            ("100 19000000000.000000 fsync(3</d/f>) = 0 <0.000001>", "more than 584 years after the first call"),
        ]
        for (bad, want) in cases {
            let (recs, err) = try read([Self.open, bad])
            let e = try #require(err, "accepted: \(bad)")
            #expect(e.description.contains(want), "\(bad): \(e.description)")
            #expect(e.description.contains("s.txt:"), "\(e.description)")
            #expect(!e.description.contains("\n"))
            // The open before the bad line came out (add + open).
            #expect(recs.prefix(2).map(\.op) == [.add, .open], "\(bad): \(recs.map(\.op))")
        }
    }

    /// The fuzzer's line whose last `) = ` came before its first `(` (the argument range
    /// ran backwards and trapped): not a call line, so it is skipped like other noise.
    @Test("a line whose `) = ` precedes its `(` is skipped, not a trap")
    func returnBeforeCall() throws {
        let (recs, err) = try read([Self.open,
                                    "100 1000.000100 close) = 0 fsync(3</d/f>",
                                    "100 1000.000200 fsync(3</d/f>) = 0 <0.000001>"])
        #expect(err == nil)
        #expect(recs.map(\.op) == [.add, .open, .sync])
    }

    @Test("durations strace could not have measured are dropped, not wrapped")
    func hugeDurations() throws {
        let (recs, err) = try read([Self.open,
                                    "100 1000.000100 fsync(3</d/f>) = 0 <18446744073.709551616>",
                                    "100 1000.000200 fsync(3</d/f>) = 0 <0.0000000001>",
                                    "100 1000.000300 fsync(3</d/f>) = 0 <1.500000>"])
        #expect(err == nil)
        let syncs = recs.filter { $0.op == .sync }
        #expect(syncs.map(\.latency) == [nil, nil, 1_500_000_000])
    }
}
