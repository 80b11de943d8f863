extension JobState {
    /// How many I/Os ahead `fastFill` prefetches the random map's words: enough to cover a
    /// memory latency (about 100 ns) at 10 to 20 ns of work per I/O.
    static let prefetchAhead = 16

    /// Whether `fastFill` may run: one file, fixed block size equal to the alignment, no
    /// rate, thinktime, syncs, runtime or rw modifiers; uniform random I/O (with fio's
    /// random map or without, norandommap) or plain sequential I/O. It produces exactly
    /// what `next` would (same RNG draws, same state).
    var fastEligible: Bool {
        guard fileCount == 1, fixedBS, !rateLimited, thinktime == 0, fsyncEvery == 0, fdatasyncEvery == 0,
              endTimeLimit == .max, job.ddirSeqNr == 1, !trimWrite, job.ddirSeqAdd == 0 else { return false }
        let dirs = job.rw.directions
        for d in dirs where ba[d.rawValue] != minBS[d.rawValue] { return false }
        if isRandom {
            // fio's random map, or norandommap's plain draws.
            guard mapMode == .bitmap || mapMode == .uniform else { return false }
            for d in dirs where percentRandom[d.rawValue] < 100 { return false }
            return true
        }
        return !mixed
    }

    /// Up to `maxCount` records straight into `out` (the common case of `next`, without
    /// its per-I/O dispatch). Returns how many; fewer (maybe 0) when a pass or the job
    /// reaches a limit or the region its end, which `next` then handles.
    mutating func fastFill(_ out: UnsafeMutablePointer<TraceRecord>, _ maxCount: Int) -> Int {
        if finished || endSyncFile >= 0 || files[0].done { return 0 }
        let dirs = job.rw.directions
        let bs = minBS[dirs[0].rawValue]
        // I/Os left before a limit `next` checks could stop the pass.
        var budget = UInt64(maxCount)
        if numberIOsLimit != .max { budget = min(budget, numberIOsLimit &- min(numberIOsLimit, dataIOs)) }
        if !timeBased {
            if passBytes >= passTotal || cumBytes >= cumulativeLimit { return 0 }
            if passTotal != .max { budget = min(budget, (passTotal - passBytes + bs - 1) / bs) }
            budget = min(budget, (cumulativeLimit - cumBytes + bs - 1) / bs)
        }
        if budget == 0 { return 0 }
        let f = files
        let base = f.pointee.fileOffset
        let end = base &+ f.pointee.ioSize
        let fileIndex = f.pointee.index
        let lp = lastPos(0), ls = lastStart(0)
        let single = singleDir.rawValue
        if isRandom && minBS[single] != rwMinBS { return 0 }
        let depthN = depth
        let ringP = ring
        let svc = serviceTime(bs)
        var clock = self.clock
        var ringPos = self.ringPos
        var maxCompletion = self.maxCompletion
        var n = 0
        var lastDataOffsetFast = lastDataOffset
        let limit = Int(budget)
        // The random map outgrows the caches (1.3 MB for 10M blocks), so its bit test is a
        // cache miss per I/O. The offset draws do not depend on the map, so a copy of the
        // offset generator runs `prefetchAhead` draws ahead and starts each miss early.
        // Only a hint: the records are the same with or without it.
        let map = isRandom ? f.pointee.bitmap : nil
        var ahead = rngOffset
        let aheadLastb = isRandom ? lastBlocks(0)[single] : 0
        if map != nil {
            for _ in 0..<Self.prefetchAhead { map!.prefetch(ahead.roughlyScaled(aheadLastb)) }
        }
        while n < limit {
            var offset: UInt64
            // A mixed job draws its direction as `next` does (fio's rwmix runs).
            let d = mixed ? chooseDirection(file: 0).rawValue : single
            if isRandom {
                if let map { map.prefetch(ahead.roughlyScaled(aheadLastb)) }
                let lastb = lastBlocks(0)[d]
                // fio's draw and random map, one block per I/O (bs is the map's unit here).
                if lastb == 0 { break }
                guard let b = uniformBlock(file: 0, lastb: lastb) else {
                    // The map is full: the file is done, as `next` has it after this draw.
                    files[0].done = true
                    doneFiles += 1
                    if job.timeBased { resetFile(0); doneFiles -= 1 }
                    break
                }
                offset = base &+ b &* bs
                // uniformBlock gave a free block, or one past the map (left unmarked, as
                // setRun would).
                if let map, b < map.count { map.markFree(b) }
            } else {
                if lp[d] &+ bs > end { break }
                offset = lp[d]
            }
            ls[d] = offset
            lastDataOffsetFast = offset
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
        self.clock = clock
        self.ringPos = ringPos
        self.maxCompletion = maxCompletion
        passBytes &+= UInt64(n) &* bs
        dataIOs &+= UInt64(n)
        if n > 0 { lastWasSync = false; lastDataOffset = lastDataOffsetFast }
        return n
    }
}
