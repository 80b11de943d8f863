import Foundation
import Testing

/// fio-gen against fio 3.33, I/O for I/O: every job file in traces/jobs/ runs through
/// `fio --ioengine=null --iodepth=1 --write_iolog` and through fio-gen (iolog v3), and the
/// data lines (file, op, offset, length; syncs included) are compared. Each job is in one
/// class, stated here with its reason:
/// - exact: fio's sequence does not depend on timing; both sequences are identical.
/// - prefix: fio stops by time (runtime, time_based, rate): how many I/Os it issues
///   depends on its speed, not which ones; the common prefix is identical.
/// - offsetsOnly: the rate decides the direction of each I/O by the clock (fio's
///   rate_ddir), not the offsets; (file, offset, length) of the common prefix is identical.
/// - refused: fio-gen refuses the job by name (the option and its line) with a reason,
///   and fio itself runs it (it is a valid fio job).
@Suite("fio-gen is fio's sequence, I/O for I/O", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/fio")))
struct FioGenExactTests {
    enum Class: Sendable {
        case exact
        case prefix(String)
        case offsetsOnly(String)
        case refused(option: String, reason: String)
    }

    static let jobs: [(String, Class)] = [
        ("randread-4k", .exact),
        ("randread-passes", .exact),
        ("randread-randseed", .exact),
        ("randrw-randseed-repeat", .exact),
        ("randrw-mix", .exact),
        ("randrw-bsrange", .exact),
        ("randread-bssplit", .exact),
        ("randrw-bs-per-direction", .exact),
        ("randwrite-norandommap", .exact),
        ("randwrite-fsync", .exact),
        ("randrw-fdatasync", .exact),
        ("randtrim", .exact),
        ("percentage-random", .exact),
        ("randread-seqnr", .exact),
        ("thinktime-randwrite", .exact),
        ("loops-norepeat", .exact),
        ("zipf-read", .exact),
        ("zipf-write-center", .exact),
        ("pareto-read", .exact),
        ("normal-read", .exact),
        ("zoned-randread", .exact),
        ("zoned-abs-randrw", .exact),
        ("multifile-random-service", .exact),
        ("multifile-roundrobin4", .exact),
        ("file-service-zipf", .exact),
        ("two-jobs-stonewall", .exact),
        ("seq-read-multifile", .exact),
        ("seq-holes-offset", .exact),
        ("bssplit-seq", .exact),
        ("trimwrite", .exact),
        ("runtime-randread", .prefix("time_based with runtime: the count is fio's speed")),
        ("poisson-read", .prefix("rate_iops with poisson arrivals over a runtime: the count is the clock's")),
        ("rate-per-direction", .offsetsOnly("rate_iops per direction: fio's rate_ddir picks the direction by the clock")),
        ("lfsr-randread", .refused(option: "random_generator=lfsr", reason: "LFSR sequence is not modelled")),
        ("verify-write", .refused(option: "verify=crc32c", reason: "read-back verify pass")),
    ]

    @Test("every job file in traces/jobs is in the table (none skipped silently)")
    func everyJobIsClassified() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: fioGenJobsDir)
            .filter { $0.hasSuffix(".fio") }.map { String($0.dropLast(4)) }
        #expect(Set(names) == Set(Self.jobs.map(\.0)))
        #expect(Self.jobs.count >= 20)
    }

    /// The data lines of an iolog v3: file, op, offset, length.
    static func dataLines(_ path: String) throws -> [[Substring]] {
        let ops: Set<Substring> = ["read", "write", "trim", "sync", "datasync"]
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            return f.count == 5 && ops.contains(f[2]) ? Array(f[1...4]) : nil
        }
    }

    @Test("fio-gen against fio's write_iolog", arguments: jobs.map(\.0))
    func sameSequence(_ name: String) throws {
        let cls = Self.jobs.first { $0.0 == name }!.1
        let dir = makeTempDir("fiogen-exact")
        defer { cleanup(dir) }
        let job = fioGenJobsDir + "/\(name).fio"
        let fioLog = dir + "/fio.log", ours = dir + "/ours.log"
        let f = try run("fio", ["--ioengine=null", "--iodepth=1", "--output=/dev/null", "--write_iolog=" + fioLog, job], cwd: dir)
        #expect(f.status == 0, "fio: \(f.stderr)")
        let theirs = try Self.dataLines(fioLog)
        #expect(theirs.count > 100, "fio issued \(theirs.count) I/Os")
        let g = try run("fio-gen", [job, "-o", ours, "-q"], cwd: dir)
        if case .refused(let option, let reason) = cls {
            #expect(g.status != 0)
            #expect(g.stderr.contains("\(name).fio:") && g.stderr.contains(option) && g.stderr.contains(reason), "\(g.stderr)")
            #expect(!FileManager.default.fileExists(atPath: ours))
            return
        }
        #expect(g.status == 0, "fio-gen: \(g.stderr)")
        let mine = try Self.dataLines(ours)
        func firstDifference(_ a: [[Substring]], _ b: [[Substring]], _ key: ([Substring]) -> [Substring]) -> Int? {
            for i in 0..<min(a.count, b.count) where key(a[i]) != key(b[i]) { return i }
            return nil
        }
        switch cls {
        case .exact:
            #expect(mine.count == theirs.count, "fio \(theirs.count) I/Os, fio-gen \(mine.count)")
            if let i = firstDifference(theirs, mine, { $0 }) {
                Issue.record("I/O \(i): fio \(theirs[i].joined(separator: " ")), fio-gen \(mine[i].joined(separator: " "))")
            }
        case .prefix:
            #expect(min(mine.count, theirs.count) > 100, "fio \(theirs.count), fio-gen \(mine.count)")
            if let i = firstDifference(theirs, mine, { $0 }) {
                Issue.record("I/O \(i): fio \(theirs[i].joined(separator: " ")), fio-gen \(mine[i].joined(separator: " "))")
            }
        case .offsetsOnly:
            #expect(min(mine.count, theirs.count) > 100, "fio \(theirs.count), fio-gen \(mine.count)")
            if let i = firstDifference(theirs, mine, { [$0[0], $0[2], $0[3]] }) {
                Issue.record("I/O \(i): fio \(theirs[i].joined(separator: " ")), fio-gen \(mine[i].joined(separator: " "))")
            }
        case .refused:
            break
        }
    }
}
