import FioReplay
import FioTrace
import Testing

/// How a live run reads a job's typed options: engine, batching, groups, and the options it
/// refuses by name rather than ignore.
@Suite("Live run plans")
struct LiveRunPlanTests {
    func live(_ text: String) throws -> LiveRun {
        try LiveRun(jobs: parseJobText(text, fileName: "l.fio"), options: LiveRunOptions())
    }

    func refusal(_ body: String) -> String {
        do {
            _ = try live("[j]\nsize=1m\n" + body + "\n")
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test("engine, submit batch (fio's iodepth_batch alias, 0 means 1), reap cap, groups")
    func plans() throws {
        let r = try live("""
            [a]
            size=1m
            ioengine=libaio
            iodepth=8
            iodepth_batch=4
            iodepth_batch_complete_max=2
            [b]
            size=1m
            ioengine=io_uring
            iodepth=4
            iodepth_batch_submit=0
            iodepth_batch_complete_max=0
            [c]
            size=1m
            new_group
            iodepth=2
            iodepth_batch=16
            [d]
            size=1m
            stonewall
            """)
        #expect(r.plans.map(\.engine) == [.libaio, .iouring, .psync, .psync])
        #expect(r.plans.map(\.iodepth) == [8, 4, 1, 1])
        // The batch is capped at the depth (psync: 1).
        #expect(r.plans.map(\.submitBatch) == [4, 1, 1, 1])
        #expect(r.plans.map(\.reapMax) == [2, nil, nil, nil])
        #expect(r.plans.map(\.group) == [0, 0, 1, 2])
        #expect(r.plans.map(\.wave) == [0, 0, 0, 1])
        let e = refusal("ioengine=splice")
        #expect(e.contains("ioengine=splice") && e.contains("not supported"), "\(e)")
    }

    @Test("the write-buffer options become the run's write payload, with fio's implied settings")
    func buffers() throws {
        func payload(_ body: String) throws -> WritePayloadOptions {
            let jobs = try parseJobText("[l]\nfilename=/tmp/x\nsize=1m\n" + body + "\n", fileName: "l.fio")
            return LiveRun.payload(jobs[0], seed: 1)
        }
        var p = try payload("rw=write\nbuffer_compress_percentage=50\nbuffer_compress_chunk=4k")
        #expect(p.compressPercentage == 50 && p.compressChunk == 4096)
        #expect(p.normalized.refill && !p.normalized.scramble, "compression refills, as fio does")
        p = try payload("rw=write\ndedupe_percentage=10")
        #expect(p.dedupePercentage == 10 && p.refill)
        p = try payload("rw=write\nbuffer_pattern=\"abc\"")
        #expect(p.content == .pattern(Array("abc".utf8)) && !p.scramble)
        p = try payload("rw=write\nzero_buffers")
        #expect(p.content == .zeros)
        p = try payload("rw=write\nrefill_buffers\nscramble_buffers=0")
        #expect(p.refill && !p.scramble && p.content == .random)
        p = try payload("rw=write")
        #expect(p == { var d = WritePayloadOptions(); d.seed = p.seed; return d }(), "fio's defaults: random, scrambled")
    }

    @Test("verify options become the run's verify settings; verify_backlog and unknown algorithms are refused by name")
    func refusals() throws {
        for (body, name) in [("rw=write\nverify=crc32c\nverify_backlog=16", "option verify_backlog "),
                             ("rw=read\nhipri", "option hipri ")] {
            let e = refusal(body)
            #expect(e.contains(name) && e.contains("not supported by a live run") && e.contains("l.fio:1"), "\(body): \(e)")
        }
        for body in ["rw=write\nverify=0", "rw=write\nverify=null", "rw=write\ndo_verify=1", "rw=write\nverify=md5",
                     "rw=read\nverify_pattern=0xaa", "rw=write\nbuffer_compress_percentage=0",
                     "rw=write\nzero_buffers=0\nrefill_buffers=0", "rw=write\ngroup_reporting\nnew_group"] {
            #expect(refusal(body).isEmpty, "\(body)")
        }
        let jobs = try parseJobText("[a]\nsize=1m\nrw=write\nverify=crc32c-intel\nverify_interval=4k\nverify_fatal=1\n[b]\nsize=1m\nrw=read\n", fileName: "l.fio")
        let o = try #require(try LiveRun.verifyOptions(jobs))
        #expect(o.algorithm == .crc32c && o.interval == 4096 && o.fatal)
        #expect(try LiveRun.verifyOptions(parseJobText("[a]\nsize=1m\nrw=write\n", fileName: "l.fio")) == nil)
        let twoWays = try parseJobText("[a]\nsize=1m\nrw=write\nverify=md5\n[b]\nsize=1m\nrw=write\nverify=sha1\n", fileName: "l.fio")
        #expect(throws: ReplayError.self) { try LiveRun.verifyOptions(twoWays) }
        let odd = try parseJobText("[a]\nsize=1m\nrw=write\nverify=crc32c\nverify_interval=1000\n", fileName: "l.fio")
        #expect(throws: ReplayError.self) { try LiveRun.verifyOptions(odd) }
    }
}
