import Foundation
import Testing
@testable import FioTrace

/// The per-interval figures of `info --timeseries` and `report`, against counts and
/// percentiles computed straight from the records.
@Suite struct IntervalSeriesTests {
    /// Exact nearest-rank percentile of `v` (sorted).
    func nearestRank(_ v: [UInt64], _ p: Double) -> UInt64 {
        let rank = max(1, Int((p / 100 * Double(v.count)).rounded(.up)))
        return v[rank - 1]
    }

    @Test func bucketsCoverEveryValueOnce() {
        var rng = TestRNG(seed: 5)
        var values: [UInt64] = Array(0..<5000)
        for _ in 0..<20000 { values.append(rng.next() >> rng.below(64)) }
        for v in values {
            let b = BinHistogram.bucket(v)
            #expect(b >= 0 && b < BinHistogram.buckets)
            if b < BinHistogram.buckets - 1 {
                // v lies in [lower(b), lower(b + 1)) and the midpoint is within 6.25 % of it.
                #expect(BinHistogram.lowerBound(b) <= v && v < BinHistogram.lowerBound(b + 1))
                let mid = Double(BinHistogram.midpoint(b))
                #expect(abs(mid - Double(v)) <= Double(v) * 0.0625 + 0.5)
            } else {
                #expect(v >= BinHistogram.lowerBound(b))
            }
        }
    }

    @Test func adaptiveSeriesMatchesDirectBinning() {
        let recs = randomRecords(30_000, files: 3, seed: 21)
        var s = IntervalSeries(widthNs: 1_000_000, mode: .adaptive(maxBins: 64))
        recs.withUnsafeBufferPointer { s.add($0) }
        s.finish()
        // The width doubled until the trace fit in 64 intervals.
        let last = recs.map(\.time).max()!
        #expect(s.count <= 64)
        #expect(last / s.widthNs < 64)
        #expect(s.widthNs == 1_000_000 << UInt64(s.widthNs.trailingZeroBitCount - UInt64(1_000_000).trailingZeroBitCount))
        #expect(last / (s.widthNs / 2) >= 64) // one doubling fewer would not do
        var ios: [String: [UInt64]] = [:], bytes: [String: [UInt64]] = [:], errs: [String: [UInt64]] = [:]
        var lat: [String: [[UInt64]]] = [:]
        var depthSum = [UInt64](repeating: 0, count: s.count), depthN = depthSum, depthMax = depthSum
        var sizes = [[UInt64]](repeating: [UInt64](repeating: 0, count: 16), count: s.count)
        for r in recs {
            let i = Int(r.time / s.widthNs), k = r.op.fioName
            ios[k, default: Array(repeating: 0, count: s.count)][i] += 1
            if r.op.isData {
                bytes[k, default: Array(repeating: 0, count: s.count)][i] += r.length
                let c = r.length <= 512 ? 0 : min(15, Int(ceil(log2(Double(r.length)))) - 9)
                sizes[i][c] += 1
            }
            if (r.result ?? 0) < 0 { errs[k, default: Array(repeating: 0, count: s.count)][i] += 1 }
            if let l = r.latency { lat[k, default: Array(repeating: [], count: s.count)][i].append(l) }
            if let d = r.depth {
                depthSum[i] += UInt64(d); depthN[i] += 1; depthMax[i] = max(depthMax[i], UInt64(d))
            }
        }
        var total: UInt64 = 0
        for i in 0..<s.count {
            let f = s.figures(UInt64(i))
            #expect(f.startNs == UInt64(i) * s.widthNs)
            for op in IntervalSeries.slotOps {
                let k = op.fioName
                let o = f.op(op)
                #expect((o?.ios ?? 0) == (ios[k]?[i] ?? 0), "interval \(i) \(k) ios")
                if op.isData { #expect((o?.bytes ?? 0) == (bytes[k]?[i] ?? 0)) }
                #expect((o?.errors ?? 0) == (errs[k]?[i] ?? 0))
                let v = (lat[k]?[i] ?? []).sorted()
                if v.isEmpty {
                    #expect(o?.latency == nil)
                } else {
                    let l = o!.latency!
                    #expect(l.count == UInt64(v.count))
                    #expect(l.min == v.first! && l.max == v.last!)
                    for (p, got) in [(50.0, l.p50), (90.0, l.p90), (99.0, l.p99)] {
                        let want = nearestRank(v, p)
                        #expect(abs(Double(got) - Double(want)) <= Double(want) * 0.0625 + 1, "interval \(i) \(k) p\(p): \(got) vs \(want)")
                    }
                }
            }
            total += f.ios
            #expect(f.sizes == sizes[i])
            #expect(f.depthCount == depthN[i] && UInt64(f.depthMax) == depthMax[i])
            if depthN[i] > 0 { #expect(abs(f.depthMean - Double(depthSum[i]) / Double(depthN[i])) < 1e-9) }
        }
        #expect(total == UInt64(recs.filter { !$0.op.isFileEvent }.count))
        #expect(s.records == total)
    }

    @Test func streamingEmitsEveryIntervalInOrder() {
        var recs = randomRecords(20_000, files: 2, seed: 33, optionals: false)
        // File events are not counted; a long idle gap leaves empty intervals.
        recs.insert(TraceRecord(time: 0, op: .add, file: 0), at: 0)
        let gap: UInt64 = 3_000_000_000
        for i in 10_000..<recs.count { recs[i].time += gap }
        let width: UInt64 = 10_000_000
        var out: [IntervalFigures] = []
        var s = IntervalSeries(widthNs: width, mode: .streaming(window: 8)) { out.append($0) }
        for chunk in stride(from: 0, to: recs.count, by: 777) {
            recs[chunk..<min(chunk + 777, recs.count)].withUnsafeBufferPointer { s.add($0) }
        }
        s.finish()
        let last = Int(recs.map(\.time).max()! / width)
        #expect(out.count == last + 1)
        #expect(out.map(\.index) == (0...UInt64(last)).map { $0 })
        #expect(s.misplaced == 0)
        var want = [UInt64](repeating: 0, count: last + 1)
        for r in recs where !r.op.isFileEvent { want[Int(r.time / width)] += 1 }
        #expect(out.map(\.ios) == want)
        #expect(want.contains(0)) // the gap's intervals are there, empty
    }

    @Test func streamingCountsLateRecordsInTheOldestOpenInterval() {
        let width: UInt64 = 1_000
        var out: [IntervalFigures] = []
        var s = IntervalSeries(widthNs: width, mode: .streaming(window: 4)) { out.append($0) }
        let times: [UInt64] = [500, 1500, 9500, 2500, 6200, 0]
        // 9500 pushes intervals 0...5 out (interval 9 needs room in a window of 4); 2500 and
        // 0 then land in the oldest interval still open (6), 6200 on time.
        for t in times { s.add(TraceRecord(time: t, op: .read, file: 0, length: 4096)) }
        s.finish()
        #expect(s.misplaced == 2)
        #expect(out.map(\.ios) == [1, 1, 0, 0, 0, 0, 3, 0, 0, 1])
        #expect(out.reduce(0) { $0 + $1.ios } == UInt64(times.count))
    }

    @Test func latenessColumnAndCoarseningKeepTotals() {
        var s = IntervalSeries(widthNs: 100, mode: .adaptive(maxBins: 8))
        var all: [UInt64] = []
        for i in 0..<1000 {
            let t = UInt64(i) * 37
            s.add(TraceRecord(time: t, op: .write, file: 0, length: 8192))
            s.addLateness(time: t, value: UInt64(i % 50) * 1000)
            all.append(UInt64(i % 50) * 1000)
        }
        s.coarsen(toWidth: s.widthNs * 4)
        var n: UInt64 = 0, maxL: UInt64 = 0
        for i in 0..<s.count {
            let f = s.figures(UInt64(i))
            n += f.lateness?.count ?? 0
            maxL = max(maxL, f.lateness?.max ?? 0)
            #expect(f.op(.write)?.sizes?[4] == f.ios) // 8 KiB: class 4, (4 KiB, 8 KiB]
        }
        #expect(n == 1000 && maxL == 49_000)
        #expect(s.count <= 8)
    }

    @Test func heatMapCellsMatchHandComputedGrid() {
        var m = OffsetHeatMap(file: 0, columnNs: 1_000, sizeHint: nil)
        var rng = TestRNG(seed: 9)
        var recs: [(UInt64, UInt64, Bool)] = []
        for _ in 0..<5000 {
            recs.append((rng.below(2_000_000_000), rng.below(1 << 36), rng.below(3) == 0))
        }
        for r in recs { m.add(time: r.0, offset: r.1, isRead: r.2) }
        #expect(m.ios == 5000)
        // Widths doubled until everything fit in 256 x 128.
        #expect(recs.allSatisfy { $0.0 / m.columnNs < 256 && $0.1 / m.rowBytes < 128 })
        var cells: [Int: (UInt64, UInt64)] = [:]
        for r in recs {
            let k = Int(r.0 / m.columnNs) * OffsetHeatMap.rows + Int(r.1 / m.rowBytes)
            var c = cells[k] ?? (0, 0)
            if r.2 { c.0 += 1 } else { c.1 += 1 }
            cells[k] = c
        }
        for c in 0..<OffsetHeatMap.columns {
            for r in 0..<OffsetHeatMap.rows {
                let want = cells[c * OffsetHeatMap.rows + r] ?? (0, 0)
                #expect(UInt64(m.reads[c * OffsetHeatMap.rows + r]) == want.0)
                #expect(UInt64(m.writes[c * OffsetHeatMap.rows + r]) == want.1)
            }
        }
        #expect(m.usedColumns == Int(recs.map { $0.0 / m.columnNs }.max()!) + 1)
        #expect(m.usedRows == Int(recs.map { $0.1 / m.rowBytes }.max()!) + 1)
    }

    @Test func matcherPairsReplayedIOsWithTheirRecords() {
        // The trace: reads and writes, a sync, file events; the replay skipped the trims
        // (--skip trim) and ran at speed 2, each I/O 3 µs late, the writes 40 µs.
        var trace: [TraceRecord] = [TraceRecord(time: 0, op: .add, file: 0)]
        for i in 0..<300 {
            let op: TraceOp = i % 10 == 9 ? .trim : (i % 3 == 0 ? .write : .read)
            trace.append(TraceRecord(time: UInt64(i) * 10_000, op: op, file: 0, offset: UInt64(i) * 4096, length: 4096))
        }
        trace.append(TraceRecord(time: 3_000_000, op: .sync, file: 0))
        var replayed: [TraceRecord] = []
        for r in trace where !r.op.isFileEvent && r.op != .trim {
            var x = r
            x.time = r.time / 2 + (r.op == .write ? 40_000 : 3_000)
            x.offset = r.offset * 2 // --scale moves offsets: not compared
            replayed.append(x)
        }
        var m = ReplayMatcher(speed: 2, byStream: false)
        var pulled = 0
        var lates: [UInt64] = []
        for r in replayed {
            loop: while true {
                switch m.match(r, originalEnded: pulled >= trace.count) {
                case .needOriginal:
                    let next = trace[pulled..<min(pulled + 50, trace.count)]
                    next.withUnsafeBufferPointer { m.addOriginal($0) }
                    pulled += next.count
                case .matched(let l): lates.append(l); break loop
                case .unmatched: Issue.record("unpaired \(r)"); break loop
                }
            }
        }
        m.finish()
        #expect(m.matched == UInt64(replayed.count))
        #expect(m.skippedOriginal == 30) // the trims
        #expect(m.unmatchedReplayed == 0)
        #expect(lates == replayed.map { $0.op == .write ? 40_000 : 3_000 })
        #expect(m.within10us == UInt64(replayed.filter { $0.op != .write }.count))
        #expect(m.histogram.maxValue == 40_000)
    }

    @Test func matcherPairsWithinStreams() {
        // Two streams replayed on two threads: the recording interleaves them differently
        // from the trace, but each stream keeps its order.
        var trace: [TraceRecord] = []
        for i in 0..<200 {
            trace.append(TraceRecord(time: UInt64(i) * 1000, op: .read, file: 0, length: 4096 * UInt64(1 + i % 2), stream: UInt32(i % 2)))
        }
        let s0 = trace.filter { $0.stream == 0 }, s1 = trace.filter { $0.stream == 1 }
        var rec: [TraceRecord] = []
        for (k, r) in s1.enumerated() { var x = r; x.time += 500; rec.append(x); if k < s0.count { var y = s0[k]; y.time += 7; rec.append(y) } }
        var m = ReplayMatcher(speed: 1, byStream: true)
        trace.withUnsafeBufferPointer { m.addOriginal($0) }
        var lates: [UInt64] = []
        for r in rec {
            if case .matched(let l) = m.match(r, originalEnded: true) { lates.append(l) }
        }
        m.finish()
        #expect(m.matched == 200 && m.skippedOriginal == 0 && m.unmatchedReplayed == 0)
        #expect(lates == rec.map { $0.stream == 1 ? 500 : 7 })
        // In one sequence the same recording pairs badly: lengths alternate by stream.
        var one = ReplayMatcher(speed: 1, byStream: false)
        trace.withUnsafeBufferPointer { one.addOriginal($0) }
        for r in rec { _ = one.match(r, originalEnded: true) }
        #expect(one.matched < 200)
    }
}
