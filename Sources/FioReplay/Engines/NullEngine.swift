/// fio's null engine: every I/O completes at once with its full length; nothing touches a
/// device. Measures the replay machinery itself.
public final class NullEngine: IOEngine {
    public static let descriptor = EngineDescriptor(name: "null", fioNames: ["null"], automatic: false) { NullEngine(depth: $0) }
    public let name = "null"
    public var movesData: Bool { false }
    public init(depth: Int) {}
    @inline(__always)
    public func queue(_ slots: UnsafeMutablePointer<IOSlot>, _ index: Int32) -> QueueStatus {
        let s = slots + Int(index)
        s.pointee.result = s.pointee.op.isData ? Int64(s.pointee.length) : 0
        return .completed
    }
    public func commit() -> Int { 0 }
    public func getEvents(_ out: UnsafeMutablePointer<IOCompletion>, max: Int, waitNs: Int64) -> Int { 0 }
    public func cleanup() {}
    public func replay(_ run: inout EngineRun) throws -> ReplayResult { try run.run(self) }
}
