import Foundation
import Testing
@testable import FioTrace

// Regions at the edge of 64-bit arithmetic (found by fuzzing fio-gen's job files), and how
// a job's random sequence carries over from one pass to the next, against real fio.

@Suite("Workload limits")
struct WorkloadLimitsTests {
    /// fio's normal: the mean of 12 uniform draws over [0, n] is centred on n/2 with a
    /// standard deviation of n/12 (here plus a deviation of at most +-n/20), so the mean
    /// of 4,000 draws is within n/2 +- n/100 unless the arithmetic wrapped. Before the fix
    /// the 64-bit sum of 12 draws wrapped past 2^60 blocks (a mean near n/12 or below)
    /// and n = 2^64 - 1 drew only zeros.
    @Test("normal:10 ranks stay in [0, n) and centre on n/2 for n up to 2^64 - 1")
    func normalHugeRegion() {
        for n: UInt64 in [1 << 40, (1 << 61) + 3, 1 << 62, 1 << 63, .max] {
            let s = RankSampler(kind: .normal(dev: 10), n: n)
            var rng = Xoshiro256(seed: 7)
            var mean = 0.0
            let draws = 4000
            for _ in 0..<draws {
                let r = s.next(&rng)
                #expect(r < n)
                mean += Double(r) / Double(draws)
            }
            let rel = mean / Double(n)
            #expect(abs(rel - 0.5) < 0.01, "n=\(n): mean rank is \(rel) of n, want 0.5")
        }
        // A 99% deviation (clamped to n/2) on a region near 2^64: in range, never a trap.
        let wide = RankSampler(kind: .normal(dev: 99), n: .max)
        var rng = Xoshiro256(seed: 3)
        for _ in 0..<1000 { #expect(wide.next(&rng) < .max) }
    }

    /// The same through the generator: a 2^63-byte region in 1-byte blocks (2^63 blocks),
    /// centred at 0.25, trapped before the fix (the block count's round-up and the centre's
    /// conversion overflowed) or came out skewed. Offsets are uniform ranks scattered by a
    /// permutation, so check range and that not all land in one half.
    @Test("fio-gen: normal over a 2^63-byte region of 1-byte blocks generates in-range offsets")
    func normalGeneratorHugeRegion() throws {
        let size: UInt64 = 1 << 63
        for center in ["", ":0.25", ":1"] {
            let recs = try wlRecords("""
                [g]
                filename=/dev/null
                rw=randread
                bs=1
                size=\(size)
                random_distribution=normal:10\(center)
                number_ios=2000
                """)
            let data = recs.filter { $0.op == .read }
            #expect(data.count == 2000)
            #expect(data.allSatisfy { $0.offset < size && $0.length == 1 })
            let low = data.filter { $0.offset < size / 2 }.count
            #expect(low > 0 && low < data.count, "center \(center): \(low) of \(data.count) in the lower half")
        }
    }

    /// Regions the generator cannot address, or whose random map would need more than
    /// 1 GiB, are refused with the job's line and the figures (before: a trap in the
    /// block permutation, an overflow adding offset and size, or a bitmap of 2^49 bytes).
    @Test("fio-gen refuses regions past 2^63 blocks, past 2^64 bytes, or with a huge random map")
    func regionLimits() throws {
        let cases: [(String, String)] = [
            ("rw=randread\nbs=1\nsize=18446744073709551615", "more than fio-gen addresses (2^63)"),
            ("rw=read\nbs=1\nsize=16000p", "more than fio-gen addresses (2^63)"),
            ("rw=read\nbs=4k\nsize=8000p\noffset=9000p", "passes 2^64 bytes"),
            ("rw=randread\nbsrange=4k-8k\nsize=8000p", "failed allocating random map"),
        ]
        for (body, want) in cases {
            let text = "[j]\nfilename=/dev/null\n\(body)\nnumber_ios=10\n"
            do {
                _ = try wlRecords(text)
                Issue.record("accepted: \(body)")
            } catch let e as TraceError {
                #expect(e.description.contains(want), "\(body): \(e.description)")
                #expect(e.description.contains("test.fio:1: job j"), "\(e.description)")
            }
        }
        // Just inside the limits still generates (norandommap lifts the bitmap limit).
        let ok = try wlRecords("[j]\nfilename=/dev/null\nrw=randread\nbsrange=4k-8k\nsize=8000p\nnorandommap\nnumber_ios=10\n")
        #expect(ok.filter { $0.op == .read }.count == 10)
    }

    /// Option values the job-file fuzzer built that indexed an empty split (a trap):
    /// each is now an error naming the file, the line and the option.
    @Test("empty pieces of structured option values are errors, not traps")
    func emptyOptionPieces() throws {
        let cases = [
            "bssplit=4k:/",            // the fuzzer's find: a bssplit entry with no block size
            "bssplit=/50",
            "rw=:",
            "rw_sequencer=:",
            "file_service_type=:",
            "random_distribution=:",
        ]
        for line in cases {
            let text = "[j]\nfilename=/dev/null\nsize=1m\n\(line)\n"
            do {
                _ = try parseJobText(text, fileName: "bad.fio")
                Issue.record("accepted: \(line)")
            } catch let e as TraceError {
                let option = String(line.prefix { $0 != "=" })
                #expect(e.description.contains("bad.fio:4"), "\(line): \(e.description)")
                #expect(e.description.contains(option), "\(line): \(e.description)")
            }
        }
    }

    /// fio 3.33's write_iolog is the ground truth for what a second pass over the region
    /// does with randrepeat=1 (the default): `loops=3` reseeds every pass (each pass is
    /// the first one again), while a time_based job that wraps its region goes on with its
    /// random sequence (fio resets the map, not the generator), so its second pass is a
    /// different order. fio-gen must show the same pattern (its orders are its own).
    @Test("randrepeat: loops repeat the first pass, a time_based wrap continues the sequence (as fio)")
    func passesMatchFio() throws {
        let dir = makeTempDir("passes")
        defer { cleanup(dir) }
        let blocks = 16
        let common = "filename=\(dir)/f\nsize=64k\nbs=4k\nrw=randread\n"
        let variants = [("loops", "loops=3\n"), ("time_based", "time_based\nruntime=1\nrate_iops=200\n")]
        for (name, extra) in variants {
            let job = "[t]\n" + common + extra
            try job.write(toFile: dir + "/\(name).fio", atomically: true, encoding: .utf8)
            let fio = Process()
            fio.executableURL = URL(fileURLWithPath: "/usr/bin/fio")
            fio.arguments = ["\(name).fio", "--ioengine=psync", "--output=/dev/null", "--write_iolog=\(name).log"]
            fio.currentDirectoryURL = URL(fileURLWithPath: dir)
            try fio.run()
            fio.waitUntilExit()
            #expect(fio.terminationStatus == 0)
            let fioBlocks = try String(contentsOfFile: dir + "/\(name).log", encoding: .utf8)
                .split(separator: "\n").compactMap { line -> Int? in
                    // fio 3.33 writes iolog v3: `time path read offset length`.
                    let f = line.split(separator: " ")
                    return f.count == 5 && f[2] == "read" ? Int(f[3]).map { $0 / 4096 } : nil
                }
            let ours = try wlRecords(job, seed: nil).filter { $0.op == .read }.map { Int($0.offset / 4096) }
            for (who, seq) in [("fio", fioBlocks), ("fio-gen", ours)] {
                #expect(seq.count >= 3 * blocks, "\(who) \(name): \(seq.count) reads")
                guard seq.count >= 3 * blocks else { continue }
                let p1 = Array(seq[0..<blocks]), p2 = Array(seq[blocks..<2 * blocks]), p3 = Array(seq[2 * blocks..<3 * blocks])
                // Every pass covers every block once (the random map), whatever the order.
                for p in [p1, p2, p3] { #expect(p.sorted() == Array(0..<blocks), "\(who) \(name): \(p)") }
                if name == "loops" {
                    #expect(p2 == p1 && p3 == p1, "\(who) loops: passes differ: \(p1) \(p2) \(p3)")
                } else {
                    #expect(p2 != p1 && p3 != p2, "\(who) time_based: a pass repeats: \(p1) \(p2) \(p3)")
                }
            }
        }
    }
}
