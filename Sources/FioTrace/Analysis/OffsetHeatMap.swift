/// Where on a file the I/O lands over time, the picture seekwatcher and iowatcher draw,
/// as a fixed grid: `columns` time columns by `rows` offset bands, counting data I/Os by
/// their start offset, reads apart from writes (trims count with writes). Both axes
/// double (merging neighbours) when the trace outgrows them, so memory is fixed
/// (2 × 256 × 128 counts, 256 KiB) whatever the trace's duration or the file's size.
public struct OffsetHeatMap: Sendable {
    public static let columns = 256
    public static let rows = 128

    public let file: UInt32
    /// Width of a column (ns) and height of a row (bytes, a power of two).
    public private(set) var columnNs: UInt64
    public private(set) var rowBytes: UInt64
    /// I/Os per cell, column-major: cell (c, r) is at c × rows + r. Counts stop at UInt32.max.
    public private(set) var reads: [UInt32]
    public private(set) var writes: [UInt32]
    /// Columns and rows up to the last one holding an I/O.
    public private(set) var usedColumns = 0
    public private(set) var usedRows = 0
    /// Data I/Os counted.
    public private(set) var ios: UInt64 = 0
    private var rowShift: UInt64

    /// `columnNs`: the starting column width; `sizeHint`: the file's size when known (the
    /// starting row height covers it in `rows` rows).
    public init(file: UInt32, columnNs: UInt64, sizeHint: UInt64?) {
        self.file = file
        self.columnNs = max(1, columnNs)
        var shift: UInt64 = 9
        if let size = sizeHint, size > 0 {
            while shift < 62 && (UInt64(Self.rows) << shift) < size { shift += 1 }
        }
        rowShift = shift
        rowBytes = 1 << shift
        reads = Array(repeating: 0, count: Self.columns * Self.rows)
        writes = reads
    }

    @inline(__always)
    public mutating func add(time: UInt64, offset: UInt64, isRead: Bool) {
        var c = time / columnNs
        while c >= UInt64(Self.columns) {
            widenColumns()
            c = time / columnNs
        }
        var r = offset >> rowShift
        while r >= UInt64(Self.rows) {
            widenRows()
            r = offset >> rowShift
        }
        let i = Int(c) * Self.rows + Int(r)
        if isRead {
            if reads[i] != .max { reads[i] += 1 }
        } else {
            if writes[i] != .max { writes[i] += 1 }
        }
        ios &+= 1
        if Int(c) >= usedColumns { usedColumns = Int(c) + 1 }
        if Int(r) >= usedRows { usedRows = Int(r) + 1 }
    }

    /// The total I/Os of cell (c, r), reads and writes.
    public func count(column c: Int, row r: Int) -> UInt64 {
        UInt64(reads[c * Self.rows + r]) + UInt64(writes[c * Self.rows + r])
    }

    private static func sum(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let (s, o) = a.addingReportingOverflow(b)
        return o ? .max : s
    }

    private mutating func widenColumns() {
        for grid in 0..<2 {
            var g = grid == 0 ? reads : writes
            if grid == 0 { reads = [] } else { writes = [] }
            for c in 0..<(Self.columns / 2) {
                for r in 0..<Self.rows {
                    g[c * Self.rows + r] = Self.sum(g[(2 * c) * Self.rows + r], g[(2 * c + 1) * Self.rows + r])
                }
            }
            for i in (Self.columns / 2 * Self.rows)..<(Self.columns * Self.rows) { g[i] = 0 }
            if grid == 0 { reads = g } else { writes = g }
        }
        let (w, o) = columnNs.multipliedReportingOverflow(by: 2)
        columnNs = o ? .max : w
        usedColumns = (usedColumns + 1) / 2
    }

    private mutating func widenRows() {
        for grid in 0..<2 {
            var g = grid == 0 ? reads : writes
            if grid == 0 { reads = [] } else { writes = [] }
            for c in 0..<Self.columns {
                let b = c * Self.rows
                for r in 0..<(Self.rows / 2) { g[b + r] = Self.sum(g[b + 2 * r], g[b + 2 * r + 1]) }
                for r in (Self.rows / 2)..<Self.rows { g[b + r] = 0 }
            }
            if grid == 0 { reads = g } else { writes = g }
        }
        rowShift += 1
        rowBytes = 1 << rowShift
        usedRows = (usedRows + 1) / 2
    }
}

/// Offset heat maps of the first `maxFiles` files that see data I/O (a trace of a few
/// devices or files draws them all; one of thousands of volumes draws the first ones and
/// counts the rest).
public struct OffsetHeatMaps: Sendable {
    public static let maxFiles = 16
    public let columnNs: UInt64
    public private(set) var maps: [OffsetHeatMap] = []
    /// Data I/Os on files past the first `maxFiles`, and how many such files.
    public private(set) var untrackedIOs: UInt64 = 0
    public private(set) var untrackedFiles = 0
    /// Map index per file index: -1 not seen yet, -2 not tracked.
    private var slotOfFile: [Int] = []

    public init(columnNs: UInt64) { self.columnNs = columnNs }

    /// Adds a batch's data I/Os; `files` is the trace's file table (for sizes).
    public mutating func add(_ batch: UnsafeBufferPointer<TraceRecord>, files: [TraceFile]) {
        for r in batch where r.op.isData {
            let f = Int(r.file)
            if f >= slotOfFile.count { slotOfFile.append(contentsOf: repeatElement(-1, count: f + 1 - slotOfFile.count)) }
            var k = slotOfFile[f]
            if k == -1 {
                if maps.count < Self.maxFiles {
                    k = maps.count
                    maps.append(OffsetHeatMap(file: r.file, columnNs: columnNs, sizeHint: f < files.count ? files[f].size : nil))
                } else {
                    k = -2
                    untrackedFiles += 1
                }
                slotOfFile[f] = k
            }
            if k < 0 {
                untrackedIOs &+= 1
                continue
            }
            maps[k].add(time: r.time, offset: r.offset, isRead: r.op == .read)
        }
    }
}
