/// The process names a trace format carries (blktrace notify records, FIU's process
/// column), kept for the trace's metadata while records carry only the pid (as their
/// `stream`, where the reader puts it there).
///
/// Metadata: `process.names` holds one `PID NAME` line per distinct (pid, name) pair, in
/// order of first appearance (a pid reused by another program, or renamed by exec,
/// appears once per name); the name is the rest of the line and may contain spaces.
/// At most `limit` pairs are kept; `process.names_dropped` counts the pairs left out.
struct ProcessNames {
    static let metadataKey = "process.names"
    static let droppedKey = "process.names_dropped"
    static let limit = 65_536

    private(set) var pairs: [(pid: UInt32, name: String)] = []
    private var latest: [UInt32: String] = [:]
    private var seen: Set<PairKey> = []
    private(set) var dropped: UInt64 = 0

    private struct PairKey: Hashable {
        var pid: UInt32
        var name: String
    }

    /// The last name seen for `pid`.
    func name(of pid: UInt32) -> String? { latest[pid] }

    mutating func note(pid: UInt32, name: String) {
        if latest[pid] == name { return }
        latest[pid] = name
        let key = PairKey(pid: pid, name: name)
        if seen.contains(key) { return }
        guard pairs.count < Self.limit else { dropped &+= 1; return }
        seen.insert(key)
        pairs.append((pid, name))
    }

    /// Adds the metadata keys (nothing when no name was seen).
    func addMetadata(to m: inout [String: String]) {
        if !pairs.isEmpty { m[Self.metadataKey] = pairs.map { "\($0.pid) \($0.name)" }.joined(separator: "\n") }
        if dropped > 0 { m[Self.droppedKey] = String(dropped) }
    }

    /// Parses a `process.names` value back into (pid, name) pairs; nil if it is malformed.
    static func parse(_ value: String) -> [(pid: UInt32, name: String)]? {
        var out: [(UInt32, String)] = []
        for line in value.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let sp = line.firstIndex(of: " "), let pid = UInt32(line[..<sp]) else { return nil }
            out.append((pid, String(line[line.index(after: sp)...])))
        }
        return out
    }
}
