/// Writes records as our plain CSV (see `PublicTraceFormat.csv`): one header line, then
/// `time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags` with `-` for
/// absent fields. File paths containing commas or newlines are refused.
public final class CSVTraceWriter: TraceSink {
    public let out: TraceOutput
    private var names: [String] = []
    /// create/rename/unlink records left out: a rename names a second file by its index in
    /// the trace's table, which a CSV (files by name, numbered as they appear) does not keep.
    public private(set) var skippedNamespaceRecords: UInt64 = 0

    public convenience init(path: String) throws {
        try self.init(output: TraceOutput(path: path))
    }

    public init(output: TraceOutput) throws {
        out = output
        out.append("time_ns,file,op,offset,length,latency_ns,result,depth,stream,flags\n")
    }

    public func define(file: TraceFile) throws {
        if file.path.contains(",") || file.path.contains("\n") || file.path.isEmpty {
            throw TraceError(.unsupported, "\(out.name): file name \"\(file.path)\" cannot be written to CSV (comma or newline)")
        }
        names.append(file.path)
    }

    public func write(_ records: UnsafeBufferPointer<TraceRecord>) throws {
        for r in records {
            guard Int(r.file) < names.count else {
                throw TraceError(.invalidSequence, "\(out.name): a record names file \(r.file) but only \(names.count) are defined")
            }
            if r.op.isNamespace {
                skippedNamespaceRecords += 1
                continue
            }
            out.append(decimal: r.time); out.append(0x2c)
            out.append(names[Int(r.file)]); out.append(0x2c)
            out.append(r.op.fioName); out.append(0x2c)
            out.append(decimal: r.offset); out.append(0x2c)
            out.append(decimal: r.length); out.append(0x2c)
            if let v = r.latency { out.append(decimal: v) } else { out.append(0x2d) }
            out.append(0x2c)
            if let v = r.result { out.append(decimal: v) } else { out.append(0x2d) }
            out.append(0x2c)
            if let v = r.depth { out.append(decimal: UInt64(v)) } else { out.append(0x2d) }
            out.append(0x2c)
            if let v = r.stream { out.append(decimal: UInt64(v)) } else { out.append(0x2d) }
            out.append(0x2c)
            if r.flags.isEmpty { out.append(0x2d) } else { out.append(decimal: UInt64(r.flags.rawValue)) }
            out.append(0x0a)
            try out.maybeFlush()
        }
    }

    public func finish(metadata: [String: String] = [:]) throws { try out.flush() }
}
