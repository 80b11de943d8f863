extension WorkloadGenerator {
    struct FileSetup {
        var path: String
        var fileOffset: UInt64
        var ioSize: UInt64
        var globalIndex: UInt32 = 0
    }

    /// fio's file naming and sizing (filesetup.c): `size` split evenly over `nrfiles`
    /// (the first files take the remainder in whole blocks), or `filesize` per file,
    /// starting at `offset + jobnum * offset_increment`.
    static func layoutFiles(job: JobSpec, seed: UInt64) throws -> [FileSetup] {
        let n = max(1, job.nrFiles)
        var minBS = UInt64.max
        for d in job.rw.directions { minBS = min(minBS, job.blockSize[d].min) }
        if minBS == .max { minBS = job.blockSize.read.min }
        var names: [String] = []
        for i in 0..<n {
            var name: String
            if !job.filenames.isEmpty {
                name = job.filenames[i]
            } else if let fmt = job.filenameFormat {
                name = fmt.replacingToken("$jobname", with: job.name)
                    .replacingToken("$jobnum", with: String(job.jobNumber))
                    .replacingToken("$filenum", with: String(i))
            } else {
                name = "\(job.name).\(job.jobNumber).\(i)"
            }
            if !job.directories.isEmpty && !name.hasPrefix("/") {
                let dir = job.directories[i % job.directories.count]
                name = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            }
            names.append(name)
        }
        var rng = Xoshiro256(seed: SplitMix64.mix(seed, 0xF11E5))
        var sizeTotal: UInt64?
        if case .bytes(let b)? = job.size { sizeTotal = b }
        var out: [FileSetup] = []
        var extra: UInt64 = 0
        var fs: UInt64 = 0
        if job.fileSize == nil {
            let total = sizeTotal ?? 0
            fs = total / UInt64(n)
            let all = fs * UInt64(n)
            if all < total { extra = (total - all) / minBS }
        }
        for i in 0..<n {
            var fileSize: UInt64
            if let r = job.fileSize {
                fileSize = r.lowerBound == r.upperBound ? r.lowerBound
                    : r.lowerBound + rng.below(r.upperBound - r.lowerBound + 1) / minBS * minBS
            } else {
                fileSize = fs
                if extra > 0 { extra -= 1; fileSize += minBS }
            }
            // Start offset (fio's get_start_offset).
            var start: UInt64
            var align = false
            switch job.offset {
            case .bytes(let b): start = b
            case .percent(let p):
                let real = job.fileSize?.lowerBound ?? fileSize
                start = UInt64(Double(real) * p / 100)
                align = true
            }
            start += UInt64(job.jobNumber) * job.offsetIncrement
            if align || job.offsetAlign > 0 {
                let a = job.offsetAlign > 0 ? job.offsetAlign : minBS
                start = (start + a - 1) / a * a
            }
            var io: UInt64
            if job.fileSize != nil {
                guard fileSize > start else {
                    throw TraceError(.unsupported, "\(job.origin): job \(job.name): offset \(start) is past the file size \(fileSize)")
                }
                io = fileSize - start
                if case .percent(let p)? = job.size {
                    io = min(io, UInt64(Double(fileSize) * p / 100))
                    io -= io % minBS
                } else if let s = sizeTotal {
                    io = min(io, s / UInt64(n))
                }
            } else {
                io = fileSize
            }
            out.append(FileSetup(path: names[i], fileOffset: start, ioSize: io))
        }
        let total = out.reduce(0) { $0 + $1.ioSize }
        if let small = out.first(where: { $0.ioSize < minBS }), total >= minBS {
            throw TraceError(.unsupported, "\(job.origin): job \(job.name): file \(small.path) gets \(small.ioSize) bytes, less than the block size \(minBS)")
        }
        if total < minBS {
            throw TraceError(.unsupported, "\(job.origin): job \(job.name): the block size is larger than the data set (\(total) bytes)")
        }
        return out
    }
}

extension String {
    func replacingToken(_ token: String, with value: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: token) {
            out += rest[..<r.lowerBound]
            out += value
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension WorkloadGenerator {
    /// Most blocks one file's region may hold: block indexes, permutations and ranks are
    /// 64-bit with a spare bit (a region that large needs size near 2^64 in 1-byte blocks).
    static let maxRegionBlocks: UInt64 = 1 << 63
    /// Most blocks the random map's bitmap may track per file (fio's axmap, one bit per
    /// block): 2^32 blocks is 512 MiB of bitmap. fio would try to allocate more (7 GiB in
    /// 1-byte blocks is 896 MiB); past this, the job is refused with the figure and the
    /// ways out (fuzz finding: bsrange=102k-1 on size=7g).
    static let maxBitmapBlocks: UInt64 = 1 << 32

    /// Refuses a file region the generator cannot address or whose random map would not
    /// fit in memory, with the job and the figures, instead of trapping or allocating.
    static func checkRegion(_ f: FileSetup, of job: JobSpec) throws {
        if f.fileOffset.addingReportingOverflow(f.ioSize).overflow {
            throw TraceError(.unsupported, "\(job.origin): job \(job.name): file \(f.path): offset \(f.fileOffset) + size \(f.ioSize) bytes passes 2^64 bytes")
        }
        let dirs = job.rw.directions
        var unit = UInt64.max
        for d in dirs {
            unit = min(unit, job.blockSize[d].min)
            if job.rw.isRandom, let a = job.blockAlign[d] { unit = min(unit, a) }
        }
        if unit == .max || unit == 0 { return }
        let blocks = f.ioSize / unit
        if blocks > maxRegionBlocks {
            throw TraceError(.unsupported, "\(job.origin): job \(job.name): file \(f.path): \(f.ioSize) bytes in \(unit)-byte blocks is \(blocks) blocks, more than fio-gen addresses (2^63); use a larger bs or a smaller size")
        }
        if job.rw.isRandom && job.randomMap && job.randomDistribution.isUniform && blocks > maxBitmapBlocks {
            throw TraceError(.unsupported, "\(job.origin): job \(job.name): file \(f.path): the random map of \(blocks) blocks needs \((blocks / 8) >> 20) MiB (fio: failed allocating random map); set norandommap=1, a larger bs, or a smaller size")
        }
    }
}
