import CFioLinux
import Foundation
import Glibc

/// CLOCK_REALTIME in ns since the Unix epoch.
public func realtimeNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// CLOCK_REALTIME minus the monotonic clock the scheduler uses (ns), read as a tight pair
/// (the realtime reading between two monotonic ones, their midpoint taken).
public func realtimeMinusMonotonic() -> Int64 {
    var best = Int64.max, offset: Int64 = 0
    for _ in 0..<5 {
        let a = monotonicNs(), r = realtimeNs(), b = monotonicNs()
        let width = Int64(b &- a)
        if width < best {
            best = width
            offset = Int64(r) &- Int64(a &+ (b &- a) / 2)
        }
    }
    return offset
}

/// `--start-at`: one wall-clock instant at which every shard's schedule starts. Hosts must
/// share the wall clock (NTP or PTP); the wait sleeps on CLOCK_REALTIME until 2 ms before
/// the instant, then hands the scheduler the same instant on its monotonic clock (so a
/// clock step during the last 2 ms does not move it), where it sleeps and spins as for any
/// due time.
public final class WallClockStart: @unchecked Sendable {
    /// The instant, realtime ns since the Unix epoch.
    public let atNs: UInt64
    /// Realtime minus monotonic (ns), read when the instant was converted.
    public private(set) var offsetNs: Int64 = 0
    /// Set when Ctrl-C ended the wait.
    public private(set) var interrupted = false

    public init(atNs: UInt64) { self.atNs = atNs }

    /// Parses RFC 3339 (`2026-12-01T21:30:00Z`, `2026-12-01 21:30:00.250+01:00`; fractions to
    /// the ns) or a bare integer of ns since the Unix epoch. nil: neither.
    public static func parse(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if !t.isEmpty, t.allSatisfy(\.isASCIIDigit) { return UInt64(t) }
        let u = Array(t.utf8)
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= u.count else { return nil }
            var v = 0
            for i in at..<at + n {
                guard u[i] >= 48 && u[i] <= 57 else { return nil }
                v = v * 10 + Int(u[i] - 48)
            }
            return v
        }
        guard u.count >= 20, let y = digits(0, 4), u[4] == 45, let mo = digits(5, 2), u[7] == 45, let d = digits(8, 2),
              u[10] == 84 || u[10] == 116 || u[10] == 32, let h = digits(11, 2), u[13] == 58, let mi = digits(14, 2),
              u[16] == 58, let s = digits(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61, y >= 1970 else { return nil }
        var i = 19
        var frac: UInt64 = 0
        if i < u.count && u[i] == 46 {
            i += 1
            var n = 0
            while i < u.count, u[i] >= 48 && u[i] <= 57 {
                if n < 9 { frac = frac * 10 + UInt64(u[i] - 48); n += 1 }
                i += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<9 { frac *= 10 }
        }
        guard i < u.count else { return nil }
        var zone = 0
        if u[i] == 90 || u[i] == 122 {
            i += 1
        } else if u[i] == 43 || u[i] == 45, let zh = digits(i + 1, 2), i + 3 < u.count, u[i + 3] == 58, let zm = digits(i + 4, 2) {
            zone = (zh * 60 + zm) * 60 * (u[i] == 45 ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == u.count else { return nil }
        // Days from the civil date (proleptic Gregorian), H. Hinnant's algorithm.
        let yy = mo <= 2 ? y - 1 : y
        let era = yy / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let secs = days * 86400 + h * 3600 + mi * 60 + min(s, 59) - zone
        guard secs >= 0 else { return nil }
        return UInt64(secs) * 1_000_000_000 + frac
    }

    /// Waits (on the wall clock) until 2 ms before the instant, then returns the instant on
    /// the monotonic clock. Returns at once (the current monotonic time) when interrupted.
    public func monotonicInstant() -> UInt64 {
        while true {
            if cfio_interrupted() != 0 { interrupted = true; return monotonicNs() }
            let now = realtimeNs()
            guard atNs > now &+ 2_000_000 else { break }
            // Sleep in slices of at most 100 ms so that Ctrl-C is noticed.
            let wake = min(atNs - 2_000_000, now + 100_000_000)
            var ts = timespec(tv_sec: Int(wake / 1_000_000_000), tv_nsec: Int(wake % 1_000_000_000))
            _ = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nil)
        }
        offsetNs = realtimeMinusMonotonic()
        let mono = Int64(atNs) &- offsetNs
        return mono > 0 ? UInt64(mono) : monotonicNs()
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
