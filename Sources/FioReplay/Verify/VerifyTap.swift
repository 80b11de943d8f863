import FioTrace

/// Verify as a tap (fio's two hook points): at submit a write's buffer is filled with
/// self-describing data and the write is registered in flight, a read is tagged with what
/// was in flight; at completion writes update the last-writer map and reads are checked.
/// Live runs and replays verify through the same code; the read-back pass runs the same tap
/// over reads of the map (`pass`).
public struct VerifyTap: ReplayTap {
    public let verifier: Verifier
    let checker: SectorChecker
    /// The read-back pass: reads are checked and counted as the pass's.
    let pass: Bool
    /// Stream-local target index -> the verifier's target id.
    private var ids: [UInt32] = []
    private var owned: [(UInt64, UInt64, WriterMap.Owner)] = []

    public init(verifier: Verifier, pass: Bool = false, afterCrash: Bool = false) {
        self.verifier = verifier
        self.pass = pass
        checker = SectorChecker(content: verifier.content, scratch: SectorScratch(), afterCrash: afterCrash)
        owned.reserveCapacity(64)
    }

    public mutating func start(at ns: UInt64) {}

    public mutating func noteTarget(_ index: Int, path: String) {
        while ids.count <= index { ids.append(UInt32.max) }
        ids[index] = verifier.targetID(path: path)
    }

    @inline(__always) private func id(_ s: UnsafeMutablePointer<IOSlot>) -> UInt32 {
        let t = Int(s.pointee.target)
        return t < ids.count ? ids[t] : UInt32.max
    }

    public mutating func willSubmit(_ slot: UnsafeMutablePointer<IOSlot>) {
        let t = id(slot)
        guard t != UInt32.max else { return }
        switch slot.pointee.op {
        case .write:
            let (i, g) = verifier.beginWrite(target: t, offset: slot.pointee.offset, length: slot.pointee.length, buffer: slot.pointee.buffer)
            slot.pointee.tapIndex = UInt32(i)
            slot.pointee.tapTag = g
        case .read:
            slot.pointee.tapTag = verifier.beginRead(target: t, offset: slot.pointee.offset, length: slot.pointee.length)
        case .sync, .datasync, .syncfs:
            slot.pointee.tapTag = verifier.syncIssued(target: t)
        default:
            break
        }
    }

    public mutating func didComplete(_ slot: UnsafeMutablePointer<IOSlot>, now: UInt64) {
        let t = id(slot)
        guard t != UInt32.max else { return }
        let s = slot.pointee
        switch s.op {
        case .write:
            verifier.endWrite(index: Int(s.tapIndex), result: s.result, length: s.length)
        case .read:
            verifier.endRead(target: t, offset: s.offset, length: s.length, buffer: s.buffer, result: s.result, tag: s.tapTag,
                             checker: checker, owned: &owned, pass: pass)
        case .sync, .datasync, .syncfs:
            verifier.syncCompleted(target: t, ticket: s.tapTag, ok: s.result >= 0)
        case .trim:
            if s.result >= 0 { verifier.trimmed(target: t, offset: s.offset, length: s.length) }
        default:
            break
        }
    }

    public mutating func didCancel(_ slot: UnsafeMutablePointer<IOSlot>) {
        if slot.pointee.op == .write && id(slot) != UInt32.max { verifier.cancelWrite(index: Int(slot.pointee.tapIndex)) }
    }

    public mutating func tick(now: UInt64, final: Bool) {}

    /// fio's verify_fatal: stop at the first bad read.
    public var wantsStop: Bool { verifier.options.fatal && verifier.sawBad }
}
