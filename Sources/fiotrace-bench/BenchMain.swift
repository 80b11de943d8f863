import FioTrace
#if canImport(Glibc)
import Glibc
#endif

/// In-process timings of the native format, for scripts/bench-format.sh:
/// `fiotrace-bench TRACE.fiot [REPEATS]` loads the trace into memory once, then times
/// encoding it to a .fiot (in /dev/shm when present), decoding that file, and decoding
/// plus the `info` summary, and prints records/s for each (best of REPEATS runs).
@main
struct BenchMain {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func main() throws {
        let args = CommandLine.arguments
        guard args.count >= 2 else {
            print("usage: fiotrace-bench TRACE [REPEATS]")
            exit(2)
        }
        let repeats = args.count > 2 ? Int(args[2]) ?? 3 : 3
        var source = try openTraceSource(path: args[1])
        var records: [TraceRecord] = []
        var batch: [TraceRecord] = []
        while try source.nextBatch(&batch, maxCount: 65536) { records += batch }
        let files = source.files
        let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let out = "\(dir)/fiotrace-bench-\(getpid()).fiot"
        defer { unlink(out) }
        let n = Double(records.count)

        var bestEncode = Double.infinity
        for _ in 0..<repeats {
            let t0 = now()
            let w = try FiotWriter(path: out)
            for f in files { try w.define(file: f) }
            try records.withUnsafeBufferPointer { try w.write($0) }
            try w.finish(metadata: [:])
            bestEncode = min(bestEncode, now() - t0)
        }
        var st = stat()
        stat(out, &st)

        var bestDecode = Double.infinity
        var checked = 0
        for _ in 0..<repeats {
            let t0 = now()
            let r = try FiotReader(path: out)
            var count = 0
            while try r.nextBatch(&batch, maxCount: 65536) { count += batch.count }
            bestDecode = min(bestDecode, now() - t0)
            checked = count
        }
        precondition(checked == records.count, "decoded \(checked) of \(records.count) records")

        var bestInfo = Double.infinity
        for _ in 0..<repeats {
            let t0 = now()
            var r: any TraceSource = try FiotReader(path: out)
            _ = try TraceSummary.of(&r)
            bestInfo = min(bestInfo, now() - t0)
        }
        func rate(_ s: Double) -> String { String(Int((n / s / 1e5).rounded()) / 10) + "." + String(Int((n / s / 1e5).rounded()) % 10) }
        print("records: \(records.count)")
        print("fiot bytes/IO: \(Double(st.st_size) / n)")
        print("encode: \(rate(bestEncode)) M records/s")
        print("decode: \(rate(bestDecode)) M records/s")
        print("decode+summary: \(rate(bestInfo)) M records/s")
    }
}
