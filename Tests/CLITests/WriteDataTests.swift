import Foundation
import Testing

/// What `run` writes, against what fio writes for the same job.
@Suite("Written data")
struct WriteDataTests {
    /// zstd's ratio (bytes / compressed bytes) of a file.
    func zstdRatio(_ path: String) throws -> Double {
        // To a file: decoding megabytes of binary stdout as text would take minutes.
        #expect(try run("zstd", ["-q", "-f", "-3", path, "-o", path + ".zst"]).status == 0)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let z = try FileManager.default.attributesOfItem(atPath: path + ".zst")[.size] as! Int
        return Double(size) / Double(max(1, z))
    }

    @Test("buffer_compress_percentage: run's data compresses as fio's does for the same job (zstd ratio of both)",
          arguments: [25, 50, 80])
    func compressLikeFio(pct: Int) throws {
        let dir = makeTempDir("wdata"); defer { cleanup(dir) }
        let job = ["--name=c", "--size=16m", "--rw=randwrite", "--bs=4k", "--ioengine=psync", "--buffer_compress_percentage=\(pct)"]
        let f = try run("fio", job + ["--filename=\(dir)/fio.dat", "--output-format=json"])
        #expect(f.status == 0, "\(f.stderr)")
        let o = try run("fio-replay", ["run"] + job + ["--filename=\(dir)/ours.dat", "--output-format=json", "--no-progress"])
        #expect(o.status == 0, "\(o.stderr)")
        let theirs = try zstdRatio(dir + "/fio.dat"), ours = try zstdRatio(dir + "/ours.dat")
        #expect(abs(ours / theirs - 1) < 0.10, "\(pct)%: zstd ratio ours \(ours), fio \(theirs)")
        #expect(ours > 1.0 / (1.0 - Double(pct) / 100) * 0.85, "\(pct)%: ratio \(ours) is about 1/(1-\(pct)%)")
    }

    @Test("zero_buffers and buffer_pattern: run writes fio's bytes")
    func zerosAndPattern() throws {
        let dir = makeTempDir("wdata"); defer { cleanup(dir) }
        for extra in [["--zero_buffers"], ["--buffer_pattern=0xdeadbeef"]] {
            let job = ["--name=z", "--size=1m", "--rw=write", "--bs=64k", "--ioengine=psync"] + extra
            #expect(try run("fio", job + ["--filename=\(dir)/fio.dat"]).status == 0)
            let o = try run("fio-replay", ["run"] + job + ["--filename=\(dir)/ours.dat", "--no-progress"])
            #expect(o.status == 0, "\(o.stderr)")
            let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/fio.dat"))
            let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/ours.dat"))
            #expect(a.count == 1 << 20 && a == b, "\(extra): fio's and our files differ")
        }
    }
}
