/// A fixed number of elements in memory allocated once and freed in `deinit`: the slot
/// array, completion arrays and kernel control blocks. Non-copyable, so the memory has
/// exactly one owner and cannot be freed twice or used after its owner is gone.
/// Elements must be trivial (no references): they are not deinitialised one by one.
public struct FixedBuffer<Element>: ~Copyable {
    /// Start of the elements (valid for the buffer's lifetime; hand it to C or engines).
    public let base: UnsafeMutablePointer<Element>
    public let capacity: Int

    /// `capacity` copies of `value`.
    public init(capacity: Int, repeating value: Element) {
        self.capacity = Swift.max(1, capacity)
        base = .allocate(capacity: self.capacity)
        base.initialize(repeating: value, count: self.capacity)
    }

    @inline(__always)
    public subscript(_ i: Int) -> Element {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }

    deinit { base.deallocate() }
}
