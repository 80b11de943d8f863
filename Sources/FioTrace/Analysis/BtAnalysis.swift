import Histogram

/// The analysis btt (blktrace's analyser) makes of a capture, in one streaming pass over
/// its events: per-phase latencies (Q2Q, Q2G, G2I, Q2M, I2D, M2D, D2C, Q2C) per device,
/// over all devices and per process; btt's merge information, front and back merges,
/// seek distances between Qs and between Ds; and blkparse's per-pid counts
/// (`blkparse -s`). Checked against btt 2.0 and blkparse 1.2 in the tests.
///
/// btt's rules, kept because its figures are the reference users compare with:
/// - events with 0 bytes (flushes) are ignored, except requeues;
/// - a device's events before its first Q (or remap) are ignored;
/// - a Q is tracked from its arrival to its completion, found by start sector; a Q that
///   starts where a tracked Q starts is ignored altogether;
/// - G, I and M events find the tracked Q whose sectors contain theirs; a D or C applies
///   to every tracked Q wholly inside its range (a merged request completes all its Qs);
/// - a Q's phases are counted for the device, all devices and the Q's process;
/// - a latency of 0 counts as 1 ns.
/// Q2A (remaps) is not computed.
///
/// Memory: the Qs in flight (at most `maxTracked`; more are counted in
/// `untrackedQueues`), one entry per process name, pid and device, and the seek
/// distances (exact up to `maxDistinctSeeks` distinct values per device, then a
/// histogram); never the events themselves.
public struct BtAnalysis {
    public private(set) var devices: [BtDevice] = []
    public private(set) var all = BtPhases()
    /// Per process name, sorted by name.
    public var processes: [BtProcess] { groups.sorted { $0.name < $1.name } }
    /// Per pid, sorted by name, then pid.
    public var pids: [BtPid] { pidStats.sorted { ($0.name, $0.pid) < ($1.name, $1.pid) } }
    public private(set) var events: UInt64 = 0
    public private(set) var untrackedQueues: UInt64 = 0
    /// Events of pids beyond the first `maxProcesses`, left out of `pids`.
    public private(set) var untrackedPidEvents: UInt64 = 0

    public static let maxTracked = 1 << 20
    public static let maxDistinctSeeks = 1 << 18
    public static let maxProcesses = 65_536

    private var groups: [BtProcess] = []
    private var groupLastQ: [UInt64] = []
    private var groupByPid: [UInt32: Int] = [:]
    private var groupByName: [String: Int] = [:]
    private var pidStats: [BtPid] = []
    private var pidIndex: [UInt32: Int] = [:]
    private var pidFirstName: [UInt32: String] = [:]
    private var state: [DeviceState] = []
    private var deviceIndex: [UInt32: Int] = [:]
    private var lastQ = UInt64.max

    /// A Q being tracked; times are UInt64.max until the event is seen.
    private struct TrackedQ {
        var start: UInt64
        var end: UInt64
        var time: UInt64
        var g = UInt64.max, i = UInt64.max, m = UInt64.max, d = UInt64.max
        var group: Int
    }

    /// A device's working state.
    private struct DeviceState {
        var preCulling = true
        var remapper: Bool
        var tracked: [TrackedQ] = [] // sorted by start sector
        var lastQ = UInt64.max
        var activeQ: UInt64 = 0
        var q2q = SeekCounter(), d2d = SeekCounter()
    }

    public init() {}

    /// Analyses a capture: the per-CPU files of a device (merged by time) or a
    /// `blkparse -d` dump.
    public static func analyse(paths: [String]) throws -> BtAnalysis {
        var inputs: [TraceInput] = []
        for p in paths { inputs.append(try TraceInput(path: p)) }
        var ev = BlktraceEvents(streams: inputs, bigEndian: try BlktraceEvents.byteOrders(of: inputs),
                                wanted: UInt32.max, deliverNotify: true)
        defer { ev.deallocate() }
        var a = BtAnalysis()
        try ev.prime()
        while !ev.isEmpty {
            a.add(ev.head.pointee)
            try ev.pop()
        }
        a.finish()
        return a
    }

    // MARK: Events

    private mutating func add(_ e: BlkCursor) {
        events &+= 1
        let cat = e.action >> 16
        let code = Blk.code(e.action)
        if cat & Blk.tcNotify != 0 {
            if code == Blk.notifyProcess, let name = notifyName(e) {
                if pidFirstName[e.pid] == nil { pidFirstName[e.pid] = name }
                nameProcess(pid: e.pid, name: e.pid == 0 ? "kernel" : String(name.prefix { $0 != "/" }))
            }
            return
        }
        countForPid(e, code: code, write: cat & Blk.tcWrite != 0)
        // The events btt tracks; it ignores 0-byte ones except requeues and remaps.
        switch code {
        case Blk.queue, Blk.insert, Blk.getrq, Blk.backmerge, Blk.frontmerge, Blk.issue, Blk.complete, Blk.sleeprq:
            if e.bytes == 0 { return }
        case Blk.requeue, Blk.remap: break
        default: return
        }
        let d = deviceSlot(e.device)
        if state[d].preCulling {
            guard code == Blk.queue || code == Blk.remap else { return }
            state[d].preCulling = false
        }
        switch code {
        case Blk.queue: queue(e, d)
        case Blk.getrq:
            _ = group(for: e.pid)
            if let k = find(d, sector: e.sector) {
                state[d].tracked[k].g = e.time
                update(\.q2g, d, state[d].tracked[k].group, delta(state[d].tracked[k].time, e.time))
            }
        case Blk.insert:
            _ = group(for: e.pid)
            if let k = find(d, sector: e.sector) {
                state[d].tracked[k].i = e.time
                let q = state[d].tracked[k]
                if q.g != UInt64.max { update(\.g2i, d, q.group, delta(q.g, e.time)) }
            }
        case Blk.backmerge, Blk.frontmerge:
            _ = group(for: e.pid)
            if let k = find(d, sector: e.sector) {
                state[d].tracked[k].m = e.time
                update(\.q2m, d, state[d].tracked[k].group, delta(state[d].tracked[k].time, e.time))
            }
            if state[d].activeQ > 0 { state[d].activeQ -= 1 }
        case Blk.requeue:
            _ = group(for: e.pid)
            devices[d].queued += 1
            devices[d].activeAtQ += state[d].activeQ
            state[d].activeQ += 1
        case Blk.issue: issue(e, d)
        case Blk.complete: complete(e, d)
        default: _ = group(for: e.pid) // remap, sleeprq: tracked by btt, no figure here
        }
    }

    private mutating func queue(_ e: BlkCursor, _ d: Int) {
        let start = e.sector, end = e.sector &+ UInt64(e.bytes >> 9)
        let pos = lowerBound(d, start)
        if pos < state[d].tracked.count && state[d].tracked[pos].start == start { return } // btt ignores it
        guard state[d].tracked.count < Self.maxTracked else { untrackedQueues &+= 1; return }
        let g = group(for: e.pid)
        state[d].tracked.insert(TrackedQ(start: start, end: end, time: e.time, group: g), at: pos)
        state[d].q2q.add(start: start, end: end)
        let dm = state[d].remapper
        if state[d].lastQ != UInt64.max {
            let v = e.time > state[d].lastQ ? e.time - state[d].lastQ : 1
            if dm { devices[d].phases.q2qDM.add(v) } else { devices[d].phases.q2q.add(v) }
        }
        state[d].lastQ = e.time
        if lastQ != UInt64.max {
            let v = e.time > lastQ ? e.time - lastQ : 1
            if dm { all.q2qDM.add(v) } else { all.q2q.add(v) }
        }
        lastQ = e.time
        if groupLastQ[g] != UInt64.max {
            let v = e.time > groupLastQ[g] ? e.time - groupLastQ[g] : 1
            if dm { groups[g].phases.q2qDM.add(v) } else { groups[g].phases.q2q.add(v) }
        }
        groupLastQ[g] = e.time
        devices[d].queued += 1
        devices[d].activeAtQ += state[d].activeQ
        state[d].activeQ += 1
    }

    private mutating func issue(_ e: BlkCursor, _ d: Int) {
        _ = group(for: e.pid)
        if state[d].activeQ > 0 { state[d].activeQ -= 1 }
        let start = e.sector, end = e.sector &+ UInt64(e.bytes >> 9)
        state[d].d2d.add(start: start, end: end)
        devices[d].dispatched += 1
        var k = lowerBound(d, start)
        while k < state[d].tracked.count && state[d].tracked[k].start <= end {
            let q = state[d].tracked[k]
            if q.end <= end {
                if q.i != UInt64.max { update(\.i2d, d, q.group, delta(q.i, e.time)) }
                else if q.m != UInt64.max { update(\.m2d, d, q.group, delta(q.m, e.time)) }
                state[d].tracked[k].d = e.time
            }
            k += 1
        }
    }

    private mutating func complete(_ e: BlkCursor, _ d: Int) {
        _ = group(for: e.pid)
        devices[d].completedBlocks.add(UInt64(e.bytes >> 9))
        let start = e.sector, end = e.sector &+ UInt64(e.bytes >> 9)
        var k = lowerBound(d, start)
        while k < state[d].tracked.count && state[d].tracked[k].start <= end {
            let q = state[d].tracked[k]
            if q.end <= end {
                let q2c = delta(q.time, e.time)
                if state[d].remapper {
                    devices[d].phases.q2cDM.add(q2c); all.q2cDM.add(q2c); groups[q.group].phases.q2cDM.add(q2c)
                } else {
                    update(\.q2c, d, q.group, q2c)
                }
                if q.d != UInt64.max { update(\.d2c, d, q.group, delta(q.d, e.time)) }
                state[d].tracked.remove(at: k)
            } else {
                k += 1
            }
        }
    }

    /// blkparse -s: every fs event counts for its pid.
    private mutating func countForPid(_ e: BlkCursor, code: UInt32, write w: Bool) {
        let b = UInt64(e.bytes)
        switch code {
        case Blk.queue, Blk.backmerge, Blk.frontmerge, Blk.requeue, Blk.issue, Blk.complete, Blk.unplugIO, Blk.unplugTimer: break
        default: return
        }
        var k = pidIndex[e.pid] ?? -1
        if k < 0 {
            guard pidStats.count < Self.maxProcesses else { untrackedPidEvents &+= 1; return }
            k = pidStats.count
            pidIndex[e.pid] = k
            pidStats.append(BtPid(pid: e.pid, name: pidFirstName[e.pid] ?? "unknown"))
        }
        if code == Blk.backmerge || code == Blk.frontmerge {
            let d = deviceSlot(e.device)
            if code == Blk.backmerge { devices[d].backMerges += 1; devices[d].backMergeBytes += b }
            else { devices[d].frontMerges += 1; devices[d].frontMergeBytes += b }
        }
        switch (code, w) {
        case (Blk.queue, false): pidStats[k].readsQueued += 1; pidStats[k].readBytesQueued += b
        case (Blk.queue, true): pidStats[k].writesQueued += 1; pidStats[k].writeBytesQueued += b
        case (Blk.issue, false): pidStats[k].readDispatches += 1; pidStats[k].readBytesDispatched += b
        case (Blk.issue, true): pidStats[k].writeDispatches += 1; pidStats[k].writeBytesDispatched += b
        case (Blk.complete, false): pidStats[k].readsCompleted += 1; pidStats[k].readBytesCompleted += b
        case (Blk.complete, true): pidStats[k].writesCompleted += 1; pidStats[k].writeBytesCompleted += b
        case (Blk.backmerge, false), (Blk.frontmerge, false): pidStats[k].readMerges += 1; pidStats[k].readBytesMerged += b
        case (Blk.backmerge, true), (Blk.frontmerge, true): pidStats[k].writeMerges += 1; pidStats[k].writeBytesMerged += b
        case (Blk.requeue, _): pidStats[k].requeues += 1
        case (Blk.unplugIO, _): pidStats[k].unplugs += 1
        default: pidStats[k].timerUnplugs += 1
        }
    }

    private mutating func finish() {
        for d in 0..<state.count {
            devices[d].q2qSeeks = state[d].q2q.result
            devices[d].d2dSeeks = state[d].d2d.result
        }
        // Merges and pid counts happen on devices btt never tracked too; devices with
        // no event btt counts stay listed (btt lists them with empty figures).
    }

    // MARK: Helpers

    @inline(__always) private func delta(_ from: UInt64, _ to: UInt64) -> UInt64 { from < to ? to - from : 1 }

    private mutating func update(_ phase: WritableKeyPath<BtPhases, BtStat>, _ d: Int, _ g: Int, _ v: UInt64) {
        all[keyPath: phase].add(v)
        devices[d].phases[keyPath: phase].add(v)
        groups[g].phases[keyPath: phase].add(v)
    }

    private mutating func deviceSlot(_ device: UInt32) -> Int {
        if let k = deviceIndex[device] { return k }
        let k = devices.count
        deviceIndex[device] = k
        let major = device >> 20
        devices.append(BtDevice(device: DeviceNumber(major: major, minor: device & 0xfffff)))
        state.append(DeviceState(remapper: major == 9 || major == 253 || major == 254))
        return k
    }

    /// The first tracked Q of device `d` starting at or after `sector`.
    private func lowerBound(_ d: Int, _ sector: UInt64) -> Int {
        var lo = 0, hi = state[d].tracked.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if state[d].tracked[mid].start < sector { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The tracked Q whose sectors contain `sector`.
    private func find(_ d: Int, sector: UInt64) -> Int? {
        var k = lowerBound(d, sector &+ 1)
        guard k > 0 else { return nil }
        k -= 1
        let q = state[d].tracked[k]
        return q.start <= sector && sector < q.end ? k : nil
    }

    /// btt's process for a pid: the one a notify record named, else `pidNNNNNNNNN`.
    private mutating func group(for pid: UInt32) -> Int {
        if let g = groupByPid[pid] { return g }
        let name = "pid" + String(repeating: "0", count: max(0, 9 - String(pid).count)) + String(pid)
        return newGroup(pid: pid, name: name)
    }

    /// A notify record: the pid joins the process of that name (btt's `process_alloc`);
    /// a pid already known keeps its process.
    private mutating func nameProcess(pid: UInt32, name: String) {
        if groupByPid[pid] != nil { return }
        if let g = groupByName[name] { groupByPid[pid] = g; return }
        _ = newGroup(pid: pid, name: name)
    }

    private mutating func newGroup(pid: UInt32, name: String) -> Int {
        if let g = groupByName[name] { groupByPid[pid] = g; return g }
        if groups.count >= Self.maxProcesses {
            // Bounded: further processes share one entry.
            let other = "(other processes)"
            if let g = groupByName[other] { groupByPid[pid] = g; return g }
        }
        let g = groups.count
        let n = groups.count >= Self.maxProcesses ? "(other processes)" : name
        groups.append(BtProcess(name: n))
        groupLastQ.append(UInt64.max)
        groupByName[n] = g
        groupByPid[pid] = g
        return g
    }

    private func notifyName(_ e: BlkCursor) -> String? {
        let skip = e.action & Blk.cgroupFlag != 0 ? 8 : 0
        guard let p = e.pdu, e.pduLength > skip else { return nil }
        let raw = UnsafeRawBufferPointer(start: p + skip, count: e.pduLength - skip)
        let end = raw.firstIndex(of: 0) ?? raw.count
        return String(decoding: raw[..<end], as: UTF8.self)
    }
}

/// Seek distances of one device and kind (btt's `seek.c`), exact while there are few
/// distinct distances, then a histogram.
struct SeekCounter {
    var lastStart: UInt64 = 0
    var lastEnd: UInt64 = 0
    var count: UInt64 = 0
    var total: Double = 0
    var exact: [UInt64: UInt64] = [:]
    var histogram: Histogram<UInt64>?

    mutating func add(start: UInt64, end: UInt64) {
        let dist: UInt64
        if (lastStart <= start && start <= lastEnd) || (lastStart <= end && end <= lastEnd) {
            dist = 0
        } else if start > lastEnd {
            dist = start - lastEnd
        } else {
            dist = lastStart > start ? lastStart - start : start - lastStart
        }
        lastStart = start
        lastEnd = end
        count += 1
        total += Double(dist)
        if var h = histogram {
            histogram = nil
            h.record(dist)
            histogram = h
        } else {
            exact[dist, default: 0] += 1
            if exact.count > BtAnalysis.maxDistinctSeeks {
                var h = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
                h.autoResize = true
                for (v, n) in exact { h.record(v, count: n) }
                exact = [:]
                histogram = h
            }
        }
    }

    var result: BtSeeks {
        var s = BtSeeks(count: count, totalSectors: total)
        if let h = histogram {
            s.exact = false
            s.median = h.valueAtPercentile(50)
            return s
        }
        let sorted = exact.sorted { $0.key < $1.key }
        let rank = (count + 1) / 2
        var seen: UInt64 = 0
        for (v, n) in sorted {
            seen += n
            if seen >= rank { s.median = v; break }
        }
        var best: (UInt64, UInt64)?
        for (v, n) in sorted where best == nil || n > best!.1 { best = (v, n) }
        s.mode = best.map { (distance: $0.0, count: $0.1) }
        return s
    }
}
