import CFioLinux
import Glibc

/// `depth` preallocated I/O slots over 4096-aligned buffers and a free list. Buffers grow
/// (rarely, never per I/O in a steady trace) when a record is longer than its slot's buffer,
/// so memory is bounded by depth x the largest block size. Non-copyable: it owns the
/// buffers and frees them in `deinit`, after the run's last completion.
public struct SlotPool: ~Copyable {
    /// The slots; engines index them by slot number.
    public let slots: UnsafeMutablePointer<IOSlot>
    public let depth: Int
    private let storage: FixedBuffer<IOSlot>
    private let free: FixedBuffer<Int32>
    private var freeCount: Int

    /// Alignment of every buffer, in bytes.
    public static let alignment = 4096

    /// `depth` slots with buffers of `blockSize` bytes (rounded up to 4 KiB), zeroed. Writes
    /// get their payload from the run's `WritePayload` at submit, never from what a buffer
    /// held before.
    public init(depth: Int, blockSize: Int = 4096) throws {
        self.depth = max(1, depth)
        let cap = Self.roundUp(max(blockSize, 4096))
        storage = FixedBuffer<IOSlot>(capacity: self.depth, repeating: IOSlot(buffer: UnsafeMutableRawPointer(bitPattern: 1)!, capacity: 0))
        free = FixedBuffer<Int32>(capacity: self.depth, repeating: 0)
        slots = storage.base
        freeCount = self.depth
        for i in 0..<self.depth {
            guard let buf = cfio_aligned_alloc(Self.alignment, cap) else {
                // `deinit` (which runs for the fully initialised pool) frees every buffer.
                for k in i..<self.depth { slots[k].buffer = malloc(1) }
                throw ReplayError(.invalidOption, "cannot allocate \(cap)-byte aligned buffer \(i) of \(self.depth)")
            }
            memset(buf, 0, cap)
            slots[i] = IOSlot(buffer: buf, capacity: cap)
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

    /// Makes slot `i`'s buffer at least `bytes` long (a new aligned, zeroed buffer).
    public func ensureCapacity(_ i: Int32, _ bytes: UInt64) -> Bool {
        if UInt64(slots[Int(i)].capacity) >= bytes { return true }
        guard bytes < UInt64(Int.max / 2) else { return false }
        let cap = Self.roundUp(Int(bytes))
        guard let buf = cfio_aligned_alloc(Self.alignment, cap) else { return false }
        memset(buf, 0, cap)
        Glibc.free(slots[Int(i)].buffer)
        slots[Int(i)].buffer = buf
        slots[Int(i)].capacity = cap
        return true
    }

    deinit {
        for i in 0..<depth { Glibc.free(slots[i].buffer) }
    }
}
