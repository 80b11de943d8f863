import Foundation
import Testing
@testable import FioTrace

/// fio-gen against fio 3.33 itself: the same job file through `fio --ioengine=null
/// --write_iolog` and through fio-gen, summarised by the same `TraceSummary` that
/// `fio-replay info` prints, must agree on I/O count, per-op counts and bytes, block-size
/// histogram and footprint (and file names). Where fio's own choices are random (the
/// read/write mix per I/O, the block size per I/O) counts agree within a few binomial
/// standard deviations and totals exactly.
@Suite("fio-gen parity with fio", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/fio")))
struct FioGenParityTests {
    enum Check { case exact, mixed, blockSizes, footprint, rate, poisson }

    static let jobs: [(String, Check)] = [
        ("seq-read-multifile", .exact),
        ("randwrite-fsync", .exact),
        ("trimwrite", .exact),
        ("randread-passes", .exact),
        ("seq-holes-offset", .exact),
        ("randrw-mix", .mixed),
        ("bssplit-seq", .blockSizes),
        ("zipf-read", .footprint),
        ("rate-per-direction", .rate),
        ("poisson-read", .poisson),
    ]

    @Test("fio-gen and fio's write_iolog agree", arguments: jobs.map(\.0))
    func parity(_ name: String) throws {
        let check = Self.jobs.first { $0.0 == name }!.1
        let dir = makeTempDir("fiogen-parity")
        defer { cleanup(dir) }
        let job = fioGenJobsDir + "/\(name).fio"
        let fioLog = dir + "/fio.log", ours = dir + "/ours.fiot"
        let f = try run("fio", ["--ioengine=null", "--write_iolog=" + fioLog, job], cwd: dir)
        #expect(f.status == 0, "fio: \(f.stderr)")
        let g = try run("fio-gen", [job, "-o", ours, "-q"])
        #expect(g.status == 0, "fio-gen: \(g.stderr)")
        let a = try fioGenSummary(fioLog), b = try fioGenSummary(ours)
        let fa = try fioGenRead(fioLog).files.map(\.path), fb = try fioGenRead(ours).files.map(\.path)
        #expect(fa == fb, "file names")

        let dataOps: [TraceOp] = [.read, .write, .trim]
        let syncOps: [TraceOp] = [.sync, .datasync]
        func count(_ s: TraceSummary, _ op: TraceOp) -> UInt64 { s.ops[Int(op.rawValue)].count }
        func bytes(_ s: TraceSummary, _ op: TraceOp) -> UInt64 { s.ops[Int(op.rawValue)].bytes }
        switch check {
        case .exact:
            #expect(a.dataIOs == b.dataIOs)
            for op in dataOps + syncOps {
                #expect(count(a, op) == count(b, op), "\(op) count: fio \(count(a, op)) ours \(count(b, op))")
                #expect(bytes(a, op) == bytes(b, op), "\(op) bytes")
            }
            #expect(a.blockSizes == b.blockSizes)
            #expect(a.footprint.bytes == b.footprint.bytes)
        case .mixed:
            // Every block once (random map): totals exact; the mix is a per-I/O draw in both.
            #expect(a.dataIOs == b.dataIOs && a.dataBytes == b.dataBytes)
            #expect(a.allBlockSizes == b.allBlockSizes)
            #expect(a.footprint.bytes == b.footprint.bytes)
            let n = Double(a.dataIOs)
            let sd = (0.7 * 0.3 / n).squareRoot()
            for s in [a, b] {
                let share = Double(count(s, .read)) / n
                #expect(abs(share - 0.70) < 5 * sd, "read share \(share)")
            }
        case .blockSizes:
            // Sizes are drawn per I/O: bytes and footprint exact, shares within 5 sd.
            #expect(a.dataBytes == b.dataBytes)
            #expect(a.footprint.bytes == b.footprint.bytes)
            let ha = a.allBlockSizes, hb = b.allBlockSizes
            #expect(Set(ha.keys) == Set(hb.keys))
            let na = Double(a.dataIOs), nb = Double(b.dataIOs)
            for k in ha.keys {
                let pa = Double(ha[k]!) / na, pb = Double(hb[k, default: 0]) / nb
                let sd = (pa * (1 - pa) / na + pb * (1 - pb) / nb).squareRoot()
                #expect(abs(pa - pb) < 5 * sd, "bs \(k): fio \(pa) ours \(pb)")
            }
            #expect(abs(na - nb) / na < 0.05)
        case .rate:
            // A linear schedule per direction: the same count per op (fio may be one off at
            // the runtime edge) and the same spacing.
            for op in dataOps {
                #expect(abs(Int(count(a, op)) - Int(count(b, op))) <= 1, "\(op): fio \(count(a, op)) ours \(count(b, op))")
            }
            #expect(count(b, .read) == 300 && count(b, .write) == 100)
        case .poisson:
            // Poisson arrivals: counts within 4 sd of each other, both near rate x runtime.
            let na = Double(a.dataIOs), nb = Double(b.dataIOs)
            #expect(abs(na - nb) < 4 * (na + nb).squareRoot(), "fio \(na) ours \(nb)")
            #expect(abs(nb - 2000) < 4 * 2000.0.squareRoot())
        case .footprint:
            // zipf: same draws count and sizes; the distinct blocks touched within 2%.
            #expect(a.dataIOs == b.dataIOs && a.dataBytes == b.dataBytes)
            #expect(a.allBlockSizes == b.allBlockSizes)
            let fa = Double(a.footprint.bytes), fb = Double(b.footprint.bytes)
            #expect(abs(fa - fb) / fa < 0.02, "footprint fio \(fa) ours \(fb)")
        }
    }
}
