import Foundation
import Testing
@testable import FioTrace

@Suite("Workload job files")
struct WorkloadJobFileTests {
    @Test("fio's units: k is 1024 and ki 1000 (kb_base=1024), kb_base=1000 swaps them; times; ranges")
    func units() {
        #expect(FioValue.size("4k") == 4096)
        #expect(FioValue.size("4KB") == 4096)
        #expect(FioValue.size("4KiB") == 4000)
        #expect(FioValue.size("1m") == 1 << 20)
        #expect(FioValue.size("1g") == 1 << 30)
        #expect(FioValue.size("2t") == 2 << 40)
        #expect(FioValue.size("0x1000") == 4096)
        #expect(FioValue.size("1.5k") == 1536)
        #expect(FioValue.size("4k", kbBase: 1000) == 4000)
        #expect(FioValue.size("4ki", kbBase: 1000) == 4096)
        #expect(FioValue.size("4x") == nil)
        #expect(FioValue.size("") == nil)
        #expect(FioValue.time("10", defaultUnit: 1_000_000_000) == 10_000_000_000)
        #expect(FioValue.time("250ms", defaultUnit: 1_000_000_000) == 250_000_000)
        #expect(FioValue.time("100", defaultUnit: 1_000) == 100_000)
        #expect(FioValue.time("2m", defaultUnit: 1_000_000_000) == 120_000_000_000)
        #expect(FioValue.time("1h", defaultUnit: 1) == 3_600_000_000_000)
        #expect(FioValue.time("5x", defaultUnit: 1) == nil)
        #expect(FioValue.range("4k-16k") { FioValue.size($0) } == 4096...16384)
        #expect(FioValue.range("16k:4k") { FioValue.size($0) } == 4096...16384)
    }

    @Test("per-direction values: one for all, `a,b` (trims follow writes), empty fields keep the default")
    func perDirection() throws {
        func bs(_ v: String) throws -> [UInt64] {
            let j = try parseJobText("[j]\nrw=randrw\nsize=1m\nbs=\(v)\n")[0]
            return [j.blockSize.read.min, j.blockSize.write.min, j.blockSize.trim.min]
        }
        #expect(try bs("8k") == [8192, 8192, 8192])
        #expect(try bs("8k,32k") == [8192, 32768, 32768])
        #expect(try bs("8k,32k,") == [8192, 32768, 4096])
        #expect(try bs(",8k") == [4096, 8192, 8192])
        let r = try parseJobText("[j]\nrw=randrw\nsize=1m\nrate_iops=100,50\n")[0]
        #expect(r.rateIOPS.read == 100 && r.rateIOPS.write == 50)
        let s = try parseJobText("[j]\nrw=randrw\nsize=1m\nbssplit=4k/10:64k/50:32k\n")[0]
        // The entry without a percentage takes what is left; fio orders by percentage.
        #expect(s.blockSize.read.split == [BlockSplit(bs: 4096, percent: 10), BlockSplit(bs: 32768, percent: 40),
                                            BlockSplit(bs: 65536, percent: 50)])
        #expect(s.blockSize.read.min == 4096 && s.blockSize.read.max == 65536)
    }

    @Test("[global] applies to the jobs after it, sections inherit and override, numjobs clones")
    func sections() throws {
        let jobs = try parseJobText("""
            ; a comment
            # another
            [global]
            bs=8k
            size=1m
            ioengine=libaio
            group_reporting

            [first]
            rw=randread
            numjobs=2

            [global]
            iodepth=4

            [second]
            rw=write
            bs=16k
            """, fileName: "x.fio")
        #expect(jobs.map(\.name) == ["first", "first", "second"])
        #expect(jobs.map(\.jobNumber) == [0, 1, 0])
        #expect(jobs.map(\.index) == [0, 1, 2])
        #expect(jobs[0].blockSize.read.min == 8192 && jobs[2].blockSize.read.min == 16384)
        #expect(jobs[0].iodepth == 1 && jobs[2].iodepth == 4)
        #expect(jobs[0].rw == .randread && jobs[2].rw == .write)
        #expect(jobs[2].origin == "x.fio:16")
        #expect(jobs[0].options.map(\.name) == ["bs", "size", "ioengine", "group_reporting", "rw", "numjobs"])
        // Dashes for underscores, aliases, env vars.
        setenv("WL_TEST_BS", "64k", 1)
        let a = try parseJobText("[a]\nreadwrite=randrw\nrwmixwrite=25\nblocksize=${WL_TEST_BS}\nsize=1m\nnr_files=2\n")[0]
        #expect(a.rw == .randrw && a.rwmixRead == 75 && a.blockSize.write.min == 65536 && a.nrFiles == 2)
        let rwp = try parseJobText("[a]\nrw=randread:8\nsize=1m\n[b]\nrw=write:64k\nsize=1m\n")
        #expect(rwp[0].ddirSeqNr == 8 && rwp[1].ddirSeqAdd == 65536)
        let d = try parseJobText("[a]\nrw=randread\nsize=1m\nrandom_distribution=zipf:1.2:0.25\n")[0]
        #expect(d.randomDistribution == .ranked(.zipf(theta: 1.2), center: 0.25))
    }

    @Test("errors name the option and the line: unsupported, unknown, bad values, missing size")
    func errors() throws {
        func err(_ text: String) -> String {
            do {
                _ = try parseJobText(text, fileName: "bad.fio")
                return ""
            } catch {
                return "\(error)"
            }
        }
        let zm = err("[j]\nrw=randread\nsize=1m\nzonemode=zbd\n")
        #expect(zm.contains("bad.fio:4") && zm.contains("zonemode") && zm.contains("not supported"))
        let typo = err("[j]\nrw=randread\nsize=1m\nblocksise=4k\n")
        #expect(typo.contains("bad.fio:4") && typo.contains("unknown option blocksise"))
        let bad = err("[global]\nbs=4q\n[j]\nrw=read\nsize=1m\n")
        #expect(bad.contains("bad.fio:2") && bad.contains("bs"))
        let rw = err("[j]\nrw=sideways\nsize=1m\n")
        #expect(rw.contains("bad.fio:2") && rw.contains("rw"))
        #expect(err("[j]\nrw=read\n").contains("size="))
        // fio's read-back verify pass: the job parses (a live run verifies), fio-gen says why it
        // cannot generate it.
        let verifying = try parseJobText("[j]\nrw=write\nsize=1m\nverify=crc32c\n", fileName: "bad.fio")
        #expect(verifying[0].notGeneratable?.contains("bad.fio:4") == true && verifying[0].notGeneratable?.contains("verify") == true)
        #expect(err("[j]\nrw=read\nsize=1m\nverify=crc32c\n").isEmpty) // a read job does not verify-write
        #expect(err("size=1m\n[j]\n").contains("outside any section"))
        #expect(err("[j]\nrw=randread\nsize=1m\nrandom_distribution=zipf:1\n").contains("theta"))
        #expect(err("[j]\nrw=randread\nsize=1m\nrandom_distribution=zoned:50/50:20/50\n").contains("100"))
        #expect(err("[j]\nrw=read\nsize=1m\nfile_service_type=sideways\n").contains("file_service_type"))
        #expect(err("[j]\nrw=read:-4k\nsize=1m\n").contains("backwards"))
        #expect(err("include other.fio\n[j]\nrw=read\nsize=1m\n").contains("include"))
        #expect(err("[global]\nrw=read\n").contains("no job sections"))
        // Options that do not change the trace are accepted.
        #expect(err("[j]\nrw=read\nsize=1m\nioengine=io_uring\nthread\ncpus_allowed=0-1\nwrite_bw_log=x\n").isEmpty)
    }

    @Test("command-line options: before the first --name they are global, each --name starts a job")
    func commandLine() throws {
        let o = [("rw", "randread"), ("bs", "4k"), ("name", "a"), ("size", "1m"), ("name", "b"), ("size", "2m"), ("rw", "write")]
            .map { JobOption(name: $0.0, value: $0.1, line: 0) }
        let jobs = try parseJobOptions(o)
        #expect(jobs.map(\.name) == ["a", "b"])
        #expect(jobs[0].rw == .randread && jobs[1].rw == .write)
        #expect(jobs[1].size == .bytes(2 << 20))
        let single = try parseJobOptions([JobOption(name: "rw", value: "randrw", line: 0), JobOption(name: "size", value: "1g", line: 0),
                                          JobOption(name: "number-ios", value: "100", line: 0), JobOption(name: "time_based", value: nil, line: 0)])
        #expect(single.count == 1 && single[0].name == "job" && single[0].numberIOs == 100 && single[0].timeBased)
        let e = #expect(throws: TraceError.self) { try parseJobOptions([JobOption(name: "zonesize", value: "1m", line: 0)]) }
        #expect(e?.description.contains("command line") == true)
        // The text the metadata keeps for flag-made jobs parses back to the same jobs.
        let text = jobFileText(options: o)
        #expect(try parseJobText(text).map(\.size) == jobs.map(\.size))
    }
}
