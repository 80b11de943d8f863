import FioTrace
#if canImport(Glibc)
import Glibc
#endif

/// One fuzz target: a reader (or parser) fed the fuzzer's bytes. Every target reads the
/// whole input and drains every record into `info`'s analysis (TraceSummary with its
/// footprint), because that is what a user's `info` does and where untrusted numbers meet
/// arithmetic. A thrown error is a correct answer to bad input; a trap, a hang or
/// unbounded memory is a bug that libFuzzer reports.
struct FuzzTarget: Sendable {
    let name: String
    let run: @Sendable (UnsafeRawBufferPointer) -> Void

    static let all: [FuzzTarget] = [
        FuzzTarget(name: "fiot") { b in
            let path = ScratchFile.write(b, suffix: ".fiot")
            // Strict and salvaging reads take different paths through a bad block.
            for skip in [false, true] {
                guard let r = try? FiotReader(input: TraceInput(path: path), skipBadBlocks: skip) else { return }
                drain(r)
                exerciseSeeks(r, path: path)
            }
        },
        FuzzTarget(name: "iolog2") { b in open(b, suffix: ".iolog2", format: .iolog2) },
        FuzzTarget(name: "iolog3") { b in open(b, suffix: ".iolog", format: .iolog3) },
        FuzzTarget(name: "blktrace") { b in
            let path = ScratchFile.write(b, suffix: ".blktrace.0")
            // Both event kinds and both stream keys, then `info`'s btt analysis.
            for (events, streams) in [(BlktraceEventKind.queue, BlktraceStreamKey.cpu), (.dispatch, .pid)] {
                guard let input = try? TraceInput(path: path),
                      let r = try? BlktraceReader(inputs: [input], events: events, streams: streams) else { return }
                drain(r)
            }
            _ = try? BtAnalysis.analyse(paths: [path])
        },
        FuzzTarget(name: "btrecord") { b in
            let path = ScratchFile.write(b, suffix: ".replay.0")
            guard let input = try? TraceInput(path: path), let r = try? BtrecordReader(inputs: [input]) else { return }
            drain(r)
        },
        FuzzTarget(name: "strace") { b in
            let path = ScratchFile.write(b, suffix: ".strace")
            guard let input = try? TraceInput(path: path) else { return }
            drain(StraceReader(input: input, pathPrefixes: [], initialSizes: ["/d/f": 4096]))
        },
    ] + PublicTraceFormat.allCases.map { f in
        FuzzTarget(name: f.rawValue) { b in open(b, suffix: ".trace", format: TraceFormat(rawValue: f.rawValue)!) }
    } + [
        FuzzTarget(name: "jobfile") { b in fuzzJobFile(b) },
        // `info` as a user runs it: format detection, then whichever reader it picks.
        FuzzTarget(name: "info") { b in open(b, suffix: ".trace", format: nil) },
    ]
}

/// Opens the bytes as `format` (nil: detect it, as `info` does) and drains the reader.
private func open(_ b: UnsafeRawBufferPointer, suffix: String, format: TraceFormat?) {
    let path = ScratchFile.write(b, suffix: suffix)
    guard let r = try? openTraceSource(path: path, options: TraceOpenOptions(format: format)) else { return }
    drain(r)
}

/// FIOTRACE_FUZZ_ANALYSIS=0 drains records without the summary: to fuzz a reader alone
/// while a known analysis bug would otherwise stop every run at its first input.
let analysisOn: Bool = getenv("FIOTRACE_FUZZ_ANALYSIS").map { String(cString: $0) != "0" } ?? true

/// Reads every record into a TraceSummary (with its footprint), then the file table and
/// metadata (some readers compute metadata at the end). Errors end the drain.
func drain(_ source: any TraceSource) {
    var s = source
    var summary = TraceSummary()
    var batch: [TraceRecord] = []
    batch.reserveCapacity(1024)
    while true {
        guard let more = try? s.nextBatch(&batch, maxCount: 1024), more else { break }
        if analysisOn { batch.withUnsafeBufferPointer { summary.add($0) } }
    }
    summary.finish()
    _ = summary.allBlockSizes
    _ = summary.footprint.bytes
    _ = s.files.count
    _ = s.metadata.count
    _ = s.skipped.count
}

/// Seeks a native reader (record and time) and decodes every indexed block through the
/// random-access path replay's parallel decoder uses.
private func exerciseSeeks(_ r: FiotReader, path: String) {
    guard let footer = r.footer else { return }
    var batch: [TraceRecord] = []
    if (try? r.seek(toRecord: footer.totalRecords / 2)) != nil { _ = try? r.nextBatch(&batch, maxCount: 64) }
    if (try? r.seek(toTime: 1_000_000)) != nil { _ = try? r.nextBatch(&batch, maxCount: 64) }
    guard let ra = r.randomAccess(), let input = try? TraceInput(path: path) else { return }
    var decoder = FiotBlockDecoder()
    for i in footer.blocks.indices.prefix(64) {
        _ = try? ra.decodeBlock(i, input: input, decoder: &decoder, into: &batch)
    }
}

/// A fio job file: parse it, then generate up to a few thousand records from its jobs
/// (the generator meets every value the parser let through).
private func fuzzJobFile(_ b: UnsafeRawBufferPointer) {
    let text = String(decoding: b, as: UTF8.self)
    guard let jobs = try? parseJobText(text, fileName: "fuzz.fio"), !jobs.isEmpty else { return }
    guard var g = try? WorkloadGenerator(jobs: jobs, options: GeneratorOptions(seed: 1)) else { return }
    var batch: [TraceRecord] = []
    var total = 0
    while total < 4096 {
        guard let more = try? g.nextBatch(&batch, maxCount: 512), more else { break }
        total += batch.count
    }
    _ = g.files.count
    _ = g.metadata.count
}
