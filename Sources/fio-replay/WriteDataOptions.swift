import ArgumentParser
import FioReplay

/// fio's buffer options for what replayed writes carry (`run` takes the same from the job).
struct WriteDataOptions: ParsableArguments {
    @Flag(name: .customLong("zero-buffers"), help: "Writes carry zeros (fio's zero_buffers).")
    var zeroBuffers = false

    @Flag(name: .customLong("refill-buffers"), help: "Fresh random data for every write (fio's refill_buffers); default: copies of a random pool, stamped per 512-byte sector.")
    var refillBuffers = false

    @Flag(name: .customLong("scramble-buffers"), inversion: .prefixedNo, help: "Stamp each written 512-byte sector with its offset and a write number so no two are alike (fio's scramble_buffers).")
    var scrambleBuffers = true

    @Option(name: .customLong("buffer-compress-percentage"), help: "Make written data about this compressible, 0-100 (fio's buffer_compress_percentage).")
    var compressPercentage: Int?

    @Option(name: .customLong("buffer-compress-chunk"), parsing: .unconditional, help: "Bytes per compressible chunk (fio's buffer_compress_chunk and suffixes, e.g. 4k; default 512).", transform: parseSize)
    var compressChunk: UInt64?

    @Option(name: .customLong("dedupe-percentage"), help: "Share of writes, 0-100, whose data repeats an earlier write's (fio's dedupe_percentage).")
    var dedupePercentage: Int?

    func payload() throws -> WritePayloadOptions {
        var p = WritePayloadOptions()
        if zeroBuffers { p.content = .zeros }
        p.refill = refillBuffers
        p.scramble = scrambleBuffers
        if let c = compressPercentage {
            guard (0...100).contains(c) else { throw ValidationError("--buffer-compress-percentage must be 0...100, got \(c)") }
            p.compressPercentage = c
        }
        if let c = compressChunk {
            guard c > 0, c <= 1 << 30 else { throw ValidationError("--buffer-compress-chunk must be 1 byte...1g, got \(c)") }
            p.compressChunk = Int(c)
        }
        if let d = dedupePercentage {
            guard (0...100).contains(d) else { throw ValidationError("--dedupe-percentage must be 0...100, got \(d)") }
            p.dedupePercentage = d
        }
        return p
    }
}

/// Hands a value to another thread that alone uses it from then on.
struct SendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
