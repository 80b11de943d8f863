/// fio's last_start before a direction has issued in a file.
let noStart = UInt64.max

/// Four values indexed by direction. Plain memory: a `SIMD4` written at a variable lane
/// goes through a vector reload that stalls on every I/O.
struct Lanes4<T: BitwiseCopyable> {
    var v: (T, T, T, T)
    init(repeating x: T) { v = (x, x, x, x) }
    @inline(__always) subscript(_ i: Int) -> T {
        get { withUnsafeBytes(of: v) { $0.load(fromByteOffset: i &* MemoryLayout<T>.stride, as: T.self) } }
        set { withUnsafeMutableBytes(of: &v) { $0.storeBytes(of: newValue, toByteOffset: i &* MemoryLayout<T>.stride, as: T.self) } }
    }
}

/// Per file of a job: fio's `fio_file` state that matters for offsets.
struct FileState {
    var index: UInt32
    var fileOffset: UInt64
    var ioSize: UInt64
    var realSize: UInt64
    var done = false
    /// fio's last_block per direction (blocks of `ba` that fit).
    var lastBlocks: Lanes4<UInt64>  // constant after setup (read rarely)
    /// The random map: fio's axmap, one bit per `rw_min_bs` block (nil: no map). Raw
    /// memory owned by the `JobStorage` that holds this state (freed in its deinit,
    /// deep-copied by `clone`).
    var bitmap: BlockBitmap?
    // zipf / pareto / normal: fio's per-file rank state
    var rank: FioRankState?
}

/// A job's per-file states and service-model slots, in raw memory so the per-I/O path
/// has no copy-on-write checks. `WorkloadGenerator` clones it before mutating a shared one,
/// which keeps the generator a value type.
final class JobStorage {
    let files: UnsafeMutablePointer<FileState>
    let fileCount: Int
    let ring: UnsafeMutablePointer<UInt64>
    let depth: Int
    /// Per file and direction: fio's last_pos (at [f*12 + d]), last_start (at [f*12 + 4 + d])
    /// and last_block (at [f*12 + 8 + d]).
    let dirs: UnsafeMutablePointer<UInt64>
    /// Per direction, constant: min bs [d], max bs [4+d], blockalign [8+d], rate in bytes/s
    /// [12+d], percentage_random [16+d], 1 if its bytes count toward io_size [20+d],
    /// poisson mean gap in ns as Double bits [24+d].
    let consts: UnsafeMutablePointer<UInt64>
    /// Per direction: bytes issued [d], I/Os issued [4+d], rate bytes [8+d], next rate time [12+d].
    let counters: UnsafeMutablePointer<UInt64>

    init(files fs: [FileState], depth: Int, start: UInt64) {
        fileCount = fs.count
        files = .allocate(capacity: max(1, fs.count))
        files.initialize(from: fs, count: fs.count)
        self.depth = max(1, depth)
        ring = .allocate(capacity: self.depth)
        ring.initialize(repeating: start, count: self.depth)
        dirs = .allocate(capacity: max(1, fs.count) * 12)
        dirs.initialize(repeating: 0, count: max(1, fs.count) * 12)
        counters = .allocate(capacity: 16)
        counters.initialize(repeating: 0, count: 16)
        consts = .allocate(capacity: 32)
        consts.initialize(repeating: 0, count: 32)
    }

    private init(copying o: JobStorage) {
        fileCount = o.fileCount
        files = .allocate(capacity: max(1, o.fileCount))
        files.initialize(from: o.files, count: o.fileCount)
        for i in 0..<o.fileCount { files[i].bitmap = o.files[i].bitmap?.copy() }
        depth = o.depth
        ring = .allocate(capacity: depth)
        ring.initialize(from: o.ring, count: depth)
        dirs = .allocate(capacity: max(1, fileCount) * 12)
        dirs.initialize(from: o.dirs, count: max(1, fileCount) * 12)
        counters = .allocate(capacity: 16)
        counters.initialize(from: o.counters, count: 16)
        consts = .allocate(capacity: 32)
        consts.initialize(from: o.consts, count: 32)
    }

    func clone() -> JobStorage { JobStorage(copying: self) }

    deinit {
        for i in 0..<fileCount { files[i].bitmap?.deallocate() }
        files.deinitialize(count: fileCount)
        files.deallocate()
        ring.deinitialize(count: depth)
        ring.deallocate()
        dirs.deallocate()
        counters.deallocate()
        consts.deallocate()
    }
}
