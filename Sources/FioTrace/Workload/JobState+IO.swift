#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension JobState {
    // MARK: one I/O

    @inline(__always) func serviceTime(_ len: UInt64) -> UInt64 {
        serviceBW == 0 ? serviceTime : serviceTime &+ len &* 1_000_000_000 / serviceBW
    }

    mutating func emitSync(_ op: TraceOp, file fi: Int, _ r: inout TraceRecord) {
        let t = max(clock, maxCompletion)
        let done = t &+ serviceTime
        clock = done
        maxCompletion = done
        for i in 0..<depth { ring[i] = done }
        let lp = lastPos(fi)
        let prevEnd = max(lp[1], lp[0], lp[2])
        r = TraceRecord(time: t, op: op, file: files[fi].index, offset: prevEnd, length: 0, stream: stream, flags: [])
    }

    /// fio's fill_io_u for a data direction: offset, length, random map, then the time.
    mutating func fill(file fi: Int, dir d: DataDirection, _ r: inout TraceRecord) -> Bool {
        let di = d.rawValue
        var offset: UInt64
        var len: UInt64
        if trimWrite && d == .write {
            // The write of a trim+write pair covers exactly what was trimmed.
            offset = lastStart(fi)[2]
            len = lastPos(fi)[2] &- offset
        } else {
            guard let o = nextOffset(file: fi, dir: d) else { return false }
            offset = o.offset
            guard let l = nextLength(file: fi, dir: d, offset: offset) else { return false }
            len = l
            if offset &+ len > files[fi].realSize { return false }
            if o.mark {
                if mapMode == .bitmap {
                    let unit = files[fi].bitmapUnit
                    let first = (offset - files[fi].fileOffset) / unit
                    let run = files[fi].bitmap!.setRun(from: first, max: (len + unit - 1) / unit)
                    if run == 0 { return false }
                    if run * unit < len { len = run * unit }
                }
            }
        }
        lastStart(fi)[di] = offset
        lastPos(fi)[di] = offset &+ len

        // Time.
        var t: UInt64
        if rated[di] > 0 {
            t = max(clock, jobStart &+ rateNext[di])
        } else {
            t = max(clock, ring[ringPos])
        }
        let done = t &+ serviceTime(len)
        ring[ringPos] = done
        ringPos = ringPos + 1 == depth ? 0 : ringPos + 1
        if done > maxCompletion { maxCompletion = done }
        clock = t
        if rated[di] > 0 {
            rateBytes[di] &+= len
            if poisson {
                let u: Double
                switch d {
                case .read: u = rngPoisson.0.nextOpenDouble()
                case .write: u = rngPoisson.1.nextOpenDouble()
                case .trim: u = rngPoisson.2.nextOpenDouble()
                }
                rateNext[di] &+= UInt64(-log(u) * poissonMean(di))
            } else {
                let (hi, lo) = rateBytes[di].multipliedFullWidth(by: 1_000_000_000)
                rateNext[di] = rated[di].dividingFullWidth((hi, lo)).quotient
            }
        }

        r = TraceRecord(time: t, op: d.op, file: files[fi].index, offset: offset, length: len, stream: stream,
                        flags: d == .write ? writeFlags : dataFlags)
        passBytes &+= len
        bytesIssued[di] &+= len
        cumBytes &+= len &* cumWeight[di]
        ioIssues[di] &+= 1
        dataIOs &+= 1
        lastWasSync = false
        if d == .write {
            let w = ioIssues[1]
            if fsyncEvery > 0 && w % fsyncEvery == 0 {
                pendingSync = .sync
            } else if fdatasyncEvery > 0 && w % fdatasyncEvery == 0 {
                pendingSync = .datasync
            }
        }
        if thinktime > 0 {
            thinkCount &+= 1
            if thinkCount >= thinktimeBlocks {
                thinkCount = 0
                clock = max(clock, maxCompletion) &+ thinktime
                maxCompletion = clock
                for i in 0..<depth { ring[i] = clock }
            }
        }
        return true
    }

    /// fio's get_next_block. `mark`: the I/O goes into the random map (not for the
    /// sequential stretches of a random job, which fio issues "busy ok").
    @inline(__always) mutating func nextOffset(file fi: Int, dir d: DataDirection) -> (offset: UInt64, mark: Bool)? {
        var rwSeqHit = true
        if job.ddirSeqNr > 1 {
            ddirSeqCounter -= 1
            if ddirSeqCounter == 0 {
                ddirSeqCounter = job.ddirSeqNr
            } else {
                rwSeqHit = false
            }
        }
        if rwSeqHit {
            if isRandom {
                if shouldDoRandom(d) {
                    guard let b = randomOffset(file: fi, dir: d) else { return nil }
                    return (b, true)
                }
                if let o = seqOffset(file: fi, dir: d) { return (o, false) }
                guard let b = randomOffset(file: fi, dir: d) else { return nil }
                return (b, true)
            }
            guard let o = seqOffset(file: fi, dir: d) else { return nil }
            return (o, false)
        }
        if job.rwSequencer == .identical {
            let ls = lastStart(fi)[d.rawValue]
            return (ls != noStart ? ls : files[fi].fileOffset, false)
        }
        if let o = seqOffset(file: fi, dir: d) { return (o, false) }
        guard let b = randomOffset(file: fi, dir: d) else { return nil }
        return (b, false)
    }

    @inline(__always) mutating func shouldDoRandom(_ d: DataDirection) -> Bool {
        let p = Int(percentRandom[d.rawValue])
        if p >= 100 { return true }
        let v: Int
        switch d {
        case .read: v = rngSeqRand.0.percent()
        case .write: v = rngSeqRand.1.percent()
        case .trim: v = rngSeqRand.2.percent()
        }
        return v <= p
    }

    /// fio's get_next_seq_offset (absolute offset), nil at the end of the region.
    @inline(__always) func seqOffset(file fi: Int, dir d: DataDirection) -> UInt64? {
        let f = files + fi
        var pos = lastPos(fi)[d.rawValue] - f.pointee.fileOffset
        if pos > 0 && job.ddirSeqAdd > 0 {
            pos += UInt64(job.ddirSeqAdd)
            // fio compares this region-relative position with the absolute file size and
            // wraps to the (absolute) start offset: with offset=0 the holes wrap around
            // until size bytes are done; with an offset the file simply ends. Kept as is.
            if pos >= f.pointee.realSize { pos = f.pointee.fileOffset }
        }
        if pos >= f.pointee.ioSize { return nil }
        return f.pointee.fileOffset + pos
    }

    /// A random offset (absolute) by the job's distribution, nil when the map is full.
    @inline(__always) mutating func randomOffset(file fi: Int, dir d: DataDirection) -> UInt64? {
        let di = d.rawValue
        let lastb = lastBlocks(fi)[di]
        if lastb == 0 { return nil }
        let base = files[fi].fileOffset
        switch mapMode {
        case .permutation:
            let f = files + fi
            if f.pointee.bufPos == f.pointee.bufLen {
                refillBlocks(fi)
                if f.pointee.bufLen == 0 { return nil }
            }
            let b = storage.blocks[fi &* JobStorage.blockBatch &+ f.pointee.bufPos]
            f.pointee.bufPos &+= 1
            return base + b * ba[di]
        case .uniform:
            return base + rngOffset.below(lastb) * ba[di]
        case .bitmap:
            let unit = files[fi].bitmapUnit
            let b = rngOffset.below(lastb)
            var idx = b * ba[di] / unit
            if files[fi].bitmap!.isSet(idx) {
                guard let nf = files[fi].bitmap!.nextFree(after: idx) else { return nil }
                idx = nf
            }
            return base + idx * unit
        case .ranked:
            let f = files + fi
            let rank = f.pointee.ranked!.next(&f.pointee.distRNG)
            let block = f.pointee.scatter!.block(ofRank: rank)
            var off = block * f.pointee.rangeSize
            off -= off % ba[di]
            let last = lastb &* ba[di]
            if off >= last { off = last - ba[di] }
            return base + off
        case .zoned:
            let v = rngZone.percent() - 1
            let zt = zoneTables[di]
            if zt.start[v] == .max {
                return base + rngOffset.below(lastb) * ba[di]
            }
            if zt.absolute {
                let stotal = zt.start[v] / ba[di]
                let send = zt.end[v] / ba[di]
                if send > lastb || send <= stotal { return nil }
                return base + (stotal + rngOffset.below(send - stotal)) * ba[di]
            }
            let startB = zt.start[v] * lastb / 100
            let range = lastb * (zt.end[v] - zt.start[v]) / 100
            if range == 0 { return base + startB * ba[di] }
            return base + (startB + rngOffset.below(range)) * ba[di]
        }
    }

    /// Computes the next blocks of the file's random map in one go. The order is the
    /// permutation's round function applied to a counter running over the whole 2^b
    /// domain, keeping the values below n: every block exactly once per pass. The loop is
    /// branch-free (the keep decision only moves the write cursor), so the rounds of
    /// successive counters overlap in the CPU.
    func refillBlocks(_ fi: Int) {
        let f = files + fi
        let p = f.pointee.perm
        let n = f.pointee.permCount
        let domain = p.domain
        var i = f.pointee.permIndex
        let out = storage.blocks + fi &* JobStorage.blockBatch
        let cap = JobStorage.blockBatch
        var w = 0
        if n > 0 {
            while w < cap && i < domain {
                let y = p.round(i)
                out[w] = y
                w &+= y < n ? 1 : 0
                i &+= 1
            }
        }
        f.pointee.permIndex = i
        f.pointee.bufPos = 0
        f.pointee.bufLen = w
    }

    /// fio's get_next_buflen: fixed, bsrange (uniform, aligned to the minimum) or bssplit,
    /// redrawn until the I/O fits in the region. nil when not even the minimum fits.
    @inline(__always) mutating func nextLength(file fi: Int, dir d: DataDirection, offset: UInt64) -> UInt64? {
        let di = d.rawValue
        let minbs = minBS[di], maxbs = maxBS[di]
        if minbs == maxbs { return minbs }
        let end = files[fi].fileOffset + files[fi].ioSize
        if offset + minbs > end { return nil }
        let split = splits[di]
        var tries = 0
        while true {
            let u: Double
            switch d {
            case .read: u = rngBS.0.nextDouble()
            case .write: u = rngBS.1.nextDouble()
            case .trim: u = rngBS.2.nextDouble()
            }
            var buflen: UInt64
            if split.isEmpty {
                buflen = minbs + UInt64(Double(maxbs) * u)
            } else {
                buflen = minbs
                var perc = 0
                let x = u * 100
                for s in split where s.percent > 0 {
                    buflen = s.bs
                    perc += s.percent
                    if x < Double(perc) && offset + buflen <= end { break }
                }
            }
            if !job.bsUnaligned {
                if minbs & (minbs - 1) == 0 { buflen &= ~(minbs - 1) } else { buflen -= buflen % minbs }
            }
            if buflen > maxbs { buflen = maxbs }
            if buflen > 0 && offset + buflen <= end { return buflen }
            tries += 1
            if tries > 64 {
                // Only sizes that the draw rarely picks fit: take the largest that does.
                var best: UInt64 = minbs
                for s in split where s.bs > best && offset + s.bs <= end { best = s.bs }
                if split.isEmpty { best = min(maxbs, (end - offset) / minbs * minbs) }
                return best
            }
        }
    }
}
