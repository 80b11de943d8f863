#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The progress line of a command that streams a long trace (`info`, `cat`, `convert`,
/// `report`, `fio-gen`): records so far, the rate, and with a known total the share done
/// and the time left, rewritten in place on stderr. Shown only on a terminal, and only
/// once the command has run `delayNs` (1 s), so quick commands and pipes stay quiet;
/// erased when the command ends so the output stays clean.
///
/// `add` is called from one thread at a time (the reader's or the consumer's); it reads
/// the clock once per call (a batch), so it costs nothing per record.
public final class ProgressMeter: @unchecked Sendable {
    public let label: String
    public let enabled: Bool
    /// The records expected in all (a .fiot footer's count), when known.
    public var total: UInt64?
    /// Records so far.
    public private(set) var count: UInt64 = 0
    /// Whether a line is on the screen.
    public private(set) var printed = false
    private let startNs: UInt64
    private var nextNs: UInt64
    private let intervalNs: UInt64 = 250_000_000

    /// How long a command runs before its line appears (ns): 1 s, or
    /// `FIOTRACE_PROGRESS_DELAY_MS` from the environment.
    public static let delayNs: UInt64 = {
        if let v = getenv("FIOTRACE_PROGRESS_DELAY_MS"), let ms = UInt64(String(cString: v)), ms < 3_600_000 {
            return ms * 1_000_000
        }
        return 1_000_000_000
    }()

    public init(label: String, enabled: Bool, total: UInt64? = nil) {
        self.label = label
        self.enabled = enabled
        self.total = total
        startNs = monotonicClockNs()
        nextNs = startNs &+ Self.delayNs
    }

    /// A meter that shows itself when stderr is a terminal and `quiet` is false.
    public static func onTerminal(label: String, quiet: Bool, total: UInt64? = nil) -> ProgressMeter {
        ProgressMeter(label: label, enabled: !quiet && isatty(2) == 1, total: total)
    }

    /// Counts `n` more records; redraws the line at most four times a second, and once more
    /// when the count reaches the known total (a trace read in a few blocks shows 100 %).
    @inline(__always)
    public func add(_ n: Int) {
        let before = count
        count &+= UInt64(n)
        guard enabled else { return }
        let now = monotonicClockNs()
        let reachedTotal = total.map { before < $0 && count >= $0 } ?? false
        if now >= nextNs || (reachedTotal && now >= startNs &+ Self.delayNs) {
            nextNs = now &+ intervalNs
            draw(now: now)
        }
    }

    private func draw(now: UInt64) {
        let secs = Double(now &- startNs) / 1e9
        var line = "\r\(label): \(Self.short(Double(count))) records"
        let rate = secs > 0 ? Double(count) / secs : 0
        if let total, total > 0 {
            let share = min(1, Double(count) / Double(total))
            line += " (\(Int(share * 100))%)"
            if rate > 0 && count < total {
                line += ", ETA \(Self.duration(Double(total - count) / rate))"
            }
        }
        line += ", \(Self.short(rate)) records/s, \(Self.duration(secs))\u{1b}[K"
        Self.write(line)
        printed = true
    }

    /// Erases the line (call when the command's work is done, before its own output).
    public func finish() {
        if printed { Self.write("\r\u{1b}[K") }
        printed = false
    }

    private static func write(_ s: String) {
        var s = s
        s.withUTF8 { p in _ = Glibc.write(2, p.baseAddress, p.count) }
    }

    /// 1234567 as "1.23M".
    static func short(_ v: Double) -> String {
        if v >= 1e9 { return fixed(v / 1e9, 2) + "G" }
        if v >= 1e6 { return fixed(v / 1e6, 2) + "M" }
        if v >= 1e4 { return fixed(v / 1e3, 1) + "k" }
        return String(Int(v))
    }

    static func duration(_ s: Double) -> String {
        if s < 60 { return fixed(s, 1) + "s" }
        let m = Int(s) / 60
        return "\(m)m\(Int(s) % 60)s"
    }

    static func fixed(_ v: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (v * scale).rounded() / scale
        var t = String(r)
        if let dot = t.firstIndex(of: ".") {
            let decimals = t.distance(from: dot, to: t.endIndex) - 1
            if decimals < digits { t += String(repeating: "0", count: digits - decimals) }
        }
        return t
    }
}

/// A source that counts what passes through it on a `ProgressMeter` (the commands wrap
/// the source they read; the meter's total comes from a .fiot footer when there is one).
public struct ProgressSource: TraceSource {
    public private(set) var base: any TraceSource
    public let meter: ProgressMeter

    public init(_ base: any TraceSource, meter: ProgressMeter) {
        self.base = base
        self.meter = meter
        if meter.total == nil, let f = (base as? FiotReader)?.footer { meter.total = f.totalRecords }
    }

    public var files: [TraceFile] { base.files }
    public var metadata: [String: String] { base.metadata }
    public var skipped: [TraceError] { base.skipped }

    /// The line goes away at the trace's end or a read error, before the command prints
    /// its results or the error.
    public mutating func nextBatch(_ batch: inout [TraceRecord], maxCount: Int) throws -> Bool {
        let more: Bool
        do {
            more = try base.nextBatch(&batch, maxCount: maxCount)
        } catch {
            meter.finish()
            throw error
        }
        if more { meter.add(batch.count) } else { meter.finish() }
        return more
    }

    /// `source` with its progress counted on a terminal line labelled `label`, or `source`
    /// itself when no line is to be shown.
    public static func wrap(_ source: any TraceSource, label: String, quiet: Bool) -> any TraceSource {
        let meter = ProgressMeter.onTerminal(label: label, quiet: quiet)
        guard meter.enabled else { return source }
        return ProgressSource(source, meter: meter)
    }

    /// Erases the line of `source` when it is a `ProgressSource`; returns the source inside.
    public static func unwrap(_ source: any TraceSource) -> any TraceSource {
        guard let p = source as? ProgressSource else { return source }
        p.meter.finish()
        return p.base
    }
}
