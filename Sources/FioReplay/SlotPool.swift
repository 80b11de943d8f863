import CFioLinux
import Glibc

/// `depth` preallocated I/O slots over 4096-aligned buffers and a free list. Buffers grow
/// (rarely, never per I/O in a steady trace) when a record is longer than its slot's buffer,
/// so memory is bounded by depth x the largest block size.
public struct SlotPool {
    /// The slots; engines index them by slot number.
    public let slots: UnsafeMutablePointer<IOSlot>
    public let depth: Int
    private let free: UnsafeMutablePointer<Int32>
    private var freeCount: Int
    /// Byte pattern written buffers carry (non-zero, so writes do not look like holes).
    public let fillByte: UInt8

    /// Alignment of every buffer, in bytes.
    public static let alignment = 4096

    public init(depth: Int, blockSize: Int = 4096, fillByte: UInt8 = 0xA5) throws {
        self.depth = max(1, depth)
        self.fillByte = fillByte
        slots = .allocate(capacity: self.depth)
        free = .allocate(capacity: self.depth)
        freeCount = self.depth
        let cap = Self.roundUp(max(blockSize, 4096))
        for i in 0..<self.depth {
            guard let buf = cfio_aligned_alloc(Self.alignment, cap) else {
                throw ReplayError(.invalidOption, "cannot allocate \(cap)-byte aligned buffer \(i) of \(self.depth)")
            }
            memset(buf, Int32(fillByte), cap)
            slots[i] = IOSlot(buffer: buf, capacity: cap, fd: -1, op: .read, isBlockDevice: false,
                              offset: 0, length: 0, record: 0, file: 0, dueNs: 0, startNs: 0,
                              submitNs: 0, result: 0, tracedLatency: 0)
            free[i] = Int32(self.depth - 1 - i)
        }
    }

    static func roundUp(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Slots in use.
    @inline(__always) public var inUse: Int { depth - freeCount }

    /// The slots not in the free list (in flight, or lost with a broken engine).
    public func inUseSlots() -> [Int32] {
        var isFree = [Bool](repeating: false, count: depth)
        for k in 0..<freeCount { isFree[Int(free[k])] = true }
        return (0..<depth).filter { !isFree[$0] }.map { Int32($0) }
    }

    /// Takes a free slot; nil when all are in flight.
    @inline(__always) public mutating func acquire() -> Int32? {
        guard freeCount > 0 else { return nil }
        freeCount -= 1
        return free[freeCount]
    }

    @inline(__always) public mutating func release(_ i: Int32) {
        free[freeCount] = i
        freeCount += 1
    }

    /// Makes slot `i`'s buffer at least `bytes` long (a new aligned buffer, pattern-filled).
    public func ensureCapacity(_ i: Int32, _ bytes: UInt64) -> Bool {
        if UInt64(slots[Int(i)].capacity) >= bytes { return true }
        guard bytes < UInt64(Int.max / 2) else { return false }
        let cap = Self.roundUp(Int(bytes))
        guard let buf = cfio_aligned_alloc(Self.alignment, cap) else { return false }
        memset(buf, Int32(fillByte), cap)
        Glibc.free(slots[Int(i)].buffer)
        slots[Int(i)].buffer = buf
        slots[Int(i)].capacity = cap
        return true
    }

    /// Frees every buffer. Call once, after all I/O has completed.
    public func deallocate() {
        for i in 0..<depth { Glibc.free(slots[i].buffer) }
        slots.deallocate()
        free.deallocate()
    }
}
