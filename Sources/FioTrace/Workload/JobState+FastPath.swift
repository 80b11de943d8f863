extension JobState {
    /// Whether `fastFill` may run: one file, fixed block size equal to the alignment, no
    /// rate, thinktime, syncs, runtime or rw modifiers, full random map or plain
    /// sequential I/O. It produces exactly what `next` would (same RNG draws, same state).
    var fastEligible: Bool {
        guard fileCount == 1, fixedBS, !rateLimited, thinktime == 0, fsyncEvery == 0, fdatasyncEvery == 0,
              endTimeLimit == .max, job.ddirSeqNr == 1, !trimWrite, job.ddirSeqAdd == 0 else { return false }
        let dirs = job.rw.directions
        for d in dirs where ba[d.rawValue] != minBS[d.rawValue] { return false }
        if isRandom {
            guard mapMode == .permutation else { return false }
            for d in dirs where percentRandom[d.rawValue] < 100 { return false }
        }
        return true
    }

    /// Up to `maxCount` records straight into `out` (the common case of `next`, without
    /// its per-I/O dispatch). Returns how many; fewer (maybe 0) when a pass or the job
    /// reaches a limit or the region its end, which `next` then handles.
    mutating func fastFill(_ out: UnsafeMutablePointer<TraceRecord>, _ maxCount: Int) -> Int {
        if finished || endSyncFile >= 0 || pendingSync != nil || files[0].done { return 0 }
        let dirs = job.rw.directions
        let bs = minBS[dirs[0].rawValue]
        let hasR = job.rw.reads, hasW = job.rw.writes, hasT = job.rw.trims
        // I/Os left before a limit `next` checks could stop the pass.
        var budget = UInt64(maxCount)
        if numberIOsLimit != .max { budget = min(budget, numberIOsLimit &- min(numberIOsLimit, dataIOs)) }
        if !timeBased {
            if passBytes >= passTotal || cumBytes >= cumulativeLimit { return 0 }
            budget = min(budget, (passTotal - passBytes + bs - 1) / bs)
            budget = min(budget, (cumulativeLimit - cumBytes + bs - 1) / bs)
        }
        if budget == 0 { return 0 }
        let f = files
        let base = f.pointee.fileOffset
        let end = base &+ f.pointee.ioSize
        let fileIndex = f.pointee.index
        let lp = lastPos(0), ls = lastStart(0)
        let single = singleDir.rawValue
        let rwmix = job.rwmixRead
        let depthN = depth
        let ringP = ring
        let svc = serviceTime(bs)
        let blocks = storage.blocks
        var clock = self.clock
        var ringPos = self.ringPos
        var maxCompletion = self.maxCompletion
        var bufPos = f.pointee.bufPos, bufLen = f.pointee.bufLen
        var n = 0
        let limit = Int(budget)
        while n < limit {
            var offset: UInt64
            var d: Int
            if isRandom {
                if bufPos == bufLen {
                    refillBlocks(0)
                    bufPos = 0
                    bufLen = f.pointee.bufLen
                    if bufLen == 0 { break }
                }
                d = mixed ? (rngMix.percent() <= rwmix ? 0 : 1) : single
                offset = base &+ blocks[bufPos] &* bs
                bufPos &+= 1
            } else {
                // The position depends on the direction: stop before a draw could fail.
                if (hasR && lp[0] &+ bs > end) || (hasW && lp[1] &+ bs > end) || (hasT && lp[2] &+ bs > end) { break }
                d = mixed ? (rngMix.percent() <= rwmix ? 0 : 1) : single
                offset = lp[d]
            }
            ls[d] = offset
            lp[d] = offset &+ bs
            bytesIssued[d] &+= bs
            cumBytes &+= bs &* cumWeight[d]
            ioIssues[d] &+= 1
            let t: UInt64
            if depthN == 1 {
                t = max(clock, maxCompletion)
                maxCompletion = t &+ svc
            } else {
                t = max(clock, ringP[ringPos])
                let done = t &+ svc
                ringP[ringPos] = done
                ringPos = ringPos &+ 1 == depthN ? 0 : ringPos &+ 1
                if done > maxCompletion { maxCompletion = done }
            }
            clock = t
            out[n] = TraceRecord(time: t, op: d == 0 ? .read : (d == 1 ? .write : .trim), file: fileIndex,
                                 offset: offset, length: bs, stream: stream, flags: d == 1 ? writeFlags : dataFlags)
            n &+= 1
        }
        if depthN == 1 { ringP[0] = maxCompletion }
        f.pointee.bufPos = bufPos
        f.pointee.bufLen = bufLen
        self.clock = clock
        self.ringPos = ringPos
        self.maxCompletion = maxCompletion
        passBytes &+= UInt64(n) &* bs
        dataIOs &+= UInt64(n)
        if n > 0 { lastWasSync = false }
        return n
    }
}
