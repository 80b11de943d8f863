/// fio's psync engine: pread/pwrite/fsync/fdatasync/sync_file_range, trim as BLKDISCARD or
/// punch hole; each I/O completes inside `queue`, so depth is always 1.
public final class PSyncEngine: IOEngine {
    public static let descriptor = EngineDescriptor(name: "psync", aliases: ["sync"],
                                                    fioNames: ["psync", "sync", "pvsync", "pvsync2", "vsync"],
                                                    automatic: true) { PSyncEngine(depth: $0) }
    public let name = "psync"
    public init(depth: Int) {}
    @inline(__always)
    public func queue(_ slots: UnsafeMutablePointer<IOSlot>, _ index: Int32) -> QueueStatus {
        let s = slots + Int(index)
        s.pointee.result = performSynchronously(s)
        return .completed
    }
    public func commit() -> Int { 0 }
    public func getEvents(_ out: UnsafeMutablePointer<IOCompletion>, max: Int, waitNs: Int64) -> Int { 0 }
    public func cleanup() {}
    public func replay(_ run: inout EngineRun) throws -> ReplayResult { try run.run(self) }
}
