import FioReplay
import FioTrace

/// What a replay takes from the trace unless told otherwise (issue 15): the engine a
/// recording was made with (its `ioengine` metadata, when it names one engine we have) and
/// O_DIRECT (its `direct` metadata, or, without it, data records that carry the direct flag,
/// as fio-gen writes for `direct=1` jobs). A replay of `run --direct=1 --ioengine=libaio`
/// then measures what the recording measured instead of the page cache.
struct TraceReplayDefaults {
    /// The recorded engine; nil when the trace names none, several, one we lack, or the null
    /// engine (a null-engine recording did no I/O: its replay picks an engine as any trace's).
    var engine: EngineKind?
    /// Whether the trace asks for O_DIRECT, and where that came from (for the note).
    var direct = false
    /// Some data records looked at carry the direct flag and some do not: the replay
    /// honours each record's (`ReplayOptions.directPerRecord`).
    var mixedDirect = false
    var directSource = ""

    /// Data records looked at when the metadata says nothing about O_DIRECT.
    static let peekRecords = 4096

    /// `peek` opens the trace afresh (nil for a pipe): only when the metadata has no `direct`
    /// key are its first `peekRecords` records read, and the flag counts when every data
    /// record among them carries it.
    init(metadata: [String: String], peek: (() throws -> any TraceSource)?) {
        if let names = metadata[MetadataKey.ioengine]?.trimmingCharacters(in: .whitespaces), !names.contains(","),
           let k = EngineKind(rawValue: names) ?? EngineKind(fioName: names), k != .null, k != .auto {
            engine = k
        }
        if let d = metadata[MetadataKey.direct] {
            let parts = d.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            direct = !parts.isEmpty && parts.allSatisfy { $0 == "1" }
            directSource = "recorded O_DIRECT"
            return
        }
        guard let peek, var src = try? peek() else { return }
        var batch: [TraceRecord] = []
        var seen = 0, flagged = 0
        while seen < Self.peekRecords, (try? src.nextBatch(&batch, maxCount: 1024)) == true {
            for r in batch where r.op == .read || r.op == .write || r.op == .trim {
                seen += 1
                if r.flags.contains(.direct) { flagged += 1 }
            }
        }
        if seen > 0 && flagged == seen {
            direct = true
            directSource = "its records carry the direct flag"
        } else if flagged > 0 {
            mixedDirect = true
            directSource = "\(flagged) of the first \(seen) data records carry the direct flag"
        }
    }
}

/// The settings `replay` took from the trace, for its report's job options.
nonisolated(unsafe) var replayDefaultsFromTrace: [String] = []
