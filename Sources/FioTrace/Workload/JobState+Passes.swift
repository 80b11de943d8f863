extension JobState {
    /// The next record of this job, or false when the job is over.
    mutating func next(_ r: inout TraceRecord) -> Bool {
        if finished { return false }
        while true {
            // End-of-pass fsyncs (end_fsync / fsync_on_close), one per file.
            if endSyncFile >= 0 {
                let f = endSyncFile
                endSyncFile = f + 1 < fileCount ? f + 1 : -1
                emitSync(.sync, file: f, &r)
                if endSyncFile < 0 { lastWasSync = true; afterPass() }
                return true
            }
            if finished { return false }
            // In-pass stop conditions.
            if dataIOs >= numberIOsLimit {
                endPass(stopJob: true)
                continue
            }
            if !timeBased && (passBytes >= passTotal || cumBytes >= cumulativeLimit) {
                endPass(stopJob: false)
                continue
            }
            if clock >= endTimeLimit {
                endPass(stopJob: true)
                continue
            }
            guard let fi = pickFile() else {
                endPass(stopJob: false)
                continue
            }
            // fio's get_rw_ddir: while the writes issued are a multiple of fsync (fdatasync)
            // and the last I/O was not a sync, the next I/O is one, in the file picked for
            // it; so a mixed job syncs again before each read that follows the N-th write.
            if let op = dueSync() {
                emitSync(op, file: fi, &r)
                lastWasSync = true
                return true
            }
            let d = chooseDirection(file: fi)
            if fill(file: fi, dir: d, &r) {
                if r.time >= endTimeLimit {
                    finished = true
                    return false
                }
                return true
            }
            // No offset left in this file: it is done (fio closes it and moves on); with a
            // non-uniform file service it starts over instead.
            if nonUniformService {
                resetFile(fi)
                serviceFails += 1
                if serviceFails < 1024 &+ 64 &* fileCount { continue }
                // fio would retry for ever: no file can give an I/O.
            }
            files[fi].done = true
            doneFiles += 1
            if job.timeBased {
                // time_based: the region starts over (a new random order), as in fio.
                resetFile(fi)
                doneFiles -= 1
            }
        }
    }

    /// fio's should_fsync and the fsync/fdatasync checks of get_rw_ddir.
    @inline(__always) func dueSync() -> TraceOp? {
        // trimwrite: set_rw_ddir replaces the sync with the trim or write that is due.
        if lastWasSync || !job.rw.writes || trimWrite { return nil }
        let w = ioIssues[1]
        if w == 0 { return nil }
        if fsyncEvery > 0 && w % fsyncEvery == 0 { return .sync }
        if fdatasyncEvery > 0 && w % fdatasyncEvery == 0 { return .datasync }
        return nil
    }

    /// fio's io_bytes for the io_size limit: reads+writes for mixed jobs, else the job's
    /// main direction (writes for trimwrite).
    var cumulativeBytes: UInt64 { cumBytes }

    /// A pass ended: end_fsync, then fio's keep_running decides on another pass.
    mutating func endPass(stopJob: Bool) {
        if stopJob { finished = true }
        if job.rw.writes && !lastWasSync && (job.endFsync || job.fsyncOnClose) && fileCount > 0 && dataIOs > 0 {
            endSyncFile = 0
            return
        }
        afterPass()
    }

    mutating func afterPass() {
        if finished { return }
        if keepRunning() {
            startPass()
        } else {
            finished = true
        }
    }

    mutating func keepRunning() -> Bool {
        if clock >= endTimeLimit { return false }
        if job.timeBased { return true }
        if loopsLeft > 0 { loopsLeft -= 1; return true }
        if dataIOs >= numberIOsLimit { return false }
        let cum = cumulativeBytes
        if cum < keepRunningLimit {
            if keepRunningLimit - cum < maxBSAll { return false }
            if job.ioSize == nil && doneFiles >= fileCount { return false }
            return job.ioSize != nil
        }
        return false
    }

    /// fio's clear_io_state: counters (rwmix_issues too) and files reset, and with
    /// randrepeat every state re-seeded (in 64 bits if fio switched the job to tausworthe64).
    mutating func startPass() {
        passBytes = 0
        lastWasSync = false
        doneFiles = 0
        rwmixIssues = 0
        if randRepeat {
            if switchTo64 { use64 = true }
            reseed()
        }
        for i in 0..<fileCount { resetFile(i) }
    }

    // MARK: files

    /// fio's __get_next_file: round robin (switching every `fileServiceNr` I/Os),
    /// sequential, or random over the files not done.
    @inline(__always) mutating func pickFile() -> Int? {
        let n = fileCount
        if doneFiles >= n { return nil }
        if n == 1 { return files[0].done ? nil : 0 }
        if serviceFile >= 0 && !files[serviceFile].done {
            if job.fileService == .sequential { return serviceFile }
            if serviceLeft > 0 { serviceLeft -= 1; return serviceFile }
        }
        var f = -1
        switch job.fileService {
        case .roundRobin, .sequential:
            for _ in 0..<n {
                let c = nextFile
                nextFile = nextFile + 1 >= n ? 0 : nextFile + 1
                if !files[c].done { f = c; break }
            }
        case .zipf, .pareto, .normal:
            // __get_next_fileno_rand: the rank's range number shifted down by 10.
            while true {
                let c = Int(truncatingIfNeeded: rngFileRank!.next() >> 10)
                if c < n && !files[c].done { f = c; break }
            }
        case .random:
            while true {
                let c = Int(rngFile.scaled(UInt64(n)))
                if c < n && !files[c].done { f = c; break }
            }
        }
        if f < 0 { return nil }
        serviceFile = f
        serviceLeft = job.fileServiceNr - 1
        return f
    }

    // MARK: direction

    @inline(__always) mutating func chooseDirection(file fi: Int) -> DataDirection {
        if trimWrite {
            return lastStart(fi)[1] == lastStart(fi)[2] ? .trim : .write
        }
        var d = singleDir
        if mixed {
            // fio's get_rw_ddir: a new draw only once the current direction has issued
            // its share; on a change, the share is the I/Os the other direction has issued
            // so far scaled by the new direction's percentage.
            if ioIssues[rwmixDir] >= rwmixIssues {
                let nd = rngMix.percent() <= job.rwmixRead ? 0 : 1
                if nd != rwmixDir {
                    let diff = UInt64(nd == 0 ? job.rwmixRead : 100 - job.rwmixRead)
                    rwmixIssues = ioIssues[rwmixDir] &* diff / 100
                }
                rwmixDir = nd
            }
            d = rwmixDir == 0 ? .read : .write
        }
        if rateLimited {
            d = rateDirection(d)
            if mixed { rwmixDir = d.rawValue }
        }
        return d
    }

    /// fio's rate_ddir: a direction ahead of its schedule yields to the other one if that
    /// one is behind, else the earlier of the two goes first.
    @inline(__always) func rateDirection(_ d: DataDirection) -> DataDirection {
        func due(_ x: DataDirection) -> UInt64 { rated[x.rawValue] > 0 ? jobStart &+ rateNext[x.rawValue] : 0 }
        let now = clock
        if due(d) <= now { return d }
        if mixed {
            let od: DataDirection = d == .read ? .write : .read
            let odShare = od == .read ? job.rwmixRead : 100 - job.rwmixRead
            if odShare > 0 {
                if due(od) <= now { return od }
                return due(d) <= due(od) ? d : od
            }
        }
        return d
    }
}
