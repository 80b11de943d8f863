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
        r = TraceRecord(time: t, op: op, file: files[fi].index, offset: lastDataOffset, length: 0, stream: stream, flags: [])
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
            if mapMode == .bitmap {
                // fio's mark_random_map, in the direction's minimum block size: the I/O is
                // cut at the first block already done ("busy ok" I/Os are not marked).
                let unit = minBS[d.rawValue]
                let first = (offset - files[fi].fileOffset) / unit
                let want = len / unit + (len % unit != 0 ? 1 : 0)
                let run = o.mark ? files[fi].bitmap!.setRun(from: first, max: want) : want
                if run == 0 { return false }
                if run * unit < len { len = run * unit }
            }
        }
        lastStart(fi)[di] = offset
        lastPos(fi)[di] = offset &+ len
        lastDataOffset = offset
        serviceFails = 0

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
                    guard let b = randBlock(file: fi, dir: d) else { return nil }
                    return (b, true)
                }
                // The sequential stretch is "busy ok": not marked, nor is the random
                // offset fio falls back to at the end of the region.
                if let o = seqOffset(file: fi, dir: d) { return (o, false) }
                guard let b = randBlock(file: fi, dir: d) else { return nil }
                return (b, false)
            }
            guard let o = seqOffset(file: fi, dir: d) else { return nil }
            return (o, false)
        }
        if job.rwSequencer == .identical {
            let ls = lastStart(fi)[d.rawValue]
            return (ls != noStart ? ls : files[fi].fileOffset, false)
        }
        if let o = seqOffset(file: fi, dir: d) { return (o, false) }
        guard let b = randBlock(file: fi, dir: d) else { return nil }
        return (b, false)
    }

    @inline(__always) mutating func shouldDoRandom(_ d: DataDirection) -> Bool {
        let p = Int(percentRandom[d.rawValue])
        if p >= 100 { return true }
        let v: Int
        // Three states, seeded alike (fio seeds all three from the read one's seed).
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

    /// fio's get_next_rand_block: time_based jobs and non-uniform file service start the
    /// file over (map and positions) and draw again when no offset is left.
    @inline(__always) mutating func randBlock(file fi: Int, dir d: DataDirection) -> UInt64? {
        if let b = randomOffset(file: fi, dir: d) { return b }
        if job.timeBased || nonUniformService {
            resetFile(fi)
            return randomOffset(file: fi, dir: d)
        }
        return nil
    }

    /// fio's __get_next_rand_offset: a block in [0, lastb) from the offsets' state, and
    /// with the random map, the next free block after it (wrapping) when it is done.
    /// nil when the map is full.
    @inline(__always) mutating func uniformBlock(file fi: Int, lastb: UInt64) -> UInt64? {
        var b = rngOffset.scaled(lastb)
        if mapMode == .bitmap {
            let map = files[fi].bitmap!
            if b < map.count && map.isSet(b) {
                guard let nf = map.nextFree(after: b) else { return nil }
                b = nf
            }
        }
        return b
    }

    /// A random offset (absolute) by the job's distribution (fio's get_next_rand_offset),
    /// nil when there is none (the map is full, or a zoned_abs zone passes the end).
    @inline(__always) mutating func randomOffset(file fi: Int, dir d: DataDirection) -> UInt64? {
        let di = d.rawValue
        let lastb = lastBlocks(fi)[di]
        let base = files[fi].fileOffset
        switch mapMode {
        case .bitmap, .uniform:
            if lastb == 0 { return nil }
            guard let b = uniformBlock(file: fi, lastb: lastb) else { return nil }
            return base &+ b &* ba[di]
        case .ranked:
            // fio: the rank's range number times the block alignment, checked by the caller.
            let b = files[fi].rank!.next()
            let (o, ov) = b.multipliedReportingOverflow(by: ba[di])
            if ov || o >= files[fi].ioSize { return nil }
            return base &+ o
        case .zoned:
            if lastb == 0 { return nil }
            let has = di == 0 ? hasZones.0 : (di == 1 ? hasZones.1 : hasZones.2)
            let zt = zoneTables[di]
            if !has {
                guard let b = uniformBlock(file: fi, lastb: lastb) else { return nil }
                return base &+ b &* ba[di]
            }
            let v = rngZone.percent() - 1
            if zt.start[v] == .max {
                guard let b = uniformBlock(file: fi, lastb: lastb) else { return nil }
                return base &+ b &* ba[di]
            }
            if zt.absolute {
                let stotal = zt.start[v] / ba[di]
                let send = zt.end[v] / ba[di]
                if send > lastb { return nil }
                guard let b = uniformBlock(file: fi, lastb: send &- stotal) else { return nil }
                return base &+ (b &+ stotal) &* ba[di]
            }
            // fio keeps these percentages in unsigned ints and the product in 64 bits.
            let stotal = zt.start[v], send = zt.end[v]
            let off = stotal != 0 ? stotal &* lastb / 100 : 0
            let range = lastb &* (send &- stotal) / 100
            guard let b = uniformBlock(file: fi, lastb: range) else { return nil }
            return base &+ (b &+ off) &* ba[di]
        }
    }

    /// fio's get_next_buflen: fixed, bsrange (minimum plus a scaled draw of the maximum,
    /// aligned down to the minimum) or bssplit (the first entry whose cumulative share the
    /// draw falls under and that fits), redrawn until the I/O fits in the region. nil when
    /// not even the minimum fits.
    @inline(__always) mutating func nextLength(file fi: Int, dir d: DataDirection, offset: UInt64) -> UInt64? {
        let di = d.rawValue
        let minbs = minBS[di], maxbs = maxBS[di]
        if minbs == maxbs { return minbs }
        let end = files[fi].fileOffset + files[fi].ioSize
        if offset > end || end - offset < minbs { return nil }
        let room = end - offset
        let split = splits[di]
        var tries = 0
        while true {
            var r: UInt64
            let range: Double
            switch d {
            case .read: r = rngBS.0.next(); range = rngBS.0.range
            case .write: r = rngBS.1.next(); range = rngBS.1.range
            case .trim: r = rngBS.2.next(); range = rngBS.2.range
            }
            var buflen: UInt64
            if split.isEmpty {
                buflen = minbs &+ FioRand.toUInt64(Double(maxbs) * (Double(r) / range))
            } else {
                // frand_max / 100, and r / cumulative percent, in integers as fio has them.
                let cut = (range == 4_294_967_296.0 ? UInt64(UInt32.max) : UInt64.max) / 100
                buflen = minbs
                var perc: UInt64 = 0
                for s in split where s.percent > 0 {
                    buflen = s.bs
                    perc += UInt64(s.percent)
                    if r / perc <= cut && buflen <= room { break }
                }
                r = 0
            }
            if !job.bsUnaligned {
                if minbs & (minbs - 1) == 0 { buflen &= ~(minbs - 1) } else { buflen -= buflen % minbs }
            }
            if buflen > maxbs { buflen = maxbs }
            if buflen <= room { return buflen }
            tries += 1
            if tries > 1_000_000 {
                // fio would go on drawing; only sizes the draw almost never picks fit.
                var best: UInt64 = minbs
                for s in split where s.bs > best && s.bs <= room { best = s.bs }
                if split.isEmpty { best = min(maxbs, room / minbs * minbs) }
                return best
            }
        }
    }
}
